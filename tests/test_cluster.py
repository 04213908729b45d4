"""``cherga serve --redis``: three processes over one real Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis_server import RedisServer
from server import ServerProcess

OFFICES = {"main", "zamostia", "vyshenka", "khutory"}


def owners(procs: list[ServerProcess]) -> dict[str, ServerProcess]:
    out: dict[str, ServerProcess] = {}
    for p in procs:
        if p.proc is None or p.proc.poll() is not None:
            continue
        try:
            health = httpx.get(f"{p.url}/healthz", timeout=2).json()
        except httpx.HTTPError:
            continue
        for office in health.get("owned", []):
            assert office not in out, f"office {office} owned twice"
            out[office] = p
    return out


def wait_owned(procs: list[ServerProcess], timeout: float = 15.0) -> dict[str, ServerProcess]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        own = owners(procs)
        if set(own) == OFFICES:
            return own
        time.sleep(0.2)
    raise AssertionError(f"offices not all owned: {sorted(owners(procs))}")


@pytest.fixture
def region(tmp_path: Path) -> Iterator[tuple[RedisServer, list[ServerProcess]]]:
    redis = RedisServer(tmp_path / "redis").start()
    procs = [ServerProcess(tmp_path / f"p{i}", redis=redis.url) for i in range(3)]
    try:
        for p in procs:
            p.start()
        yield redis, procs
    finally:
        for p in procs:
            p.stop()
        redis.kill()


async def _until_called(url: str, number: str, timeout: float = 10.0) -> dict[str, Any]:
    async with websockets.connect(url) as ws:
        snap = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if any(c["ticket"] == number for c in snap["calls"]):
            return snap  # type: ignore[no-any-return]
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if msg["type"] == "called" and msg["ticket"] == number:
                return msg  # type: ignore[no-any-return]


def test_issue_on_one_call_on_another_board_on_a_third(region: tuple[RedisServer, list[ServerProcess]]) -> None:
    _, (a, b, c) = region
    wait_owned([a, b, c])
    kiosk = a.auth("kiosk", "vyshenka")
    desk = b.auth("desk", "vyshenka", "vyshenka-04")
    assert httpx.post(f"{b.url}/api/v1/desks/vyshenka-04/open", headers=desk).status_code == 200
    t = httpx.post(f"{a.url}/api/v1/offices/vyshenka/tickets", json={"service": "results-issuance"}, headers=kiosk)
    assert t.status_code == 201, t.text
    ticket = t.json()

    async def scenario() -> dict[str, Any]:
        watcher = asyncio.create_task(_until_called(f"{c.ws_url}/ws/offices/vyshenka/board", ticket["number"]))
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{b.url}/api/v1/desks/vyshenka-04/call-next", headers=desk)
            assert r.status_code == 200 and r.json()["id"] == ticket["id"], r.text
        return await watcher

    shown = asyncio.run(scenario())
    assert shown.get("desk", "4") == "4"
    # every process reads the same ticket
    for p in (a, b, c):
        deadline = time.monotonic() + 5
        while httpx.get(f"{p.url}/api/v1/tickets/{ticket['id']}").json()["status"] != "called":
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_owner_killed_under_load_another_takes_over_and_nothing_answered_is_lost(
        region: tuple[RedisServer, list[ServerProcess]]) -> None:
    _, procs = region
    own = wait_owned(procs)
    victim = own["main"]
    front = next(p for p in procs if p is not victim)
    kiosk = front.auth("head", "main")
    answered: list[dict[str, Any]] = []
    killed_at = 0.0
    back_at = 0.0
    with httpx.Client(timeout=20) as http:
        for i in range(60):
            if i == 30:
                victim.kill()
                killed_at = time.monotonic()
            while True:  # as a kiosk does: a 503 says try again
                r = http.post(f"{front.url}/api/v1/offices/main/tickets", json={"service": "housing-subsidy"},
                              headers=kiosk)
                if r.status_code == 201:
                    answered.append(r.json())
                    if i == 30:
                        back_at = time.monotonic()
                    break
                assert r.status_code == 503 and r.json()["error"]["message"], r.text
                assert time.monotonic() - killed_at < 15, "no takeover"
                time.sleep(float(r.headers.get("Retry-After", "1")))
    survivors = [p for p in procs if p is not victim]
    new_owner = wait_owned(survivors, timeout=10)["main"]
    took = back_at - killed_at
    assert new_owner is not victim
    assert len(answered) == 60
    assert took <= 5.0, f"issuing came back {took:.1f} s after the kill"
    numbers = [t["number"] for t in answered]
    assert len(numbers) == len(set(numbers)), "a ticket number repeated across the takeover"
    for p in survivors:
        for t in answered:
            got = httpx.get(f"{p.url}/api/v1/tickets/{t['id']}")
            assert got.status_code == 200 and got.json()["number"] == t["number"]
    print(f"issuing at office main came back {took:.1f} s after its owner was killed")


def test_redis_restart_loses_nothing_and_boards_resync(region: tuple[RedisServer, list[ServerProcess]]) -> None:
    redis, procs = region
    wait_owned(procs)
    a = procs[0]
    head = a.auth("head", "zamostia")
    answered = [httpx.post(f"{a.url}/api/v1/offices/zamostia/tickets", json={"service": "housing-subsidy"},
                           headers=head).json() for _ in range(10)]
    before = httpx.get(f"{a.url}/api/v1/offices/zamostia/state").json()["seq"]
    redis.kill()
    redis.start()
    deadline = time.monotonic() + 20
    after: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = httpx.post(f"{a.url}/api/v1/offices/zamostia/tickets", json={"service": "housing-subsidy"},
                       headers=head)
        if r.status_code == 201:
            after = r.json()
            break
        time.sleep(0.5)
    assert after, "issuing did not come back after Redis restarted"
    for p in procs:
        for t in answered:
            assert httpx.get(f"{p.url}/api/v1/tickets/{t['id']}").json()["number"] == t["number"]

    async def board() -> dict[str, Any]:
        async with websockets.connect(f"{procs[2].ws_url}/ws/offices/zamostia/board") as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]

    snap = asyncio.run(board())
    assert snap["seq"] > before


def test_graceful_stop_hands_offices_over_without_losing_their_numbers(
        region: tuple[RedisServer, list[ServerProcess]]) -> None:
    _, procs = region
    own = wait_owned(procs)
    leaving = own["zamostia"]
    other = next(p for p in procs if p is not leaving)
    head = other.auth("head", "zamostia")
    before = [httpx.post(f"{other.url}/api/v1/offices/zamostia/tickets", json={"service": "housing-subsidy"},
                         headers=head, timeout=20).json()["number"] for _ in range(3)]
    leaving.stop()
    deadline = time.monotonic() + 10
    while True:
        r = httpx.post(f"{other.url}/api/v1/offices/zamostia/tickets", json={"service": "housing-subsidy"},
                       headers=head, timeout=20)
        if r.status_code == 201:
            break
        assert r.status_code == 503 and time.monotonic() < deadline, r.text
        time.sleep(0.5)
    after = r.json()["number"]
    assert after not in before and int(after[1:]) == int(before[-1][1:]) + 1


def test_a_process_that_joins_later_gets_its_share_of_the_offices_and_nothing_answered_is_lost(
        tmp_path: Path) -> None:
    """Rendezvous hashing decides who writes each office; a process that starts after the others (a rolling
    restart) is handed its offices once it has been up two lease periods, while kiosks keep issuing through the
    first process (forwarded to whoever owns each office at that moment)."""
    from cherga.displays.cluster import _weight

    redis = RedisServer(tmp_path / "redis").start()
    lease = ["--lease-ms", "1000"]
    first = ServerProcess(tmp_path / "first", redis=redis.url, extra=lease)
    late: ServerProcess | None = None
    try:
        first.start()
        assert set(wait_owned([first])) == OFFICES
        offices = httpx.get(f"{first.url}/api/v1/offices").json()
        service = {o["id"]: o["services"][0]["id"] for o in offices}
        heads = {o: first.auth("head", o) for o in OFFICES}
        answered: list[dict[str, Any]] = []

        def issue_round(http: httpx.Client) -> None:
            for office in sorted(OFFICES):
                while True:  # as a kiosk does: a 503 during a handover says try again
                    r = http.post(f"{first.url}/api/v1/offices/{office}/tickets",
                                  json={"service": service[office]}, headers=heads[office])
                    if r.status_code == 201:
                        answered.append(r.json())
                        break
                    assert r.status_code == 503 and r.json()["error"]["message"], r.text
                    time.sleep(0.2)

        with httpx.Client(timeout=20) as http:
            issue_round(http)
            for _attempt in range(6):  # a new node id each start; it may happen to be preferred for no office
                late = ServerProcess(tmp_path / f"late{_attempt}", redis=redis.url, extra=lease).start()
                nodes = {p: httpx.get(f"{p.url}/healthz").json()["node"] for p in (first, late)}
                prefer = {o: max(nodes.values(), key=lambda n, o=o: _weight(n, o)) for o in OFFICES}
                if nodes[late] in prefer.values():
                    break
                late.stop()
            else:
                raise AssertionError("six new processes were all preferred for no office")
            deadline = time.monotonic() + 20
            while True:
                issue_round(http)
                own = owners([first, late])
                if set(own) == OFFICES and all(nodes[own[o]] == prefer[o] for o in OFFICES):
                    break
                where = sorted((o, p.url) for o, p in own.items())
                assert time.monotonic() < deadline, f"offices not rebalanced: {where}"
                time.sleep(0.3)
            issue_round(http)
        handed = httpx.get(f"{first.url}/healthz").json()["handovers"]
        assert handed == sum(1 for o in OFFICES if prefer[o] == nodes[late]) >= 1
        for office in OFFICES:
            numbers = [t["number"] for t in answered if t["office"] == office]
            assert len(numbers) == len(set(numbers)), f"a number repeated at {office} across the handover"
        for p in (first, late):
            for t in answered:
                got = httpx.get(f"{p.url}/api/v1/tickets/{t['id']}")
                assert got.status_code == 200 and got.json()["number"] == t["number"]
    finally:
        for p in (first, late):
            if p is not None:
                p.stop()
        redis.kill()


def test_alternatives_at_issue_use_the_load_of_offices_another_process_owns(tmp_path: Path) -> None:
    """The balancer offers remote offices that another process owns, from that office's own load: every process
    follows every office's events, so the owner of ``main`` sees the queue that another process builds elsewhere."""
    redis = RedisServer(tmp_path / "redis").start()
    lease = ["--lease-ms", "1000"]
    a = ServerProcess(tmp_path / "a", redis=redis.url, extra=lease).start()
    procs = [a]
    try:
        assert set(wait_owned([a])) == OFFICES
        # a second process, restarted with a new node id until rendezvous gives it an office beside main's owner
        for attempt in range(6):
            b = ServerProcess(tmp_path / f"b{attempt}", redis=redis.url, extra=lease).start()
            procs = [a, b]
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                own = owners(procs)
                others = sorted(o for o, p in own.items() if set(own) == OFFICES and p is not own["main"])
                if others:
                    break
                time.sleep(0.3)
            if others:
                break
            b.stop()
        else:
            raise AssertionError("six new processes never owned an office beside main's owner")
        here, there = own["main"], own[others[0]]
        office = others[0]
        service = "housing-subsidy"  # offered by every office of the demo network
        head_main, head_there = here.auth("head", "main"), there.auth("head", office)
        # one desk of each office open for the service: with none open a wait is unknown and nothing is offered
        listing = {o["id"]: o for o in httpx.get(f"{here.url}/api/v1/offices", timeout=20).json()}
        for oid, proc, auth in (("main", here, head_main), (office, there, head_there)):
            desk = next(d["id"] for d in listing[oid]["desks"] if service in d["services"])
            r = httpx.post(f"{proc.url}/api/v1/desks/{desk}/open", headers=auth, timeout=20)
            assert r.status_code == 200, r.text

        def alternatives() -> dict[str, float]:
            r = httpx.post(f"{here.url}/api/v1/offices/main/tickets", json={"service": service},
                           headers=head_main, timeout=20)
            assert r.status_code == 201, r.text
            return {x["office"]: x["eta_min"] for x in r.json()["alternatives"] or []}

        def eta_there() -> float:
            state = httpx.get(f"{there.url}/api/v1/offices/{office}/state", timeout=20).json()
            return float(next(q["eta_min"] for q in state["queues"] if q["service"] == service))

        for _ in range(300):  # main's queue grows past the target
            if office in (alts := alternatives()):
                break
        else:
            raise AssertionError(f"{office} never offered as an alternative to main")
        assert alts[office] == eta_there()
        # the other process's office gets busy: main's owner offers it with that office's longer wait, or not at all
        before = alts[office]
        for _ in range(12):
            r = httpx.post(f"{there.url}/api/v1/offices/{office}/tickets", json={"service": service},
                           headers=head_there, timeout=20)
            assert r.status_code == 201, r.text
        busy = eta_there()
        assert busy > before
        deadline = time.monotonic() + 10
        while True:  # the owner of main hears the other office's events through Redis
            alts = alternatives()
            if alts.get(office) == busy or office not in alts:  # too far behind now to be worth the trip
                break
            assert time.monotonic() < deadline, f"main's owner still offers {office} at {alts.get(office)}"
            time.sleep(0.2)
    finally:
        for p in procs:
            p.stop()
        redis.kill()
