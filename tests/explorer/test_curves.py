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
    figure1_best_supported_row,
    figure1_condition_rows,
    figure1_run_rows,
    figure1_summary,
    figure1_sweep_rows,
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


def figure1_results() -> dict:
    """A results dict shaped like alexnet.relu_tanh's (two activations, one seed), numbers chosen by hand."""
    return {
        "status": "complete", "command": "alexnet relu-tanh", "wall_time_s": 12.0, "device": "CPU",
        "data": {"train_images": 500}, "error_measure": {"decision": "running", "running": "during the epoch"},
        "chosen_lr": {"relu": 0.01, "tanh": 0.001},
        "sweep": {
            "relu": {"lrs": [0.001, 0.01], "scores": {"0.001": 0.6, "0.01": 0.4},
                     "curves": {"0.001": {"diverged": False}, "0.01": {"diverged": False}}},
            "tanh": {"lrs": [0.001, 0.01], "scores": {"0.001": 0.5, "0.01": 1.0},
                     "curves": {"0.001": {"diverged": False}, "0.01": {"diverged": True}}},
        },
        "runs": [
            {"activation": "relu", "seed": 0, "lr": 0.01, "train_error": [0.5, 0.2],
             "epochs_to_25": {"running": 2}, "epochs_to_25_interpolated": {"running": 1.83}, "test_error": 0.4},
            {"activation": "tanh", "seed": 0, "lr": 0.001, "train_error": [0.7, 0.5, 0.3, 0.2],
             "epochs_to_25": {"running": 4}, "epochs_to_25_interpolated": {"running": 3.5}, "test_error": 0.45},
        ],
        "ratio": {"mean": 2.0, "min": 2.0, "max": 2.0, "n": 1},
    }


def test_figure1_tables():
    results = figure1_results()
    summary = figure1_summary(results)
    assert (summary["ratio_mean"], summary["seeds"], summary["error_measure"]) == (2.0, 1, "running")
    runs = figure1_run_rows(results)
    assert [(r["activation"], r["epochs_to_25"], r["epochs_run"], r["last_train_error"]) for r in runs] == [
        ("relu", 2, 2, 0.2), ("tanh", 4, 4, 0.2)]
    sweep = figure1_sweep_rows(results)
    assert [(r["activation"], r["lr"], r["chosen"], r["diverged"]) for r in sweep] == [
        ("relu", 0.001, False, False), ("relu", 0.01, True, False),
        ("tanh", 0.001, True, False), ("tanh", 0.01, False, True)]
    # a partial file (the experiment still running) has no runs or ratio yet
    partial = {"status": "partial", "runs": [], "ratio": {}, "sweep": {}, "error_measure": {"decision": "running"}}
    assert figure1_summary(partial)["ratio_mean"] is None
    assert figure1_run_rows(partial) == [] and figure1_sweep_rows(partial) == []


def test_figure1_condition_rows_give_ratio_or_lower_bound_per_condition_and_measure():
    relu = {"activation": "relu", "seed": 0, "epochs_to_25": {"running": 5, "post_epoch": 4}}
    tanh_slow = {"activation": "tanh", "seed": 0, "epochs_to_25": {"running": None, "post_epoch": 30}}
    results = {
        "chosen_lr": {"relu": 0.003, "tanh": 0.03},
        "runs": [relu, {"activation": "tanh", "seed": 0, "epochs_to_25": {"running": None, "post_epoch": None}}],
        "ratio_by_measure": {
            "running": {"mean": None, "n": 0, "lower_bound_per_seed": {"0": 4.2}},
            "post_epoch": {"mean": None, "n": 0, "lower_bound_per_seed": {"0": 5.25}},
        },
        "conditions": [{
            "name": "tanh-lr-0.01", "note": "tanh at 0.01", "chosen_lr": {"relu": 0.003, "tanh": 0.01},
            "runs": [relu, tanh_slow],
            "ratio_by_measure": {
                "running": {"mean": None, "n": 0, "lower_bound_per_seed": {"0": 8.2}},
                "post_epoch": {"mean": 7.5, "min": 7.5, "max": 7.5, "n": 1, "lower_bound_per_seed": {}},
            },
        }],
    }
    rows = figure1_condition_rows(results)
    assert [(r["condition"], r["measure"], r["tanh_lr"]) for r in rows] == [
        ("baseline", "running", 0.03), ("baseline", "post_epoch", 0.03),
        ("tanh-lr-0.01", "running", 0.01), ("tanh-lr-0.01", "post_epoch", 0.01)]
    assert [(r["ratio_mean"], r["ratio_at_least"], r["seeds_both_reached"]) for r in rows] == [
        (None, 4.2, 0), (None, 5.25, 0), (None, 8.2, 0), (7.5, None, 1)]
    assert (rows[3]["relu_epochs_to_25"], rows[3]["tanh_epochs_to_25"]) == ("0: 4", "0: 30")
    assert rows[2]["tanh_epochs_to_25"] == "0: -"
    assert figure1_best_supported_row(rows) is rows[3]
    assert figure1_best_supported_row(rows[:3]) is None
    assert figure1_condition_rows({"runs": []}) == []
