"""The engine: a pure, deterministic core (``Dispatcher.apply(command, now) -> events``), no I/O.

Its hot modules may be compiled by mypyc (``setup.py``). A compiled module older than its source would run old
code, so here, before any of them is imported: if ``CHERGA_PURE_PYTHON`` is set, or any compiled module is older
than its ``.py``, all of them are loaded from source instead (all, because compiled modules call each other
directly), with a warning saying how to rebuild. :data:`COMPILED` tells which one is in use.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).parent
COMPILED_MODULES = ("dispatcher", "state", "forecast", "lifecycle")  # the list in setup.py


def _binaries(name: str) -> list[Path]:
    return [p for suffix in importlib.machinery.EXTENSION_SUFFIXES if (p := _HERE / f"{name}{suffix}").exists()]


def _stale() -> list[str]:
    out = []
    for name in COMPILED_MODULES:
        source = _HERE / f"{name}.py"
        if any(b.stat().st_mtime < source.stat().st_mtime for b in _binaries(name)):
            out.append(name)
    return out


class _FromSource(importlib.abc.MetaPathFinder):
    """Finds the engine's compiled modules as their ``.py`` sources."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in COMPILED_MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, _HERE / f"{name}.py")


def _choose() -> bool:
    built = all(_binaries(name) for name in COMPILED_MODULES)
    if not built:
        return False
    if os.environ.get("CHERGA_PURE_PYTHON"):
        sys.meta_path.insert(0, _FromSource())
        return False
    stale = _stale()
    if stale:
        warnings.warn(
            f"cherga.engine: compiled {', '.join(stale)} older than the source; running the engine from its "
            "Python sources. Run `pip install -e .` to compile it again.",
            RuntimeWarning,
            stacklevel=2,
        )
        sys.meta_path.insert(0, _FromSource())
        return False
    return True


COMPILED: bool = _choose()
