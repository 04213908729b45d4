"""Remote tickets (#18.3) in the compiled engine and in its Python sources: the same events, refusals and state.

A seeded day over the demo network (every office taking remote tickets) of tests/crash_writer.py's random commands,
with remote issues (some from the same browsers), check-ins, and the grace's expiry among them, run once compiled
and once from source (``CHERGA_PURE_PYTHON=1``); the digests of every event, refusal and final state must be equal,
and a replay of the journal must rebuild the same state. As tests/test_compiled.py: it needs a build with compiled
modules (``scripts/test.sh`` sets ``CHERGA_EXPECT_COMPILED=1`` and builds them); ``CHERGA_COMPILED_TREE`` names
another checkout whose modules are compiled (a copy built with ``python setup.py build_ext --inplace``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cherga
import cherga.engine

ROOT = Path(cherga.__file__).parent.parent
HERE = Path(__file__).parent

DRIVE = r"""
import dataclasses, hashlib, json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from crash_writer import RandomDriver, T0, open_all
import cherga.engine
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.lifecycle import Status
from cherga.engine.loader import load_network
from cherga.engine.network import CityEngine
from cherga.errors import ChergaError

demo = load_network()
demo = dataclasses.replace(demo, offices={oid: dataclasses.replace(o, remote_join=True, remote_travel_min=2.0,
                                                                   remote_grace_min=5.0, remote_per_hour=15)
                                          for oid, o in demo.offices.items()})
engine = CityEngine(demo, secret=b"compiled")
driver = RandomDriver(engine, np.random.default_rng(11))
rng = np.random.default_rng(12)
h = hashlib.sha256()
seen = {"remote": 0, "checked_in": 0, "passed_in": 0, "expired": 0, "closed": 0, "live": 0}
log = []
now = T0
for ev in open_all(engine, now):
    h.update(e.encode(ev).encode())
    log.append(ev)
offices = sorted(engine.offices)
for _ in range(4000):
    now += float(rng.exponential(4.0))
    r = rng.random()
    oid = offices[int(rng.integers(len(offices)))]
    d = engine.offices[oid]
    if r < 0.12:
        svc = sorted(d.office.services)[int(rng.integers(len(d.office.services)))]
        cmd = c.IssueTicket(office=oid, service=svc, channel="remote", remote=True,
                            browser=f"b{int(rng.integers(30))}" if rng.random() < 0.8 else None)
    elif r < 0.18:
        remote = sorted((t for t in d.tickets.values() if t.status is Status.REMOTE), key=lambda t: t.counter)
        cmd = c.CheckInRemote(office=oid, ticket=remote[int(rng.integers(len(remote)))].id) if remote \
            else c.ExpireRemote(office=oid)
    elif r < 0.21:
        cmd = c.ExpireRemote(office=oid)
    else:
        cmd = driver.command(now)
    try:
        for ev in engine.apply(cmd, now):
            h.update(e.encode(ev).encode())
            log.append(ev)
            if isinstance(ev, e.TicketIssued) and ev.remote:
                seen["remote"] += 1
            elif isinstance(ev, e.RemoteCheckedIn):
                seen["checked_in"] += 1
                seen["passed_in"] += ev.passed
            elif isinstance(ev, e.RemoteExpired):
                seen["expired"] += 1
    except ChergaError as exc:
        h.update(f"refused {type(exc).__name__}: {exc}".encode())
        seen["closed"] += exc.code == "remote_closed"
        seen["live"] += exc.code == "remote_live"
for oid in sorted(engine.offices):
    engine.offices[oid]._check()
    h.update(json.dumps(engine.offices[oid].digest(), sort_keys=True, default=str).encode())
fresh = CityEngine(demo, secret=b"compiled")
fresh.replay(e.decode(e.encode(x)) for x in log)
replayed = all(fresh.offices[o].digest() == engine.offices[o].digest() for o in engine.offices)
print(json.dumps({"compiled": cherga.engine.COMPILED, "file": cherga.engine.dispatcher.__file__,
                  "digest": h.hexdigest(), "seen": seen, "replayed": replayed}))
"""


def _tree() -> Path:
    return Path(os.environ.get("CHERGA_COMPILED_TREE", ROOT))


def _compiled_in(tree: Path) -> bool:
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", "import cherga.engine as E; print(E.COMPILED)"],
                         capture_output=True, text=True, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)})
    return out.stdout.strip() == "True"


def _drive(tree: Path, env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", DRIVE, str(HERE)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(tree), **env}, cwd=tree, timeout=300)
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_remote_tickets_compiled_and_from_source_are_the_same_engine() -> None:
    tree = _tree()
    if not _compiled_in(tree):
        if os.environ.get("CHERGA_EXPECT_COMPILED"):
            pytest.fail("the build did not compile the engine (see the output of `pip install -e .`)")
        pytest.skip("no compiled engine here to compare (stale or not built); CHERGA_COMPILED_TREE names one")
    compiled = _drive(tree, {})
    source = _drive(tree, {"CHERGA_PURE_PYTHON": "1"})
    assert compiled["compiled"] is True and str(compiled["file"]).endswith(".so")
    assert source["compiled"] is False and str(source["file"]).endswith(".py")
    assert compiled["digest"] == source["digest"]
    assert compiled["replayed"] is True and source["replayed"] is True
    seen = source["seen"]
    assert isinstance(seen, dict) and all(n > 0 for n in seen.values()), seen
    assert compiled["seen"] == seen
