"""FourLayerNet: cuda-convnet's layers-19pct map sizes, parameter count, layer order and initialisation."""

from __future__ import annotations

import pytest
import torch

from alexnet.relu_tanh.network import FourLayerNet


def test_four_layer_net_keeps_layers_19pct_map_sizes_and_parameter_count():
    net = FourLayerNet("relu")
    sizes = []
    x = torch.zeros(2, 3, 32, 32)
    for m in net.features:
        x = m(x)
        if isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(32, 16, 16), (32, 8, 8), (64, 4, 4)]  # 32 -> 16 -> 8 -> 4 as in layers-19pct
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    # conv1 3*32*25+32, conv2 32*32*25+32, conv3 32*64*25+64, fc 64*4*4*10+10 (counted by hand)
    assert sum(p.numel() for p in net.parameters()) == 2432 + 25632 + 51264 + 10250
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "ReLU", "AvgPool2d", "Conv2d", "ReLU", "AvgPool2d"]
    assert [type(m).__name__ for m in FourLayerNet("tanh").features].count("Tanh") == 3


def test_layers_19pct_initialisation():
    torch.manual_seed(0)
    net = FourLayerNet("tanh").init_weights_("layers-19pct")
    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    stds = [float(m.weight.detach().std()) for m in convs]
    assert stds[0] == pytest.approx(1e-4, rel=0.05)  # conv1 initW=0.0001
    for s in stds[1:]:
        assert s == pytest.approx(1e-2, rel=0.05)  # conv2, conv3, fc10 initW=0.01
    assert all(float(m.bias.detach().abs().max()) == 0 for m in convs)
    scaled = FourLayerNet("tanh").init_weights_("layers-19pct", scale=10.0)
    assert float(scaled.features[0].weight.detach().std()) == pytest.approx(1e-3, rel=0.05)


def test_normal_init_puts_every_layer_at_0_01():
    torch.manual_seed(0)
    net = FourLayerNet("tanh").init_weights_("normal-0.01")
    assert [name for name, _ in net.named_weight_layers()] == ["conv1", "conv2", "conv3", "fc"]
    for _, layer in net.named_weight_layers():
        assert float(layer.weight.detach().std()) == pytest.approx(1e-2, rel=0.05)
        assert float(layer.bias.detach().abs().max()) == 0
