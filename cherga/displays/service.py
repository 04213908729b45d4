"""What one service process holds: the engine's host, the screens' hub, tokens, limits; built at start-up.

The routes (:mod:`cherga.displays.routes`) reach it through one dependency; nothing here knows about HTTP.
Every collaborator gets what it needs in its constructor: the hub its ticket view, a cluster host the way to
issue a ticket at an office another process owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cherga.displays import views
from cherga.displays.accounts import RedisStaffStore, StaffStore
from cherga.displays.alerts import AlertWatcher
from cherga.displays.audit import AuditStore, RedisAuditStore
from cherga.displays.auth import (
    PAIRING_TTL_S,
    DeviceInfo,
    DeviceSockets,
    RateLimiter,
    RedisTokenStore,
    TokenStore,
)
from cherga.displays.cluster import ClusterHost
from cherga.displays.host import EngineHost, Listener
from cherga.displays.hub import WAITS_REFRESH_S, Hub
from cherga.displays.metrics import CallCounter
from cherga.displays.push import PushNotifier
from cherga.displays.ratings import RatingsBook
from cherga.displays.schedule import Schedule
from cherga.displays.slot_alerts import SlotAlerts
from cherga.engine import commands as c
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.model import Network
from cherga.engine.network import CityEngine
from cherga.errors import Conflict, NotFound

# headers between the processes of one region (routes/relay.py)
FORWARDED = "x-cherga-forwarded-by"
CLUSTER_SECRET = "x-cherga-cluster"


@dataclass
class ServiceConfig:
    network: Network
    data_dir: Path
    enforce_hours: bool = True
    allowed_origins: set[str] = field(default_factory=set)
    kiosk_per_minute: float = 30.0
    kiosk_burst: int = 10
    public_per_minute: float = 10.0  # bookings from one address
    time_offset_s: float = 0.0  # run the clock shifted: demos, training, tests of slot times
    plans: dict[str, Schedule] = field(default_factory=dict)  # office -> desks planned per weekday and hour
    redis_url: str | None = None  # many processes over one Redis (cluster.py)
    advertise: str = "http://127.0.0.1:8080"  # how the other processes reach this one
    lease_ms: int = 3000
    pairing_per_minute: float = 6.0  # new pairing codes one address may ask for (a screen needs one per 10 min)
    pairing_burst: int = 10


def _entrance_key(data_dir: Path) -> bytes:
    """32 random bytes kept in ``entrance-key`` (mode 0600) beside the journal, made at the first start."""
    path = data_dir / "entrance-key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key


class Service:
    """Everything one service process holds, built at start-up (:meth:`start`) and closed at shutdown (:meth:`stop`)."""

    def __init__(self, cfg: ServiceConfig) -> None:
        self.cfg = cfg
        self.network = cfg.network
        offset = cfg.time_offset_s
        clock = (lambda: time.time() + offset) if offset else time.time
        self.http = httpx.AsyncClient(timeout=10)  # relays to the other processes of a region
        # The host replays the journal into its listeners as it opens, so they are built before it; they read the
        # engine only when events arrive or a screen joins (the host exists by then), and every time, because the
        # host rebuilds its engine after a journal outage.
        # the expected waits move with no event: how often the screens' figures are computed again
        self.waits_refresh_s = float(os.environ.get("CHERGA_WAITS_REFRESH_S", WAITS_REFRESH_S))
        self.hub = Hub(self.current_engine, clock, ticket_view=self.ticket_view, waits_refresh_s=self.waits_refresh_s)
        self.ratings = RatingsBook(cfg.network, clock)
        self.calls = CallCounter()
        self.alerts = AlertWatcher(self.current_engine, clock)
        # Web Push to the visitors' phones: N ahead and called (#18.2); sends off the loop, keeps push.sqlite3
        self.push = PushNotifier(cfg.data_dir, self.current_engine, clock=clock)
        # freed booking slots held for the visitors who asked, in turn; reminders the day before (#18.4)
        self.slot_alerts = SlotAlerts(cfg.data_dir, self.current_engine, self.push, clock=clock)
        listeners: list[Listener] = [self.hub, self.ratings, self.calls, self.alerts, self.push,
                                     self.slot_alerts]
        self.tokens: TokenStore
        self.audit: AuditStore
        self.staff: StaffStore  # staff accounts and their sessions
        self.host: EngineHost
        self.cluster_secret = ""
        if cfg.redis_url is not None:
            self.host = ClusterHost(cfg.network, cfg.redis_url, advertise=cfg.advertise, lease_ms=cfg.lease_ms,
                                    enforce_hours=cfg.enforce_hours, clock=clock, listeners=listeners,
                                    forward_issue=self.issue_elsewhere)
            self.tokens = RedisTokenStore(cfg.redis_url)
            self.audit = RedisAuditStore(cfg.redis_url, clock)
            self.staff = RedisStaffStore(cfg.redis_url, clock)
            secret = self.host.journal.get_meta("cluster_secret")
            if secret is None:
                secret = secrets.token_hex(24)
                self.host.journal.set_meta("cluster_secret", secret)
            self.cluster_secret = secret
        else:
            self.host = EngineHost(cfg.network, cfg.data_dir, enforce_hours=cfg.enforce_hours, clock=clock,
                                   listeners=listeners)
            self.tokens = TokenStore(cfg.data_dir)
            self.audit = AuditStore(cfg.data_dir, clock)  # who did what: svc.audit.record(...)
            self.staff = StaffStore(cfg.data_dir, clock)
        # the key of the entrance codes the kiosks show (#18.3): the same in every process of a region
        self.entrance_key = (hashlib.sha256(b"entrance:" + self.cluster_secret.encode()).digest()
                             if self.cluster_secret else _entrance_key(cfg.data_dir))
        self.kiosk_limit = RateLimiter(cfg.kiosk_per_minute, cfg.kiosk_burst)
        self.public_limit = RateLimiter(cfg.public_per_minute, 5)
        # tickets from phones (#18.3) and entrance check-ins, per client address: 5 at once, then 10 a minute
        self.remote_limit = RateLimiter(cfg.public_per_minute, 5)
        self._remote_due: dict[str, tuple[int, Dispatcher, float | None]] = {}  # office -> (seq, engine, expiry)
        # pairing (routes/devices.py): codes asked per address, and unknown codes polled per address (guessing)
        self.pairing_limit = RateLimiter(cfg.pairing_per_minute, cfg.pairing_burst)
        self.pairing_miss_limit = RateLimiter(60.0, 30)
        self.pairing_ttl_s = float(os.environ.get("CHERGA_PAIRING_TTL_S", PAIRING_TTL_S))
        self.sockets = DeviceSockets()  # open websockets per device, closed when it is revoked
        self.seen_flush_s = float(os.environ.get("CHERGA_SEEN_FLUSH_S", 10.0))
        self._watcher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        if isinstance(self.host, ClusterHost):
            await self.host.start()
        self.push.prune()  # the journal is replayed: tickets that ended meanwhile alert nobody
        self.slot_alerts.start()  # and what is free now is known: only what frees from here alerts
        self._watcher = asyncio.create_task(self._watch_alerts())

    async def _watch_alerts(self) -> None:
        # waiting past a limit happens with no event at all: the alerts are looked at once a second, and the
        # screens' expected waits, which move with no event too, every WAITS_REFRESH_S
        every = self.waits_refresh_s
        last = last_seen = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, every))
            self.alerts.tick()
            await self._expire_remote()
            self.slot_alerts.tick()  # holds that lapse pass on; reminders due go
            if time.monotonic() - last >= every:
                last = time.monotonic()
                self.hub.refresh_tickets()
            await self._close_revoked_elsewhere()
            if time.monotonic() - last_seen >= self.seen_flush_s:
                last_seen = time.monotonic()
                self._flush_seen()

    async def _expire_remote(self) -> None:
        """Remote tickets whose turn came and whose grace ran out unchecked-in end as no-shows (#18.3): time passes
        with no event, so the service sends the command, for the offices this process writes."""
        host = self.host
        owned = host.owned if isinstance(host, ClusterHost) else None
        now = self.now
        cache = self._remote_due
        for oid, d in list(host.engine.offices.items()):
            if owned is not None and oid not in owned:
                continue
            # the next expiry moves only with the office's events: looked up again only after one (O(queues))
            hit = cache.get(oid)
            if hit is None or hit[0] != d.seq or hit[1] is not d:
                hit = cache[oid] = (d.seq, d, d.next_remote_expiry())
            due = hit[2]
            if due is not None and due <= now:
                with contextlib.suppress(Exception):  # the journal is away: the next second
                    await host.execute(c.ExpireRemote(office=oid))

    # ------------------------------------------------------------------ devices

    def _flush_seen(self) -> None:
        """Devices with an open websocket are in contact now; write the last contacts gathered in memory."""
        for key in self.sockets.open_keys():
            self.tokens.seen(key)
        with contextlib.suppress(Exception):  # the token store is away for a moment: next time
            self.tokens.flush_seen()

    def devices(self, office: str) -> list[DeviceInfo]:
        for key in self.sockets.open_keys():
            self.tokens.seen(key)
        return self.tokens.devices(office)

    async def revoke_device(self, ident: str) -> DeviceInfo:
        """Refuse the device's token from the next request on and close its websockets here at once (another
        process of a region closes its own within a second: :meth:`_close_revoked_elsewhere`)."""
        d = self.tokens.revoke(ident)
        await self.sockets.close(d.key)
        return d

    async def _close_revoked_elsewhere(self) -> None:
        if not isinstance(self.tokens, RedisTokenStore) or not self.sockets.open_keys():
            return
        try:
            revoked = self.tokens.revoked_keys()
        except Exception:  # Redis away for a moment: the next second
            return
        for key in set(self.sockets.open_keys()) & revoked:
            await self.sockets.close(key)

    async def stop(self) -> None:
        self._flush_seen()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if isinstance(self.host, ClusterHost):
            await self.host.stop()
        await self.http.aclose()
        self.close()

    def close(self) -> None:
        self.host.close()
        self.tokens.close()
        self.audit.close()
        self.staff.close()
        self.slot_alerts.close()
        self.push.close()

    # ------------------------------------------------------------------ reading

    @property
    def now(self) -> float:
        return self.host.now()

    def current_engine(self) -> CityEngine:
        return self.host.engine

    def office(self, office: str) -> Dispatcher:
        if office not in self.network.offices:
            raise NotFound(f"unknown office {office!r}")
        return self.host.engine.office(office)

    def desk_office(self, desk: str) -> Dispatcher:
        return self.office(self.host.engine.office_of_desk(desk))

    def ticket_view(self, ticket: str) -> dict[str, Any]:
        engine = self.host.engine
        d = engine.office(engine.office_of_ticket(ticket))
        return views.ticket_json(d, d.tickets[ticket], self.now)

    # ------------------------------------------------------------------ a region's other processes

    async def issue_elsewhere(self, office: str, body: dict[str, Any]) -> str:
        """Step 1 of a redirect saga when another process owns the target: ask it (``POST /internal/v1/...``, see
        :mod:`cherga.displays.routes.relay`) to issue the ticket; returns the new ticket's id."""
        host = self.host
        assert isinstance(host, ClusterHost)
        url = await host.owner_url(office)
        if url is None:
            raise Conflict(f"no process serves office {office} right now; try the redirect again shortly")
        r = await self.http.post(f"{url}/internal/v1/offices/{office}/tickets", json=body,
                                 headers={CLUSTER_SECRET: self.cluster_secret})
        if r.status_code != 200:
            try:
                message = r.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = r.text[:200]
            raise Conflict(f"office {office} refused the redirected visitor: {message}")
        return str(r.json()["ticket"])
