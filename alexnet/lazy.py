"""Package attributes loaded on first use (PEP 562), so importing a package does not import torch."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports_by_module(modules: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """``{module: (name, ...)}`` turned into the ``{name: module}`` table ``lazy_exports`` reads."""
    return {name: module for module, names in modules.items() for name in names}


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose public names live in the modules ``exports`` maps.

    The first access imports the defining module and stores the value in the package's namespace, so
    later look-ups are plain attribute reads.
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
