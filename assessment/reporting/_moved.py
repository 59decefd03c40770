"""Forwarding for module paths that moved: the old path stays importable and holds no code.

:func:`install_forwarding` puts a small forwarding module at each old path (in ``sys.modules``
and on the package), so ``from assessment.reporting import strategic`` and
``from assessment.reporting.strategic import section_summary`` keep working. Each name read
through an old path is the new module's own object, with a DeprecationWarning naming the new
path. The new module is imported by name only when a name is first read, so the shared
machinery never imports a document. No file stands at an old path: git follows each move.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["forwarding", "install_forwarding"]


def forwarding(old: str, new: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module-level ``__getattr__`` and ``__dir__`` that forward the module ``old`` to ``new``."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name != "__all__":  # probes (inspect, pickle) find nothing here
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(f"{old} has moved to {new}; import it from there (the old path will be removed)",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(new), name)

    def __dir__() -> list[str]:
        return sorted(dir(importlib.import_module(new)))

    return __getattr__, __dir__


def install_forwarding(package: str, moved: dict[str, str]) -> None:
    """For each ``old name -> new module path`` of ``moved``, a forwarding module at ``package.old``."""
    parent = sys.modules[package]
    for old, new in moved.items():
        full = f"{package}.{old}"
        module = types.ModuleType(full, f"Moved: this module is now {new}; this path forwards to it.")
        module.MOVED_TO = new
        module.__getattr__, module.__dir__ = forwarding(full, new)
        sys.modules.setdefault(full, module)
        setattr(parent, old, sys.modules[full])
