"""``cherga serve --redis URL``: many service processes over one Redis, each office owned by exactly one.

Every process keeps a replica of every office (the same pure engine, fed the office's journalled events), so any
process can answer reads and feed any board. Writes go to the office's owner only:

* **Ownership** is a lease in Redis (``cherga:{office}:lease``, value = the owner's node id, which starts with its
  address). The owner renews it every ``lease_ms / 5``; when it lapses (the owner died), another process catches
  its replica up from the stream and takes the office over. Offices are spread over the live processes by
  rendezvous hashing; an office nobody takes within a lease period is taken by anyone.
* **Forwarding**: a command for an office another process owns raises :class:`NotOwner`; the app forwards the
  HTTP request to the owner's address and relays its answer.
* **Fan-out**: after its journal write is acknowledged the owner publishes the events on ``cherga:events``. Every
  process applies them to its replica and tells its boards. Pub/sub drops messages on a disconnect, so a replica
  that sees a gap in an office's ``seq`` (or finds one on its periodic check) reads the missing events back from
  the office's stream: boards always get consecutive numbers.
* **Safety**: the journal refuses an event whose ``seq`` does not continue the office's stream, so even two
  processes that both believe they own an office (a paused process, a partition) cannot interleave its journal.
* **Redirects between offices** are a saga of two idempotent steps whenever the two offices' events cannot be
  written in one atomic write (the offices have different owners, or Redis is a cluster): (1) the target's owner
  issues the new ticket, and issues at most one per ``origin`` (asked again, it answers with the ticket it already
  issued); (2) the source's owner marks its ticket ``redirected``. Whoever owns the source office (after a crash or
  a takeover too) finishes a redirect left after step 1: every process indexes the tickets that name an ``origin``,
  and after each lease round (every ``lease_ms / 5``) the owner of an origin's office applies the missing
  ``Redirect``. If the origin ended some other way meanwhile (served, cancelled, redirected elsewhere), the target's
  owner cancels the new ticket. So exactly one of the two tickets stays live, whatever dies in between.
* **Redis Cluster** works as well as one Redis: every key is one office's (hash-tagged) or a single key of its own,
  the journal writes one script per office (:mod:`cherga.journal.redis`), and pub/sub is broadcast by the
  cluster to every node, so a process subscribes on any one node.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cherga.displays.host import EngineHost, Listener
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.lifecycle import Status
from cherga.engine.model import Network
from cherga.engine.network import Issued
from cherga.errors import ChergaError, Conflict, JournalError
from cherga.journal.redis import RedisJournal, connect_async, node_url

log = logging.getLogger("cherga.cluster")

CHANNEL = "cherga:events"
NODES = "cherga:nodes"
RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end
"""
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""
# test-only: SIGKILL this process right after the target office issued a redirected ticket (test_redirect_saga)
FAULT_AFTER_REDIRECT_ISSUE = "CHERGA_FAULT_AFTER_REDIRECT_ISSUE"
LIVE = (Status.WAITING, Status.CALLED, Status.SERVING)  # what a redirect may still take away


class NotOwner(ChergaError):
    """The office is owned by another process: forward the request there."""

    code = "not_owner"

    def __init__(self, office: str) -> None:
        super().__init__(f"office {office} is served by another process")
        self.office = office


def lease_key(office: str) -> str:
    return f"cherga:{{{office}}}:lease"


def owner_url(node: str) -> str:
    return node.split("#", 1)[0]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _weight(node: str, office: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{node}|{office}".encode(), digest_size=8).digest(), "big")


class OriginIndex:
    """Tickets that continue a ticket of another office (a redirect), by ``(origin, their office)``.

    A listener, so it follows the replay at start, this process's own writes and the replicas of every other office.
    ``open`` holds the redirects not yet seen finished: :meth:`ClusterHost.settle_redirects` works through it.
    """

    def __init__(self) -> None:
        self.tickets: dict[tuple[str, str], str] = {}
        self.open: set[tuple[str, str]] = set()

    def reset(self) -> None:
        self.tickets.clear()
        self.open.clear()

    def on_events(self, events: list[e.BaseEvent], replay: bool) -> None:
        for ev in events:
            if isinstance(ev, e.TicketIssued) and ev.origin is not None:
                key = (ev.origin, ev.office)
                if key not in self.tickets:
                    self.tickets[key] = ev.ticket
                    self.open.add(key)


class ClusterHost(EngineHost):
    reopen_inline = False  # reopening Redis may wait for a socket timeout: the healer does it off the loop

    def __init__(
        self,
        network: Network,
        redis_url: str,
        *,
        advertise: str,
        enforce_hours: bool = True,
        clock: Callable[[], float] = time.time,
        listeners: list[Listener] | None = None,
        lease_ms: int = 3000,
        require_fsync: bool = True,
    ) -> None:
        self.redis_url = redis_url
        self.node = f"{advertise}#{secrets.token_hex(4)}"
        self.lease_ms = lease_ms
        self.owned: set[str] = set()
        self._free_since: dict[str, float] = {}
        self._node_seen: dict[str, float] = {}  # when each live process was first seen (monotonic)
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: asyncio.Queue[str] | None = None
        self.takeovers = 0
        self.handovers = 0  # offices given to the process rendezvous hashing prefers, once it had been up a while
        self.redirects_settled = 0  # redirects finished (or undone) by settle_redirects, not by their saga
        # set by the app: issues a ticket at an office another process owns, returns its id
        self.forward_issue: Callable[[str, dict[str, Any]], Awaitable[str]] | None = None
        self.origins = OriginIndex()
        self._redirecting: set[str] = set()  # source tickets whose saga runs in this process now
        self._issuing: dict[tuple[str, str], asyncio.Future[None]] = {}  # (origin, office) being issued here now
        super().__init__(
            network, Path("."), enforce_hours=enforce_hours, clock=clock, listeners=[self.origins, *(listeners or [])],
            journal_factory=lambda _: RedisJournal(redis_url, require_fsync=require_fsync),
        )
        journal = self.journal
        assert isinstance(journal, RedisJournal)
        self.cluster = journal.cluster  # Redis Cluster: a write spanning two offices is not atomic
        self.r: Any = connect_async(redis_url, cluster=self.cluster, socket_timeout=5, socket_connect_timeout=5)
        self._subscribe_to = 0  # cluster: which node the next subscription goes to

    # ------------------------------------------------------------------ life

    async def _after_reopen(self) -> None:
        """Before serving again: renew what is still ours, drop what lapsed (another process may have taken it
        over meanwhile), take what nobody holds. An office is resumed or taken over, never left without an owner."""
        await self._lease_round(force=True)

    async def start(self) -> None:
        self._outbox = asyncio.Queue()
        await self._lease_round()
        self._tasks = [
            asyncio.create_task(self._lease_loop(), name="cherga-leases"),
            asyncio.create_task(self._follow(), name="cherga-follow"),
            asyncio.create_task(self._publish_loop(), name="cherga-publish"),
        ]

    async def stop(self) -> None:
        # what was acknowledged reaches the others before the leases go
        while self._outbox is not None and not self._outbox.empty():
            with contextlib.suppress(RedisError, OSError):
                await self.r.publish(CHANNEL, self._outbox.get_nowait())
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        with contextlib.suppress(RedisError, OSError):
            for office in list(self.owned):
                await self.r.eval(RELEASE, 1, lease_key(office), self.node)
            await self.r.hdel(NODES, self.node)
        self.owned.clear()
        await self.r.aclose()

    # ------------------------------------------------------------------ commands

    def _office_of(self, cmd: c.Command | c.SendToOffice) -> str:
        return self.engine.route(cmd)

    async def execute(self, cmd: c.Command | c.SendToOffice) -> list[e.BaseEvent]:
        office = self._office_of(cmd)
        if office not in self.owned:
            raise NotOwner(office)
        if isinstance(cmd, c.SendToOffice) and cmd.to_office in self.network.offices and cmd.to_office != office \
                and (cmd.to_office not in self.owned or self.cluster):
            return await self._send_across(cmd)
        # one Redis and both offices ours: the redirect's two events go in one all-or-nothing write
        return await super().execute(cmd)

    async def _send_across(self, cmd: c.SendToOffice) -> list[e.BaseEvent]:
        """A redirect whose two offices cannot be written atomically: a saga of two idempotent steps.

        (1) The target's owner issues the new ticket (at most one per origin: asked again, it answers with the same
        ticket). (2) We mark ours ``redirected``. If this process dies between the two, whoever owns this office
        next finishes step 2 (:meth:`settle_redirects`); if our ticket ends some other way meanwhile, the target's
        owner cancels the new one.
        """
        source = self.engine.offices[self._office_of(cmd)]
        ticket_id = cmd.ticket
        if cmd.desk is not None:
            held = source.desks[cmd.desk].ticket
            if held is None:
                raise Conflict(f"desk {cmd.desk} has no ticket to send to another office")
            ticket_id = held.id
        assert ticket_id is not None
        t = source.check_redirect(ticket_id, cmd.desk)
        if t.id in self._redirecting:
            raise Conflict(f"ticket {t.number} is being sent to another office already")
        self._redirecting.add(t.id)
        try:
            issue = c.IssueTicket(office=cmd.to_office, service=t.service, vulnerable=t.vulnerable,
                                  channel="redirect", more_services=t.more, position=cmd.position, origin=t.id)
            issued: list[e.BaseEvent] = []
            if cmd.to_office in self.owned:  # ours too, but a cluster cannot write the two offices atomically
                local = await self.issue(issue)
                new_id, issued = local.ticket, local.events
            else:
                if self.forward_issue is None:
                    raise JournalError("this process cannot reach the other offices' owners")
                new_id = await self.forward_issue(cmd.to_office, {
                    "service": t.service, "vulnerable": t.vulnerable, "more_services": list(t.more),
                    "position": cmd.position.value, "origin": t.id,
                })
            if os.environ.get(FAULT_AFTER_REDIRECT_ISSUE):
                log.error("%s is set: dying between the two steps of a redirect", FAULT_AFTER_REDIRECT_ISSUE)
                os.kill(os.getpid(), signal.SIGKILL)
            if t.office not in self.owned:
                raise NotOwner(t.office)  # we lost the office meanwhile: its new owner redoes both steps, idempotent
            now = self.engine.offices[t.office].tickets.get(t.id)  # the engine may have been rebuilt meanwhile
            if now is not None and now.status is Status.REDIRECTED and now.new_ticket == new_id:
                return issued  # finished meanwhile (not while we hold _redirecting; harmless if it were)
            try:
                marked = await super().execute(
                    c.Redirect(ticket=t.id, to_office=cmd.to_office, new_ticket=new_id, desk=cmd.desk)
                )
            except JournalError:
                raise  # not written: settle_redirects finishes it once the journal is back (the origin is live)
            except ChergaError as exc:
                # our ticket changed while the target issued: settle_redirects finishes the redirect if the ticket is
                # still live, else the target's owner withdraws the new ticket; the caller hears why
                now = self.engine.offices[t.office].tickets.get(t.id)
                after = ("it will still be sent there" if now is not None and now.status in LIVE
                         else "the new ticket there is withdrawn")
                raise Conflict(f"ticket {t.number} changed while office {cmd.to_office} issued its new ticket "
                               f"({exc.message}); {after}") from exc
            return [*issued, *marked]
        finally:
            self._redirecting.discard(t.id)

    async def issue(self, cmd: c.IssueTicket) -> Issued:
        if cmd.office not in self.owned:
            raise NotOwner(cmd.office)
        if cmd.origin is None:
            return await super().issue(cmd)
        # a redirected visitor: one ticket per origin, however often the source asks (its step 1 is idempotent)
        key = (cmd.origin, cmd.office)
        while (pending := self._issuing.get(key)) is not None:
            await asyncio.shield(pending)
        known = self.origins.tickets.get(key)
        if known is not None:
            return Issued(events=[], ticket=known, alternatives=[])
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._issuing[key] = done
        try:
            issued = await super().issue(cmd)
            self.origins.on_events(issued.events, False)  # durable now: a second ask finds it
            return issued
        finally:
            del self._issuing[key]
            done.set_result(None)

    async def settle_redirects(self) -> int:
        """Finish or undo every redirect left half done that this process can; returns the commands applied.

        For each ticket that continues another office's ticket (``origin``) and is not yet seen settled:
        the origin still live (waiting, called, serving) in an office we own → apply its ``Redirect`` here; the
        origin ended otherwise (served, refused, cancelled, redirected to another ticket) and the new ticket is in
        an office we own and still waiting or called → cancel it. O(open redirects).
        """
        applied = 0
        for key in list(self.origins.open):
            if self.failure is not None:
                break
            origin, office = key
            new_id = self.origins.tickets.get(key)
            source_office = self.engine.ticket_office.get(origin)
            if new_id is None or office not in self.engine.offices:
                self.origins.open.discard(key)
                continue
            if source_office is None or source_office not in self.engine.offices:
                continue  # our replica has not seen the origin yet
            t = self.engine.offices[source_office].tickets.get(origin)
            if t is None:
                continue
            if t.status is Status.REDIRECTED and t.new_ticket == new_id:
                self.origins.open.discard(key)  # done
                continue
            if t.status in LIVE:
                if source_office in self.owned and origin not in self._redirecting:
                    try:
                        await EngineHost.execute(self, c.Redirect(ticket=origin, to_office=office, new_ticket=new_id))
                    except ChergaError as exc:
                        log.warning("could not finish the redirect of %s to %s: %s", t.number, office, exc.message)
                    else:
                        applied += 1
                        self.redirects_settled += 1
                        self.origins.open.discard(key)
                        log.warning("finished a redirect left half done: %s of office %s continues at office %s",
                                    t.number, source_office, office)
                continue
            if t.status is Status.NO_SHOW:
                continue  # may be restored to called, then redirected
            # the origin ended some other way: the new ticket must not stay live
            new = self.engine.offices[office].tickets.get(new_id)
            if new is None:
                continue
            if new.status not in (Status.WAITING, Status.CALLED):
                self.origins.open.discard(key)
                continue
            if office in self.owned:
                try:
                    await EngineHost.execute(self, c.Cancel(ticket=new_id, reason="redirect not completed"))
                except ChergaError as exc:
                    log.warning("could not withdraw %s at office %s: %s", new.number, office, exc.message)
                else:
                    applied += 1
                    self.redirects_settled += 1
                    self.origins.open.discard(key)
                    log.warning("withdrew %s at office %s: its origin %s ended as %s", new.number, office,
                                t.number, t.status)
        return applied

    def _publish(self, events: list[e.BaseEvent]) -> None:
        """Durable events go to the local listeners (the base class) and to every other process."""
        super()._publish(events)
        if self._outbox is not None:
            self._outbox.put_nowait(json.dumps([e.encode(ev) for ev in events]))

    async def _publish_loop(self) -> None:
        assert self._outbox is not None
        while True:
            payload = await self._outbox.get()
            try:
                await self.r.publish(CHANNEL, payload)
            except (RedisError, OSError) as exc:  # followers find the gap and read the stream
                log.warning("publish failed: %s", exc)

    async def owner_url(self, office: str, wait_s: float = 8.0) -> str | None:
        """The address of the process that owns ``office``, waiting through a takeover."""
        deadline = time.monotonic() + wait_s
        while True:
            with contextlib.suppress(RedisError, OSError):
                node = await self.r.get(lease_key(office))
                if node is not None:
                    text = _text(node)
                    if text != self.node:
                        return owner_url(text)
                    if office in self.owned:
                        return None  # ours after all
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.2)

    # ------------------------------------------------------------------ leases

    async def _lease_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 5000)
            try:
                await self._lease_round()
            except (RedisError, OSError) as exc:
                log.warning("lease round failed: %s", exc)
            if self.origins.open:
                try:
                    await self.settle_redirects()
                except Exception:  # never let one bad redirect stop the leases
                    log.exception("settling redirects failed")

    async def _lease_round(self, *, force: bool = False) -> None:
        """Renew our leases, hand over, take free offices. While our journal is down (and not ``force``, the
        healer's round) nothing is taken, and leases held through an outage longer than a lease period are given up
        so that a process whose journal works takes those offices over."""
        now_ms = int(time.time() * 1000)
        await self.r.hset(NODES, self.node, now_ms + self.lease_ms)
        nodes = {_text(k): int(v) for k, v in (await self.r.hgetall(NODES)).items()}
        alive = sorted(n for n, until in nodes.items() if until > now_ms) or [self.node]
        mono = time.monotonic()
        self._node_seen = {n: self._node_seen.get(n, mono) for n in alive}
        down = self.failure is not None and not force
        if down and self._outage_mono is not None and time.monotonic() - self._outage_mono > self.lease_ms / 1000:
            for office in sorted(self.owned):
                self.owned.discard(office)
                await self.r.eval(RELEASE, 1, lease_key(office), self.node)
                log.warning("gave up office %s: our journal has been down for over a lease period", office)
        for office in list(self.owned):
            kept = await self.r.eval(RENEW, 1, lease_key(office), self.node, self.lease_ms)
            if not kept:
                log.warning("lost the lease of office %s", office)
                self.owned.discard(office)
        await self._rebalance(alive, mono)
        if down:
            return  # we could not serve what we took
        for office in self.network.offices:
            if office in self.owned:
                continue
            holder = await self.r.get(lease_key(office))
            if holder is not None:
                self._free_since.pop(office, None)
                continue
            first_free = self._free_since.setdefault(office, time.monotonic())
            preferred = max(alive, key=lambda n: _weight(n, office)) == self.node
            if not preferred and time.monotonic() - first_free < self.lease_ms / 1000:
                continue
            if await self.r.set(lease_key(office), self.node, nx=True, px=self.lease_ms):
                await self._take_over(office)

    async def _rebalance(self, alive: list[str], mono: float) -> None:
        """Give each office to the live process rendezvous hashing prefers, once that one has been up for two lease
        periods (so a process that comes and goes does not make offices flap): a process started later, or
        restarted, gets its share of the writes instead of forwarding them all to the first one up.

        One office per round, and only when nothing of ours is still being written: the office leaves ``owned``
        first (its commands are forwarded from then on), then what was already applied is made durable, then the
        lease is released, and the preferred process takes the office over from the stream.
        """
        settled = self.lease_ms / 1000 * 2
        for office in sorted(self.owned):
            preferred = max(alive, key=lambda n: _weight(n, office))
            if preferred == self.node or mono - self._node_seen.get(preferred, mono) < settled:
                continue
            if any(self.engine.ticket_office.get(t) == office for t in self._redirecting):
                continue  # its redirect saga is between its two steps here
            self.owned.discard(office)
            if self._unpublished:  # writes complete in order: the last one applied so far covers the office's
                with contextlib.suppress(Exception):  # a failed write was handled by its own command
                    await asyncio.shield(self._unpublished[-1][0])
            await self.r.eval(RELEASE, 1, lease_key(office), self.node)
            self.handovers += 1
            log.info("%s hands office %s over to %s", self.node, office, preferred)
            return

    async def _take_over(self, office: str) -> None:
        """Catch the replica up from the stream, then write for the office."""
        self._apply_followed(office, await asyncio.to_thread(self._catch_up_sync, office))
        self.owned.add(office)
        self._free_since.pop(office, None)
        self.takeovers += 1
        log.info("%s now serves office %s from seq %d", self.node, office, self.engine.offices[office].seq)

    # ------------------------------------------------------------------ following the others

    def _catch_up_sync(self, office: str) -> list[e.BaseEvent]:
        d = self.engine.offices[office]
        fresh = [ev for ev in self.journal.read(office, after_seq=d.seq) if ev.seq > d.seq]
        return fresh

    async def _catch_up(self, office: str) -> None:
        fresh = await asyncio.to_thread(self._catch_up_sync, office)
        self._apply_followed(office, fresh)

    def _apply_followed(self, office: str, events: list[e.BaseEvent]) -> None:
        if office in self.owned:
            return  # we write this office: our replica is the source
        d = self.engine.offices[office]
        applied = []
        for ev in events:
            if ev.seq == d.seq + 1:
                self.engine.replay((ev,))
                applied.append(ev)
        if applied:
            for listener in self.listeners:
                listener.on_events(applied, False)

    async def _subscriber(self) -> Any:
        """Where to subscribe: our client, or on a cluster one node's own connection (cluster pub/sub reaches
        every node), a different node after each failure."""
        if not self.cluster:
            return self.r
        await self.r.initialize()
        nodes = sorted(self.r.get_nodes(), key=lambda n: n.name)
        node = nodes[self._subscribe_to % len(nodes)]
        self._subscribe_to += 1
        return aioredis.from_url(node_url(self.redis_url, node.host, node.port), socket_timeout=5,
                                 socket_connect_timeout=5)

    async def _follow(self) -> None:
        while True:
            client: Any = None
            pubsub: Any = None
            try:
                client = await self._subscriber()
                pubsub = client.pubsub()
                await pubsub.subscribe(CHANNEL)
                for office in self.network.offices:  # whatever was missed while (re)subscribing
                    await self._catch_up(office)
                last_check = time.monotonic()
                while True:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if msg is not None and msg.get("type") == "message":
                        await self._on_published(msg["data"])
                    if time.monotonic() - last_check > 1.0:
                        last_check = time.monotonic()
                        await self._check_gaps()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("following Redis failed (%s); reconnecting", exc)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    if pubsub is not None:
                        await pubsub.aclose()
                if client is not None and client is not self.r:
                    with contextlib.suppress(Exception):
                        await client.aclose()

    async def _on_published(self, data: Any) -> None:
        by_office: dict[str, list[e.BaseEvent]] = {}
        for x in json.loads(data):  # one command's events may span offices (a redirect)
            ev = e.decode(x)
            by_office.setdefault(ev.office, []).append(ev)
        for office, events in by_office.items():
            if office in self.owned or office not in self.engine.offices:
                continue
            d = self.engine.offices[office]
            fresh = [ev for ev in events if ev.seq > d.seq]
            if fresh and fresh[0].seq > d.seq + 1:
                await self._catch_up(office)  # a gap: read it back from the stream
            else:
                self._apply_followed(office, fresh)

    async def _check_gaps(self) -> None:
        for office, d in self.engine.offices.items():
            if office in self.owned:
                continue
            last = await asyncio.to_thread(self.journal.last_seq, office)  # type: ignore[attr-defined]
            if last > d.seq:
                await self._catch_up(office)
