"""Checkpoints as plain dicts, written atomically and read without running code.

A checkpoint is ``{"format": FORMAT, "model": state_dict, "config": {...}, ...}``
(training adds optimizer, scheduler, epoch and metrics). Files are written to
a temporary file in the same folder, flushed, then renamed over the target, so
a run killed mid-write leaves the previous checkpoint intact. Files are read
with ``torch.load(weights_only=True)``: a pickle that would build arbitrary
objects (and so could run code) is refused before anything in it executes, and
the refusal names what it would have called (``refused_globals`` reads the pickle's
opcodes without running them, whatever wording the installed torch uses). One
``.safetensors`` file of AlexNet weights, which holds no pickle at all, becomes a
checkpoint dict with ``checkpoint_from_safetensors``.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
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


def atomic_write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write a binary file (a PNG ...) atomically (temporary file, then rename)."""
    return _atomic_write(path, "wb", lambda f: f.write(data))


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
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line; the pickle is looked at first
        culprits = refused_globals(path, str(exc))
        if culprits:
            raise CheckpointError(
                f"{path.name} was refused: it would run code ({', '.join(culprits)}); a file that could run "
                f"code is never loaded, only weights (tensors, numbers, strings, lists, dicts)"
            ) from None
        if isinstance(exc, pickle.UnpicklingError):
            raise CheckpointError(
                f"{path.name} is not a readable PyTorch checkpoint (corrupt, truncated or another format)"
            ) from None
        if not isinstance(exc, (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError)):
            raise
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


# How torch's weights-only unpickler (torch/_weights_only_unpickler.py) names what it refused, 2.11 to 2.14:
#   "Unsupported global: GLOBAL eval was not an allowed global by default ..." (builtins. is dropped)
#   "Trying to load unsupported GLOBAL posix.system whose module posix is blocked."
#   "Trying to call reduce for unrecognized function <built-in function system> ..."
# A pickle using STACK_GLOBAL (protocol 4) is refused as "Unsupported operand 149", naming nothing, so
# the pickle itself is read first (refused_globals); these patterns are the fallback for what it misses.
_REFUSAL_PATTERNS = (
    re.compile(r"\bGLOBAL\s+([\w.]+)", re.IGNORECASE),
    re.compile(r"unrecognized function\s+<?(?:built-in function\s+)?([^>\s]+)", re.IGNORECASE),
)
# Opcodes that push a string (a STACK_GLOBAL takes its module and name from the last two).
_STRING_OPCODES = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
                             "STRING", "BINSTRING", "SHORT_BINSTRING"})
_MAX_LEGACY_PICKLE_BYTES = 64 * 1024 * 1024


def _python3_name(module: str, name: str) -> str:
    """``module.name`` as Python 3's unpickler resolves it (protocol 2 writes ``__builtin__``, ``commands`` ...)."""
    from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING

    if (module, name) in NAME_MAPPING:
        module, name = NAME_MAPPING[(module, name)]
    else:
        module = IMPORT_MAPPING.get(module, module)
    return f"{module}.{name}"


def pickled_imports(data: bytes) -> list[str]:
    """Every ``module.name`` the pickles in ``data`` would import, in order; nothing in them is executed.

    Reads the opcodes with ``pickletools`` (GLOBAL and INST name theirs; STACK_GLOBAL takes the last two
    strings pushed, memoised ones included). Pickles that follow each other (the legacy torch format) are
    all read; reading stops quietly at the first bytes that are not a pickle.
    """
    found: list[str] = []
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        strings: list[str] = []
        memo: dict[int, str] = {}
        last: str | None = None  # the string on top of the stack, if the last opcode pushed one
        try:
            for opcode, arg, _ in pickletools.genops(stream):
                top = None
                if opcode.name in ("GLOBAL", "INST"):
                    module, _, name = str(arg).partition(" ")
                    found.append(_python3_name(module, name))
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(_python3_name(strings[-2], strings[-1]))
                elif opcode.name in _STRING_OPCODES:
                    top = arg.decode("latin-1") if isinstance(arg, bytes) else str(arg)
                elif opcode.name in ("BINPUT", "LONG_BINPUT", "PUT") and last is not None:
                    memo[int(arg)], top = last, last
                elif opcode.name == "MEMOIZE":
                    if last is not None:
                        memo[len(memo)] = last
                    top = last
                elif opcode.name in ("BINGET", "LONG_BINGET", "GET"):
                    top = memo.get(int(arg))
                if top is not None and opcode.name not in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
                    strings.append(top)
                last = top
        except Exception:  # noqa: BLE001 - not (or no longer) a pickle: what was read so far counts
            break
    return list(dict.fromkeys(found))


def _pickle_bytes(path: Path) -> bytes:
    """The pickled part of a checkpoint file: ``data.pkl`` of a zip checkpoint, else the file's start."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return b"".join(archive.read(n) for n in archive.namelist() if n.rsplit("/", 1)[-1] == "data.pkl")
        with open(path, "rb") as f:
            return f.read(_MAX_LEGACY_PICKLE_BYTES)
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, RuntimeError):
        return b""


def refused_globals(path: str | os.PathLike, message: str = "") -> list[str]:
    """The Python objects a checkpoint's pickle would build or call that a weights-only load refuses.

    Empty for a clean (or unreadable) file. The pickle is read without running it; where that finds
    nothing, ``message`` (torch's refusal) is searched for the name it gives.
    """
    try:
        from torch import _weights_only_unpickler as unpickler

        allowed = {*unpickler._get_allowed_globals(), *unpickler._get_user_allowed_globals()}
    except (ImportError, AttributeError):  # pragma: no cover - a torch without these helpers
        allowed = set()
    names = [n for n in pickled_imports(_pickle_bytes(Path(path))) if n not in allowed] if allowed else []
    if not names:
        # The first name only: the messages go on in prose ("... was not an allowed global by default").
        found = next((m for pattern in _REFUSAL_PATTERNS if (m := pattern.search(message))), None)
        names = [found.group(1).rstrip(".")] if found else []
    return list(dict.fromkeys(names))[:3]


#: Tensors of a ``.safetensors`` file whose names start with this are the dataset statistics
#: (``DatasetStats.state_dict()``), as in the bundled reference export (``alexnet.reference``).
SAFETENSORS_STATS_PREFIX = "data_stats."
_CONV_WEIGHTS = tuple(f"features.conv{i}.weight" for i in range(1, 6))
#: Every tensor of AlexNet's state dict (its LRN and pooling layers hold none).
_ALEXNET_KEYS = tuple(f"{layer}.{kind}" for layer in (*(f"features.conv{i}" for i in range(1, 6)),
                                                      *(f"classifier.fc{i}" for i in range(6, 9)))
                      for kind in ("weight", "bias"))
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024


def is_safetensors(data: bytes) -> bool:
    """Whether ``data`` starts like a safetensors file (8-byte little-endian header size, then JSON)."""
    if len(data) < 10:
        return False
    size = int.from_bytes(data[:8], "little")
    return 2 <= size <= min(len(data) - 8, _MAX_SAFETENSORS_HEADER) and data[8:9] == b"{"


def _safetensors_metadata(data: bytes, name: str) -> dict[str, Any]:
    """The header's ``__metadata__`` (string values; JSON ones decoded)."""
    import json

    size = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8 : 8 + size])
    except ValueError:
        raise CheckpointError(f"{name} is not a readable safetensors file (its header is not JSON)") from None
    raw = header.get("__metadata__") if isinstance(header, dict) else None
    metadata: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        try:
            metadata[key] = json.loads(value)
        except (TypeError, ValueError):
            metadata[key] = value
    return metadata


def checkpoint_from_safetensors(data: bytes, name: str = "weights.safetensors") -> dict[str, Any]:
    """The checkpoint dict (as ``load_checkpoint`` returns) of one ``.safetensors`` file of AlexNet weights.

    safetensors holds raw tensors behind a JSON header, so nothing here unpickles or runs anything.
    Tensors are a state dict of :class:`AlexNet` (``features.conv1.weight`` ...; int8/int4/int2 entries of
    :mod:`alexnet.quantize` are expanded), plus optional ``data_stats.*`` tensors. The model config is
    the header metadata's ``"config"`` (JSON) when present; otherwise it is read from the shapes
    (classes from fc8, towers from conv2's input channels) and the rest is the paper's (``ModelConfig``
    defaults), which ``checkpoint["config_source"]`` says. Metadata ``class_names`` and ``epoch`` are
    used when present. All five conv layers are required; the fully connected ones are optional.
    Anything else raises ``CheckpointError`` naming what is missing or foreign.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    from alexnet.quantize import decompress_state_dict

    if not is_safetensors(data):
        raise CheckpointError(f"{name} is not a safetensors file (no safetensors header)")
    metadata = _safetensors_metadata(data, name)
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise CheckpointError(f"{name} is not a readable safetensors file ({str(exc).splitlines()[0]})") from None
    stats = {k[len(SAFETENSORS_STATS_PREFIX):]: v.float() for k, v in tensors.items()
             if k.startswith(SAFETENSORS_STATS_PREFIX)}
    try:
        state = decompress_state_dict({k: v for k, v in tensors.items() if not k.startswith(SAFETENSORS_STATS_PREFIX)})
    except KeyError as exc:
        raise CheckpointError(f"{name} has incomplete compressed weights ({exc.args[0]})") from None
    missing = [k for k in _CONV_WEIGHTS if k not in state]
    if missing:
        found = ", ".join(list(state)[:3]) or "no tensors"
        raise CheckpointError(
            f"{name} is not an AlexNet state dict: it lacks {', '.join(missing)} (found {found}"
            f"{' ...' if len(state) > 3 else ''})"
        )
    config = metadata.get("config")
    source = "metadata"
    if not isinstance(config, dict):
        source = "shapes"
        conv1, conv2 = state["features.conv1.weight"], state["features.conv2.weight"]
        if tuple(conv1.shape) != (96, 3, 11, 11) or conv2.dim() != 4 or conv2.shape[1] not in (48, 96):
            raise CheckpointError(
                f"{name} does not have AlexNet's shapes (conv1 {tuple(conv1.shape)}, expected (96, 3, 11, 11); "
                f"conv2 {tuple(conv2.shape)}, expected (256, 96 or 48, 5, 5)); add a 'config' entry to its metadata"
            )
        fc8 = state.get("classifier.fc8.weight")
        config = {"towers": 96 // int(conv2.shape[1]), "num_classes": int(fc8.shape[0]) if fc8 is not None else 1000}
    foreign = sorted(set(state) - set(_ALEXNET_KEYS))
    if foreign:
        raise CheckpointError(
            f"{name} holds tensors AlexNet does not have: {', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}"
        )
    checkpoint: dict[str, Any] = {"format": FORMAT, "model": state, "config": config, "config_source": source}
    if stats:
        checkpoint["data_stats"] = stats
    for key in ("class_names", "epoch"):
        if key in metadata:
            checkpoint[key] = metadata[key]
    return checkpoint


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
