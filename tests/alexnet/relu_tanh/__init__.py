"""Tests of alexnet.relu_tanh (the Figure 1 experiment), one file per module."""
