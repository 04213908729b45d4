"""Which compiled modules were built from the very sources beside them: content hashes recorded at build time.

``setup.py`` (its ``build_ext``) writes :data:`RECORD` into the ``cherga/engine`` package it builds: the SHA-256 of
the source of every module it compiled. At import, ``cherga.engine`` hashes the ``.py`` files it would fall back to
and compares. File times cannot tell this: an installer writes files in any order (pip writes a ``.py`` after its
``.so``), a checkout or a copy sets times of its own, while the content of a source changes only when someone edits
it. Hashing the six sources once at import costs well under a millisecond.

Standard library only and no ``cherga`` import: ``setup.py`` loads this file by its path before cherga is installed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

RECORD = "_build_hashes.json"  # in the cherga/engine package, beside the compiled modules
FORMAT = 1


def source_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_path(root: Path, module: str) -> Path:
    """``cherga.engine.state`` -> ``ROOT/cherga/engine/state.py`` (ROOT: the directory holding the package)."""
    return root.joinpath(*module.split(".")).with_suffix(".py")


def write_record(package_dir: Path, sources: Mapping[str, Path]) -> Path:
    """Record the hash of each compiled module's source (``{module: path of its .py}``) in ``package_dir``."""
    package_dir.mkdir(parents=True, exist_ok=True)
    target = package_dir / RECORD
    body = {"format": FORMAT, "modules": {name: source_hash(path) for name, path in sorted(sources.items())}}
    target.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return target


def read_record(package_dir: Path) -> dict[str, str] | None:
    """The hashes recorded by the build, or None when there is no readable record (a build older than records)."""
    try:
        body = json.loads((package_dir / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("format") != FORMAT or not isinstance(body.get("modules"), dict):
        return None
    return {str(k): str(v) for k, v in body["modules"].items()}


def stale(root: Path, modules: Iterable[str], record: Mapping[str, str] | None) -> list[str]:
    """The modules (their last name) whose source is not the one they were compiled from: its hash differs from the
    record, or the build recorded none. A module without a ``.py`` beside it has nothing to fall back to: not stale."""
    out = []
    for name in modules:
        source = source_path(root, name)
        if not source.exists():
            continue
        if record is None or record.get(name) != source_hash(source):
            out.append(name.rpartition(".")[2])
    return out
