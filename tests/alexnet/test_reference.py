"""Exporting a run as the bundled reference model and loading it back."""

import json

import torch

from alexnet import AlexNet, save_checkpoint
from alexnet.reference import (
    export_reference,
    load_reference_checkpoint,
    load_reference_model,
    reference_available,
    reference_provenance,
)


def _fake_run(run_dir):
    model = AlexNet(num_classes=10, towers=2)
    stats = {"mean_image": torch.rand(3, 256, 256) * 255, "eigvals": torch.ones(3), "eigvecs": torch.eye(3)}
    save_checkpoint(run_dir / "checkpoint.pt", model, epoch=3, data_stats=stats, class_names=list("abcdefghij"),
                    optimizer={"state": {}})
    for epoch in (0, 1, 3):
        conv = {k: v.half() for k, v in model.state_dict().items() if k.startswith("features.conv")}
        torch.save({"format": "alexnet-explorer/1", "model": conv, "config": model.config_dict(), "epoch": epoch},
                   (run_dir / "snapshots").joinpath(f"epoch_{epoch:03d}.pt"))
    (run_dir / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2}\n{"epoch": 3}\n')
    return model


def test_export_then_load(tmp_path):
    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)
    model = _fake_run(run)
    out = tmp_path / "reference"
    assert not reference_available(out)
    export_reference(run, {"command": "alexnet train ..."}, snapshot_epochs=[0, 3], directory=out)

    assert reference_available(out)
    assert reference_provenance(out) == {"command": "alexnet train ..."}
    assert sorted(p.name for p in (out / "snapshots").iterdir()) == ["epoch_000.pt", "epoch_003.pt"]
    assert (out / "metrics.jsonl").read_text().count("\n") == 3

    shipped = load_reference_checkpoint(out)
    assert all(k.startswith("features.") for k in shipped["model"])  # no fc layers: too large for git
    assert all(v.dtype == torch.float16 for v in shipped["model"].values())
    assert "optimizer" not in shipped and shipped["class_names"] == list("abcdefghij")
    loaded = load_reference_model(out)
    assert loaded.config.towers == 2 and not loaded.training
    assert torch.allclose(loaded.layer("conv1").weight, model.layer("conv1").weight, atol=1e-3)
    json.loads((out / "provenance.json").read_text())
    # A re-export with other epochs leaves exactly those (no stale snapshot from the first export).
    export_reference(run, {"command": "again"}, snapshot_epochs=[3], directory=out)
    assert sorted(p.name for p in (out / "snapshots").iterdir()) == ["epoch_003.pt"]
