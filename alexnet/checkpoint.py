"""Checkpoints as plain dicts, written atomically and read without running code.

A checkpoint is ``{"format": FORMAT, "model": state_dict, "config": {...}, ...}``
(training adds optimizer, scheduler, epoch and metrics). Files are written to
a temporary file in the same folder, flushed, then renamed over the target, so
a run killed mid-write leaves the previous checkpoint intact. Files are read
with ``torch.load(weights_only=True)``: a pickle that would build arbitrary
objects (and so could run code) is refused before anything in it executes.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from alexnet.errors import CheckpointError
from alexnet.model import AlexNet, ModelConfig
from alexnet.runs import CHECKPOINT_FILE

FORMAT = "alexnet-explorer/1"


def _atomic_write(path: str | os.PathLike, mode: str, write: Callable[[IO], None]) -> Path:
    """Write through ``write(file)`` to a temporary file beside ``path``, fsync, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to ``path`` so that readers see the old file or the new one, never half."""
    return _atomic_write(path, "wb", lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: str | os.PathLike) -> Path:
    """Write a text file atomically (temporary file, then rename)."""
    return _atomic_write(path, "w", lambda f: f.write(text))


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, **extra: Any) -> Path:
    """Save ``model``'s weights and config plus any ``extra`` entries (optimizer, epoch ...)."""
    config = model.config_dict() if hasattr(model, "config_dict") else {}
    return atomic_save({"format": FORMAT, "model": model.state_dict(), "config": config, **extra}, path)


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """The checkpoint file ``path`` names: ``path`` itself, or a run folder's ``checkpoint.pt``.

    A folder without that file raises ``CheckpointError`` saying what was expected.
    """
    path = Path(path)
    if not path.is_dir():
        return path
    if not (path / CHECKPOINT_FILE).is_file():
        raise CheckpointError(
            f"{path} is a folder without {CHECKPOINT_FILE}: expected a checkpoint file or a run folder holding one"
        )
    return path / CHECKPOINT_FILE


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint file, or a run folder's ``checkpoint.pt``, safely.

    Raises ``CheckpointError`` with a one-line reason when it cannot.
    """
    path = resolve_checkpoint(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        if "Unsupported global" in message:
            culprit = re.search(r"GLOBAL (\S+)", message)
            raise CheckpointError(
                f"{path.name} was refused: it asks to build the Python object "
                f"{culprit.group(1) if culprit else '(unknown)'}, which could run code when loaded; "
                f"only weights (tensors, numbers, strings, lists, dicts) are accepted"
            ) from None
        raise CheckpointError(
            f"{path.name} is not a readable PyTorch checkpoint (corrupt, truncated or another format)"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path.name} is not a readable PyTorch checkpoint (corrupt or truncated?): "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path.name} holds a {type(obj).__name__}, not a checkpoint dict")
    if obj.get("format") != FORMAT:
        raise CheckpointError(
            f"{path.name} is not an AlexNet Explorer checkpoint (format {obj.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    if not isinstance(obj.get("model"), dict):
        raise CheckpointError(f"{path.name} has no model weights")
    return obj


def model_from_checkpoint(checkpoint: dict[str, Any], *, strict: bool = True) -> AlexNet:
    """Rebuild the AlexNet a checkpoint describes and load its weights (eval mode).

    With ``strict=False`` a checkpoint that holds only some layers (the bundled
    conv-only weights) loads; missing layers keep the paper initialisation.
    """
    try:
        config = ModelConfig.from_dict(checkpoint.get("config") or {})
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint has an unusable model config: {exc}") from None
    model = AlexNet(**{k: v for k, v in vars(config).items()})
    state = {k: v.float() if v.is_floating_point() else v for k, v in checkpoint["model"].items()}
    try:
        model.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        # torch's first line is only "Error(s) in loading state_dict ..."; the next names the keys.
        detail = " ".join(line.strip() for line in str(exc).splitlines()[1:3]) or str(exc)
        raise CheckpointError(f"checkpoint weights do not fit the model: {detail}") from None
    return model.eval()
