"""The engine compiled by mypyc (``setup.py``) is the same engine as its Python sources.

* A seeded day of random commands over the whole demo network (air-raid alerts, registry switches and "not possible
  now" among them), refusals included, gives byte-identical events,
  identical refusal messages and identical state digests compiled and from source (``CHERGA_PURE_PYTHON=1``); so
  does a simulated day of the planner's model (compiled with the engine), every kind of visitor included.
* Compiled modules built from another version of their sources are never loaded: the engine runs from source and
  says so (by the hash the build recorded; file times alone change nothing: tests/test_compiled_install.py).

``scripts/test.sh`` sets ``CHERGA_EXPECT_COMPILED=1``: there the build must have compiled the engine. Elsewhere
(``CHERGA_PURE_PYTHON=1 pip install -e .``, no C compiler) the comparison has nothing compiled to compare with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cherga
import cherga.engine

ROOT = Path(cherga.__file__).parent.parent
HERE = Path(__file__).parent

DRIVE = r"""
import hashlib, json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from crash_writer import RandomDriver, T0, open_all
import cherga.engine
from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.engine.network import CityEngine
from cherga.errors import ChergaError

import dataclasses
demo = load_network()  # zamostia rates on the national monitoring's four levels, the others on three
demo = dataclasses.replace(demo, offices={**demo.offices, "zamostia": dataclasses.replace(
    demo.offices["zamostia"], rating_scale="four")})
engine = CityEngine(demo, secret=b"compiled")
driver = RandomDriver(engine, np.random.default_rng(7))
h = hashlib.sha256()
seen = {"alert_on": 0, "alert_off_delay_none": 0, "alert_off_delay_0": 0, "registries": 0, "not_possible": 0,
        "refused_under_alert": 0, "rated_four": 0, "refused_off_scale": 0, "config": 0}
now = T0
for ev in open_all(engine, now):
    h.update(e.encode(ev).encode())
for _ in range(6000):
    now += float(driver.rng.exponential(4.0))
    cmd = driver.command(now)
    try:
        for ev in engine.apply(cmd, now):
            h.update(e.encode(ev).encode())
            if isinstance(ev, e.AlertChanged):
                if ev.active:
                    seen["alert_on"] += 1
                elif cmd.resume_after_min is None:
                    seen["alert_off_delay_none"] += 1
                elif cmd.resume_after_min == 0.0:
                    seen["alert_off_delay_0"] += 1
            elif isinstance(ev, e.RegistriesChanged):
                seen["registries"] += 1
            elif isinstance(ev, e.ServiceFinished) and ev.outcome == "not_possible":
                seen["not_possible"] += 1
            elif isinstance(ev, e.TicketRated) and ev.score in ("terrible", "acceptable", "excellent"):
                seen["rated_four"] += 1
            elif isinstance(ev, e.CONFIG_EVENTS):  # the head's live configuration changes
                seen["config"] += 1
    except ChergaError as exc:
        h.update(f"refused {type(exc).__name__}: {exc}".encode())
        seen["refused_off_scale"] += " rates on " in str(exc)
        seen["refused_under_alert"] += getattr(exc, "code", "") == "alert"
for oid in sorted(engine.offices):
    engine.offices[oid]._check()
    h.update(json.dumps(engine.offices[oid].digest(), sort_keys=True, default=str).encode())

# the planner's model on the same engine: a day of the main centre with every kind of visitor
import cherga.sim.model as m
from cherga.sim.profile import default_profile
net = load_network()
profile = default_profile(net, "main").with_changes(
    patience_mean_min=12.0, no_show_share=0.1, second_service_share=0.25, booked_share=0.2, vulnerable_share=0.1)
visitors = m.make_visitors(net, net.offices["main"], profile, 0, m.replication_seeds(np.random.default_rng(5), 1)[0])
journal = []
day = m.simulate_day(net, "main", visitors, m.default_schedule(net.offices["main"], 0), day=0, eta=True,
                     sink=journal.extend)
for ev in journal:
    h.update(e.encode(ev).encode())
h.update(repr((day.wait, day.outcome, day.busy_min, day.duty_min, day.end)).encode())
print(json.dumps({"compiled": cherga.engine.COMPILED, "file": cherga.engine.dispatcher.__file__,
                  "model": m.__file__, "digest": h.hexdigest(), "seen": seen}))
"""


def _compiled_here() -> bool:
    return all(cherga.engine._binaries(name) for name in cherga.engine.COMPILED_MODULES)


def _need_compiled() -> None:
    if not _compiled_here():
        if os.environ.get("CHERGA_EXPECT_COMPILED"):
            pytest.fail("the build did not compile the engine (see the output of `pip install -e .`)")
        pytest.skip("this build has no compiled engine to compare (CHERGA_PURE_PYTHON or no C compiler)")


def _drive(env: dict[str, str], pythonpath: Path | None = None) -> dict[str, object]:
    import json

    full = {**os.environ, **env}
    if pythonpath is not None:
        full["PYTHONPATH"] = str(pythonpath)
    out = subprocess.run([sys.executable, "-c", DRIVE, str(HERE)], capture_output=True, text=True, env=full,
                         cwd=pythonpath or ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    result["stderr"] = out.stderr
    return result


def test_the_compiled_engine_gives_the_same_events_refusals_and_state_as_the_source() -> None:
    _need_compiled()
    compiled = _drive({})
    source = _drive({"CHERGA_PURE_PYTHON": "1"})
    assert compiled["compiled"] is True and str(compiled["file"]).endswith(".so")
    assert str(compiled["model"]).endswith(".so")
    assert source["compiled"] is False and str(source["file"]).endswith(".py")
    assert str(source["model"]).endswith(".py")
    assert compiled["digest"] == source["digest"]
    # the day interleaved the wartime commands with everything else (API 1.1): alerts on and off (resuming after the
    # office's delay and at once), registry switches, "not possible now", and commands refused under an alert
    seen = source["seen"]
    assert isinstance(seen, dict) and all(n > 0 for n in seen.values()), seen
    assert compiled["seen"] == seen


def test_compiled_modules_whose_source_was_edited_are_not_loaded(tmp_path: Path) -> None:
    _need_compiled()
    copy = tmp_path / "tree"
    copy.mkdir()
    shutil.copytree(ROOT / "cherga", copy / "cherga", ignore=shutil.ignore_patterns("__pycache__"))
    for lib in ROOT.glob("*__mypyc*.so"):  # the compiled modules' shared library
        shutil.copy2(lib, copy / lib.name)
    fresh = _drive({}, copy)
    assert fresh["compiled"] is True, "the copied tree should load its compiled engine"
    source = copy / "cherga" / "engine" / "forecast.py"
    source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # edited after the build
    stale = _drive({}, copy)
    assert stale["compiled"] is False and str(stale["file"]).endswith("dispatcher.py")
    assert str(stale["model"]).endswith("model.py"), "the model calls the engine natively: it goes back with it"
    assert "compiled forecast built from another version of the source" in str(stale["stderr"])
    assert "pip install -e ." in str(stale["stderr"])
    assert stale["digest"] == fresh["digest"]
