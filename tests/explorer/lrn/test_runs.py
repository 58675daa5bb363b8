"""explorer.lrn.runs: the layer runner against the models' own forward, and the comparison of two runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from alexnet.model import AlexNet
from explorer.lrn.measures import LRNParams
from explorer.lrn.runs import analyse_image, downstream_change, lrn_layer_count, run_features
from explorer.models import TorchvisionAlexNet


@pytest.fixture(scope="module")
def paper_model():
    torch.manual_seed(0)
    return AlexNet(num_classes=10).eval()


@pytest.fixture(scope="module")
def image():
    return torch.randn(1, 3, 227, 227, generator=torch.Generator().manual_seed(1)) * 50


def test_run_features_with_the_models_own_lrn_matches_its_forward(paper_model, image):
    acts = run_features(paper_model, image, LRNParams(), with_logits=True)
    assert list(acts) == ["conv1", "lrn1", "conv2", "lrn2", "conv3", "conv4", "conv5", "pool5", "logits"]
    with torch.no_grad():
        assert torch.allclose(acts["pool5"], paper_model.features(image), atol=1e-5)
        assert torch.allclose(acts["logits"], paper_model(image), atol=1e-5)
        conv1 = torch.relu(paper_model.layer("conv1")(image))
    assert torch.allclose(acts["conv1"], conv1)
    assert acts["conv1"].shape == (1, 96, 55, 55) and acts["conv2"].shape == (1, 256, 27, 27)


def test_run_features_without_lrn_matches_the_no_lrn_ablation(paper_model, image):
    ablation = AlexNet(num_classes=10, lrn=False, init=False)
    ablation.load_state_dict(paper_model.state_dict())  # LRN has no weights: same layers otherwise
    acts = run_features(paper_model, image, None)
    assert "lrn1" not in acts
    with torch.no_grad():
        assert torch.allclose(acts["pool5"], ablation.eval().features(image), atol=1e-5)
    on = run_features(paper_model, image, LRNParams())
    rows = downstream_change(on, acts)
    assert [r["layer"] for r in rows] == ["conv1", "conv2", "conv3", "conv4", "conv5", "pool5"]
    assert rows[0]["relative_change"] == 0.0  # conv1's ReLU output comes before any LRN
    assert rows[1]["relative_change"] > 0
    # the paper's LRN divides by about k**beta = 2**0.75, so the activations shrink downstream.
    assert rows[1]["norm_ratio"] < 1


def test_run_features_leaves_the_model_alone(paper_model, image):
    with torch.no_grad():
        expected = paper_model(image)
    run_features(paper_model, image, LRNParams(k=0.5, alpha=1.0, beta=2.0))
    assert lrn_layer_count(paper_model) == 2
    assert paper_model.layer("lrn1").k == 2.0
    assert all(not m._forward_hooks for m in paper_model.modules())
    with torch.no_grad():
        assert torch.equal(paper_model(image), expected)


def test_run_features_refuses_training_mode():
    model = nn.Sequential()
    model.features = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())
    with pytest.raises(ValueError, match="eval mode"):
        run_features(model.train(), torch.zeros(1, 3, 5, 5), None)


def test_two_tower_groups_match_the_two_tower_model(image):
    model = AlexNet(num_classes=10, towers=2, init=False).eval()
    acts = run_features(model, image, LRNParams(groups=2))
    with torch.no_grad():
        assert torch.allclose(acts["pool5"], model.features(image), atol=1e-5)


def test_torchvision_alexnet_has_no_lrn_and_runs_unchanged_without_it():
    model = torchvision.models.alexnet(weights=None, num_classes=10).eval()
    x = torch.randn(1, 3, 224, 224)
    assert lrn_layer_count(model) == 0
    acts = run_features(model, x, None, with_logits=True)
    with torch.no_grad():
        assert torch.allclose(acts["logits"], model(x), atol=1e-5)
    with_lrn = run_features(model, x, LRNParams())
    assert with_lrn["lrn1"].shape == (1, 64, 55, 55)
    # the dashboard's wrapper converts its input before torchvision's layers: run_features goes through it.
    wrapped = TorchvisionAlexNet(model).eval()
    acts = run_features(wrapped, x, None, with_logits=True)
    with torch.no_grad():
        assert torch.allclose(acts["logits"], wrapped(x), atol=1e-5)


def test_analyse_image_collects_what_the_page_shows(paper_model, image):
    result = analyse_image(paper_model, image, LRNParams(), with_logits=True)
    assert list(result["layers"]) == ["conv1", "conv2"]
    conv1 = result["layers"]["conv1"]
    assert conv1["before"].shape == (96, 55, 55) and conv1["winners_after"].shape == (55, 55)
    assert conv1["effect"]["mean_gain"] < 2 ** -0.75 + 1e-6  # never more than the k^-beta of an empty window
    assert [r["layer"] for r in result["downstream"]][-1] == "logits"
    assert list(result["downstream_maps"]) == ["conv3", "conv4", "conv5"]
    with_lrn, without = result["downstream_maps"]["conv3"]
    assert with_lrn.shape == without.shape == (384, 13, 13) and not np.array_equal(with_lrn, without)
    assert result["logits_on"].shape == (10,)
    positive = conv1["before"][conv1["before"] > 0]
    assert result["activation_p99"] == pytest.approx(np.percentile(positive, 99), rel=1e-5)
