"""explorer.validation on a hand-made folder (pure colours) and model (names the strongest colour): known answers."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from alexnet.data import DatasetStats, EvalPreset
from explorer.validation import (
    FolderClasses,
    confusion_figure,
    confusion_matrix,
    folder_classes,
    match_classifier,
    missing_data,
    model_on_dataset,
    per_class_error,
    score_folder,
    validation_samples,
    validation_summary,
)

COLOURS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}
MODEL_NAMES = ["red", "green", "blue"]  # the model's outputs: channel 0, 1, 2 of the mean colour


class ColourNet(nn.Module):
    """Scores = the image's mean R, G, B (fc6 = fc7 = fc8 = identity): it names the strongest colour."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.AdaptiveAvgPool2d(1))
        layers = OrderedDict(flatten=nn.Flatten())
        for n in (6, 7, 8):
            fc = nn.Linear(3, 3)
            nn.init.eye_(fc.weight)
            nn.init.zeros_(fc.bias)
            layers[f"fc{n}"] = fc
            if n < 8:
                layers[f"relu{n}"] = nn.ReLU(inplace=True)
                layers[f"drop{n}"] = nn.Dropout()
        self.classifier = nn.Sequential(layers)
        self.eval()

    def forward(self, x):
        return self.classifier(self.features(x))


def write(folder: Path, name: str, colour: tuple[int, int, int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 40), colour).save(folder / name)


@pytest.fixture
def dataset(tmp_path) -> Path:
    """val/: blue 1 image, green 2, red 3 of which one is really blue (a labelling the model gets wrong)."""
    root = tmp_path / "imagenette"
    val = root / "val"
    write(val / "blue", "b1.png", COLOURS["blue"])
    write(val / "green", "g1.png", COLOURS["green"])
    write(val / "green", "g2.png", COLOURS["green"])
    write(val / "red", "r1.png", COLOURS["red"])
    write(val / "red", "r2.png", COLOURS["red"])
    write(val / "red", "r3.png", COLOURS["blue"])
    return root


@pytest.fixture
def preset() -> EvalPreset:
    stats = DatasetStats(mean_image=torch.zeros(3, 256, 256), eigvals=torch.zeros(3), eigvecs=torch.eye(3))
    return EvalPreset(stats, crop_size=227)


def test_scores_every_image_in_the_folders_class_order_with_progress(dataset, preset):
    classes = folder_classes(dataset)
    assert classes == FolderClasses(["blue", "green", "red"], ["blue", "green", "red"])  # no classes.tsv
    classifier = match_classifier(ColourNet(), preset, MODEL_NAMES, classes, "colours")
    assert classifier.classes == ["red", "green", "blue"]  # the folder of each model output
    calls = []
    out = score_folder(classifier, dataset / "val", batch_size=4, on_progress=lambda done, total: calls.append(done))
    assert calls == [0, 4, 6]
    assert out["classes"] == out["class_names"] == ["blue", "green", "red"]
    assert out["labels"].tolist() == [0, 1, 1, 2, 2, 2]
    assert [Path(p).name for p in out["paths"]] == ["b1.png", "g1.png", "g2.png", "r1.png", "r2.png", "r3.png"]
    # Scores in the folder's order (blue, green, red): a pure colour scores 255 on its own class only.
    assert out["logits"].argmax(dim=1).tolist() == [0, 1, 1, 2, 2, 0]
    assert out["logits"][0].tolist() == [255.0, 0.0, 0.0]
    assert out["features"].shape == (6, 3) and out["features"][3].tolist() == [255.0, 0.0, 0.0]  # fc7, model order

    summary = validation_summary(out)
    assert summary["confusion"].tolist() == [[1, 0, 0], [0, 2, 0], [1, 0, 2]]
    assert summary["per_class_error"].tolist() == pytest.approx([0.0, 0.0, 1 / 3])
    assert summary["top1_error"] == pytest.approx(1 / 6)
    assert summary["top5_error"] == 0.0  # three classes: every label is in the top 3
    assert summary["images"] == 6 and summary["class_names"] == ["blue", "green", "red"]


def test_results_are_cached_on_disk_until_a_file_changes(dataset, preset):
    classifier = match_classifier(ColourNet(), preset, MODEL_NAMES, folder_classes(dataset), "colours")
    first = score_folder(classifier, dataset / "val")
    calls = []
    again = score_folder(classifier, dataset / "val", on_progress=lambda done, total: calls.append(done))
    assert calls == [] and torch.equal(again["logits"], first["logits"])  # read back, not computed
    write(dataset / "val" / "green", "g3.png", COLOURS["green"])
    changed = score_folder(classifier, dataset / "val", on_progress=lambda done, total: calls.append(done))
    assert calls and changed["labels"].tolist() == [0, 1, 1, 1, 2, 2, 2]


def test_a_model_of_other_classes_is_not_matched(dataset, preset):
    classes = folder_classes(dataset)
    assert match_classifier(ColourNet(), preset, ["red", "green", "cyan"], classes, "x") is None
    assert match_classifier(ColourNet(), preset, None, classes, "x") is None
    assert match_classifier(ColourNet(), preset, ["red", "green"], classes, "x") is None


def test_readable_names_come_from_classes_tsv(dataset, preset):
    (dataset / "classes.tsv").write_text("index\twnid\tname\n0\tred\tcrimson\n1\tgreen\tleaf\n2\tblue\tsky\n")
    classes = folder_classes(dataset)
    assert classes.names == ["sky", "leaf", "crimson"]  # in the folders' (label) order
    named = match_classifier(ColourNet(), preset, ["crimson", "leaf", "sky"], classes, "x")
    assert named.classes == ["red", "green", "blue"]
    by_folder = match_classifier(ColourNet(), preset, MODEL_NAMES, classes, "x")  # trained without classes.tsv
    assert by_folder.classes == ["red", "green", "blue"]
    out = score_folder(named, dataset / "val")
    assert out["class_names"] == ["sky", "leaf", "crimson"]


def test_validation_samples_are_the_first_images_of_each_known_class(dataset):
    found = validation_samples(dataset, ["green", "red", "violet"], per_class=2)
    assert list(found) == ["val: green 1", "val: green 2", "val: red 1", "val: red 2"]
    assert found["val: red 2"][0].name == "r2.png" and found["val: red 2"][1] == "red"
    assert validation_samples(dataset, None) == {}
    assert validation_samples(dataset.parent / "absent", ["red"]) == {}


def test_missing_data_says_what_and_how_in_one_line(dataset):
    assert missing_data(dataset) is None
    message = missing_data(dataset, ("train", "val"))
    assert str(dataset / "train") in message and "ALEXNET_DATA_ROOT" in message and "\n" not in message


def test_confusion_matrix_and_errors_by_hand():
    confusion = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 4)
    assert confusion.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    errors = per_class_error(confusion)
    assert errors[:3].tolist() == [0.5, 0.0, 0.5] and np.isnan(errors[3])  # no images of class 3
    with pytest.raises(ValueError):
        confusion_matrix(np.array([0, 1]), np.array([0]), 2)


def test_confusion_figure_names_both_axes_and_writes_counts():
    figure = confusion_figure(np.array([[3, 1], [0, 4]]), ["tench", "church"])
    heat = figure.data[0]
    assert list(heat.x) == list(heat.y) == ["tench", "church"]
    assert [list(row) for row in heat.z] == [[0.75, 0.25], [0.0, 1.0]]
    assert [list(row) for row in heat.text] == [["3", "1"], ["", "4"]]  # zeros left blank
    assert [list(row) for row in heat.customdata] == [[3, 1], [0, 4]]


def test_model_on_dataset_matches_or_says_why_not_in_one_line(dataset):
    from explorer.models import LoadedModel

    def loaded(names, has_classifier=True):
        return LoadedModel(ColourNet(), "colours", "Colours", "upload", True, has_classifier, "No classifier.", names)

    classifier, why = model_on_dataset(loaded(MODEL_NAMES), dataset)
    assert why is None and classifier.classes == ["red", "green", "blue"] and classifier.preset.crop_size == 227
    assert model_on_dataset(loaded(MODEL_NAMES, has_classifier=False), dataset) == (None, "No classifier.")
    classifier, why = model_on_dataset(loaded([f"c{i}" for i in range(1000)]), dataset)
    assert classifier is None and "knows 1000 classes, not the 3 classes of" in why and "\n" not in why
    classifier, why = model_on_dataset(loaded(MODEL_NAMES), dataset, ("train", "val"))
    assert classifier is None and why.startswith(f"No data folder at {dataset / 'train'}:")
