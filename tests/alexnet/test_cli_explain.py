"""`alexnet explain` and `alexnet units`: known answers on tiny models, the output files, the one-line errors."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import alexnet.predict
from alexnet.data import DatasetStats, EvalPreset
from alexnet.predict import Classifier
from alexnet_cli import main
from tests.explorer.attribution.region_net import RegionNet, inside
from tests.explorer.test_dataset_examples import TinyNet

# Class regions in the 227x227 crop; the 256x256 file holds them 14 pixels further in (centre crop).
REGIONS = ((20, 30, 80, 90), (140, 150, 200, 210))
CLASSES, NAMES = ["n001", "n002"], ["red thing", "green thing"]


def _stats() -> DatasetStats:
    return DatasetStats(torch.zeros(3, 256, 256), torch.ones(3), torch.eye(3))


@pytest.fixture
def region_classifier(monkeypatch) -> Classifier:
    """`load_classifier` gives the region network: class c's score is the brightness of region c."""
    classifier = Classifier(RegionNet(REGIONS, 227).eval(), EvalPreset(_stats()), CLASSES, NAMES, "regions")
    monkeypatch.setattr(alexnet.predict, "load_classifier", lambda checkpoint=None: classifier)
    return classifier


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """Grey noise, region 0 much brighter: the region network predicts class 0."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(20, 60, (256, 256, 3), dtype=np.uint8)
    top, left, bottom, right = REGIONS[0]
    pixels[top + 14:bottom + 14, left + 14:right + 14] += 150
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(pixels).save(path)
    return path


def _peak(out: str) -> tuple[int, int]:
    match = re.search(r"peaks at row (\d+), column (\d+) of the 227x227 crop", out)
    assert match, out
    return int(match[1]), int(match[2])


def _one_line_error(err: str, *fragments: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("alexnet: error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], err


@pytest.mark.parametrize("method", ["gradcam", "saliency", "occlusion"])
def test_each_method_peaks_in_the_predicted_class_region(method, region_classifier, photo, tmp_path, capsys):
    out_file = tmp_path / "map.png"
    # The region network's logits are in the thousands (probability 1.0): occlusion reads the logit.
    options = ["--patch", "40", "--stride", "40", "--score", "logit"] if method == "occlusion" else []
    assert main(["explain", str(photo), "--method", method, "--out", str(out_file), "--no-progress", *options]) == 0
    out = capsys.readouterr().out
    assert out.startswith("predicted: red thing (") and "explained:" not in out
    assert inside(_peak(out), REGIONS[0], margin=4)
    with Image.open(io.BytesIO(out_file.read_bytes())) as picture:
        assert picture.size[0] > 227 and picture.size[1] > 227  # the photo, its colour bar and title


def test_another_class_by_name_folder_or_index(region_classifier, photo, tmp_path, capsys):
    for name in ("Green Thing", "n002", "1"):
        assert main(["explain", str(photo), "--class", name, "--out", str(tmp_path / "g.png")]) == 0
        out = capsys.readouterr().out
        assert "predicted: red thing" in out and "explained: green thing" in out
        assert inside(_peak(out), REGIONS[1], margin=4)


def test_unknown_class_lists_the_known_ones(region_classifier, photo, tmp_path, capsys):
    assert main(["explain", str(photo), "--class", "tench", "--out", str(tmp_path / "x.png")]) == 2
    _one_line_error(capsys.readouterr().err, "unknown class 'tench'", "red thing, green thing")
    assert not (tmp_path / "x.png").exists()


def test_bad_image_fails_before_any_model_is_loaded(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(alexnet.predict, "load_classifier", lambda checkpoint=None: pytest.fail("model loaded"))
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    assert main(["explain", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    _one_line_error(capsys.readouterr().err, "cannot decode image", "notes.jpg")
    assert main(["explain", str(tmp_path / "missing.png"), "--out", str(tmp_path / "x.png")]) == 2
    _one_line_error(capsys.readouterr().err, "missing.png")


def test_bad_options_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["explain", "x.jpg", "--method", "lime", "--out", "x.png"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        main(["explain", "x.jpg", "--opacity", "2", "--out", "x.png"])
    assert "between 0 and 1" in capsys.readouterr().err


# --- units ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dot_data(tmp_path_factory) -> Path:
    """Four train and two val images, black with one red dot each; image i's dot is the i-th brightest."""
    root = tmp_path_factory.mktemp("dots")
    for i in range(6):
        split, cls = ("train", "a") if i < 4 else ("val", "a")
        pixels = np.zeros((256, 256, 3), dtype=np.uint8)
        pixels[60 + 20 * i, 100, 0] = 40 * (i + 1)
        (root / split / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / split / cls / f"{i}.png")
    return root


@pytest.fixture
def dot_classifier(monkeypatch) -> Classifier:
    torch.manual_seed(0)
    model = TinyNet(pool=8, side=14).eval()  # 227 -> 113 -> 14 after the 8x8 pooling
    classifier = Classifier(model, EvalPreset(_stats()), ["a", "b"], ["apple", "banana"], "dots")
    monkeypatch.setattr(alexnet.predict, "load_classifier", lambda checkpoint=None: classifier)
    return classifier


def test_units_one_channel_writes_its_grid_and_visualisation(dot_classifier, dot_data, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["units", "--data", str(dot_data), "--layer", "conv1", "--channel", "0", "--out", str(out),
                 "--steps", "3", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "conv1: top 6 of 6 images" in printed and "maxima 240, 200, 160, 120, 80, 40" in printed
    assert "from classes: apple" in printed
    assert sorted(p.name for p in out.iterdir()) == ["conv1_ch000_top9.png", "conv1_ch000_vis.png"]
    grid = np.asarray(Image.open(out / "conv1_ch000_top9.png"))
    assert grid.shape == (2 * 3 + 2, 3 * 3 + 2 * 2, 3)  # six 3x3 fields (conv1's), 3 a row, 2 pixels apart
    assert tuple(grid[1, 1]) == (240, 0, 0)  # the brightest dot at the centre of the first field
    assert np.asarray(Image.open(out / "conv1_ch000_vis.png")).shape == (128, 128, 3)


def test_units_every_channel_and_fc_units(dot_classifier, dot_data, tmp_path, capsys):
    assert main(["units", "--data", str(dot_data), "--layer", "conv2", "--out", str(tmp_path), "--no-progress"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv2_ch000_top9.png", "conv2_ch001_top9.png"]
    assert main(["units", "--data", str(dot_data), "--layer", "fc7", "--channel", "2", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    assert "conv layers only" in capsys.readouterr().out
    assert np.asarray(Image.open(tmp_path / "fc7_ch002_top9.png")).shape[:2] == (2 * 227 + 2, 3 * 227 + 2 * 2)


def test_units_one_line_errors(dot_classifier, dot_data, tmp_path, capsys):
    assert main(["units", "--data", str(dot_data), "--layer", "conv5", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, "unknown layer 'conv5'", "known: conv1, conv2, fc6, fc7")
    assert main(["units", "--data", str(dot_data), "--layer", "conv1", "--channel", "2", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, "conv1 has channels 0..1, not 2")
    assert main(["units", "--data", str(dot_data), "--layer", "conv1", "--channel", "-1", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, "conv1 has channels 0..1, not -1")
    assert main(["units", "--data", str(tmp_path / "nowhere"), "--layer", "conv1", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, "data folder not found", "nowhere")
    assert not list(tmp_path.glob("*.png"))


# --- the real network, through a checkpoint file -----------------------------------------------------------


def _red_detector() -> nn.Module:
    """The paper's AlexNet (one tower) wired by hand: channel 0 of every conv layer carries "red minus green" at
    its position, fc6 unit 0 sums pool5's channel 0, and fc8's class 0 reads it. Everything else is zero."""
    from alexnet.model import AlexNet

    model = AlexNet(num_classes=3, towers=1, init=False)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.layer("conv1").weight[0, 0, 5, 5], model.layer("conv1").weight[0, 1, 5, 5] = 1.0, -1.0
        for name, k in (("conv2", 2), ("conv3", 1), ("conv4", 1), ("conv5", 1)):
            model.layer(name).weight[0, 0, k, k] = 1.0
        model.layer("fc6").weight[0, :36] = 1.0  # pool5 channel 0: the first 6x6 inputs
        model.layer("fc7").weight[0, 0] = 1.0
        model.layer("fc8").weight[0, 0] = 1.0
    return model.eval()


@pytest.mark.slow
def test_gradcam_of_a_hand_wired_alexnet_checkpoint_finds_the_red_square(tmp_path, capsys):
    from alexnet.checkpoint import save_checkpoint

    checkpoint = save_checkpoint(tmp_path / "checkpoint.pt", _red_detector(), data_stats=_stats().state_dict(),
                                 classes=["n1", "n2", "n3"], class_names=["red", "other", "more"], epoch=0)
    pixels = np.full((256, 256, 3), 128, dtype=np.uint8)
    pixels[164:204, 44:84] = (255, 0, 0)  # rows 150..190, columns 30..70 of the 227x227 crop
    image = tmp_path / "square.png"
    Image.fromarray(pixels).save(image)
    for method in ("gradcam", "saliency"):
        assert main(["explain", str(image), "--method", method, "--checkpoint", str(checkpoint),
                     "--out", str(tmp_path / f"{method}.png")]) == 0
        out = capsys.readouterr().out
        assert out.startswith("predicted: red (")
        # Grad-CAM's cells are 16 pixels apart and 163 wide: within a cell of the square; saliency inside it.
        assert inside(_peak(out), (150, 30, 190, 70), margin=16 if method == "gradcam" else 0), out
