"""The compiled engine stays on after any install and goes off only when a source really changed (issue 16.4).

Staleness is by the content hash the build records (``cherga/engine/_buildhash.py``, written by ``setup.py``'s
``BuildExt``), never by file times: pip writes a module's ``.py`` after its ``.so``, a copy or a checkout sets times
of its own.

* A fake package layout (a source, a stand-in binary, the record the build writes): the source made newer than its
  binary, or the whole tree copied with new times, is not stale; a changed source is, and is again not stale once
  the change is undone; a missing or unreadable record counts as stale.
* The real compiled tree, copied: every ``.py`` touched to be newer than its ``.so`` still loads compiled, with no
  warning; one source edited turns all of them off, with the warning.
* ``scripts/check-wheel.sh`` (run by ``scripts/test.sh``) builds a wheel, installs it into a fresh venv and checks
  from outside the checkout that the compiled modules are the ones in use; the test that runs it here is ``slow``
  because the build compiles the engine (82 s on 2 cores the first time, several minutes on a busy machine).
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cherga
import cherga.engine
from cherga.engine import _buildhash

ROOT = Path(cherga.__file__).parent.parent
REPO = Path(__file__).parent.parent
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]
MODULES = ("fakepkg.engine.hot", "fakepkg.sim.model")


def _layout(root: Path) -> None:
    """What a build leaves: each module's .py and its binary, and the record beside the engine."""
    for name in MODULES:
        source = _buildhash.source_path(root, name)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f'"""{name}"""\n\nVALUE = 1\n', encoding="utf-8")
        source.with_name(source.stem + SUFFIX).write_bytes(b"\x7fELF stand-in for the compiled module")
    _buildhash.write_record(root / "fakepkg" / "engine", {n: _buildhash.source_path(root, n) for n in MODULES})


def _stale(root: Path) -> list[str]:
    return _buildhash.stale(root, MODULES, _buildhash.read_record(root / "fakepkg" / "engine"))


def test_only_a_changed_source_is_stale_never_a_file_time(tmp_path: Path) -> None:
    root = tmp_path / "site"
    _layout(root)
    assert _stale(root) == []

    # what pip does: the .py written after the .so (here a day after, to leave no doubt)
    hot = _buildhash.source_path(root, "fakepkg.engine.hot")
    binary = hot.with_name(hot.stem + SUFFIX)
    later = time.time() + 86_400
    os.utime(hot, (later, later))
    os.utime(binary, (later - 86_400 * 2, later - 86_400 * 2))
    assert hot.stat().st_mtime > binary.stat().st_mtime
    assert _stale(root) == [], "a source newer than its binary, unchanged, is not stale"

    # a copy (a container layer, a backup restored) gets times of its own
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    for path in copy.rglob("*"):
        os.utime(path, (later + 60, later + 60))
    assert _stale(copy) == []

    # a real edit after the build, however small, is stale; undone, it is not
    original = hot.read_bytes()
    hot.write_bytes(original + b"# edited\n")
    assert _stale(root) == ["hot"]
    model = _buildhash.source_path(root, "fakepkg.sim.model")
    model.write_text(model.read_text(encoding="utf-8").replace("VALUE = 1", "VALUE = 2"), encoding="utf-8")
    assert _stale(root) == ["hot", "model"]
    hot.write_bytes(original)
    model.write_text(model.read_text(encoding="utf-8").replace("VALUE = 2", "VALUE = 1"), encoding="utf-8")
    assert _stale(root) == []


def test_a_missing_or_unreadable_record_is_stale_and_a_module_without_source_is_not(tmp_path: Path) -> None:
    root = tmp_path / "site"
    _layout(root)
    record = root / "fakepkg" / "engine" / _buildhash.RECORD
    body = json.loads(record.read_text(encoding="utf-8"))
    assert set(body["modules"]) == set(MODULES) and body["format"] == _buildhash.FORMAT

    record.write_text("{not json", encoding="utf-8")
    assert _stale(root) == ["hot", "model"]
    record.write_text(json.dumps({"format": 99, "modules": body["modules"]}), encoding="utf-8")
    assert _stale(root) == ["hot", "model"], "a record of another format is not trusted"
    only_hot = {"fakepkg.engine.hot": body["modules"]["fakepkg.engine.hot"]}
    record.write_text(json.dumps({"format": 1, "modules": only_hot}), encoding="utf-8")
    assert _stale(root) == ["model"], "a module the build did not record is stale"
    record.unlink()
    assert _stale(root) == ["hot", "model"]

    _buildhash.source_path(root, "fakepkg.sim.model").unlink()  # a binary-only install has nothing to fall back to
    assert _stale(root) == ["hot"]


CHOOSE = r"""
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import cherga.engine, cherga.engine.dispatcher, cherga.sim.model
print(json.dumps({"compiled": cherga.engine.COMPILED, "file": cherga.engine.dispatcher.__file__,
                  "model": cherga.sim.model.__file__, "warnings": [str(w.message) for w in caught]}))
"""


def _choose(tree: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("CHERGA_PURE_PYTHON", None)
    out = subprocess.run([sys.executable, "-c", CHOOSE], capture_output=True, text=True, env=env, cwd=tree,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_the_compiled_tree_with_every_source_touched_after_its_binary_stays_compiled(tmp_path: Path) -> None:
    if not all(cherga.engine._binaries(name) for name in cherga.engine.COMPILED_MODULES):
        if os.environ.get("CHERGA_EXPECT_COMPILED"):
            pytest.fail("the build did not compile the engine (see the output of `pip install -e .`)")
        pytest.skip("this build has no compiled engine (CHERGA_PURE_PYTHON or no C compiler)")
    if cherga.engine._stale():  # someone edited the engine since the build: nothing compiled to copy
        message = ("the installed engine's sources are not the ones it was compiled from (edited since the build, or "
                   "a build older than the source hashes): run `pip install -e .` again")
        if os.environ.get("CHERGA_EXPECT_COMPILED"):
            pytest.fail(message)
        pytest.skip(message)
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copytree(ROOT / "cherga", tree / "cherga", ignore=shutil.ignore_patterns("__pycache__"))
    for lib in ROOT.glob("*__mypyc*.so"):  # the compiled modules' shared library
        shutil.copy2(lib, tree / lib.name)
    later = time.time() + 3600
    for name in cherga.engine.COMPILED_MODULES:  # as pip leaves them: each .py newer than its .so
        os.utime(_buildhash.source_path(tree, name), (later, later))
    touched = _choose(tree)
    assert touched["compiled"] is True, touched
    assert str(touched["file"]).endswith(SUFFIX) and str(touched["model"]).endswith(SUFFIX)
    assert str(touched["file"]).startswith(str(tree))
    assert touched["warnings"] == []

    state = _buildhash.source_path(tree, "cherga.engine.state")
    state.write_text(state.read_text(encoding="utf-8") + "\n# edited after the build\n", encoding="utf-8")
    edited = _choose(tree)
    assert edited["compiled"] is False
    assert str(edited["file"]).endswith("dispatcher.py") and str(edited["model"]).endswith("model.py")
    warned = edited["warnings"]
    assert isinstance(warned, list)
    assert any("compiled state built from another version of the source" in str(w) for w in warned), warned


@pytest.mark.slow
def test_a_wheel_installed_into_a_fresh_venv_runs_the_compiled_engine() -> None:
    out = subprocess.run(["bash", str(REPO / "scripts" / "check-wheel.sh")], capture_output=True, text=True,
                         timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "compiled engine in use" in out.stdout
