""""Tell me when a slot frees" and the reminder the day before a booking (#18.4), by Web Push.

- A visitor who finds no free slot subscribes (``POST /api/v1/offices/{office}/slot-alerts``) to a service and a
  range of days with the booking page's push subscription (``pages/sw.js``, scope ``/book/``). The subscriptions of
  one service form a list in the order they were made.
- :class:`SlotAlerts` follows the host's durable events. After a booking is cancelled, or the head's configuration
  changes what is bookable (hours, closed days, desks, services, the policy's share for appointments), the free
  slots of each watched service over the watched days are computed again; a start that was not free before and is
  now has *freed*. It is held for the first subscriber whose range covers its day (and who holds no other slot) for
  the office's ``slot_hold_min`` (10 minutes by default), and that browser is pushed "a slot is free: <date time>,
  held for you until HH:MM" with a link ``/book/{office}?hold=TOKEN``. While held, the public listing leaves the
  slot out and booking it without the token answers 409 (unless the slot has room beyond the held place). When the
  hold lapses, the next subscriber is alerted and the hold passes on; after the list the slot is public again.
  A subscriber who books with the token is dropped from the list. A no-show frees nothing: its slot has passed.
- The reminder: ``POST /api/v1/offices/{office}/appointments/{code}/reminder`` with a push subscription; at the
  office's ``reminder_hour`` (18:00 by default, office time) the day before the booking the browser is pushed the
  booking's time and code, once. It is marked sent on disk *before* it is posted, so a restart never sends it twice
  (a crash between the two loses it instead: at most once). A cancelled or checked-in booking's reminder is dropped.

Where it lives, and why: in SQLite beside the journal (``slot_alerts.sqlite3``, like ``push.sqlite3``), not in
the engine's journal. What a hold protects is a few minutes of a public booking page; the subscriptions carry a
browser's push keys, which do not belong in the event journal that reports and replays read, and the engine's
command table (commands, events, the dispatcher's booking rules) stays as it is. Holds, subscriptions and reminders
survive a restart. With ``--redis`` they are per process, as push subscriptions are: the process that took a
subscription holds its slots and sends its alerts; another process of the region neither knows the hold nor
refuses a booking of the held slot (a hold there is a courtesy, not a lock).

The loop never waits on a disk: writes go to one thread of their own; sends go through
:meth:`cherga.displays.push.PushNotifier.post`. Time is the service's clock (``--time-offset`` moves it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cherga.displays.push import GONE, PushNotifier, Subscription, check_keys
from cherga.engine import bookings
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import HOLDS_SLOT, BookingStatus
from cherga.engine.network import CityEngine
from cherga.errors import Conflict, InvalidCommand, NotFound

log = logging.getLogger("cherga.slot_alerts")

FILE = "slot_alerts.sqlite3"
MAX_RANGE_DAYS = 31  # one subscription watches a month at most
MAX_PER_BROWSER = 5  # subscriptions one browser (push endpoint) may hold at once
# events after which a slot may have freed: a cancellation, or the head's configuration of what is bookable
RELEASES = (e.AppointmentCancelled, e.ServiceConfigured, e.ServiceRetired, e.DeskConfigured, e.HoursSet,
            e.ClosedDaysSet, e.PolicyChanged, e.SkillGroupSet)
TAKES = (e.AppointmentBooked, e.AppointmentCheckedIn)  # a slot taken: the known free slots are brought up to date
ENDS = (e.AppointmentCancelled, e.AppointmentCheckedIn)  # nothing left to remind of

Slot = tuple[str, str, float]  # office, service, start (epoch seconds)


@dataclass(frozen=True, slots=True)
class Watch:
    """One browser waiting for a slot of ``service`` at ``office`` on a local day from ``first`` to ``last``."""

    id: str  # unguessable: the secret for reading and deleting it
    office: str
    service: str
    first: str  # YYYY-MM-DD, local
    last: str
    endpoint: str
    p256dh: str
    auth: str
    created_at: float

    def covers(self, day: str) -> bool:
        return self.first <= day <= self.last

    def subscription(self) -> Subscription:
        return Subscription(self.id, self.office, self.endpoint, self.p256dh, self.auth)


@dataclass(frozen=True, slots=True)
class Hold:
    """A freed slot kept for one subscriber until ``until``: booked with ``token``, or passed on."""

    office: str
    service: str
    start: float
    watch: str
    token: str
    until: float

    @property
    def slot(self) -> Slot:
        return (self.office, self.service, self.start)


@dataclass(frozen=True, slots=True)
class Reminder:
    office: str
    code: str
    endpoint: str
    p256dh: str
    auth: str
    start: float
    remind_at: float
    sent: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.office, self.code, self.endpoint)


# ------------------------------------------------------------------------------------------ the store


class SlotAlertStore:
    """Subscriptions, holds, who was already offered which slot, reminders: SQLite, with a copy in memory for the
    loop. Every write goes to one thread of its own, in order."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS watch (id TEXT PRIMARY KEY, office TEXT NOT NULL, service TEXT NOT NULL,
                first TEXT NOT NULL, last TEXT NOT NULL, endpoint TEXT NOT NULL, p256dh TEXT NOT NULL,
                auth TEXT NOT NULL, created_at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS hold (office TEXT NOT NULL, service TEXT NOT NULL, start REAL NOT NULL,
                watch TEXT NOT NULL, token TEXT NOT NULL UNIQUE, until REAL NOT NULL,
                PRIMARY KEY (office, service, start));
            CREATE TABLE IF NOT EXISTS offered (watch TEXT NOT NULL, office TEXT NOT NULL, service TEXT NOT NULL,
                start REAL NOT NULL, PRIMARY KEY (watch, office, service, start));
            CREATE TABLE IF NOT EXISTS reminder (office TEXT NOT NULL, code TEXT NOT NULL, endpoint TEXT NOT NULL,
                p256dh TEXT NOT NULL, auth TEXT NOT NULL, start REAL NOT NULL, remind_at REAL NOT NULL,
                sent INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (office, code, endpoint));
        """)
        self.watches: dict[str, Watch] = {}  # in the order they were made: the list's order
        for row in self._db.execute("SELECT id, office, service, first, last, endpoint, p256dh, auth, created_at "
                                    "FROM watch ORDER BY created_at, rowid"):
            self.watches[row[0]] = Watch(*row)
        self.holds: dict[Slot, Hold] = {}
        self.by_token: dict[str, Hold] = {}
        self.by_watch: dict[str, Hold] = {}
        for row in self._db.execute("SELECT office, service, start, watch, token, until FROM hold"):
            self._remember(Hold(*row))
        self.offered: set[tuple[str, Slot]] = {
            (w, (o, s, st)) for w, o, s, st in self._db.execute("SELECT watch, office, service, start FROM offered")}
        self.reminders: dict[tuple[str, str, str], Reminder] = {}
        for o, code, end, p256dh, auth, start, at, sent in self._db.execute(
                "SELECT office, code, endpoint, p256dh, auth, start, remind_at, sent FROM reminder"):
            r = Reminder(o, code, end, p256dh, auth, start, at, bool(sent))
            self.reminders[r.key] = r
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cherga-slot-alerts")

    def _remember(self, h: Hold) -> None:
        self.holds[h.slot] = h
        self.by_token[h.token] = h
        self.by_watch[h.watch] = h

    def _write(self, sql: str, args: tuple[Any, ...]) -> Future[None]:
        def run() -> None:
            try:
                self._db.execute(sql, args)
            except sqlite3.Error:
                log.exception("slot alerts store: %s failed", sql.split(" ", 1)[0])
        return self._writer.submit(run)

    def add_watch(self, w: Watch) -> None:
        self.watches[w.id] = w
        self._write("INSERT INTO watch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (w.id, w.office, w.service, w.first, w.last, w.endpoint, w.p256dh, w.auth, w.created_at))

    def drop_watch(self, ident: str) -> None:
        self.watches.pop(ident, None)
        self.offered = {o for o in self.offered if o[0] != ident}
        self._write("DELETE FROM watch WHERE id = ?", (ident,))
        self._write("DELETE FROM offered WHERE watch = ?", (ident,))

    def put_hold(self, h: Hold) -> None:
        self._remember(h)
        self._write("INSERT OR REPLACE INTO hold VALUES (?, ?, ?, ?, ?, ?)",
                    (h.office, h.service, h.start, h.watch, h.token, h.until))

    def drop_hold(self, h: Hold) -> None:
        if self.holds.get(h.slot) is h:
            del self.holds[h.slot]
        self.by_token.pop(h.token, None)
        if self.by_watch.get(h.watch) is h:
            del self.by_watch[h.watch]
        self._write("DELETE FROM hold WHERE token = ?", (h.token,))

    def mark_offered(self, watch: str, slot: Slot) -> None:
        self.offered.add((watch, slot))
        self._write("INSERT OR IGNORE INTO offered VALUES (?, ?, ?, ?)", (watch, *slot))

    def put_reminder(self, r: Reminder) -> None:
        self.reminders[r.key] = r
        self._write("INSERT OR REPLACE INTO reminder VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (r.office, r.code, r.endpoint, r.p256dh, r.auth, r.start, r.remind_at, int(r.sent)))

    def drop_reminder(self, r: Reminder) -> None:
        self.reminders.pop(r.key, None)
        self._write("DELETE FROM reminder WHERE office = ? AND code = ? AND endpoint = ?", r.key)

    def mark_sent(self, r: Reminder) -> Future[None]:
        """Marked sent on disk: the future resolves once it is (the send waits for it, so it is never twice)."""
        self.reminders[r.key] = replace(r, sent=True)
        return self._write("UPDATE reminder SET sent = 1 WHERE office = ? AND code = ? AND endpoint = ?", r.key)

    def written(self) -> Future[None]:
        """Resolves once every write queued so far is on disk."""
        return self._writer.submit(lambda: None)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._db.close()


# ------------------------------------------------------------------------------------------ the messages


def _local(ts: float, tz: str) -> datetime:
    return datetime.fromtimestamp(ts, ZoneInfo(tz))


def slot_message(office: str, tz: str, service_uk: str, service_en: str, start: float, until: float,
                 url: str) -> dict[str, Any]:
    """A freed slot held for this browser: when it is and until when it is held, Ukrainian first. Never a name."""
    s, u = _local(start, tz), _local(until, tz)
    when, held = s.strftime("%d.%m %H:%M"), u.strftime("%H:%M")
    return {"kind": "slot", "office": office, "start": s.isoformat(timespec="seconds"),
            "until": u.isoformat(timespec="seconds"), "url": url,
            "title": f"Звільнився час: {when} / A slot is free: {when}",
            "body": f"{service_uk}: тримаємо для вас до {held}. / {service_en}: held for you until {held}.",
            "tag": f"cherga-slot-{office}"}


def reminder_message(office: str, tz: str, office_uk: str, office_en: str, service_uk: str, service_en: str,
                     start: float, code: str, url: str) -> dict[str, Any]:
    at = _local(start, tz).strftime("%H:%M")
    return {"kind": "reminder", "office": office, "start": _local(start, tz).isoformat(timespec="seconds"),
            "code": code, "url": url,
            "title": f"Нагадування: завтра о {at} / Reminder: tomorrow at {at}",
            "body": f"{service_uk}, {office_uk}. Код запису {code}. / {service_en}, {office_en}. Booking code {code}.",
            "tag": f"cherga-reminder-{code}"}


# ------------------------------------------------------------------------------------------ the listener


@dataclass
class SlotAlertStats:
    offered: int = 0  # holds made (a subscriber alerted)
    lapsed: int = 0  # holds that ran out
    sent: int = 0
    failed: int = 0
    reminders: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class SlotAlerts:
    """Follows the durable events; holds freed slots for the subscribers in turn; sends reminders (see module)."""

    def __init__(self, data_dir: Path, engine: Callable[[], CityEngine], push: PushNotifier,
                 clock: Callable[[], float] = time.time) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = SlotAlertStore(data_dir / FILE)
        self._engine = engine
        self._push = push
        self._clock = clock
        self._free: dict[tuple[str, str], set[float]] = {}  # watched (office, service) -> its free starts
        self._last_prune = 0.0
        self.stats = SlotAlertStats()

    # ------------------------------------------------------------------ subscribing

    def new_watch(self, office: str, service: str, first: str, last: str, endpoint: str, p256dh: str,
                  auth: str) -> Watch:
        """A subscription as asked, checked (400, 404, 409 with what is wrong); not kept yet: :meth:`watch`."""
        d = self._office(office)
        if (service, False) not in d.queues or d.network.services[service].retired:
            raise NotFound(f"service {service!r} is not offered at {d.office.name_en}")
        today = self._today(d)
        a, b = _day(first, "from"), _day(last, "to")
        if b < a:
            raise InvalidCommand(f"'to' ({last}) is before 'from' ({first})")
        if b < today:
            raise InvalidCommand(f"those days have passed (today is {today.isoformat()} at {d.office.name_en})")
        a = max(a, today)  # days already gone cannot free
        if (b - a).days + 1 > MAX_RANGE_DAYS:
            raise InvalidCommand(f"watch {MAX_RANGE_DAYS} days at most; narrow 'from'..'to'")
        ahead = today + timedelta(days=d.policy.booking_days_ahead)
        if a > ahead:
            raise InvalidCommand(f"bookings open {d.policy.booking_days_ahead} days ahead; choose an earlier range")
        self._push.cfg.check_endpoint(endpoint)
        check_keys(p256dh, auth)
        if sum(1 for w in self.store.watches.values() if w.endpoint == endpoint) >= MAX_PER_BROWSER:
            raise Conflict(f"this browser already waits for {MAX_PER_BROWSER} slots; stop one "
                           "(DELETE /api/v1/slot-alerts/{id}) before asking for another")
        return Watch(secrets.token_urlsafe(16), office, service, a.isoformat(), min(b, ahead).isoformat(), endpoint,
                     p256dh, auth, self._clock())

    def watch(self, w: Watch) -> Watch:
        """Keep ``w`` (from :meth:`new_watch`): it is last in its service's list."""
        office, service = w.office, w.service
        self.store.add_watch(w)
        # what is free now is known as free: only what frees from here alerts (over the days now watched)
        self._free.pop((office, service), None)
        self._refresh(office, service)
        return w

    def unwatch(self, ident: str) -> bool:
        w = self.store.watches.get(ident)
        if w is None:
            return False
        self.store.drop_watch(ident)
        held = self.store.by_watch.get(ident)
        if held is not None:  # the slot goes to the next in the list at once
            self.store.drop_hold(held)
            self._offer(held.office, held.service, held.start)
        return True

    def view(self, ident: str) -> dict[str, Any]:
        w = self.store.watches.get(ident)
        if w is None:
            raise NotFound("no such slot alert (stopped, booked, or its days have passed)")
        place = 1 + sum(1 for o in self.store.watches.values()
                        if o.office == w.office and o.service == w.service and o.created_at < w.created_at)
        held = self.store.by_watch.get(ident)
        d = self._office(w.office)
        return {"id": w.id, "office": w.office, "service": w.service, "from": w.first, "to": w.last,
                "place": place, "hold_min": d.office.slot_hold_min,
                "hold": self.hold_json(held) if held is not None and held.until > self._clock() else None}

    # ------------------------------------------------------------------ holds

    def hold_json(self, h: Hold) -> dict[str, Any]:
        d = self._office(h.office)
        tz = d.office.timezone
        end = h.start + bookings.slot_minutes(d, h.service) * 60.0
        return {"token": h.token, "office": h.office, "service": h.service, "start": _iso(h.start, tz),
                "end": _iso(end, tz), "until": _iso(h.until, tz),
                "seconds_left": max(0, round(h.until - self._clock())), "url": _url(h)}

    def hold(self, token: str) -> Hold:
        h = self.store.by_token.get(token)
        if h is None or h.until <= self._clock():
            raise NotFound("this hold has lapsed or was never made; the slot may still be free: choose a time")
        return h

    def visible(self, office: str, service: str, free: list[tuple[float, float]],
                token: str | None = None) -> list[tuple[float, float]]:
        """The public listing: ``free`` without the slots held for a subscriber (but with the one ``token``
        holds), unless such a slot has room beyond the held place."""
        if not self.store.holds:
            return free
        now = self._clock()
        d = self._office(office)
        out = []
        for start, end in free:
            h = self.store.holds.get((office, service, start))
            if h is None or h.until <= now or h.token == token or _room(d, service, start) > 1:
                out.append((start, end))
        return out

    def check_booking(self, office: str, service: str, start: float, token: str | None) -> str | None:
        """Refuses (409, naming the hold) a booking of a slot held for someone else with no room beside it.
        Returns the subscription whose hold ``token`` is for this slot (it books its own), or None."""
        h = self.store.holds.get((office, service, start))
        if h is None or h.until <= self._clock():
            return None
        if h.token == token:
            return h.watch
        d = self._office(office)
        if _room(d, service, start) > 1:
            return None
        until = _local(h.until, d.office.timezone).strftime("%H:%M")
        raise Conflict(f"that slot freed and is held until {until} for a visitor who asked to be told "
                       f"(a slot alert's hold); choose another time, or look again after {until}")

    def booked(self, watch: str | None) -> None:
        """The holder (``watch``, from :meth:`check_booking`) booked their slot: the hold is spent (if the booking's
        event has not dropped it already) and the subscriber leaves the list."""
        if watch is None:
            return
        h = self.store.by_watch.get(watch)
        if h is not None:
            self.store.drop_hold(h)
        self.store.drop_watch(watch)

    # ------------------------------------------------------------------ reminders

    def remind(self, office: str, code: str, endpoint: str, p256dh: str, auth: str) -> Reminder:
        d = self._office(office)
        b = bookings.find(d, code)
        if b.status != BookingStatus.BOOKED:
            raise Conflict(f"booking {b.code} is {b.status}: there is nothing to remind of")
        self._push.cfg.check_endpoint(endpoint)
        check_keys(p256dh, auth)
        tz = ZoneInfo(d.office.timezone)
        eve = _local(b.start, d.office.timezone).date() - timedelta(days=1)
        at = datetime.combine(eve, dtime(d.office.reminder_hour, 0), tzinfo=tz).timestamp()
        if at <= self._clock():
            raise Conflict(f"the reminder goes at {d.office.reminder_hour:02d}:00 the day before, which has passed "
                           f"for booking {b.code}; it is soon: keep its code")
        r = Reminder(office, b.code, endpoint, p256dh, auth, b.start, at)
        self.store.put_reminder(r)
        return r

    def unremind(self, office: str, code: str, endpoint: str) -> bool:
        r = self.store.reminders.get((office, code.strip().upper(), endpoint))
        if r is None or r.sent:
            return False
        self.store.drop_reminder(r)
        return True

    # ------------------------------------------------------------------ following events

    def start(self) -> None:
        """Once the journal is replayed: know what is free now; forget reminders of bookings that ended."""
        self._free.clear()
        for key in self._watched():
            self._refresh(*key)
        engine = self._engine()
        for r in list(self.store.reminders.values()):
            d = engine.offices.get(r.office)
            b = d.bookings.get(r.code) if d is not None else None
            if b is None or b.status != BookingStatus.BOOKED:
                self.store.drop_reminder(r)

    def reset(self) -> None:
        """The host rebuilds its engine: what is free is learnt again (at the next tick), nothing alerted."""
        self._free.clear()

    def on_events(self, events: list[e.BaseEvent], replay: bool) -> None:
        if replay or not (self.store.watches or self.store.reminders):
            return
        touched: set[str] = set()
        for ev in events:
            if isinstance(ev, ENDS):
                for r in [r for r in self.store.reminders.values() if r.office == ev.office and r.code == ev.code]:
                    self.store.drop_reminder(r)
            if isinstance(ev, RELEASES + TAKES):
                touched.add(ev.office)
        for office in touched:
            for key in self._watched(office):
                for start in self._refresh(*key):
                    self._offer(office, key[1], start)
            for h in [h for h in self.store.holds.values() if h.office == office]:
                if h.start not in self._free.get((office, h.service), ()):  # no longer bookable: nothing to hold
                    self.store.drop_hold(h)

    def tick(self) -> None:
        """Once a second: lapsed holds pass on; reminders due go out; watches of days gone are dropped."""
        try:
            self._tick()
        except Exception:  # the loop that calls this watches the air-raid alerts too: it must go on
            log.exception("slot alerts: the tick failed")

    def _tick(self) -> None:
        now = self._clock()
        for key in self._watched():
            if key not in self._free:  # after an engine rebuild
                self._refresh(*key)
        for h in [h for h in self.store.holds.values() if h.until <= now]:
            self.stats.lapsed += 1
            self.store.mark_offered(h.watch, h.slot)
            self.store.drop_hold(h)
            self._offer(h.office, h.service, h.start)
        for r in [r for r in self.store.reminders.values() if not r.sent and r.remind_at <= now]:
            if r.start <= now:
                self.store.drop_reminder(r)
            else:
                self._send_reminder(r)
        if now - self._last_prune >= 60.0:
            self._last_prune = now
            self._prune()

    def _prune(self) -> None:
        engine = self._engine()
        for w in list(self.store.watches.values()):
            d = engine.offices.get(w.office)
            if d is None or w.last < self._today(d).isoformat():
                self.unwatch(w.id)
        for r in [r for r in self.store.reminders.values() if r.sent and r.start <= self._clock()]:
            self.store.drop_reminder(r)

    # ------------------------------------------------------------------ inside

    def _office(self, office: str) -> Dispatcher:
        d = self._engine().offices.get(office)
        if d is None:
            raise NotFound(f"unknown office {office!r}")
        return d

    def _today(self, d: Dispatcher) -> date:
        return _local(self._clock(), d.office.timezone).date()

    def _watched(self, office: str | None = None) -> list[tuple[str, str]]:
        return sorted({(w.office, w.service) for w in self.store.watches.values()
                       if office is None or w.office == office})

    def _refresh(self, office: str, service: str) -> list[float]:
        """The free starts of ``service`` over the watched days, kept; returns those that were not free before."""
        key = (office, service)
        d = self._engine().offices.get(office)
        free: set[float] = set()
        if d is not None and (service, False) in d.queues:
            now = self._clock()
            days: set[str] = set()
            today = self._today(d)
            for w in self.store.watches.values():
                if w.office == office and w.service == service:
                    day = max(date.fromisoformat(w.first), today)
                    while day.isoformat() <= w.last:
                        days.add(day.isoformat())
                        day += timedelta(days=1)
            for day_iso in days:
                free.update(s for s, _ in bookings.slots(d, service, date.fromisoformat(day_iso), now))
        before = self._free.get(key)
        self._free[key] = free
        return [] if before is None else sorted(free - before)

    def _offer(self, office: str, service: str, start: float) -> Hold | None:
        """Hold the slot for the first subscriber in the list who may have it, and tell them; None: it is public."""
        now = self._clock()
        if ((office, service, start) in self.store.holds or start not in self._free.get((office, service), ())
                or start <= now):  # a slot that has begun is nobody's to book
            return None
        d = self._engine().offices.get(office)
        if d is None:
            return None
        day = _local(start, d.office.timezone).date().isoformat()
        slot = (office, service, start)
        for w in self.store.watches.values():
            if (w.office != office or w.service != service or not w.covers(day) or (w.id, slot) in self.store.offered
                    or w.id in self.store.by_watch):
                continue
            h = Hold(office, service, start, w.id, secrets.token_urlsafe(16), now + d.office.slot_hold_min * 60.0)
            self.store.put_hold(h)
            self.stats.offered += 1
            svc = d.network.services[service]
            self._send(w.subscription(), slot_message(office, d.office.timezone, svc.name_uk, svc.name_en, start,
                                                      h.until, _url(h)))
            return h
        return None

    def _send_reminder(self, r: Reminder) -> None:
        d = self._engine().offices.get(r.office)
        if d is None:
            self.store.drop_reminder(r)
            return
        svc = d.network.services[d.bookings[r.code].service] if r.code in d.bookings else None
        msg = reminder_message(r.office, d.office.timezone, d.office.name_uk, d.office.name_en,
                               svc.name_uk if svc else "", svc.name_en if svc else "", r.start, r.code,
                               f"/book/{r.office}?code={r.code}")
        sub = Subscription(f"reminder:{r.code}", r.office, r.endpoint, r.p256dh, r.auth)
        written = self.store.mark_sent(r)  # on disk first: a restart does not send it again
        self.stats.reminders += 1
        loop = _loop()
        if loop is None:
            written.result()
            self._send(sub, msg)
            return
        written.add_done_callback(lambda _f: _soon(loop, self._send, sub, msg))

    def _send(self, sub: Subscription, msg: dict[str, Any]) -> None:
        fut = self._push.post(sub, msg)
        if fut is None:
            self.stats.failed += 1
            return
        loop = _loop()
        fut.add_done_callback(lambda f: _soon(loop, self._sent, sub, f) if loop else self._sent(sub, f))

    def _sent(self, sub: Subscription, fut: Future[tuple[str, int | None]]) -> None:
        kind, status = fut.result()
        if status is not None and 200 <= status < 300:
            self.stats.sent += 1
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
            return
        self.stats.failed += 1
        if status in GONE and sub.ticket in self.store.watches:  # the browser unsubscribed: the next one's turn
            self.unwatch(sub.ticket)

    def flush(self, timeout: float = 10.0) -> None:
        self.store.written().result(timeout)

    def close(self) -> None:
        self.store.close()


def _room(d: Dispatcher, service: str, start: float) -> int:
    """How many more bookings the slot at ``start`` takes."""
    taken = sum(1 for b in d.bookings.values() if b.service == service and b.start == start and b.status in HOLDS_SLOT)
    return bookings.capacity(d, service) - taken


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidCommand(f"'{what}' {text!r} is not a date such as 2026-12-07 (YYYY-MM-DD)") from None


def _iso(ts: float, tz: str) -> str:
    return _local(ts, tz).isoformat(timespec="seconds")


def _url(h: Hold) -> str:
    return f"/book/{h.office}?hold={h.token}"


def _loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop has closed: the service is stopping
        loop.call_soon_threadsafe(fn, *args)
