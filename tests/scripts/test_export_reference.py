"""scripts/export_reference.py end to end on a tiny run: measures every scheme, ships one, writes provenance."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from alexnet import AlexNet
from alexnet.checkpoint import save_checkpoint
from alexnet.data import dataset_stats, load_image_folder
from alexnet.reference import load_reference_checkpoint, reference_provenance, reference_snapshots
from tests.alexnet.test_predict import CLASSES, NAMES, _folder

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "export_reference.py"


def _script():
    spec = importlib.util.spec_from_file_location("export_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_export_of_a_tiny_run(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(tmp_path / "cache"))
    data = _folder(tmp_path / "data")
    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)
    torch.manual_seed(0)
    model = AlexNet(num_classes=3, towers=2)
    stats = dataset_stats(load_image_folder(data / "train", progress=False)).state_dict()
    for epoch in (0, 1, 2):
        conv = {k: v.half() for k, v in model.state_dict().items() if k.startswith("features.")}
        torch.save({"format": "alexnet-explorer/1", "model": conv, "config": model.config_dict(), "epoch": epoch},
                   run / "snapshots" / f"epoch_{epoch:03d}.pt")
    save_checkpoint(run / "checkpoint.pt", model, epoch=1, data_stats=stats, classes=CLASSES, class_names=NAMES)
    (run / "config.json").write_text(json.dumps({"towers": 2, "epochs": 90, "data": str(data)}))
    (run / "metrics.jsonl").write_text('{"epoch": 1, "train_images": 6}\n{"epoch": 2, "train_images": 6}\n')
    out = tmp_path / "reference"
    assert _script().main([str(run), "--out", str(out), "--picture", str(tmp_path / "conv1.png"),
                           "--commit", "test"]) == 0

    provenance = reference_provenance(out)
    rows = {r["scheme"]: r for r in provenance["compression"]["rows"]}
    assert list(rows) == ["fp32", "fp16", "int8", "int4", "int2"]
    sizes = [rows[s]["bytes"] for s in ("int2", "int4", "int8", "fp16", "fp32")]
    assert sizes == sorted(sizes) and len(set(sizes)) == 5
    fp32 = rows["fp32"]["centre_top1"]
    chosen = rows[provenance["fc_scheme"]]
    # The rule: the smallest scheme within 0.5 points of fp32's top-1 error.
    assert chosen["centre_top1"] <= fp32 + 0.005
    assert all(r["bytes"] >= chosen["bytes"] for r in rows.values() if r["centre_top1"] <= fp32 + 0.005)
    assert provenance["final_val_error"]["centre_top1"] == chosen["centre_top1"]
    assert provenance["epochs_completed"] == 1 and provenance["fc7_neighbours"]["val_images"] == 6
    assert 0 <= provenance["fc7_neighbours"]["majority_is_true_class"] <= 1
    assert sorted(reference_snapshots(out)) == [0, 1]  # snapshots after the shipped epoch are left out
    assert (out / "metrics.jsonl").read_text().count("\n") == 1
    assert load_reference_checkpoint(out)["fc_scheme"] == provenance["fc_scheme"]
    assert (tmp_path / "conv1.png").stat().st_size > 1000


def test_reference_report_formats_provenance(tmp_path):
    spec = importlib.util.spec_from_file_location("reference_report", SCRIPT.parent / "reference_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    row = {"bytes": 30e6, "fc_weight_bytes": 25e6, "centre_top1": 0.25, "centre_top5": 0.03}
    provenance = {
        "epochs_completed": 33, "epochs_planned": 90, "fc_scheme": "int4", "chance_top1_error": 0.9,
        "final_val_error": {"centre_top1": 0.25, "centre_top5": 0.03, "ten_crop_top1": 0.24, "ten_crop_top5": 0.02},
        "compression": {"rows": [{**row, "scheme": s} for s in ("fp32", "fp16", "int8", "int4")]},
        "fc7_neighbours": {"k": 6, "val_images": 1000, "train_images": 4000, "majority_is_true_class": 0.7},
        "conv1_kernels": {"initial": {"oriented_share": 0.02, "colour_specificity_by_tower": [0.66, 0.67]},
                          "trained": {"oriented_share": 0.6, "colour_specificity_by_tower": [0.44, 0.49]}},
    }
    text = module.report(provenance)
    assert "epoch 33 of 90" in text and "4-bit, groups of 64 **(shipped)**" in text
    assert "| shipped model, centre crop | 25.0% | 3.0% |" in text
    assert "70.0% of the 1,000 validation images" in text and "accuracy is 75.0%" in text
    assert "**0.44 / 0.49**" in text
