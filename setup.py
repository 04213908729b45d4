"""Compiles the engine's hot modules with mypyc when it can; cherga is the same pure Python when it cannot.

The dispatcher, its state, the forecast, the lifecycle table, the hot path's tricks (``fast.py``) and the planner's
SimPy model (which calls the dispatcher natively once both are compiled) are plain, fully typed Python; mypyc (the
compiler that ships with mypy, as black and mypy itself use it) turns them into C extensions that run the same code
about 1.6 times faster. Every extension is optional: without a C compiler, or with ``CHERGA_PURE_PYTHON=1``, the
build keeps the .py modules and nothing else changes. ``cherga.engine`` refuses to load compiled modules older than
their sources (see its ``__init__``).
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

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


setup(ext_modules=extensions())
