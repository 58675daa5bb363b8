"""One way to rebuild a frozen config dataclass from its saved dict (JSON files, checkpoints, results)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def dataclass_from_dict(cls: type[T], values: dict[str, Any], *, what: str, strict: bool = True) -> T:
    """``cls(**values)`` after two repairs JSON needs: lists back to tuples, and unknown keys handled.

    ``strict`` refuses keys this version does not know (a newer file, or a typo) with a one-line
    ``ValueError`` naming them; otherwise they are dropped (results files from older versions that
    carried fields since removed). JSON has no tuples, so every list becomes a tuple, nested lists too
    (frozen dataclasses hold tuples so that they stay hashable).
    """
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown and strict:
        raise ValueError(f"unknown {what} keys: {sorted(unknown)}")
    return cls(**{k: _tuples(v) for k, v in values.items() if k in known})


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
