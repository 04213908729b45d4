"""Compiles the engine's hot modules with mypyc when it can; cherga is the same pure Python when it cannot.

The dispatcher, its state, the forecast, the lifecycle table, the hot path's tricks (``fast.py``) and the planner's
SimPy model (which calls the dispatcher natively once both are compiled) are plain, fully typed Python; mypyc (the
compiler that ships with mypy, as black and mypy itself use it) turns them into C extensions that run the same code
about 1.6 times faster. Every extension is optional: without a C compiler, or with ``CHERGA_PURE_PYTHON=1``, the
build keeps the .py modules and nothing else changes. The build records the SHA-256 of each compiled module's source
(``cherga/engine/_build_hashes.json``, written by :class:`BuildExt` into the package it builds, in place too for an
editable install); ``cherga.engine`` loads the compiled modules only while the ``.py`` files beside them hash the
same (see its ``__init__`` and ``cherga/engine/_buildhash.py``), whatever order an installer wrote the files in.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

COMPILED = [
    "cherga/engine/dispatcher.py",
    "cherga/engine/state.py",
    "cherga/engine/forecast.py",
    "cherga/engine/lifecycle.py",
    "cherga/engine/fast.py",
    "cherga/sim/model.py",
]


def extensions() -> list[object]:
    if os.environ.get("CHERGA_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:  # building without mypy: plain Python
        return []
    try:
        exts = mypycify(COMPILED, opt_level="3")
    except (Exception, SystemExit) as exc:  # mypy's type check failed in this build environment: plain Python
        print(f"cherga: not compiling the engine ({exc!r}); it runs as plain Python", file=sys.stderr)
        return []
    for ext in exts:
        ext.optional = True  # a failed compile leaves the .py module in use
    return list(exts)


def _buildhash() -> ModuleType:
    """``cherga/engine/_buildhash.py`` by its path: importing ``cherga`` here would run the engine's chooser."""
    spec = importlib.util.spec_from_file_location("_cherga_buildhash", "cherga/engine/_buildhash.py")  # as COMPILED
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildExt(build_ext):
    """Builds the extensions, then records the hash of the source of each one that was built (an optional extension
    that failed to compile is left out: its .py runs) beside them, in the build tree and, in place, in the source."""

    def run(self) -> None:
        super().run()
        buildhash = _buildhash()
        built = {}
        for path in COMPILED:
            name = path.removesuffix(".py").replace("/", ".")
            if Path(self.build_lib, self.get_ext_filename(name)).exists():
                built[name] = Path(path)
        targets = {Path(self.build_lib, "cherga", "engine")}
        if self.inplace:  # an editable install runs the package from the source tree
            targets.add(Path(self.get_finalized_command("build_py").get_package_dir("cherga.engine")))
        for target in sorted(targets):
            written = buildhash.write_record(target, built)
            print(f"cherga: recorded the source hashes of {len(built)} compiled modules in {written}", file=sys.stderr)


def _cmdclass(exts: list[Any]) -> dict[str, type]:
    return {"build_ext": BuildExt} if exts else {}


EXTENSIONS = extensions()
setup(ext_modules=EXTENSIONS, cmdclass=_cmdclass(EXTENSIONS))
