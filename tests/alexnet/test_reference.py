"""The bundled reference model: export to safetensors shards and load back; what ships in the package."""

from __future__ import annotations

import json

import pytest
import torch

from alexnet import AlexNet
from alexnet.errors import CheckpointError
from alexnet.reference import (
    REFERENCE_DIR,
    export_reference,
    load_reference_checkpoint,
    load_reference_model,
    model_bytes,
    reference_available,
    reference_provenance,
    reference_snapshots,
)


def _checkpoint(model: AlexNet) -> dict:
    stats = {"mean_image": torch.rand(3, 256, 256) * 255, "eigvals": torch.ones(3), "eigvecs": torch.eye(3)}
    return {"format": "alexnet-explorer/1", "model": model.state_dict(), "config": model.config_dict(),
            "epoch": 3, "data_stats": stats, "classes": [f"n{i:08d}" for i in range(10)],
            "class_names": list("abcdefghij"), "optimizer": {"state": {}}}


@pytest.mark.parametrize("scheme", ["fp16", "int8", "int4"])
def test_export_then_load_gives_the_whole_model_back(tmp_path, scheme):
    torch.manual_seed(0)
    model = AlexNet(num_classes=10, towers=2).eval()
    checkpoint = _checkpoint(model)
    snapshots = {e: {k: v + e for k, v in model.state_dict().items()} for e in (0, 1, 3)}
    out = tmp_path / "reference"
    assert not reference_available(out)
    export_reference(checkpoint, snapshots, '{"epoch": 1}\n', {"command": "alexnet train ..."},
                     fc_scheme=scheme, directory=out)
    assert reference_available(out)
    assert reference_provenance(out) == {"command": "alexnet train ..."}
    assert all(p.stat().st_size < 16 * 1024 * 1024 for p in out.iterdir())
    assert not list(out.rglob("*.pt"))  # no pickle ships

    shipped = load_reference_checkpoint(out)
    assert set(shipped["model"]) == set(model.state_dict())  # all eight layers
    assert "optimizer" not in shipped and shipped["class_names"] == list("abcdefghij")
    assert shipped["classes"][0] == "n00000000" and shipped["epoch"] == 3 and shipped["fc_scheme"] == scheme
    assert torch.equal(shipped["data_stats"]["eigvecs"], torch.eye(3))
    loaded = load_reference_model(out)
    assert loaded.config.towers == 2 and not loaded.training
    assert torch.allclose(loaded.layer("conv1").weight, model.layer("conv1").weight, atol=1e-3)
    fc6, original = loaded.layer("fc6").weight.detach(), model.layer("fc6").weight.detach()
    step = {"fp16": 1e-3, "int8": float(original.abs().max()) / 127, "int4": float(original.abs().max()) / 7}[scheme]
    assert (fc6 - original).abs().max() <= step
    x = torch.randn(2, 3, 227, 227) * 50
    with torch.no_grad():
        agree = (loaded(x).argmax(1) == model(x).argmax(1)).float().mean()
    assert agree >= 0.5

    snaps = reference_snapshots(out)
    assert sorted(snaps) == [0, 1, 3] and set(snaps[3]) == {"features.conv1.weight", "features.conv1.bias"}
    assert torch.allclose(snaps[3]["features.conv1.weight"], model.layer("conv1").weight + 3, atol=1e-2)


def test_a_reexport_replaces_old_pickled_files_and_shards(tmp_path):
    model = AlexNet(num_classes=10, towers=2)
    out = tmp_path / "reference"
    (out / "snapshots").mkdir(parents=True)
    torch.save({"old": 1}, out / "conv_weights.pt")
    torch.save({"old": 1}, out / "snapshots" / "epoch_000.pt")
    export_reference(_checkpoint(model), {}, "", {}, fc_scheme="int4", directory=out)
    assert not (out / "conv_weights.pt").exists() and not (out / "snapshots").exists()
    assert model_bytes(out) < 40e6


def test_a_missing_or_broken_reference_raises_one_line_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no bundled reference model"):
        load_reference_checkpoint(tmp_path)
    (tmp_path / "model.safetensors.index.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not a readable weights index"):
        load_reference_checkpoint(tmp_path)


@pytest.mark.skipif(not reference_available(REFERENCE_DIR), reason="no bundled reference model in this checkout")
def test_the_bundled_model_is_whole_small_and_says_where_it_came_from():
    checkpoint = load_reference_checkpoint()
    assert any(k.startswith("classifier.fc8") for k in checkpoint["model"])
    assert len(checkpoint["classes"]) == len(checkpoint["class_names"]) == 10
    total = sum(p.stat().st_size for p in REFERENCE_DIR.rglob("*") if p.is_file())
    assert total < 60e6
    assert all(p.stat().st_size <= 16 * 1024 * 1024 for p in REFERENCE_DIR.rglob("*") if p.is_file())
    provenance = reference_provenance()
    assert provenance["epochs_completed"] == checkpoint["epoch"]
    json.dumps(provenance)
