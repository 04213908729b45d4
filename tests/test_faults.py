"""Fault injection: the journal's k-th write fails, for every k over a workload, once and from then on.

No command is answered as done without a successful write; the refused ones say why; the service's state after
the fault is exactly what the journal holds, and a restart finds every answered command.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cherga.displays.host import EngineHost
from cherga.engine import commands as c
from cherga.engine.loader import load_network
from cherga.engine.network import CityEngine
from cherga.errors import ChergaError, JournalError
from cherga.journal.sqlite import SqliteJournal

NET = load_network()
WORKLOAD: list[c.Command] = [
    c.OpenDesk(desk="main-13"),
    *[c.IssueTicket(office="main", service="vehicle-registration") for _ in range(4)],
    c.CallNext(desk="main-13"),
    c.Start(desk="main-13"),
    c.Finish(desk="main-13"),
    c.CallNext(desk="main-13"),
    c.Finish(desk="main-13", outcome=c.Outcome.REFUSED),
    c.IssueTicket(office="main", service="housing-subsidy"),
    c.CallNext(desk="main-13"),
]


class Fault(Exception):
    pass


def run(data: Path, k: int, forever: bool) -> tuple[list[int], list[str], EngineHost]:
    writes = 0

    def before_write(_: int) -> None:
        nonlocal writes
        writes += 1  # counted across re-opened journals: "from then on" survives the host's rebuild
        if writes == k or (forever and writes > k):
            raise Fault(f"injected fault at write {writes}")

    host = EngineHost(NET, data, enforce_hours=False, clock=lambda: 1_795_417_200.0,
                      journal_factory=lambda p: SqliteJournal(p, before_write=before_write))
    answered: list[int] = []
    refusals: list[str] = []

    async def go() -> None:
        for i, cmd in enumerate(WORKLOAD):
            try:
                if await host.execute(cmd):  # a command that changed nothing (nothing to call) needs no write
                    answered.append(i)
            except JournalError as exc:
                refusals.append(exc.message)
            except ChergaError:
                pass  # a later command that no longer fits the state (the desk never opened) is refused as usual

    asyncio.run(go())
    return answered, refusals, host


@pytest.mark.parametrize("forever", [False, True], ids=["once", "from-then-on"])
def test_every_kth_write_failing(tmp_path: Path, forever: bool) -> None:
    for k in range(1, len(WORKLOAD) + 1):
        data = tmp_path / f"{k}-{forever}"
        answered, refusals, host = run(data, k, forever)
        assert refusals, f"k={k}: the injected fault was not reported"
        assert all("journal" in r and "injected fault" in r for r in refusals if "injected" in r)
        assert k - 1 not in answered, f"k={k}: the command whose write failed was answered"
        if forever:
            assert answered == list(range(k - 1)), f"k={k}: answered {answered} after the journal broke"
        assert host.last_write_error is not None or not forever
        live = {oid: d.digest() for oid, d in host.engine.offices.items()}
        host.close()
        # a restart (no faults) finds exactly what the host holds: what was answered, nothing that was refused
        with SqliteJournal(data / "journal.sqlite3") as journal:
            fresh = CityEngine(NET)
            fresh.replay(journal.read())
        assert {oid: d.digest() for oid, d in fresh.offices.items()} == live, f"k={k}: state differs from journal"
        if not forever:
            # once: the refused command was lost, everything else (that fits the state) goes on being answered
            assert len(answered) >= k - 1
