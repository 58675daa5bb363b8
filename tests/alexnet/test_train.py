"""Training loop: train_one_epoch, fit's run folder, checkpoints/snapshots, determinism and resume (on tiny data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from alexnet.checkpoint import FORMAT, load_checkpoint, model_from_checkpoint
from alexnet.config import TrainConfig
from alexnet.data import DatasetStats
from alexnet.errors import TrainError
from alexnet.inputs import iterate_batches
from alexnet.model import AlexNet
from alexnet.runs import CHECKPOINT_FILE, list_snapshots, read_metrics
from alexnet.train import epoch_indices, fit, train_one_epoch

CLASS_NAMES = {"n001": "red thing", "n002": "green thing", "n003": "blue thing"}


def make_image_folder(root: Path, *, train: int = 4, val: int = 2, size: int = 64, names: bool = True) -> Path:
    """A tiny ImageFolder dataset: 3 classes (tinted noise), ``train``/``val`` PNGs per class, classes.tsv."""
    rng = np.random.default_rng(0)
    for split, count in (("train", train), ("val", val)):
        for c, wnid in enumerate(CLASS_NAMES):
            folder = root / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                pixels[..., c] = 230
                Image.fromarray(pixels).save(folder / f"{i}.png")
    if names:
        rows = "".join(f"{i}\t{w}\t{n}\n" for i, (w, n) in enumerate(CLASS_NAMES.items()))
        (root / "classes.tsv").write_text("index\twnid\tname\n" + rows, encoding="utf-8")
    return root


def tiny_config(data: Path, runs: Path, **overrides) -> TrainConfig:
    values = dict(data=str(data), runs_dir=str(runs), name="tiny", epochs=1, batch_size=6, eval_batch_size=6,
                  towers=2, progress=False, val_subset=2, snapshot_epochs=(0, 1))
    return TrainConfig(**{**values, **overrides})


# --- epoch order --------------------------------------------------------------------------------------


def test_epoch_indices_shards_are_disjoint_equal_and_reseeded_per_epoch():
    shards = [epoch_indices(11, seed=3, epoch=1, rank=r, world_size=3) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    together = torch.cat(shards)
    assert len(set(together.tolist())) == 9 and set(together.tolist()) <= set(range(11))
    single = epoch_indices(11, seed=3, epoch=1)
    assert sorted(single.tolist()) == list(range(11))
    assert torch.equal(single, epoch_indices(11, seed=3, epoch=1))
    assert not torch.equal(single, epoch_indices(11, seed=3, epoch=2))
    assert not torch.equal(single, epoch_indices(11, seed=4, epoch=1))


# --- fit ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("tiny-data"))


@pytest.mark.slow
def test_fit_writes_run_folder_checkpoint_and_snapshots(tiny_data, tmp_path):
    config = tiny_config(tiny_data, tmp_path)
    last = fit(config)
    run = tmp_path / "tiny"

    records = read_metrics(run)
    assert [r["epoch"] for r in records] == [1]
    record = records[0]
    assert record == last
    for key in ("train_loss", "train_top1_error", "val_top1_error", "val_top5_error", "lr", "images_per_s",
                "val_ten_crop_top1_error", "val_ten_crop_top5_error"):  # last epoch: 10 crops too
        assert isinstance(record[key], float), key
    assert record["train_images"] == 12 and record["val_images"] == 2 and record["lr"] == 0.01
    assert json.loads((run / "config.json").read_text()) == json.loads(config.to_json())

    checkpoint = load_checkpoint(run / CHECKPOINT_FILE)
    assert checkpoint["format"] == FORMAT and checkpoint["epoch"] == 1
    assert TrainConfig.from_dict(checkpoint["train_config"]) == config
    assert checkpoint["metrics"] == records
    assert checkpoint["class_names"] == list(CLASS_NAMES.values())  # from classes.tsv
    assert checkpoint["classes"] == list(CLASS_NAMES)
    assert set(checkpoint["data_stats"]) == {"mean_image", "eigvals", "eigvecs"}
    assert checkpoint["scheduler"]["best"] == record["val_top1_error"]
    assert set(checkpoint["optimizer"]["state"])  # momentum velocities saved
    model = model_from_checkpoint(checkpoint)
    assert model.config.towers == 2 and model.config.num_classes == 3

    snapshots = list_snapshots(run)
    assert list(snapshots) == [0, 1]
    initial = load_checkpoint(snapshots[0])
    assert set(initial["model"]) == {f"features.conv{i}.{p}" for i in range(1, 6) for p in ("weight", "bias")}
    assert all(v.dtype == torch.float16 for v in initial["model"].values())
    assert initial["epoch"] == 0 and initial["class_names"] == checkpoint["class_names"]
    torch.manual_seed(config.seed)
    fresh = AlexNet(num_classes=3, towers=2)  # epoch 0 = the initial weights, drawn with the run's seed
    assert torch.equal(initial["model"]["features.conv1.weight"], fresh.features.conv1.weight.detach().half())
    partial = model_from_checkpoint(load_checkpoint(snapshots[1]), strict=False)
    torch.testing.assert_close(partial.features.conv5.weight, model.features.conv5.weight.half().float())

    with pytest.raises(TrainError, match="--resume"):
        fit(config)  # never overwrites a run by accident


@pytest.mark.slow
def test_fit_is_deterministic_and_resume_matches_an_uninterrupted_run(tiny_data, tmp_path):
    def weights(name):
        return load_checkpoint(tmp_path / name / CHECKPOINT_FILE)["model"]

    one_a = tiny_config(tiny_data, tmp_path, name="one-a", train_subset=6, snapshot_epochs=())
    fit(one_a)
    fit(one_a.replace(name="one-b"))
    a, b = weights("one-a"), weights("one-b")
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical on CPU

    fit(one_a.replace(name="two", epochs=2))
    fit(one_a.replace(epochs=2), resume=True)  # continue one-a from its epoch-1 checkpoint
    resumed, straight = weights("one-a"), weights("two")
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)
    assert [r["epoch"] for r in read_metrics(tmp_path / "one-a")] == [1, 2]
    assert load_checkpoint(tmp_path / "one-a" / CHECKPOINT_FILE)["epoch"] == 2


def test_fit_refuses_bad_data_with_one_line_errors(tmp_path):
    from alexnet.errors import DataError

    with pytest.raises(DataError, match="not found"):
        fit(TrainConfig(data=str(tmp_path / "nope"), runs_dir=str(tmp_path / "runs"), progress=False))
    (tmp_path / "flat" / "train").mkdir(parents=True)
    (tmp_path / "flat" / "val").mkdir()
    with pytest.raises(DataError, match="no class folders"):
        fit(TrainConfig(data=str(tmp_path / "flat"), runs_dir=str(tmp_path / "runs"), progress=False))


# --- train_one_epoch -------------------------------------------------------------------------------------


def test_train_one_epoch_steps_once_per_batch_and_reports_weighted_means():
    from alexnet.optim import PaperSGD

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 3))
    reference = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 3))
    reference.load_state_dict(model.state_dict())
    images = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8)
    targets = torch.tensor([0, 1, 2, 0, 1])

    def preset(batch, generator=None):
        return batch.float() / 255

    optimizer = PaperSGD(model.parameters(), lr=0.1)
    result = train_one_epoch(model, optimizer, iterate_batches(images, targets, 2), preset,
                             device=torch.device("cpu"))
    # the same three steps (batches of 2, 2, 1) by hand
    by_hand = PaperSGD(reference.parameters(), lr=0.1)
    losses, wrong = [], 0
    for batch, target in iterate_batches(images, targets, 2):
        logits = reference(preset(batch))
        loss = nn.functional.cross_entropy(logits, target)
        by_hand.zero_grad()
        loss.backward()
        by_hand.step()
        losses.append(float(loss.detach()) * len(target))
        wrong += int((logits.argmax(1) != target).sum())
    for mine, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert result["train_loss"] == pytest.approx(sum(losses) / 5)
    assert result["train_top1_error"] == pytest.approx(wrong / 5)
    assert result["train_images"] == 5 and result["images_per_s"] > 0


@pytest.mark.slow
def test_bf16_autocast_and_channels_last_train_the_paper_model_on_cpu():
    from alexnet.data import TrainPreset
    from alexnet.optim import PaperSGD

    torch.manual_seed(0)
    model = AlexNet(num_classes=3, towers=2).to(memory_format=torch.channels_last)
    before = model.features.conv1.weight.detach().clone()
    images = torch.randint(0, 256, (2, 3, 256, 256), dtype=torch.uint8)
    stats = DatasetStats(torch.full((3, 256, 256), 128.0), torch.tensor([3.0, 2.0, 1.0]), torch.eye(3))
    result = train_one_epoch(model, PaperSGD(model.parameters(), lr=1e-4), [(images, torch.tensor([0, 2]))],
                             TrainPreset(stats), device=torch.device("cpu"), bf16=True, channels_last=True)
    assert np.isfinite(result["train_loss"])
    assert model.features.conv1.weight.dtype == torch.float32  # autocast leaves the weights in fp32
    assert not torch.equal(model.features.conv1.weight.detach(), before)
