"""Checkpoints: atomic writes, safe loading, clear refusals."""

import builtins
import io
import os
import subprocess
import time

import pytest
import torch

from alexnet import AlexNet, CheckpointError, load_checkpoint, model_from_checkpoint, save_checkpoint
from alexnet.checkpoint import FORMAT, atomic_save, checkpoint_from_safetensors
from alexnet.runs import CHECKPOINT_FILE


class _RunsCodeWhenUnpickled:
    """A pickle payload that would create a marker file if it were ever unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_marker(path):
    """What the custom class's payload runs: it creates ``path``."""
    with open(path, "w") as f:
        f.write("ran")


class _Payload:
    """Pickles as ``function(*args)``: unpickling it calls the function (the classic pickle exploit)."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return (self.function, self.args)


class _CustomReduce:
    """A class of this module whose own ``__reduce__`` makes unpickling call ``write_marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (write_marker, (self.marker,))


# name -> (payload that would create the marker, the dotted name the refusal must show)
PAYLOADS = {
    "os.system": (lambda m: _Payload(os.system, f"touch {m}"), "posix.system"),
    "subprocess.Popen": (lambda m: _Payload(subprocess.Popen, ["touch", str(m)]), "subprocess.Popen"),
    "builtins.eval": (lambda m: _Payload(builtins.eval, f"open({str(m)!r}, 'w').close()"), "builtins.eval"),
    "__reduce__": (lambda m: _CustomReduce(m), f"{__name__}.write_marker"),
}


def evil_checkpoint(payload_name: str, marker, protocol: int = 2) -> bytes:
    """A checkpoint whose pickle creates ``marker`` when loaded without weights_only (protocol 2 is torch's)."""
    buffer = io.BytesIO()
    payload = PAYLOADS[payload_name][0](marker)
    torch.save({"format": FORMAT, "model": {"w": torch.zeros(2)}, "x": payload}, buffer, pickle_protocol=protocol)
    return buffer.getvalue()


def _appears(path, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds  # Popen's touch runs in another process
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("payload_name", sorted(PAYLOADS))
def test_the_payloads_are_live(tmp_path, payload_name):
    # The control: loaded the unsafe way, each payload does create its marker, so the refusal tests
    # below prove something when the marker stays absent.
    marker = tmp_path / "ran"
    torch.load(io.BytesIO(evil_checkpoint(payload_name, marker)), weights_only=False)
    assert _appears(marker)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol 4")
@pytest.mark.parametrize("protocol", [2, 4])  # 4 writes STACK_GLOBAL, which torch refuses without a name
@pytest.mark.parametrize("payload_name", sorted(PAYLOADS))
def test_code_running_pickles_are_refused_by_name(tmp_path, payload_name, protocol):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    path.write_bytes(evil_checkpoint(payload_name, marker, protocol))
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path)
    message = str(raised.value)
    assert "\n" not in message
    assert f"evil.pt was refused: it would run code ({PAYLOADS[payload_name][1]})" in message, message
    assert "corrupt" not in message
    time.sleep(0.2)  # a Popen that did start would have touched the marker by now
    assert not marker.exists()


@pytest.mark.parametrize(
    ("message", "name"),
    [
        ("Weights only load failed. ... WeightsUnpickler error: Unsupported global: GLOBAL eval was not an allowed "
         "global by default.", "eval"),
        ("Trying to load unsupported GLOBAL posix.system whose module posix is blocked.", "posix.system"),
        ("weights only load failed: trying to load UNSUPPORTED global nt.system", "nt.system"),
        ("Trying to call reduce for unrecognized function <built-in function system>", "system"),
    ],
)
def test_refusal_wording_of_other_torch_versions_is_recognised(tmp_path, monkeypatch, message, name):
    # Whatever torch says, a refusal that names a global is reported as a refusal (case and wording vary).
    import pickle

    def refuse(*args, **kwargs):
        raise pickle.UnpicklingError(message)

    monkeypatch.setattr(torch, "load", refuse)
    path = save_checkpoint(tmp_path / "ck.pt", torch.nn.Linear(1, 1))
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path)
    assert f"ck.pt was refused: it would run code ({name})" in str(raised.value)


def test_safetensors_weights_need_no_config(tmp_path):
    from safetensors.torch import save

    model = AlexNet(num_classes=7, towers=2)
    data = save({k: v.half() if k.startswith("features.") else v for k, v in model.state_dict().items()})
    checkpoint = checkpoint_from_safetensors(data, "w.safetensors")
    assert checkpoint["config"] == {"towers": 2, "num_classes": 7} and checkpoint["config_source"] == "shapes"
    restored = model_from_checkpoint(checkpoint)
    assert torch.allclose(restored.layer("conv2").weight, model.layer("conv2").weight, atol=1e-3)
    assert torch.equal(restored.layer("fc8").weight, model.layer("fc8").weight)


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        ({"features.0.weight": torch.zeros(64, 3, 11, 11)}, "it lacks features.conv1.weight.*found features.0.weight"),
        ({f"features.conv{i}.weight": torch.zeros(2, 2) for i in range(1, 6)}, "does not have AlexNet's shapes"),
    ],
)
def test_safetensors_that_are_not_alexnet_say_what_is_missing(tensors, message):
    from safetensors.torch import save

    with pytest.raises(CheckpointError, match=message):
        checkpoint_from_safetensors(save(tensors), "w.safetensors")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        checkpoint_from_safetensors(b"\x80\x02}q\x00.", "w.safetensors")


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
