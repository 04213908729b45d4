"""Web Push to a visitor's phone (#18.2, API.md 1.1 "The visitor away from the hall"): the alert reaches a locked
phone, or a browser whose page is closed, through the phone's own push service.

- The page subscribes its service worker (``pages/sw.js``) with the service's VAPID public key
  (``GET /api/v1/push/key``) and hands the subscription to ``POST /api/v1/tickets/{id}/push``.
- :class:`PushNotifier` follows the host's durable events (a :class:`cherga.displays.host.Listener`): when a
  subscribed ticket comes within the office's ``notify_ahead`` tickets of the front it sends one ``near`` message;
  each call (a recall, a no-show brought back) sends a ``called`` message with the desk; when the ticket ends its
  subscriptions are dropped, and so is one the push service answers 404 or 410 (RFC 8030: gone). A ticket
  redirected to another office hands its subscriptions to the new ticket.
- Messages are encrypted per RFC 8291 (``aes128gcm``, RFC 8188) and signed with VAPID (RFC 8292) by ``pywebpush``;
  they carry the ticket's and the desk's numbers, the kind and how many are ahead: never a name.
- Nothing here blocks the event loop: each send runs on a small thread pool, and every write of the subscription
  store (SQLite ``push.sqlite3`` in the data directory, beside the journal) on one thread of its own; the loop
  reads the store's copy in memory. Subscriptions and the alerts already sent survive a restart.
- The VAPID key pair is made once, at the first start, and kept in ``vapid-private.pem`` (mode 0600) in the data
  directory: the subscriptions that browsers made with its public key stay valid across restarts.

Where a push may go: only to ``https`` endpoints of the known push services (``CHERGA_PUSH_HOSTS``, a comma-separated
list of host names, ``.suffix`` for a domain, ``*`` for any https host), so an anonymous visitor cannot make the
service post to the office's own network; tests add a local receiver with ``CHERGA_PUSH_ALLOW_HTTP`` (origins such
as ``http://127.0.0.1:8123``).

With ``--redis`` every process follows every office's events; a subscription is kept, and sent for, by the process
that took it (in its own data directory): none is sent twice, and one is silent while its process is down.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cherga.engine import events as e
from cherga.engine import forecast
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.network import CityEngine
from cherga.errors import Conflict, InvalidCommand

log = logging.getLogger("cherga.push")

PUSH_FILE = "push.sqlite3"
VAPID_FILE = "vapid-private.pem"
MAX_PER_TICKET = 3  # phones (or browsers) one ticket may notify
MAX_ENDPOINT_LEN = 1024
TTL_S = 15 * 60  # a push service keeps an undelivered alert this long: after that the turn has come and gone
SEND_TIMEOUT_S = 10.0
MAX_PENDING = 1000  # sends queued at most: past it (push services far too slow) new alerts are dropped and counted
GONE = (404, 410)  # the push service says the subscription no longer exists (RFC 8030 §7.3)
LIVE = frozenset({"waiting", "called", "serving", "remote"})  # a ticket that may still be called
# the push services of today's browsers: Chrome, Edge's and Opera's (FCM), Firefox's, Windows', Apple's
DEFAULT_HOSTS = ("fcm.googleapis.com", "android.googleapis.com", "updates.push.services.mozilla.com",
                 ".notify.windows.com", ".push.apple.com")
CALLS = (e.TicketCalled, e.TicketRecalled, e.TicketRestored)
DEFAULT_CONTACT = "mailto:cnap@localhost"  # the VAPID "sub": whom a push service may write to about abuse


@dataclass(frozen=True, slots=True)
class Subscription:
    """A browser's PushSubscription for one ticket: where to post and the keys to encrypt for."""

    ticket: str
    office: str
    endpoint: str
    p256dh: str  # the browser's P-256 public key, base64url (65 bytes uncompressed)
    auth: str  # the authentication secret, base64url (16 bytes)

    def info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass(frozen=True, slots=True)
class PushConfig:
    hosts: tuple[str, ...] = DEFAULT_HOSTS
    allow_http: frozenset[str] = frozenset()  # origins a test's receiver listens on
    contact: str = DEFAULT_CONTACT

    @classmethod
    def from_env(cls) -> PushConfig:
        env = os.environ
        hosts = tuple(h.strip().lower() for h in env.get("CHERGA_PUSH_HOSTS", "").split(",") if h.strip())
        allow = frozenset(o.strip().rstrip("/").lower() for o in env.get("CHERGA_PUSH_ALLOW_HTTP", "").split(",")
                          if o.strip())
        return cls(hosts=hosts or DEFAULT_HOSTS, allow_http=allow,
                   contact=env.get("CHERGA_PUSH_CONTACT", DEFAULT_CONTACT))

    def check_endpoint(self, endpoint: str) -> None:
        """Raise :class:`InvalidCommand` unless ``endpoint`` is a push service's https address (or an allowed
        test receiver)."""
        if len(endpoint) > MAX_ENDPOINT_LEN:
            raise InvalidCommand(f"subscription.endpoint is longer than {MAX_ENDPOINT_LEN} characters")
        try:
            u = urlsplit(endpoint)
            host = (u.hostname or "").lower()
            origin = f"{u.scheme}://{u.netloc}".lower()
        except ValueError as exc:
            raise InvalidCommand(f"subscription.endpoint is not a URL: {exc}") from None
        if u.scheme == "http" and origin in self.allow_http:
            return
        if u.scheme != "https" or not host or u.username or u.password:
            raise InvalidCommand("subscription.endpoint must be an https:// address of a browser's push service "
                                 "(as PushSubscription.endpoint gives it)")
        if "*" in self.hosts or any(host == h or (h.startswith(".") and host.endswith(h)) for h in self.hosts):
            return
        raise InvalidCommand(f"subscription.endpoint: {host} is not a known push service; this service sends "
                             f"alerts only to {', '.join(self.hosts)} (CHERGA_PUSH_HOSTS)")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCommand(f"subscription.keys.{what} is not base64url text") from None


def check_keys(p256dh: str, auth: str) -> None:
    """The subscription's keys as RFC 8291 needs them: a P-256 point and a 16-byte secret."""
    if len(p256dh) > 200 or len(auth) > 100:
        raise InvalidCommand("subscription.keys are far too long for a P-256 key and a 16-byte secret")
    point = _unb64(p256dh, "p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidCommand("subscription.keys.p256dh is not a P-256 public key (65 bytes, uncompressed)") from None
    if len(point) != 65:
        raise InvalidCommand("subscription.keys.p256dh must be an uncompressed P-256 point (65 bytes)")
    if len(_unb64(auth, "auth")) != 16:
        raise InvalidCommand("subscription.keys.auth must be 16 bytes (base64url)")


def load_vapid_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The service's VAPID private key: read from the data directory, or made there once (mode 0600)."""
    path = data_dir / VAPID_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise RuntimeError(f"{path} is not a P-256 private key; move it away and a new one is made")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The applicationServerKey a page subscribes with: the uncompressed public point, base64url."""
    return _b64(key.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint))


# ------------------------------------------------------------------------------------------ the store


class PushStore:
    """Subscriptions per ticket and the ``near`` alerts already sent, in SQLite; a copy in memory for the loop.

    Every write goes to one thread of its own (the loop never waits on a disk)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS subscription (ticket TEXT NOT NULL, office TEXT NOT NULL, "
                         "endpoint TEXT NOT NULL, p256dh TEXT NOT NULL, auth TEXT NOT NULL, created_at REAL NOT NULL, "
                         "PRIMARY KEY (ticket, endpoint))")
        self._db.execute("CREATE TABLE IF NOT EXISTS near_sent (ticket TEXT PRIMARY KEY)")
        self.subs: dict[str, dict[str, Subscription]] = {}
        self.by_office: dict[str, set[str]] = {}
        for row in self._db.execute("SELECT ticket, office, endpoint, p256dh, auth FROM subscription "
                                    "ORDER BY created_at"):
            self._remember(Subscription(*row))
        self.near: set[str] = {r[0] for r in self._db.execute("SELECT ticket FROM near_sent")}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cherga-push-store")

    def _remember(self, sub: Subscription) -> None:
        self.subs.setdefault(sub.ticket, {})[sub.endpoint] = sub
        self.by_office.setdefault(sub.office, set()).add(sub.ticket)

    def _write(self, sql: str, args: tuple[Any, ...]) -> Future[None]:
        def run() -> None:
            try:
                self._db.execute(sql, args)
            except sqlite3.Error:
                log.exception("push store: %s failed", sql.split(" ", 1)[0])
        return self._writer.submit(run)

    def add(self, sub: Subscription, now: float) -> Future[None]:
        self._remember(sub)
        return self._write("INSERT OR REPLACE INTO subscription VALUES (?, ?, ?, ?, ?, ?)",
                           (sub.ticket, sub.office, sub.endpoint, sub.p256dh, sub.auth, now))

    def remove(self, ticket: str, endpoint: str) -> bool:
        subs = self.subs.get(ticket)
        if subs is None or subs.pop(endpoint, None) is None:
            return False
        if not subs:
            self.drop_ticket(ticket)
        else:
            self._write("DELETE FROM subscription WHERE ticket = ? AND endpoint = ?", (ticket, endpoint))
        return True

    def drop_ticket(self, ticket: str) -> None:
        subs = self.subs.pop(ticket, {})
        for sub in subs.values():
            tickets = self.by_office.get(sub.office)
            if tickets is not None:
                tickets.discard(ticket)
        self.near.discard(ticket)
        self._write("DELETE FROM subscription WHERE ticket = ?", (ticket,))
        self._write("DELETE FROM near_sent WHERE ticket = ?", (ticket,))

    def set_near(self, ticket: str, sent: bool) -> None:
        if sent and ticket not in self.near:
            self.near.add(ticket)
            self._write("INSERT OR IGNORE INTO near_sent VALUES (?)", (ticket,))
        elif not sent and ticket in self.near:
            self.near.discard(ticket)
            self._write("DELETE FROM near_sent WHERE ticket = ?", (ticket,))

    def written(self) -> Future[None]:
        """Resolves once every write queued so far is on disk (one writer thread: they run in order)."""
        return self._writer.submit(lambda: None)

    def flush(self) -> None:
        """Wait for the writes queued so far (tests, shutdown)."""
        self.written().result()

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._db.close()


# ------------------------------------------------------------------------------------------ the messages


def message(kind: str, number: str, url: str, *, desk: str | None = None, ahead: int | None = None) -> dict[str, Any]:
    """What a push carries: the kind, the ticket's and the desk's numbers, how many are ahead, and the texts a
    service worker shows, Ukrainian first. Never a name."""
    if kind == "called":
        title = f"Талон {number}: вікно {desk} / Ticket {number}: desk {desk}"
        body = f"Вас викликано — пройдіть до вікна {desk}. / You are called — please go to desk {desk}."
    else:
        title = f"Талон {number}: скоро ваша черга / Ticket {number}: your turn is near"
        body = ("Ви наступні — підходьте до залу. / You are next — please come to the hall." if not ahead else
                f"Перед вами {ahead} — підходьте до залу. / {ahead} ahead of you — please come to the hall.")
    return {"kind": kind, "ticket": number, "desk": desk, "ahead": ahead, "url": url, "title": title,
            "body": body, "tag": f"cherga-{number}-{kind}"}


# ------------------------------------------------------------------------------------------ the listener


Sender = Callable[[Subscription, dict[str, Any]], int | None]


@dataclass
class PushStats:
    sent: int = 0
    failed: int = 0
    gone: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _on_the_way(d: Dispatcher, t: Any, now: float) -> bool:
    """A remote visitor (#18.3) must set out once the wait is no longer than the way here (``remote_travel_min``)
    or the turn has come: told then, however many are ahead. O(r log n + c log c) (the forecast), for remote
    tickets only."""
    if t.passed_at is not None:
        return True
    eta, _ = forecast.ticket_eta(d, t, now)
    return eta is not None and eta <= d.office.remote_travel_min


class PushNotifier:
    """Follows the host's durable events and sends each subscribed ticket's alerts (see the module)."""

    def __init__(self, data_dir: Path, engine: Callable[[], CityEngine], cfg: PushConfig | None = None,
                 clock: Callable[[], float] = time.time, send: Sender | None = None) -> None:
        """``engine``: the host's engine of the moment (rebuilt after a journal outage); ``send``: posts one
        message and returns the push service's status (default: :func:`pywebpush.webpush`)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.cfg = cfg or PushConfig.from_env()
        self._engine = engine
        self._clock = clock
        self.key = load_vapid_key(data_dir)
        self.public_key = public_key_b64(self.key)
        self.store = PushStore(data_dir / PUSH_FILE)
        self._send = send or self._webpush
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cherga-push")
        self._vapid: Any = None
        self._pending: set[Future[tuple[str, int | None]]] = set()
        self.stats = PushStats()

    # ------------------------------------------------------------------ subscribing

    def subscribe(self, ticket: str, view: dict[str, Any], endpoint: str, p256dh: str, auth: str) -> int:
        """Keep ``ticket``'s subscription (the same endpoint again replaces its keys); returns how many it has."""
        if view["status"] not in LIVE:
            raise Conflict(f"ticket {view['number']} has ended ({view['status']}): there is nothing left to alert")
        self.cfg.check_endpoint(endpoint)
        check_keys(p256dh, auth)
        subs = self.store.subs.get(ticket, {})
        if endpoint not in subs and len(subs) >= MAX_PER_TICKET:
            raise Conflict(f"ticket {view['number']} already alerts {MAX_PER_TICKET} browsers; "
                           "stop one of them (DELETE …/push) before adding another")
        first = ticket not in self.store.subs
        self.store.add(Subscription(ticket, view["office"], endpoint, p256dh, auth), self._clock())
        if first:  # a ticket already within reach is not told so again: "near" is the moment it comes within
            self.store.set_near(ticket, self._near(view))
        return len(self.store.subs[ticket])

    def unsubscribe(self, ticket: str, endpoint: str) -> bool:
        return self.store.remove(ticket, endpoint)

    def subscriptions(self, ticket: str) -> list[Subscription]:
        return list(self.store.subs.get(ticket, {}).values())

    def _near(self, view: dict[str, Any]) -> bool:
        if view["status"] not in ("waiting", "remote") or not view.get("position"):
            return False
        office = self._engine().network.offices.get(view["office"])
        return office is not None and int(view["position"]) - 1 <= office.notify_ahead

    # ------------------------------------------------------------------ following events

    def reset(self) -> None:
        """The host rebuilt its engine (after a journal outage): the subscriptions and alerts sent stand."""

    def on_events(self, events: list[e.BaseEvent], replay: bool) -> None:
        store = self.store
        if not store.subs or replay:  # replayed events were alerted before; prune() tidies up after the replay
            return
        offices: set[str] = set()
        for ev in events:
            offices.add(ev.office)
            if isinstance(ev, CALLS) and ev.ticket in store.subs:
                self._post(ev.ticket, message("called", ev.number, f"/t/{ev.ticket}", desk=ev.desk_number))
            elif isinstance(ev, e.TicketRedirected) and ev.ticket in store.subs:
                self._carry(ev.ticket, ev.new_ticket, ev.to_office)
                offices.add(ev.to_office)
        engine = self._engine()
        for office in offices:
            d = engine.offices.get(office)
            for ticket in list(store.by_office.get(office, ())):
                self._follow(ticket, d)

    def _carry(self, old: str, new: str, office: str) -> None:
        """A redirected visitor keeps their alerts: the old ticket's browsers follow the new ticket, in its office
        (the old ticket's subscriptions go as it ends)."""
        now = self._clock()
        first = new not in self.store.subs
        for sub in self.subscriptions(old):
            if len(self.store.subs.get(new, {})) < MAX_PER_TICKET:
                self.store.add(Subscription(new, office, sub.endpoint, sub.p256dh, sub.auth), now)
        d = self._engine().offices.get(office)
        t = d.tickets.get(new) if d is not None else None
        if first and d is not None and t is not None:  # as at subscribing: "near" is the moment it comes within
            pos = forecast.position(d, t)
            self.store.set_near(new, bool(pos) and pos - 1 <= d.office.notify_ahead)

    def _follow(self, ticket: str, d: Dispatcher | None) -> None:
        """After its office's events: a ticket that ended loses its subscriptions; one that came within reach
        gets its ``near`` alert, once per wait (a call starts the next). O(1) per subscribed ticket (its position
        from the forecast's per-event index, not its expected wait)."""
        t = d.tickets.get(ticket) if d is not None else None
        status = t.status.value if t is not None else "unknown"
        if t is None or d is None or status not in LIVE:
            self.store.drop_ticket(ticket)
            return
        if status not in ("waiting", "remote"):
            self.store.set_near(ticket, False)
            return
        if ticket in self.store.near:
            return
        pos = forecast.position(d, t)  # counts only those waiting in the hall, for a remote ticket too
        if pos and (pos - 1 <= d.office.notify_ahead or (status == "remote" and _on_the_way(d, t, self._clock()))):
            self.store.set_near(ticket, True)
            self._post(ticket, message("near", t.number, f"/t/{ticket}", ahead=pos - 1))

    # ------------------------------------------------------------------ sending

    def _post(self, ticket: str, msg: dict[str, Any]) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for sub in self.subscriptions(ticket):
            if len(self._pending) >= MAX_PENDING:
                self.stats.failed += 1
                log.warning("push: %d sends queued already; a %s alert is dropped", MAX_PENDING, msg["kind"])
                continue
            fut = self._pool.submit(self._send_one, sub, msg)
            self._pending.add(fut)
            fut.add_done_callback(self._pending.discard)
            # the outcome is handled on the loop, which alone touches the store's memory
            fut.add_done_callback(functools.partial(self._on_loop, loop, sub))

    def post(self, sub: Subscription, msg: dict[str, Any]) -> Future[tuple[str, int | None]] | None:
        """Send ``msg`` to one browser off the loop, for alerts that follow no ticket (a freed booking slot, a
        booking's reminder: :mod:`cherga.displays.slot_alerts`); the future gives the push service's status.
        None when too many sends are queued already (the alert is dropped and counted)."""
        if len(self._pending) >= MAX_PENDING:
            self.stats.failed += 1
            log.warning("push: %d sends queued already; a %s alert is dropped", MAX_PENDING, msg["kind"])
            return None
        fut = self._pool.submit(self._send_one, sub, msg)
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        return fut

    def _on_loop(self, loop: asyncio.AbstractEventLoop | None, sub: Subscription,
                 fut: Future[tuple[str, int | None]]) -> None:
        if loop is None:
            self._sent(sub, fut)
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: the service is stopping
            loop.call_soon_threadsafe(self._sent, sub, fut)

    def _send_one(self, sub: Subscription, msg: dict[str, Any]) -> tuple[str, int | None]:
        try:
            return msg["kind"], self._send(sub, msg)
        except Exception:
            log.warning("push to %s failed", urlsplit(sub.endpoint).netloc, exc_info=True)
            return msg["kind"], None

    def _sent(self, sub: Subscription, fut: Future[tuple[str, int | None]]) -> None:
        kind, status = fut.result()
        if status is not None and 200 <= status < 300:
            self.stats.sent += 1
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        elif status in GONE:
            self.stats.gone += 1
            self.store.remove(sub.ticket, sub.endpoint)
        else:
            self.stats.failed += 1

    def _webpush(self, sub: Subscription, msg: dict[str, Any]) -> int | None:
        """One message through pywebpush: RFC 8291 aes128gcm encryption and a VAPID (RFC 8292) signature."""
        from py_vapid import Vapid
        from pywebpush import WebPushException, webpush

        if self._vapid is None:
            self._vapid = Vapid(self.key)
        headers = {"Urgency": "high" if msg["kind"] == "called" else "normal"}
        try:
            res = webpush(sub.info(), json.dumps(msg, ensure_ascii=False), vapid_private_key=self._vapid,
                          vapid_claims={"sub": self.cfg.contact}, ttl=TTL_S, timeout=SEND_TIMEOUT_S,
                          headers=headers)
        except WebPushException as exc:
            response = getattr(exc, "response", None)
            if response is None:
                raise
            return int(response.status_code)
        return int(res.status_code) if not isinstance(res, str) else None

    def prune(self) -> int:
        """At start-up, once the journal is replayed: drop the subscriptions of tickets that ended (or are no longer
        known) while no event could say so. Returns how many tickets lost theirs."""
        gone = 0
        engine = self._engine()
        for ticket in list(self.store.subs):
            office = engine.ticket_office.get(ticket)
            t = engine.offices[office].tickets.get(ticket) if office in engine.offices else None
            if t is None or t.status.value not in LIVE:
                self.store.drop_ticket(ticket)
                gone += 1
        return gone

    def pending(self) -> int:
        return len(self._pending)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait for the sends and writes queued so far (tests and shutdown)."""
        for fut in list(self._pending):
            fut.result(timeout)
        self.store.flush()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
        self.store.close()
