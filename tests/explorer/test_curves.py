"""Training curves from run folders written the way ``alexnet train`` writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from alexnet.checkpoint import FORMAT, atomic_save, load_checkpoint, model_from_checkpoint
from alexnet.model import AlexNet
from alexnet.train import conv_state_dict
from explorer.curves import (
    curve_columns,
    curve_rows,
    curves_figure,
    curves_matplotlib,
    epoch_record,
    list_snapshots,
    lr_drop_epochs,
    read_metrics,
    run_folders,
    summary_numbers,
)


def metrics_record(epoch: int, lr: float = 0.01, dropped: bool = False) -> dict:
    """A metrics.jsonl record with alexnet.train's keys; errors fall with the epoch."""
    return {
        "epoch": epoch, "lr": lr, "train_loss": 2.3 - 0.1 * epoch, "train_top1_error": 0.9 - 0.05 * epoch,
        "train_images": 100, "images_per_s": 50.0, "val_top1_error": 0.92 - 0.04 * epoch,
        "val_top5_error": 0.5 - 0.02 * epoch, "val_images": 50, "lr_dropped": dropped, "epoch_seconds": 2.0,
    }


def make_run_folder(root: Path, name: str = "tiny", epochs: int = 3, snapshot_epochs=(0, 2)) -> Path:
    """runs/<name>/ with metrics.jsonl and conv-only fp16 snapshots like alexnet.train's.

    Each snapshot's conv weights come from a different seed, so epochs are told apart by their kernels.
    """
    run = root / name
    (run / "snapshots").mkdir(parents=True)
    lines = [json.dumps(metrics_record(e, lr=0.01 if e < 2 else 0.001, dropped=e == 1)) for e in range(1, epochs + 1)]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = AlexNet(num_classes=10, init=False) if snapshot_epochs else None
    for epoch in snapshot_epochs:
        torch.manual_seed(100 + epoch)
        with torch.no_grad():
            for layer in ("conv1", "conv2", "conv3", "conv4", "conv5"):
                model.layer(layer).weight.normal_(0, 0.01 * (epoch + 1))
        atomic_save({"format": FORMAT, "model": conv_state_dict(model), "config": model.config_dict(),
                     "epoch": epoch}, run / "snapshots" / f"epoch_{epoch:03d}.pt")
    return run


def test_run_folder_round_trip(tmp_path):
    run = make_run_folder(tmp_path)
    records = read_metrics(run)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    snapshots = list_snapshots(run)
    assert list(snapshots) == [0, 2]
    # the snapshot is conv-only: it loads with strict=False and carries the conv weights exactly (fp16).
    checkpoint = load_checkpoint(snapshots[2])
    assert all(k.startswith("features.conv") for k in checkpoint["model"])
    model = model_from_checkpoint(checkpoint, strict=False)
    assert torch.equal(model.layer("conv1").weight, checkpoint["model"]["features.conv1.weight"].float())


def test_run_folders_lists_reference_first_and_runs_by_name(tmp_path):
    runs = tmp_path / "runs"
    make_run_folder(runs, "b", snapshot_epochs=())
    make_run_folder(runs, "a", snapshot_epochs=())
    (runs / "not-a-run").mkdir()
    reference = make_run_folder(tmp_path, "reference", snapshot_epochs=())
    folders = run_folders(runs, reference_dir=reference)
    assert [f.label for f in folders] == ["reference model (bundled)", "run a", "run b"]
    assert folders[0].is_reference and folders[0].path == reference
    assert [f.path.name for f in run_folders(runs, reference_dir=tmp_path / "absent")] == ["a", "b"]
    assert run_folders(tmp_path / "nothing", reference_dir=tmp_path / "absent") == []


def test_curve_columns_by_hand():
    records = [
        {"epoch": 2, "train_loss": 1.5, "val_top1_error": 0.4},
        {"epoch": 1, "train_loss": 2.0, "train_error": 0.7, "val_top1_error": float("nan")},
        {"note": "no epoch: skipped"},
    ]
    columns = curve_columns(records)
    assert columns == {
        "epoch": [1, 2],
        "train_loss": [2.0, 1.5],
        "train_top1_error": [0.7, None],  # "train_error" is read as the same quantity
        "val_top1_error": [None, 0.4],  # NaN is no value
    }
    assert curve_rows(records)[1] == {"epoch": 2, "train_loss": 1.5, "train_top1_error": None, "val_top1_error": 0.4}


def test_epoch_record_and_lr_drops():
    records = [metrics_record(1), metrics_record(2, dropped=True), metrics_record(3)]
    assert epoch_record(records, 2)["lr_dropped"] is True
    assert epoch_record(records, 9) is None
    assert lr_drop_epochs(records) == [2]


def test_curves_figure_plots_errors_in_percent_and_marks_epochs():
    records = [metrics_record(1), metrics_record(2, dropped=True)]
    fig = curves_figure(records, title="tiny", mark_epoch=1)
    by_name = {trace.name: trace for trace in fig.data}
    assert list(by_name["validation top-1 error"].y) == pytest.approx([88.0, 84.0])
    assert list(by_name["training loss (cross-entropy)"].y) == pytest.approx([2.2, 2.1])
    assert fig.layout.yaxis3.type == "log"  # learning rate panel
    # one dotted line per LR drop and one for the marked epoch, on each of the three panels
    assert sorted({shape.x0 for shape in fig.layout.shapes}) == [1, 2]
    assert len(fig.layout.shapes) == 6


def test_torn_last_line_is_skipped(tmp_path):
    run = make_run_folder(tmp_path, snapshot_epochs=())
    with (run / "metrics.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"epoch": 4, "train_lo')
    assert [r["epoch"] for r in read_metrics(run)] == [1, 2, 3]


def test_curves_matplotlib_and_summary_numbers():
    records = [metrics_record(1), metrics_record(2, dropped=True), metrics_record(3)]
    fig = curves_matplotlib(records, title="tiny", mark_epoch=2)
    loss, errors, lr = fig.axes
    assert [line.get_label() for line in errors.lines if not line.get_label().startswith("_")] == [
        "training top-1 error", "validation top-1 error", "validation top-5 error"]
    assert list(errors.lines[1].get_ydata()) == pytest.approx([88.0, 84.0, 80.0])
    assert lr.get_yscale() == "log"
    assert summary_numbers(records) == {"last_epoch": 3, "last_val_top1": pytest.approx(0.80),
                                        "last_val_top5": pytest.approx(0.44), "best_val_top1": pytest.approx(0.80),
                                        "best_epoch": 3}
    assert summary_numbers([])["last_epoch"] is None
