"""Tests of alexnet.data, one file per module."""
