"""explorer.units: fc6-fc8 from pool5 equal the network's own layers; the unit grid and statistics by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models import alexnet as torchvision_alexnet

from alexnet import AlexNet
from alexnet.neighbours import fc7_features
from alexnet.predict import Classifier
from explorer.activations import LOGITS, capture_activations
from explorer.images import fixed_mean_stats
from explorer.models import TorchvisionAlexNet
from explorer.units import classifier_outputs, classifier_stages, unit_picture, unit_stats


@pytest.fixture(scope="module")
def model() -> AlexNet:
    return AlexNet(num_classes=10, towers=2, init=False).eval()


def test_stages_of_the_paper_network_and_of_torchvisions():
    stages = classifier_stages(AlexNet(num_classes=10, init=False))
    assert [(s.name, s.label, s.units, s.is_scores) for s in stages] == [
        ("relu6", "relu6 (fc6 + ReLU)", 4096, False),
        ("relu7", "relu7 (fc7 + ReLU)", 4096, False),
        ("fc8", "fc8 (class scores, before softmax)", 10, True),
    ]
    tanh = AlexNet(num_classes=10, activation="tanh", init=False)
    # The canonical names stay; the label says what the layer computes.
    assert [s.label for s in classifier_stages(tanh)][:2] == ["relu6 (fc6 + tanh)", "relu7 (fc7 + tanh)"]
    wrapped = TorchvisionAlexNet(torchvision_alexnet(weights=None))
    assert [s.name for s in classifier_stages(wrapped)] == ["relu6", "relu7", "fc8"]
    assert classifier_stages(torch.nn.Linear(2, 2)) == []


def test_outputs_from_pool5_are_the_networks_own(model):
    torch.manual_seed(1)
    x = torch.randn(2, 3, 227, 227) * 50
    captured = capture_activations(model, x, ["pool5", LOGITS])
    out = classifier_outputs(model, captured["pool5"])
    assert list(out) == ["relu6", "relu7", "fc8"]
    torch.testing.assert_close(out["fc8"], captured[LOGITS])
    assert out["relu6"].shape == (2, 4096) and bool((out["relu6"] >= 0).all())
    single = classifier_outputs(model, captured["pool5"][0].numpy())  # one image as numpy (C, H, W)
    torch.testing.assert_close(single["relu7"][0], out["relu7"][0])


def test_relu7_is_the_fc7_vector_alexnet_neighbours_compares(model):
    from alexnet.data import EvalPreset

    stats = fixed_mean_stats()
    images = torch.randint(0, 256, (2, 3, 256, 256), dtype=torch.uint8)
    preset = EvalPreset(stats)
    expected = fc7_features(Classifier(model, preset, [], [], "test"), images)
    out = classifier_outputs(model, model.features(preset(images)))
    torch.testing.assert_close(out["relu7"], expected)


def test_torchvision_outputs_match_its_logits():
    wrapped = TorchvisionAlexNet(torchvision_alexnet(weights=None)).eval()
    x = torch.randn(1, 3, 227, 227) * 50
    captured = capture_activations(wrapped, x, ["pool5", LOGITS])
    torch.testing.assert_close(classifier_outputs(wrapped, captured["pool5"])["fc8"], captured[LOGITS])


def test_wrong_input_size_or_no_classifier_gives_nothing(model):
    assert classifier_outputs(model, torch.zeros(1, 256, 5, 5)) == {}
    assert classifier_outputs(torch.nn.Conv2d(1, 1, 1), torch.zeros(1, 1, 2, 2)) == {}


def test_unit_picture_is_a_64x64_grid_on_one_scale():
    values = np.zeros(4096, dtype=np.float32)
    values[0] = 2.0  # top left: the largest
    values[65] = 1.0  # row 1, column 1: half way
    picture = unit_picture(values, scale=2)
    assert picture.indices.shape == (128, 128)
    rgb = picture.rgb()
    top = rgb[0, 0]
    assert (rgb[0:2, 0:2] == top).all() and not (rgb[2, 2] == top).all()
    assert (rgb[2:4, 2:4] == rgb[2, 2]).all() and (rgb[0, 2] == rgb[127, 127]).all()  # zeros share one colour


def test_unit_stats_by_hand():
    stats = unit_stats(np.array([0.0, 3.0, 0.0, 1.0]), top=2)
    assert stats["units"] == 4 and stats["mean"] == 1.0 and stats["max"] == 3.0 and stats["zero_fraction"] == 0.5
    assert stats["top_units"].tolist() == [1, 3] and stats["top_values"].tolist() == [3.0, 1.0]
