"""Unreadable image files in training data: one line naming the file, in memory and streamed (DataLoader
workers), or with --skip-unreadable left out, listed in <run>/skipped.txt and counted in the epoch line."""

from __future__ import annotations

import json

import pytest
import torch

from alexnet.data.folders import (
    StreamingImageFolder,
    Unreadable,
    UnreadableImageError,
    collate_readable,
    load_image_folder,
)
from alexnet.errors import DataError
from alexnet.inputs import SKIPPED_FILE, SkipLog, make_loader
from alexnet.runs import read_metrics
from alexnet_cli import main
from tests.alexnet.test_train import make_image_folder

BROKEN = ("train/n001/broken.png", "val/n002/bad.jpg")


@pytest.fixture(scope="module")
def broken_data(tmp_path_factory):
    """The tiny three-class set (3 train, 1 val image per class) plus one unreadable file in each split."""
    root = make_image_folder(tmp_path_factory.mktemp("broken-data"), train=3, val=1, size=40)
    (root / BROKEN[0]).write_bytes(b"this is not an image")
    (root / BROKEN[1]).write_bytes(b"\xff\xd8\xff\xe0 a JPEG cut off after its first bytes")
    return root


def _train(data, runs, *extra: str) -> int:
    return main(["train", "--data", str(data), "--runs-dir", str(runs), "--name", "r", "--epochs", "1",
                 "--batch-size", "4", "--eval-batch-size", "4", "--no-progress", "--snapshot-epochs", "1", *extra])


MODES = {"in memory": [], "streamed": ["--stream", "--workers", "1"]}  # one worker: the error crosses processes


@pytest.mark.parametrize("mode", sorted(MODES))
def test_an_unreadable_image_stops_the_run_with_one_line_naming_it(broken_data, tmp_path, capsys, mode):
    assert _train(broken_data, tmp_path, *MODES[mode]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err and "DataLoader worker" not in err, err
    assert lines[0].startswith(f"alexnet: error: cannot decode image {broken_data / BROKEN[0]}: "), err
    assert "--skip-unreadable" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_skip_unreadable_lists_the_files_and_counts_them_per_epoch(broken_data, tmp_path, capsys, mode):
    assert _train(broken_data, tmp_path, "--skip-unreadable", *MODES[mode]) == 0
    err = capsys.readouterr().err
    listed = (tmp_path / "r" / SKIPPED_FILE).read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[0] for line in listed] == [str(broken_data / rel) for rel in BROKEN]
    assert all(line.split("\t")[1] for line in listed)  # each with its reason
    record = read_metrics(tmp_path / "r")[-1]
    assert record["skipped_files"] == 2 and record["train_images"] == 9
    assert "2 unreadable files skipped (listed in skipped.txt)" in err
    assert json.loads((tmp_path / "r" / "config.json").read_text())["skip_unreadable"] is True


def test_the_decoded_cache_remembers_what_it_skipped(broken_data):
    image_set = load_image_folder(broken_data / "train", size=8, progress=False, skip_unreadable=True)
    assert len(image_set) == 9 and image_set.images.shape == (9, 3, 8, 8)
    assert [p for p, _ in image_set.skipped] == [str(broken_data / BROKEN[0])]
    assert torch.equal(image_set.targets, torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2]))
    again = load_image_folder(broken_data / "train", size=8, progress=False, skip_unreadable=True)  # cached
    assert again.skipped == image_set.skipped and torch.equal(again.images, image_set.images)
    with pytest.raises(UnreadableImageError, match="broken.png"):  # a cached set still refuses without skipping
        load_image_folder(broken_data / "train", size=8, progress=False)


def test_streamed_items_name_unreadable_files_and_loaders_skip_or_refuse_them(broken_data):
    plain = StreamingImageFolder(broken_data / "train", size=8)
    broken = [path.name for path, _ in plain.samples].index("broken.png")
    with pytest.raises(UnreadableImageError, match="broken.png"):
        plain[broken]  # the default still raises
    dataset = StreamingImageFolder(broken_data / "train", size=8, report_unreadable=True)
    item, target = dataset[broken]
    assert isinstance(item, Unreadable) and item.path.endswith("broken.png") and target == 0
    images, targets, unreadable = collate_readable([dataset[broken], dataset[0]])
    assert images.shape == (1, 3, 8, 8) and targets.tolist() == [0] and unreadable == [item]
    empty = collate_readable([dataset[broken]])
    assert empty[0].shape[0] == 0 and empty[1].numel() == 0

    skips = SkipLog(skip=True)
    batches = list(make_loader(dataset, 4, 0, torch.device("cpu"), skips=skips))
    assert sum(len(t) for _, t in batches) == 9 and list(skips.files) == [item.path]
    with pytest.raises(DataError, match="cannot decode image .*broken.png.*--skip-unreadable") as raised:
        list(make_loader(dataset, 4, 0, torch.device("cpu")))
    assert "\n" not in str(raised.value)
