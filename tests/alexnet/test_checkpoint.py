"""Checkpoints: atomic writes, safe loading, clear refusals."""

import os

import pytest
import torch

from alexnet import AlexNet, CheckpointError, load_checkpoint, model_from_checkpoint, save_checkpoint
from alexnet.checkpoint import atomic_save
from alexnet.runs import CHECKPOINT_FILE


class _RunsCodeWhenUnpickled:
    """A pickle payload that would create a marker file if it were ever unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_roundtrip_restores_weights_and_config(tmp_path):
    model = AlexNet(num_classes=10, towers=2, lrn_alpha_convention="paper")
    path = save_checkpoint(tmp_path / "ck.pt", model, epoch=3)
    ck = load_checkpoint(path)
    assert ck["epoch"] == 3
    restored = model_from_checkpoint(ck)
    assert restored.config == model.config
    for (k, a), b in zip(model.state_dict().items(), restored.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert not restored.training


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "alexnet-explorer/1", "model": {}, "x": _RunsCodeWhenUnpickled(marker)}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a checkpoint at all", "not a readable PyTorch checkpoint"),
        (b"", "not a readable PyTorch checkpoint"),
    ],
)
def test_corrupt_files_get_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", AlexNet(num_classes=2))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_foreign_checkpoint_is_named_as_such(tmp_path):
    path = tmp_path / "plain_state_dict.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(CheckpointError, match="not an AlexNet Explorer checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_run_folder_loads_its_checkpoint_file(tmp_path):
    run = tmp_path / "my-run"
    save_checkpoint(run / CHECKPOINT_FILE, AlexNet(num_classes=4), epoch=7)
    assert load_checkpoint(run)["epoch"] == 7
    assert load_checkpoint(str(run))["epoch"] == 7
    empty = tmp_path / "empty-run"
    empty.mkdir()
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(empty)
    message = str(raised.value)
    assert "\n" not in message and str(empty) in message and CHECKPOINT_FILE in message


def test_weights_that_do_not_fit(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", AlexNet(num_classes=10))
    ck = load_checkpoint(path)
    ck["config"]["num_classes"] = 5
    with pytest.raises(CheckpointError, match="do not fit"):
        model_from_checkpoint(ck)


def test_conv_only_checkpoint_loads_non_strict(tmp_path):
    model = AlexNet(num_classes=10, towers=2)
    conv_only = {k: v.half() for k, v in model.state_dict().items() if k.startswith("features.")}
    ck = {"format": "alexnet-explorer/1", "model": conv_only, "config": model.config_dict()}
    atomic_save(ck, tmp_path / "conv.pt")
    restored = model_from_checkpoint(load_checkpoint(tmp_path / "conv.pt"), strict=False)
    assert torch.allclose(restored.layer("conv1").weight, model.layer("conv1").weight, atol=1e-3)


def test_atomic_save_keeps_old_file_when_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    atomic_save({"a": torch.zeros(1)}, path)
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        atomic_save({"a": torch.ones(1)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temporary file left behind
    assert os.access(path, os.R_OK)
