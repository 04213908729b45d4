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
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cherga.displays.host import EngineHost, Listener
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.journal.redis import RedisJournal
from cherga.engine.model import Network
from cherga.engine.network import Issued
from cherga.errors import ChergaError, InvalidCommand, JournalError

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


def _weight(node: str, office: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{node}|{office}".encode(), digest_size=8).digest(), "big")


class ClusterHost(EngineHost):
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
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: asyncio.Queue[str] | None = None
        self.takeovers = 0
        # set by the app: issues a ticket at an office another process owns, returns its id
        self.forward_issue: Callable[[str, dict[str, Any]], Awaitable[str]] | None = None
        super().__init__(
            network, Path("."), enforce_hours=enforce_hours, clock=clock, listeners=listeners,
            journal_factory=lambda _: RedisJournal(redis_url, require_fsync=require_fsync),
        )
        self.r: aioredis.Redis = aioredis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)

    # ------------------------------------------------------------------ life

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
        if isinstance(cmd, c.SendToOffice) and cmd.to_office in self.network.offices \
                and cmd.to_office not in self.owned:
            return await self._send_across(cmd)
        return await super().execute(cmd)

    async def _send_across(self, cmd: c.SendToOffice) -> list[e.BaseEvent]:
        """A redirect to an office another process owns: its owner issues the new ticket, then we mark ours.

        Not atomic across the two offices: if this process dies between the two steps, the target office has a
        ticket whose ``origin`` names a ticket still waiting here; the head sees both and can cancel one.
        """
        source = self.engine.offices[self._office_of(cmd)]
        ticket_id = cmd.ticket
        if cmd.desk is not None:
            held = source.desks[cmd.desk].ticket
            if held is None:
                raise InvalidCommand(f"desk {cmd.desk} has no ticket to send to another office")
            ticket_id = held.id
        assert ticket_id is not None
        t = source.check_redirect(ticket_id, cmd.desk)
        if self.forward_issue is None:
            raise JournalError("this process cannot reach the other offices' owners")
        new_id = await self.forward_issue(cmd.to_office, {
            "service": t.service, "vulnerable": t.vulnerable, "more_services": list(t.more),
            "position": cmd.position.value, "origin": t.id,
        })
        return await super().execute(
            c.Redirect(ticket=t.id, to_office=cmd.to_office, new_ticket=new_id, desk=cmd.desk)
        )

    async def issue(self, cmd: c.IssueTicket) -> Issued:
        if cmd.office not in self.owned:
            raise NotOwner(cmd.office)
        return await super().issue(cmd)

    def _drain(self) -> None:
        """Publish durable events to local listeners (the base class) and to every other process."""
        while self._unpublished and self._unpublished[0][0].done():
            fut, events = self._unpublished.popleft()
            if fut.exception() is None:
                for listener in self.listeners:
                    listener.on_events(events, False)
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

    async def _lease_round(self) -> None:
        now_ms = int(time.time() * 1000)
        await self.r.hset(NODES, self.node, now_ms + self.lease_ms)
        nodes = {_text(k): int(v) for k, v in (await self.r.hgetall(NODES)).items()}
        alive = sorted(n for n, until in nodes.items() if until > now_ms) or [self.node]
        for office in list(self.owned):
            kept = await self.r.eval(RENEW, 1, lease_key(office), self.node, self.lease_ms)
            if not kept:
                log.warning("lost the lease of office %s", office)
                self.owned.discard(office)
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

    async def _follow(self) -> None:
        while True:
            pubsub = self.r.pubsub()
            try:
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
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

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
