"""alexnet.neighbours: fc7 and the class scores in one pass, for named and numbered classifiers."""

from __future__ import annotations

import torch
from torchvision.models import alexnet as torchvision_alexnet

from alexnet import AlexNet
from alexnet.neighbours import head_outputs


def test_fc7_is_the_activation_after_the_second_linear_in_both_layouts():
    torch.manual_seed(0)
    ours = AlexNet(num_classes=10).eval()
    pooled = torch.randn(2, 256, 6, 6)
    fc7, scores = head_outputs(ours, pooled)
    c = ours.classifier
    expected_fc7 = torch.relu(c.fc7(torch.relu(c.fc6(pooled.flatten(1)))))
    assert torch.allclose(fc7, expected_fc7) and torch.allclose(scores, c.fc8(expected_fc7))

    tv = torchvision_alexnet(weights=None, num_classes=7).eval()  # numbered: Dropout, Linear, ReLU, ...
    fc7, scores = head_outputs(tv, pooled)
    layers = list(tv.classifier.children())
    expected_fc7 = torch.relu(layers[4](torch.relu(layers[1](pooled.flatten(1)))))
    assert fc7.shape == (2, 4096) and torch.allclose(fc7, expected_fc7)
    assert scores.shape == (2, 7) and torch.allclose(scores, layers[6](expected_fc7))

