"""The engine: a pure, deterministic core (``Dispatcher.apply(command, now) -> events``), no I/O.

Its hot modules, and the planner's model that drives it, may be compiled by mypyc (``setup.py``). A compiled module
built from another source would run old code, so here, before any of them is imported (``cherga.sim`` imports this
package first): if ``CHERGA_PURE_PYTHON`` is set, or any ``.py`` is not the source its compiled module was built from
(by the content hash the build recorded, ``_buildhash``: never by file times, which installers set in any order), all
of them are loaded from source instead (all, because compiled modules call each other directly), with a warning saying
how to rebuild. :data:`COMPILED` tells which one is in use.
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

from cherga.engine import _buildhash

_ROOT = Path(__file__).parent.parent.parent  # the directory holding the cherga package
# the list in setup.py
COMPILED_MODULES = (
    "cherga.engine.dispatcher", "cherga.engine.state", "cherga.engine.forecast", "cherga.engine.lifecycle",
    "cherga.engine.fast", "cherga.sim.model",
)


def _source(name: str) -> Path:
    return _ROOT.joinpath(*name.split(".")).with_suffix(".py")


def _binaries(name: str) -> list[Path]:
    stem = _ROOT.joinpath(*name.split("."))
    found = (stem.with_name(stem.name + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES)
    return [p for p in found if p.exists()]


def _stale() -> list[str]:
    """The compiled modules whose ``.py`` is not the source they were built from (one hash of each, at import)."""
    return _buildhash.stale(_ROOT, COMPILED_MODULES, _buildhash.read_record(Path(__file__).parent))


class _FromSource(importlib.abc.MetaPathFinder):
    """Finds the compiled modules as their ``.py`` sources."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED_MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, _source(fullname))


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
            f"cherga.engine: compiled {', '.join(stale)} built from another version of the source; running the "
            "engine from its Python sources. Run `pip install -e .` (or install the package again) to compile it "
            "again.",
            RuntimeWarning,
            stacklevel=2,
        )
        sys.meta_path.insert(0, _FromSource())
        return False
    return True


COMPILED: bool = _choose()
