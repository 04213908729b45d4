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

The decisions (which leases to renew, drop, hand over or take; where a command goes; how a redirect left half done
is settled; whether followed events fill a gap) are pure functions in :mod:`cherga.displays.cluster_decide`.
:class:`ClusterHost` gathers their inputs from Redis and its replica, and carries out what they return.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cherga.displays import cluster_decide as decide
from cherga.displays.host import EngineHost, Listener
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.lifecycle import LIVE  # what a redirect may still take away: from the ticket's table
from cherga.engine.model import Network
from cherga.engine.network import Issued
from cherga.engine.state import Ticket
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


_weight = decide.weight  # rendezvous hashing (the tests pick offices by it)


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


def _state(t: Ticket) -> decide.TicketState:
    return decide.TicketState(status=t.status, new_ticket=t.new_ticket)


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
        forward_issue: Callable[[str, dict[str, Any]], Awaitable[str]] | None = None,
    ) -> None:
        """``forward_issue(office, body)`` issues a ticket at an office another process owns and returns its id
        (the app's relay); without it a redirect to such an office is refused."""
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
        self.forward_issue = forward_issue
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
        to_office = cmd.to_office if isinstance(cmd, c.SendToOffice) else None
        where = decide.route(office, to_office, owned=self.owned, offices=self.network.offices, cluster=self.cluster)
        if where is decide.Route.FORWARD:
            raise NotOwner(office)
        if where is decide.Route.SAGA:
            assert isinstance(cmd, c.SendToOffice)
            return await self._send_across(cmd)
        return await super().execute(cmd)

    async def _send_across(self, cmd: c.SendToOffice) -> list[e.BaseEvent]:
        """A redirect whose two offices cannot be written atomically: a saga of two idempotent steps.

        (1) The target's owner issues the new ticket (:meth:`issue_at_target`: at most one per origin, asked again it
        answers with the same ticket). (2) We mark ours ``redirected`` (:meth:`mark_redirected`). If this process
        dies between the two, whoever owns this office next finishes step 2 (:meth:`settle_redirects`); if our
        ticket ends some other way meanwhile, the target's owner cancels the new one.
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
            new_id, issued = await self.issue_at_target(issue)
            return [*issued, *await self.mark_redirected(cmd, t.office, t.id, t.number, new_id)]
        finally:
            self._redirecting.discard(t.id)

    async def issue_at_target(self, issue: c.IssueTicket) -> tuple[str, list[e.BaseEvent]]:
        """Step 1 of a redirect saga: the target's owner issues the ticket that continues ``issue.origin``; returns
        its id and the events written here (none when another process owns the target)."""
        if issue.office in self.owned:  # ours too, but a cluster cannot write the two offices atomically
            local = await self.issue(issue)
            return local.ticket, local.events
        if self.forward_issue is None:
            raise JournalError("this process cannot reach the other offices' owners")
        return await self.forward_issue(issue.office, {
            "service": issue.service, "vulnerable": issue.vulnerable, "more_services": list(issue.more_services),
            "position": issue.position.value, "origin": issue.origin,
        }), []

    async def mark_redirected(self, cmd: c.SendToOffice, office: str, ticket: str, number: str,
                              new_id: str) -> list[e.BaseEvent]:
        """Step 2 of a redirect saga: the source ticket becomes ``redirected`` to ``new_id``."""
        now = self.engine.offices[office].tickets.get(ticket)  # the engine may have been rebuilt meanwhile
        step = decide.step_two(office in self.owned, None if now is None else _state(now), new_id)
        if step is decide.StepTwo.NOT_OWNER:
            raise NotOwner(office)
        if step is decide.StepTwo.DONE:
            return []  # finished meanwhile (not while we hold _redirecting; harmless if it were)
        try:
            return await super().execute(
                c.Redirect(ticket=ticket, to_office=cmd.to_office, new_ticket=new_id, desk=cmd.desk))
        except JournalError:
            raise  # not written: settle_redirects finishes it once the journal is back (the origin is live)
        except ChergaError as exc:
            # our ticket changed while the target issued: settle_redirects finishes the redirect if the ticket is
            # still live, else the target's owner withdraws the new ticket; the caller hears why
            now = self.engine.offices[office].tickets.get(ticket)
            after = ("it will still be sent there" if now is not None and now.status in LIVE
                     else "the new ticket there is withdrawn")
            raise Conflict(f"ticket {number} changed while office {cmd.to_office} issued its new ticket "
                           f"({exc.message}); {after}") from exc

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

        For each ticket that continues another office's ticket (``origin``) and is not yet seen settled, the
        decider (:func:`~cherga.displays.cluster_decide.settle`) says what to do from our replica as it stands now
        (each redirect is looked at after the previous one's write): apply the origin's ``Redirect`` here, cancel
        the new ticket here, forget it (settled), or wait. O(open redirects).
        """
        applied = 0
        for key in list(self.origins.open):
            if self.failure is not None:
                break
            step = decide.settle(self._open_redirect(key), LIVE)
            if isinstance(step, decide.Forget):
                self.origins.open.discard(key)
            elif isinstance(step, decide.ApplyRedirect | decide.Withdraw) and await self._settle_one(step):
                applied += 1
                self.redirects_settled += 1
                self.origins.open.discard(key)
        return applied

    def _open_redirect(self, key: tuple[str, str]) -> decide.OpenRedirect:
        """The decider's view of one open redirect, from our replica. O(1)."""
        origin, office = key
        new_id = self.origins.tickets.get(key)
        source_office = self.engine.ticket_office.get(origin)
        source = None if source_office is None or source_office not in self.engine.offices \
            else self.engine.offices[source_office].tickets.get(origin)
        target = self.engine.offices.get(office)
        new = None if target is None or new_id is None else target.tickets.get(new_id)
        return decide.OpenRedirect(
            origin=origin, office=office, new_ticket=new_id, office_known=target is not None,
            source_office=source_office if source is not None else None,
            source=None if source is None else _state(source), new=None if new is None else _state(new),
            owns_source=source_office in self.owned, owns_target=office in self.owned,
            in_saga=origin in self._redirecting)

    async def _settle_one(self, step: decide.ApplyRedirect | decide.Withdraw) -> bool:
        """Carry out one settling command; False (logged) if it was refused."""
        if isinstance(step, decide.ApplyRedirect):
            cmd: c.Command = c.Redirect(ticket=step.ticket, to_office=step.to_office, new_ticket=step.new_ticket)
        else:
            cmd = c.Cancel(ticket=step.ticket, reason=decide.WITHDRAW_REASON)
        number = self._number(step.ticket)
        try:
            await EngineHost.execute(self, cmd)
        except ChergaError as exc:
            what = "finish the redirect of" if isinstance(step, decide.ApplyRedirect) else "withdraw"
            log.warning("could not %s %s: %s", what, number, exc.message)
            return False
        if isinstance(step, decide.ApplyRedirect):
            log.warning("finished a redirect left half done: %s of office %s continues at office %s",
                        number, self.engine.ticket_office.get(step.ticket), step.to_office)
        else:
            log.warning("withdrew %s at office %s: its origin ended", number, step.office)
        return True

    def _number(self, ticket: str) -> str:
        office = self.engine.ticket_office.get(ticket)
        t = None if office is None else self.engine.offices[office].tickets.get(ticket)
        return ticket if t is None else t.number

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
        """Renew our leases, hand over, take free offices (:func:`~cherga.displays.cluster_decide.decide_leases`
        decides). While our journal is down (and not ``force``, the healer's round) nothing is taken, and leases held
        through an outage longer than a lease period are given up so that a process whose journal works takes those
        offices over."""
        now_ms = int(time.time() * 1000)
        await self.r.hset(NODES, self.node, now_ms + self.lease_ms)
        nodes = {_text(k): int(v) for k, v in (await self.r.hgetall(NODES)).items()}
        holders = await self._holders()
        mono = time.monotonic()
        outage_s = None if self._outage_mono is None else mono - self._outage_mono
        plan = decide.decide_leases(decide.LeaseInputs(
            node=self.node, now_ms=now_ms, mono=mono, lease_s=self.lease_ms / 1000, offices=tuple(self.network.offices),
            nodes=nodes, seen=self._node_seen, holders=holders, owned=frozenset(self.owned),
            free_since=self._free_since, journal_down=self.failure is not None and not force, outage_s=outage_s,
            busy=self._busy_offices()))
        self._node_seen, self._free_since = dict(plan.seen), dict(plan.free_since)
        await self._carry_out(plan)

    async def _holders(self) -> dict[str, str | None]:
        """Every office's lease holder, in one round trip (a cluster client splits the pipeline by node)."""
        offices = list(self.network.offices)
        async with (self.r.pipeline() if self.cluster else self.r.pipeline(transaction=False)) as pipe:
            for office in offices:
                pipe.get(lease_key(office))
            got = await pipe.execute()
        return {office: None if v is None else _text(v) for office, v in zip(offices, got, strict=True)}

    def _busy_offices(self) -> frozenset[str]:
        """Offices whose redirect saga is between its two steps here: not handed over meanwhile."""
        return frozenset(o for t in self._redirecting if (o := self.engine.ticket_office.get(t)) is not None)

    async def _carry_out(self, plan: decide.LeaseRound) -> None:
        for office in plan.give_up:
            self.owned.discard(office)
            await self.r.eval(RELEASE, 1, lease_key(office), self.node)
            log.warning("gave up office %s: our journal has been down for over a lease period", office)
        for office in plan.lost:
            log.warning("lost the lease of office %s", office)
            self.owned.discard(office)
        for office in plan.renew:
            if not await self.r.eval(RENEW, 1, lease_key(office), self.node, self.lease_ms):
                log.warning("lost the lease of office %s", office)  # it lapsed since we read it
                self.owned.discard(office)
        if plan.hand_over is not None:
            await self._hand_over(plan.hand_over)
        for office in plan.take:
            if await self.r.set(lease_key(office), self.node, nx=True, px=self.lease_ms):
                await self._take_over(office)

    async def _hand_over(self, to: decide.HandOver) -> None:
        """Give an office to the live process rendezvous hashing prefers (the decider chose it: that one has been up
        for two lease periods, so a process that comes and goes does not make offices flap): a process started
        later, or restarted, gets its share of the writes instead of forwarding them all to the first one up.

        The office leaves ``owned`` first (its commands are forwarded from then on), then what was already applied
        is made durable, then the lease is released, and the preferred process takes the office over from the
        stream.
        """
        # the renewals were awaited since the decision: the office may be lost, or a saga may have begun
        if to.office not in self.owned or to.office in self._busy_offices():
            return
        self.owned.discard(to.office)
        if self._unpublished:  # writes complete in order: the last one applied so far covers the office's
            with contextlib.suppress(Exception):  # a failed write was handled by its own command
                await asyncio.shield(self._unpublished[-1][0])
        await self.r.eval(RELEASE, 1, lease_key(to.office), self.node)
        self.handovers += 1
        log.info("%s hands office %s over to %s", self.node, to.office, to.to)

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
        self._replay_followed(decide.consecutive(self.engine.offices[office].seq, events))

    def _replay_followed(self, events: tuple[e.BaseEvent, ...]) -> None:
        if not events:
            return
        self.engine.replay(events)
        for listener in self.listeners:
            listener.on_events(list(events), False)

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
            if office not in self.engine.offices:
                continue
            step = decide.follow(office in self.owned, self.engine.offices[office].seq, events)
            if step.catch_up:
                await self._catch_up(office)  # a gap: read it back from the stream
            else:
                self._replay_followed(step.apply)

    async def _check_gaps(self) -> None:
        for office, d in self.engine.offices.items():
            if office in self.owned:
                continue
            last = await asyncio.to_thread(self.journal.last_seq, office)  # type: ignore[attr-defined]
            if last > d.seq:
                await self._catch_up(office)
