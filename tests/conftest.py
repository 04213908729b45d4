"""Shared fixtures: a small hand-made network whose every number the tests can reason about."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server import ServerProcess

from cherga.engine.model import (
    Category,
    Desk,
    Network,
    Office,
    OfficeKind,
    PolicyConfig,
    Service,
    Targets,
)

# Monday 2026-11-23 09:00 in Kyiv (UTC+2)
T0 = 1_795_417_200.0


def _svc(sid: str, cat: Category, letter: str, mean: float) -> Service:
    return Service(id=sid, name_uk=sid, name_en=sid, category=cat, letter=letter, mean_service_min=mean)


SERVICES = {
    s.id: s
    for s in (
        _svc("passport", Category.SPECIAL, "P", 15.0),
        _svc("extract", Category.QUICK, "Q", 5.0),
        _svc("certificate", Category.QUICK, "Q", 4.0),
        _svc("subsidy", Category.SEASONAL, "S", 10.0),
        _svc("residence", Category.ACCEPTANCE, "A", 12.0),
        _svc("pickup", Category.ISSUANCE, "I", 3.0),
        _svc("advice", Category.CONSULTATION, "C", 10.0),
    )
}


def small_network(policy: PolicyConfig | None = None) -> Network:
    every = frozenset(SERVICES)
    main = Office(
        id="main", name_uk="Центр", name_en="Main centre", kind=OfficeKind.MAIN,
        desks=(
            Desk(id="m1", office="main", number="1", services=frozenset({"passport"}), special=True),
            Desk(id="m2", office="main", number="2", services=every - {"passport"}),
            Desk(id="m3", office="main", number="3", services=frozenset({"extract", "pickup"}),
                 backup=frozenset({"residence"})),
        ),
    )
    branch = Office(
        id="branch", name_uk="Філія", name_en="Branch", kind=OfficeKind.SUBDIVISION,
        desks=(Desk(id="b1", office="branch", number="1", services=every - {"passport"}),),
    )
    remote = Office(
        id="remote", name_uk="Віддалене місце", name_en="Remote workplace", kind=OfficeKind.REMOTE,
        desks=(Desk(id="r1", office="remote", number="1", services=frozenset({"extract", "residence"})),),
    )
    return Network(
        offices={o.id: o for o in (main, branch, remote)},
        services=SERVICES,
        travel_min={("main", "branch"): 10.0, ("main", "remote"): 25.0, ("branch", "remote"): 20.0},
        targets=Targets(),
        policy=policy or PolicyConfig(),
    )


@pytest.fixture
def net() -> Network:
    return small_network()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``cherga serve`` on the demo network, shared by the tests that only add to its state."""
    proc = ServerProcess(tmp_path_factory.mktemp("serve") / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


CHROMIUM = os.environ.get("CHERGA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian Chromium for a module's browser tests. Module-scoped: Playwright's sync API allows one running
    instance and keeps an event loop busy while it runs, which the asyncio tests of other modules need free."""
    from playwright import sync_api

    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run scripts/install-browser.sh"
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
