"""A redirect between offices is effectively atomic, whatever dies in between.

One process (SQLite, or one Redis with both offices in one process): the redirect is ONE command whose two events
go in one all-or-nothing write. Between two owners (or on a Redis Cluster) it is a saga of two idempotent steps:
the target issues at most one ticket per ``origin``; whoever owns the source office finishes a redirect left half
done (or the target's owner withdraws the new ticket if the origin ended otherwise). Proved here in-process on a
real ``redis-server`` with two :class:`ClusterHost` objects, and end to end: the source's owner is SIGKILLed
between the two steps (it runs ``tests/kill_between_redirect_steps.py``, which wraps step 1 so that the process
SIGKILLs itself right after it), and after the takeover exactly one ticket is live,
the source ticket reads ``redirected`` to it, and no number repeats.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from redis_server import RedisServer
from server import ServerProcess

from cherga.displays.cluster import ClusterHost, _weight, lease_key
from cherga.displays.host import EngineHost
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.lifecycle import Status
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.engine.network import CityEngine
from cherga.errors import Conflict
from cherga.journal.redis import RedisJournal
from cherga.journal.sqlite import SqliteJournal

NETWORK: Network = load_network()
T0 = 1_795_417_200.0  # Monday 2026-11-23 09:00 in Kyiv
SERVICE = "housing-subsidy"  # offered by every office of the demo network
KILL_BETWEEN_STEPS = [str(Path(__file__).with_name("kill_between_redirect_steps.py"))]  # the victim's main


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path / "redis").start()
    try:
        yield srv
    finally:
        srv.stop()


def clock() -> float:
    return T0 + time.monotonic() % 3600


# ------------------------------------------------------------------------------------------ one process


def test_one_process_redirect_is_one_write(tmp_path: Path) -> None:
    """SQLite: CityEngine.apply(SendToOffice) gives both offices' events, written in ONE transaction."""
    host = EngineHost(NETWORK, tmp_path, enforce_hours=False, clock=clock)
    assert isinstance(host.journal, SqliteJournal)

    async def scenario() -> list[e.BaseEvent]:
        issued = await host.issue(c.IssueTicket(office="main", service=SERVICE))
        before = host.journal.commits
        events = await host.execute(c.SendToOffice(ticket=issued.ticket, to_office="zamostia"))
        assert host.journal.commits == before + 1, "a redirect must be one all-or-nothing write"
        return events

    try:
        events = asyncio.run(scenario())
    finally:
        host.close()
    new = [ev for ev in events if isinstance(ev, e.TicketIssued)]
    old = [ev for ev in events if isinstance(ev, e.TicketRedirected)]
    assert len(new) == 1 and len(old) == 1
    assert new[0].office == "zamostia" and old[0].office == "main" and old[0].new_ticket == new[0].ticket
    assert new[0].origin == old[0].ticket
    again = CityEngine(NETWORK)
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    try:
        stored = list(journal.read())
    finally:
        journal.close()
    assert [ev for ev in stored if isinstance(ev, e.TicketIssued | e.TicketRedirected)][-2:] == [*new, *old]
    again.replay(stored)


def test_one_redis_one_owner_redirect_is_one_write(server: RedisServer) -> None:
    """One Redis, both offices owned here: still one command, one all-or-nothing script."""

    async def scenario() -> None:
        host = ClusterHost(NETWORK, server.url, advertise="http://a", enforce_hours=False, clock=clock)
        host.owned = {"main", "zamostia"}
        try:
            issued = await host.issue(c.IssueTicket(office="main", service=SERVICE))
            before = host.journal.commits
            events = await host.execute(c.SendToOffice(ticket=issued.ticket, to_office="zamostia"))
            assert host.journal.commits == before + 1
            assert {type(ev).__name__ for ev in events} - {"DayOpened"} == {"TicketIssued", "TicketRedirected"}
        finally:
            await host.stop()
            host.close()

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ the saga, in-process


async def _hosts(url: str) -> tuple[ClusterHost, ClusterHost]:
    """Process A owns main and khutory, B owns zamostia and vyshenka; A reaches B as the app's internal call does."""
    a = ClusterHost(NETWORK, url, advertise="http://a", enforce_hours=False, clock=clock)
    b = ClusterHost(NETWORK, url, advertise="http://b", enforce_hours=False, clock=clock)
    a.owned, b.owned = {"main", "khutory"}, {"zamostia", "vyshenka"}
    a.forward_issue = lambda office, body: _internal_issue(b, office, body)
    b.forward_issue = lambda office, body: _internal_issue(a, office, body)
    return a, b


async def _internal_issue(host: ClusterHost, office: str, body: dict[str, Any]) -> str:
    issued = await host.issue(c.IssueTicket(
        office=office, service=body["service"], vulnerable=body["vulnerable"], channel="redirect",
        more_services=tuple(body["more_services"]), position=c.Position(body["position"]), origin=body["origin"]))
    return issued.ticket


async def _sync(*hosts: ClusterHost) -> None:
    """What the follow loop does every second: each replica catches up from the streams."""
    for h in hosts:
        for office in NETWORK.offices:
            await h._catch_up(office)


async def _close(*hosts: ClusterHost) -> None:
    for h in hosts:
        await h.stop()
        h.close()


def _stored(url: str) -> list[e.BaseEvent]:
    with RedisJournal(url) as j:
        return list(j.read())


def _one_live(url: str, origin: str) -> e.TicketIssued:
    """Replay the journal: exactly one ticket continues ``origin``, it is live, and ``origin`` points to it."""
    stored = _stored(url)
    engine = CityEngine(NETWORK)
    engine.replay(stored)
    continued = [ev for ev in stored if isinstance(ev, e.TicketIssued) and ev.origin == origin]
    live = [ev for ev in continued
            if engine.offices[ev.office].tickets[ev.ticket].status in (Status.WAITING, Status.CALLED)]
    assert len(live) == 1, f"{len(live)} live tickets continue {origin}: {continued}"
    src = engine.offices[engine.ticket_office[origin]].tickets[origin]
    assert src.status is Status.REDIRECTED and src.new_ticket == live[0].ticket
    numbers = Counter((ev.office, ev.number) for ev in stored if isinstance(ev, e.TicketIssued))
    assert max(numbers.values()) == 1, "a ticket number repeated"
    return live[0]


def test_the_saga_between_two_owners(server: RedisServer) -> None:
    async def scenario() -> None:
        a, b = await _hosts(server.url)
        try:
            t = await a.issue(c.IssueTicket(office="main", service=SERVICE))
            before = a.journal.commits
            events = await a.execute(c.SendToOffice(ticket=t.ticket, to_office="zamostia"))
            assert a.journal.commits == before + 1  # A wrote its half; B wrote the other
            assert [type(ev).__name__ for ev in events] == ["TicketRedirected"]
            new_id = events[0].new_ticket  # type: ignore[attr-defined]
            # step 1 again (the source retrying): the same ticket, nothing new written
            again = await _internal_issue(b, "zamostia", {"service": SERVICE, "vulnerable": False,
                                                          "more_services": [], "position": "head",
                                                          "origin": t.ticket})
            assert again == new_id
        finally:
            await _close(a, b)
        _one_live(server.url, t.ticket)

    asyncio.run(scenario())


def test_concurrent_asks_for_one_origin_issue_once(server: RedisServer) -> None:
    async def scenario() -> None:
        a, b = await _hosts(server.url)
        try:
            t = await a.issue(c.IssueTicket(office="main", service=SERVICE))
            cmd = c.IssueTicket(office="zamostia", service=SERVICE, channel="redirect", origin=t.ticket)
            got = await asyncio.gather(*(b.issue(cmd) for _ in range(5)))
            assert len({g.ticket for g in got}) == 1
            assert sum(len(g.events) > 0 for g in got) == 1
        finally:
            await _close(a, b)
        stored = _stored(server.url)
        assert sum(isinstance(ev, e.TicketIssued) and ev.origin == t.ticket for ev in stored) == 1

    asyncio.run(scenario())


def test_a_redirect_left_half_done_is_finished_by_the_next_owner_of_the_source(server: RedisServer) -> None:
    async def scenario() -> str:
        a, b = await _hosts(server.url)
        try:
            t = await a.issue(c.IssueTicket(office="main", service=SERVICE))
            await _internal_issue(b, "zamostia", {"service": SERVICE, "vulnerable": False, "more_services": [],
                                                  "position": "head", "origin": t.ticket})
            # ... and A dies here, before step 2
        finally:
            await _close(a, b)
        # the next owner of main (a new process: replays everything) finishes it
        a2 = ClusterHost(NETWORK, server.url, advertise="http://a2", enforce_hours=False, clock=clock)
        a2.owned = {"main", "khutory"}
        try:
            assert a2.engine.offices["main"].tickets[t.ticket].status is Status.WAITING
            assert await a2.settle_redirects() == 1
            assert a2.engine.offices["main"].tickets[t.ticket].status is Status.REDIRECTED
            assert await a2.settle_redirects() == 0  # idempotent
        finally:
            await _close(a2)
        return t.ticket

    origin = asyncio.run(scenario())
    _one_live(server.url, origin)


def test_a_called_ticket_left_half_redirected_is_finished_too(server: RedisServer) -> None:
    """The desk's "send to another office": the source ticket is called at a desk; finishing frees the desk."""
    desk = "main-10"  # serves housing-subsidy

    async def scenario() -> str:
        a, b = await _hosts(server.url)
        try:
            await a.execute(c.OpenDesk(desk=desk))
            t = await a.issue(c.IssueTicket(office="main", service=SERVICE))
            await a.execute(c.CallNext(desk=desk))
            await _internal_issue(b, "zamostia", {"service": SERVICE, "vulnerable": False, "more_services": [],
                                                  "position": "head", "origin": t.ticket})
            await _sync(a)
            assert await a.settle_redirects() == 1
            assert a.engine.offices["main"].desks[desk].ticket is None
        finally:
            await _close(a, b)
        return t.ticket

    _one_live(server.url, asyncio.run(scenario()))


def test_an_origin_that_ended_meanwhile_gets_the_new_ticket_withdrawn(server: RedisServer) -> None:
    """The visitor cancels at the source while the target issues: the saga's step 2 is refused, the caller hears
    why, and the target's owner cancels the new ticket: none of the two stays live."""

    async def scenario() -> None:
        a, b = await _hosts(server.url)
        try:
            t = await a.issue(c.IssueTicket(office="main", service=SERVICE))

            async def issue_then_cancel_at_source(office: str, body: dict[str, Any]) -> str:
                new = await _internal_issue(b, office, body)
                await EngineHost.execute(a, c.Cancel(ticket=t.ticket))
                return new

            a.forward_issue = issue_then_cancel_at_source
            with pytest.raises(Conflict, match="changed while office zamostia issued"):
                await a.execute(c.SendToOffice(ticket=t.ticket, to_office="zamostia"))
            new_id = b.origins.tickets[(t.ticket, "zamostia")]
            assert b.engine.offices["zamostia"].tickets[new_id].status is Status.WAITING
            await _sync(b)
            assert await b.settle_redirects() == 1
            assert b.engine.offices["zamostia"].tickets[new_id].status is Status.CANCELLED
            await _sync(a)
            assert await a.settle_redirects() == 0
            assert not a.origins.open and not b.origins.open
        finally:
            await _close(a, b)

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ end to end: kill -9


FAKE_OWNER = "http://127.0.0.1:9#held-by-the-test"


def _node(p: ServerProcess) -> str:
    return str(httpx.get(f"{p.url}/healthz", timeout=5).json()["node"])


def _owned(p: ServerProcess) -> set[str]:
    try:
        return set(httpx.get(f"{p.url}/healthz", timeout=5).json()["owned"])
    except httpx.HTTPError:
        return set()


def _wait(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_source_owner_killed_between_the_two_steps(server: RedisServer, tmp_path: Path) -> None:
    r = redis.Redis.from_url(server.url)
    for office in NETWORK.offices:  # the test holds every office, then hands out two of them on purpose
        r.set(lease_key(office), FAKE_OWNER, px=120_000)
    fast = ["--lease-ms", "1500"]
    victim = ServerProcess(tmp_path / "victim", redis=server.url, extra=fast, main=KILL_BETWEEN_STEPS).start()
    other = ServerProcess(tmp_path / "other", redis=server.url, extra=fast).start()
    try:
        # a source office the victim is preferred for, a target the other is preferred for (rendezvous hashing)
        for _ in range(5):
            nv, no = _node(victim), _node(other)
            src = [o for o in sorted(NETWORK.offices) if _weight(nv, o) > _weight(no, o)]
            dst = [o for o in sorted(NETWORK.offices) if _weight(no, o) > _weight(nv, o)]
            if src and dst:
                break
            other.stop()
            other = ServerProcess(tmp_path / "other", redis=server.url, extra=fast).start()
        source, target = src[0], dst[0]
        r.delete(lease_key(source), lease_key(target))
        _wait(lambda: source in _owned(victim) and target in _owned(other), 10, "the two offices were not taken")

        head = other.auth("head", source)
        ticket = httpx.post(f"{victim.url}/api/v1/offices/{source}/tickets", json={"service": SERVICE},
                            headers=head, timeout=20).json()
        target_head = other.auth("head", target)
        before = httpx.post(f"{other.url}/api/v1/offices/{target}/tickets", json={"service": SERVICE},
                            headers=target_head, timeout=20).json()
        with pytest.raises(httpx.TransportError):  # the victim dies after the target issued, before its own step
            httpx.post(f"{victim.url}/api/v1/offices/{source}/redirects",
                       json={"ticket": ticket["id"], "office": target}, headers=head, timeout=20)
        assert victim.proc is not None and victim.proc.wait(10) == -9
        killed_at = time.monotonic()

        # the other process takes the source office over and finishes the redirect
        def finished() -> bool:
            got = httpx.get(f"{other.url}/api/v1/tickets/{ticket['id']}", timeout=5).json()
            return bool(got["status"] == "redirected")

        _wait(finished, 15, "the redirect left half done was not finished after the takeover")
        took = time.monotonic() - killed_at
        assert source in _owned(other)
        old = httpx.get(f"{other.url}/api/v1/tickets/{ticket['id']}", timeout=5).json()
        new = httpx.get(f"{other.url}/api/v1/tickets/{old['new_ticket']}", timeout=5).json()
        assert new["status"] == "waiting" and new["office"] == target, new
        assert new["number"] != before["number"]
        # issuing goes on at both offices without repeating a number
        after_src = httpx.post(f"{other.url}/api/v1/offices/{source}/tickets", json={"service": SERVICE},
                               headers=head, timeout=20).json()
        after_dst = httpx.post(f"{other.url}/api/v1/offices/{target}/tickets", json={"service": SERVICE},
                               headers=target_head, timeout=20).json()
        assert after_src["number"] != ticket["number"]
        assert after_dst["number"] not in (before["number"], new["number"])
        # the source asking the target again (a retry of step 1) gets the same ticket
        secret = r.hget("cherga:meta", "cluster_secret")
        assert secret is not None
        again = httpx.post(f"{other.url}/internal/v1/offices/{target}/tickets", timeout=20,
                           headers={"x-cherga-cluster": secret.decode()},
                           json={"service": SERVICE, "vulnerable": False, "more_services": [], "position": "head",
                                 "origin": ticket["id"]})
        assert again.status_code == 200 and again.json()["ticket"] == old["new_ticket"]
        print(f"\nthe redirect left half done was finished {took:.1f} s after its source's owner was killed")
    finally:
        victim.kill()
        other.stop()
        r.close()
    _one_live(server.url, ticket["id"])
