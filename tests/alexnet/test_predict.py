"""`alexnet predict` / `alexnet neighbours`: known answers, JSON shapes, bad images, the fc7 cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet import AlexNet
from alexnet.checkpoint import FORMAT, save_checkpoint
from alexnet.neighbours import majority_agreement, nearest, training_features
from alexnet.predict import load_classifier, predict_files
from alexnet_cli import main

CLASSES = ["n00000001", "n00000002", "n00000003"]
NAMES = ["red thing", "green thing", "blue thing"]


def _folder(root, per_class=2):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for c, wnid in enumerate(CLASSES):
            (root / split / wnid).mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 60, (64, 80, 3), dtype=np.uint8)
                pixels[..., c] += 180
                Image.fromarray(pixels).save(root / split / wnid / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _folder(tmp_path_factory.mktemp("predict-data"))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = AlexNet(num_classes=3, towers=1)
    with torch.no_grad():
        model.layer("fc8").bias.copy_(torch.tensor([0.0, 0.0, 30.0]))  # class 2 wins whatever the image
    stats = {"mean_image": torch.full((3, 256, 256), 100.0), "eigvals": torch.ones(3), "eigvecs": torch.eye(3)}
    path = tmp_path_factory.mktemp("predict-ckpt") / "checkpoint.pt"
    save_checkpoint(path, model, data_stats=stats, classes=CLASSES, class_names=NAMES, epoch=1)
    return path


def test_known_answer_and_probabilities(checkpoint, data):
    classifier = load_classifier(checkpoint)
    images = sorted((data / "val").rglob("*.png"))
    for ten_crop in (False, True):
        results = predict_files(classifier, images, k=3, ten_crop=ten_crop)
        for r in results:
            assert r["top"][0]["class"] == "n00000003" and r["top"][0]["name"] == "blue thing"
            assert r["top"][0]["probability"] > 0.99
            assert sum(t["probability"] for t in r["top"]) == pytest.approx(1.0, abs=1e-5)


def test_predict_json_keeps_going_past_a_bad_image_and_exits_2(checkpoint, data, tmp_path, capsys):
    good = sorted((data / "val").rglob("*.png"))[:2]
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    code = main(["predict", str(good[0]), str(bad), str(good[1]), "--checkpoint", str(checkpoint),
                 "--top", "2", "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "broken.jpg" in err and err.count("\n") == 1
    rows = json.loads(out)
    assert [r["image"] for r in rows] == [str(good[0]), str(good[1])]
    assert set(rows[0]) == {"image", "top"} and len(rows[0]["top"]) == 2
    assert set(rows[0]["top"][0]) == {"class", "name", "probability"}


def test_predict_refuses_a_conv_only_checkpoint_in_one_line(tmp_path, data, capsys):
    model = AlexNet(num_classes=3)
    conv = {k: v for k, v in model.state_dict().items() if k.startswith("features.")}
    torch.save({"format": FORMAT, "model": conv, "config": model.config_dict()}, tmp_path / "conv.pt")
    image = next((data / "val").rglob("*.png"))
    assert main(["predict", str(image), "--checkpoint", str(tmp_path / "conv.pt")]) == 2
    assert "holds only the conv layers" in capsys.readouterr().err


def test_neighbours_finds_the_image_itself_first_and_uses_its_cache(checkpoint, data, tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(tmp_path / "cache"))
    query = sorted((data / "train").rglob("*.png"))[3]
    code = main(["neighbours", str(query), "--data", str(data), "--checkpoint", str(checkpoint), "--k", "4",
                 "--json", "--no-progress"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    found = rows[0]["neighbours"]
    assert rows[0]["image"] == str(query) and len(found) == 4
    assert found[0]["image"].endswith(str(query.relative_to(data)))
    # Not exactly 0: a batch of 64 and a batch of 1 take different float paths through the convolutions.
    assert found[0]["distance"] < 0.25 * found[1]["distance"]
    assert found[0]["class"] == query.parent.name
    assert [n["distance"] for n in found] == sorted(n["distance"] for n in found)
    # Second query: vectors come from the cache; decoding the folder again would be a bug.
    monkeypatch.setattr("alexnet.neighbours.decode_image_file", lambda *a, **k: pytest.fail("recomputed"))
    classifier = load_classifier(checkpoint)
    train = training_features(classifier, data, progress=False)
    assert train["features"].shape == (6, 4096)


def test_nearest_and_majority_agreement_on_hand_made_vectors():
    feats = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0], [11.0, 10.0]])
    dist, idx = nearest(feats, torch.tensor([[0.9, 0.1], [10.2, 10.0]]), k=2)
    assert idx.tolist() == [[1, 0], [2, 3]]
    assert dist[0, 0].item() == pytest.approx((0.01 + 0.01) ** 0.5, rel=1e-4)
    train = {"features": feats, "labels": torch.tensor([0, 0, 1, 1])}
    assert majority_agreement(train, torch.tensor([[0.5, 0.0], [10.5, 10.0]]), torch.tensor([0, 0]), k=2) == 0.5
