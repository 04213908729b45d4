"""Crash loop over ``cherga serve`` itself (issue #8): ``python tests/crashloop.py --kills 1000 --seed S``.

A real ``cherga serve`` on a data directory gets a command load over HTTP (API.md): kiosks issue tickets,
desks open, pause, close, call the next ticket, recall it, start, finish it as served or refused, mark it a no-show
or send it to another office, visitors cancel waiting tickets and rate finished ones. Many clients run at once
(threads, one ``httpx.Client`` each), so the journal's group commit always has a batch on the way. At a random
moment the server gets SIGKILL. Then, with the server dead, the journal file is opened read-only:

- ``PRAGMA integrity_check`` must say ``ok``;
- the rows read before are still there, unchanged (count and bytes), and the new ones carry on every office's
  ``seq`` without a gap; replaying them (the engine's own replay, kept incrementally) keeps every invariant of the
  engine (``Dispatcher._check``);
- no ticket number repeats within an office's day, no ticket id repeats, and each redirect (one command writing
  to two offices) is there whole or not at all: a ticket issued for a redirect has its ``TicketRedirected`` in the
  source office and the other way round;
- every command that was ANSWERED with success is in it: each ticket's status is reachable from the furthest
  answered status by commands that were sent (answered, or in flight when the kill came), an answered terminal
  status (done, refused, no-show, cancelled, redirected) is exactly there, the desk that answered a call holds or
  held it, an answered rating is there; a command in flight may be there or not, but whole (a ticket no command
  could have made, or moved further than any command sent, is an error; so is a desk holding a ticket no call
  gave it, or in a state no command asked for).

The server is then restarted on the same data directory and port, and over HTTP every ticket touched since the
last restart (and a random sample of the others) and every desk driven must read exactly as the journal says; the
waiting counts of ``/state`` too. Then the next round of load begins. Ticket numbers are also kept from the
answers themselves: (office, day, number) must never name two tickets, across all restarts. Now and then the
service's clock is moved a day on (``--time-offset``) so numbering starts again and commands open new days, and
now and then the server is killed while it is still starting up (replaying the journal).

Load windows and kill moments come from a seeded ``random.Random``; the threads make the interleaving differ
from run to run, so a failure prints the seed, the kill and the data directory (kept) to look at.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import httpx
from server import ServerProcess

from cherga.displays.auth import TokenStore
from cherga.engine import events as e
from cherga.engine.lifecycle import TERMINAL, TRANSITIONS, Action, Status
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.engine.network import CityEngine

JOURNAL = "journal.sqlite3"
# the desks driven: several per office, so the offices' queues are served; branch desks also send tickets away
DESKS = ("main-03", "main-04", "main-05", "main-07", "zamostia-02", "zamostia-03", "vyshenka-01", "khutory-01")
KIOSKS = ("main", "zamostia", "vyshenka", "khutory")
VISITORS = 2
WAITING_PER_DESK = 6  # a kiosk stops issuing while its office has this many waiting per driven desk
HTTP_SAMPLE = 100  # tickets not touched since the last restart, read back over HTTP after each restart
ACTIVE = (Status.CALLED.value, Status.SERVING.value)
TARGET: dict[Action, str] = {a: s.value for (_, a), s in TRANSITIONS.items() if a is not Action.ISSUE}


class CrashLoopError(AssertionError):
    """A property the crash loop checks does not hold."""


class Dead(Exception):
    """The thread ends its round: the server is gone (``gone``), or an answer was wrong (reported already)."""

    def __init__(self, gone: bool = False) -> None:
        super().__init__()
        self.gone = gone


def quiet_port(rng: random.Random) -> int:
    """A free port below the ephemeral range: the loop reuses it for every restart, and other tests' servers
    (``free_port()``, port 0) never pick one there between a kill and the restart."""
    for _ in range(200):
        port = rng.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


def local_day(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).date().isoformat()


class Obs(NamedTuple):
    """What one source (the journal, or the restarted server over HTTP) says about a ticket."""

    status: str
    desk: str | None
    rating: str | None
    number: str
    office: str
    service: str
    day: str
    new_ticket: str | None


def obs_from_json(t: dict[str, Any]) -> Obs:
    return Obs(t["status"], t["desk"], t["rating"], t["number"], t["office"], t["service"], t["issued_at"][:10],
               t["new_ticket"])


# ------------------------------------------------------------------------------------------------ the ledger


@dataclass
class Rec:
    """What the clients know of one ticket: what was answered, and what was sent without an answer."""

    id: str
    office: str
    number: str | None = None
    service: str | None = None
    day: str | None = None
    base: str = Status.WAITING.value  # furthest status known durable: answered, or read back after a restart
    terminal: str | None = None  # an answered (or read back) terminal status: it must stay exactly so
    sent: collections.Counter[Action] = field(default_factory=collections.Counter)  # answered or unknown
    desk: str | None = None  # the desk that (answered) called it
    rating: str | None = None  # answered or read back
    rating_sent: set[str] = field(default_factory=set)  # sent, answer unknown
    origin: str | None = None  # the ticket it was redirected from
    new: str | None = None  # the ticket it was (answered) redirected to
    recalls: int = 0


RANK = {s.value: (0 if s is Status.WAITING else 1 if s is Status.CALLED else 2 if s is Status.SERVING else 3)
        for s in Status}


class Ledger:
    """Shared by the client threads: every ticket, every answered or unanswered command. One lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tickets: dict[str, Rec] = {}
        self.numbers: dict[tuple[str, str, str], str] = {}  # (office, day, number) -> ticket, from the answers
        self.touched: set[str] = set()
        self.waiting: dict[str, set[str]] = collections.defaultdict(set)  # for the load's shape only
        self.finished: list[str] = []  # answered done or refused and not rated: for the visitors
        self.unknown_issues: collections.Counter[str] = collections.Counter()  # issues in flight, per office
        self.answered: collections.Counter[str] = collections.Counter()  # answered commands by kind
        self.in_flight: collections.Counter[str] = collections.Counter()  # unanswered at a kill, by kind
        self.errors: list[str] = []  # from the client threads

    # -------------------------------------------------------------- writing (callers hold no lock)

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def _rec(self, tid: str, office: str) -> Rec:
        rec = self.tickets.get(tid)
        if rec is None:
            rec = self.tickets[tid] = Rec(id=tid, office=office)
        self.touched.add(tid)
        return rec

    def _learn(self, rec: Rec, number: str, service: str, day: str) -> None:
        """The ticket's number as answered or read back: it must be the same every time, and no one else's."""
        if rec.number is None:
            rec.number, rec.service, rec.day = number, service, day
            key = (rec.office, day, number)
            other = self.numbers.setdefault(key, rec.id)
            if other != rec.id:
                self.errors.append(f"ticket number {number} of {rec.office} on {day} named two tickets: {other} "
                                   f"and {rec.id}")
        elif (rec.number, rec.service, rec.day) != (number, service, day):
            self.errors.append(f"ticket {rec.id} was {rec.number}/{rec.service}/{rec.day}, now reads "
                               f"{number}/{service}/{day}")

    def learn_json(self, t: dict[str, Any]) -> Rec:
        with self.lock:
            rec = self._rec(t["id"], t["office"])
            if rec.office != t["office"]:
                self.errors.append(f"ticket {rec.id} was at {rec.office}, now reads {t['office']}")
            self._learn(rec, t["number"], t["service"], t["issued_at"][:10])
            return rec

    def issued(self, t: dict[str, Any]) -> None:
        rec = self.learn_json(t)
        with self.lock:
            self.answered["issue"] += 1
            if rec.base == Status.WAITING.value:
                self.waiting[rec.office].add(rec.id)

    def intend(self, tid: str, action: Action) -> None:
        """Before a command on a known ticket is sent: from now on its effect may be there."""
        with self.lock:
            rec = self.tickets[tid]
            self.touched.add(tid)
            rec.sent[action] += 1
            if action is Action.RECALL:
                rec.recalls += 1

    def withdraw(self, tid: str, action: Action) -> None:
        """The command was refused (or never reached the server): it changed nothing."""
        with self.lock:
            self.tickets[tid].sent[action] -= 1

    def done(self, tid: str, action: Action, kind: str) -> None:
        """The command was answered with success: its effect is durable."""
        with self.lock:
            rec = self.tickets[tid]
            self.answered[kind] += 1
            self._advance(rec, TARGET[action])

    def _advance(self, rec: Rec, status: str) -> None:
        if RANK[status] > RANK[rec.base]:
            rec.base = status
        if status in TERMINAL:
            if rec.terminal is not None and rec.terminal != status:
                self.errors.append(f"ticket {rec.number} ({rec.id}) answered as {rec.terminal} and as {status}")
            rec.terminal = status
        if status != Status.WAITING.value:
            self.waiting[rec.office].discard(rec.id)
        if status in (Status.DONE.value, Status.REFUSED.value):
            self.finished.append(rec.id)

    def called(self, t: dict[str, Any], desk: str) -> None:
        """A call-next answered with this ticket."""
        rec = self.learn_json(t)
        with self.lock:
            rec.sent[Action.CALL] += 1
            if rec.desk is not None and rec.desk != desk:
                self.errors.append(f"ticket {rec.number} called at desk {desk} after desk {rec.desk} called it")
            rec.desk = desk
            self.answered["call-next"] += 1
            self._advance(rec, Status.CALLED.value)

    def redirected(self, old: str, new: str, office: str) -> None:
        with self.lock:
            rec = self._rec(new, office)
            if rec.origin not in (None, old):
                self.errors.append(f"ticket {new} came from {rec.origin} and from {old}")
            rec.origin = old
            self.tickets[old].new = new

    def count(self, kind: str, *, answered: bool) -> None:
        with self.lock:
            (self.answered if answered else self.in_flight)[kind] += 1

    # -------------------------------------------------------------- reading (for the load)

    def waiting_at(self, office: str) -> int:
        with self.lock:
            return len(self.waiting[office])

    def pick_waiting(self, rng: random.Random) -> str | None:
        with self.lock:
            pool = [tid for s in self.waiting.values() for tid in s]
            return rng.choice(pool) if pool else None

    def pick_finished(self) -> str | None:
        with self.lock:
            while self.finished:
                tid = self.finished.pop()
                rec = self.tickets[tid]
                if rec.rating is None and not rec.rating_sent:
                    rec.rating_sent.add("?")  # claimed: one rating per ticket
                    return tid
            return None


# ------------------------------------------------------------------------------------------------ the clients


class Round:
    """What the client threads share during one round of load."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.killed = threading.Event()  # set just before the SIGKILL: a transport error before it is an error


class Client:
    name = "client"

    def __init__(self, ledger: Ledger, headers: dict[str, str]) -> None:
        self.ledger = ledger
        self.headers = headers
        self.rng = random.Random()
        self.unknown: tuple[str, Any] | None = None  # the command in flight when the server died, unanswered

    def run(self, rnd: Round, seed: int) -> None:
        self.rng.seed(seed)
        self.unknown = None
        try:
            with httpx.Client(base_url=rnd.url, timeout=60.0) as http:
                while not rnd.stop.is_set():
                    self.step(http)
        except Dead as dead:
            if dead.gone and not rnd.killed.is_set():
                self.ledger.fail(f"{self.name}: the server stopped answering before it was killed")
        except Exception as exc:  # a bug in the harness or an answer it did not expect: report, not hang
            self.ledger.fail(f"{self.name}: {type(exc).__name__}: {exc}")

    def step(self, http: httpx.Client) -> None:
        raise NotImplementedError

    def send(self, http: httpx.Client, path: str, body: dict[str, Any] | None, kind: str, *,
             on_lost: Callable[[], None], on_unknown: Callable[[], None]) -> httpx.Response:
        """POST; on no answer call ``on_lost`` (it never reached the server) or ``on_unknown``, and raise Dead."""
        try:
            r = http.post(path, json=body, headers=self.headers)
        except httpx.ConnectError:
            on_lost()
            raise Dead(gone=True) from None
        except httpx.TransportError:
            on_unknown()
            self.ledger.count(kind, answered=False)
            raise Dead(gone=True) from None
        if r.status_code >= 500 or r.status_code in (400, 401, 403, 404, 429):
            self.ledger.fail(f"{self.name}: {kind} answered {r.status_code}: {r.text[:300]}")
            raise Dead
        return r

    def ticket_command(self, http: httpx.Client, tid: str, action: Action, path: str, body: dict[str, Any] | None,
                       kind: str) -> httpx.Response | None:
        """A command on a known ticket: 200 is answered (recorded), 409 refused (withdrawn). None if refused."""
        lg = self.ledger
        lg.intend(tid, action)
        r = self.send(http, path, body, kind, on_lost=lambda: lg.withdraw(tid, action),
                      on_unknown=lambda: setattr(self, "unknown", (kind, tid)))
        if r.status_code == 409:
            lg.withdraw(tid, action)
            return None
        if r.status_code != 200:
            lg.withdraw(tid, action)
            lg.fail(f"{self.name}: {kind} answered {r.status_code}: {r.text[:300]}")
            raise Dead
        t = r.json()
        if t["id"] != tid:
            lg.fail(f"{self.name}: {kind} of {tid} answered with ticket {t['id']}")
        lg.done(tid, action, kind)
        return r


class Kiosk(Client):
    def __init__(self, ledger: Ledger, headers: dict[str, str], office: str, services: list[str], cap: int) -> None:
        super().__init__(ledger, headers)
        self.office = office
        self.name = f"kiosk {office}"
        self.services = services
        self.cap = cap

    def step(self, http: httpx.Client) -> None:
        if self.ledger.waiting_at(self.office) >= self.cap:
            time.sleep(0.01)
            return
        body = {"service": self.rng.choice(self.services), "vulnerable": self.rng.random() < 0.1}
        lg = self.ledger
        with lg.lock:
            lg.unknown_issues[self.office] += 1

        def lost() -> None:
            with lg.lock:
                lg.unknown_issues[self.office] -= 1

        r = self.send(http, f"/api/v1/offices/{self.office}/tickets", body, "issue", on_lost=lost,
                      on_unknown=lambda: None)
        lost()  # answered: not unknown
        if r.status_code != 201:
            lg.fail(f"{self.name}: issue answered {r.status_code}: {r.text[:300]}")
            raise Dead
        t = r.json()
        # (its status may already read called: the reply shows the live state, a desk may have called it since)
        if t["office"] != self.office or t["service"] != body["service"]:
            lg.fail(f"{self.name}: issued {t}")
        lg.issued(t)


class Visitor(Client):
    name = "visitor"

    def step(self, http: httpx.Client) -> None:
        time.sleep(self.rng.uniform(0.005, 0.03))
        if self.rng.random() < 0.5:
            tid = self.ledger.pick_waiting(self.rng)
            if tid is not None:
                self.ticket_command(http, tid, Action.CANCEL, f"/api/v1/tickets/{tid}/cancel", None, "cancel")
            return
        tid = self.ledger.pick_finished()
        if tid is None:
            return
        score = self.rng.choice(("bad", "good", "exemplary"))
        lg = self.ledger
        with lg.lock:
            rec = lg.tickets[tid]
            rec.rating_sent = {score}
            lg.touched.add(tid)

        def lost() -> None:
            with lg.lock:
                rec.rating_sent = set()

        r = self.send(http, f"/api/v1/tickets/{tid}/rating", {"score": score}, "rating", on_lost=lost,
                      on_unknown=lambda: None)
        if r.status_code == 201:
            with lg.lock:
                rec.rating, rec.rating_sent = score, set()
                lg.answered["rating"] += 1
        else:
            lost()
            lg.fail(f"visitor: rating {rec.number} ({tid}), finished and never rated, answered {r.status_code}: "
                    f"{r.text[:200]}")

class DeskWorker(Client):
    """One desk's administrator. Knows the desk's state from its own answers (and reads it after a 409)."""

    def __init__(self, ledger: Ledger, headers: dict[str, str], desk: str, office: str,
                 redirect_to: dict[str, list[str]]) -> None:
        super().__init__(ledger, headers)
        self.desk = desk
        self.office = office
        self.name = f"desk {desk}"
        self.redirect_to = redirect_to  # service -> the offices whose driven desks serve it
        self.status = "closed"  # the desk's own status: open, paused or closed
        self.ticket: str | None = None
        self.ticket_status: str | None = None

    def step(self, http: httpx.Client) -> None:
        if self.ticket is None:
            if self.status == "closed":
                self.desk_command(http, "open", "open")
            elif self.status == "paused":
                self.desk_command(http, "resume", "open")
            elif (r := self.rng.random()) < 0.01:
                self.desk_command(http, "pause", "paused")
            elif r < 0.015:
                self.desk_command(http, "close", "closed")
            else:
                self.call_next(http)
            return
        tid = self.ticket
        rec = self.ledger.tickets[tid]
        r = self.rng.random()
        if self.ticket_status == Status.CALLED.value:
            if r < 0.55:
                self.act(http, Action.START, "start", None)
            elif r < 0.7:
                refused = self.rng.random() < 0.15
                self.act(http, Action.FINISH_REFUSED if refused else Action.FINISH_SERVED, "finish",
                         {"outcome": "refused" if refused else "served"})
            elif r < 0.8 and rec.recalls == 0:  # one recall at most: a third call would mark a no-show
                self.act(http, Action.RECALL, "recall", None)
            elif r < 0.88:
                self.act(http, Action.NO_SHOW, "no-show", None)
            elif r < 0.94 and self.redirect_to.get(rec.service or ""):
                self.redirect(http, self.redirect_to[rec.service or ""])
            else:
                self.act(http, Action.START, "start", None)
        elif r < 0.04 and self.redirect_to.get(rec.service or ""):
            self.redirect(http, self.redirect_to[rec.service or ""])
        else:
            refused = r > 0.9
            self.act(http, Action.FINISH_REFUSED if refused else Action.FINISH_SERVED, "finish",
                     {"outcome": "refused" if refused else "served"})

    def desk_command(self, http: httpx.Client, action: str, target: str) -> None:
        r = self.send(http, f"/api/v1/desks/{self.desk}/{action}", None, action, on_lost=lambda: None,
                      on_unknown=lambda: setattr(self, "unknown", (action, target)))
        if r.status_code == 409:
            self.resync(http)
            return
        if r.status_code != 200 or r.json()["status"] != target:
            self.ledger.fail(f"{self.name}: {action} answered {r.status_code}: {r.text[:300]}")
            raise Dead
        self.ledger.count(action, answered=True)
        self.status = target

    def call_next(self, http: httpx.Client) -> None:
        r = self.send(http, f"/api/v1/desks/{self.desk}/call-next", None, "call-next", on_lost=lambda: None,
                      on_unknown=lambda: setattr(self, "unknown", ("call-next", None)))
        if r.status_code == 204:
            self.ledger.count("call-next (nothing waiting)", answered=True)
            time.sleep(0.005)
            return
        if r.status_code == 409:
            self.resync(http)
            return
        t = r.json()
        if r.status_code != 200 or t["office"] != self.office:
            self.ledger.fail(f"{self.name}: call-next answered {r.status_code}: {r.text[:300]}")
            raise Dead
        self.ledger.called(t, self.desk)
        self.ticket, self.ticket_status = t["id"], Status.CALLED.value

    def act(self, http: httpx.Client, action: Action, path: str, body: dict[str, Any] | None) -> None:
        assert self.ticket is not None
        r = self.ticket_command(http, self.ticket, action, f"/api/v1/desks/{self.desk}/{path}", body, path)
        if r is None:
            self.resync(http)
            return
        status = TARGET[action]
        self.ticket_status = status
        if status not in ACTIVE:
            self.ticket = self.ticket_status = None

    def redirect(self, http: httpx.Client, offices: list[str]) -> None:
        assert self.ticket is not None
        tid = self.ticket
        target = self.rng.choice(offices)
        r = self.ticket_command(http, tid, Action.REDIRECT, f"/api/v1/desks/{self.desk}/transfer",
                                {"office": target, "position": "end"}, "redirect")
        if r is None:
            self.resync(http)
            return
        new = r.json()["new_ticket"]
        if not new:
            self.ledger.fail(f"{self.name}: redirect of {tid} answered without the new ticket: {r.text[:300]}")
        else:
            self.ledger.redirected(tid, new, target)
        self.ticket = self.ticket_status = None

    def resync(self, http: httpx.Client) -> None:
        """After a 409 (a visitor cancelled the called ticket, say): read what the desk has."""
        try:
            r = http.get(f"/api/v1/desks/{self.desk}", headers=self.headers)
        except httpx.TransportError:
            raise Dead(gone=True) from None
        self.adopt(r.json())
        if self.ticket is not None and self.ticket not in self.ledger.tickets:
            self.ledger.fail(f"{self.name}: holds ticket {self.ticket} that no call of ours gave it")
            raise Dead

    def adopt(self, d: dict[str, Any]) -> None:
        t = d["ticket"]
        if t is None:
            self.status, self.ticket, self.ticket_status = d["status"], None, None
        else:
            self.status, self.ticket, self.ticket_status = "open", t["id"], t["status"]


# ------------------------------------------------------------------------------------------------ the journal


class Mirror:
    """The journal, read read-only while the server is dead, replayed into an engine as it grows."""

    def __init__(self, network: Network, path: Path) -> None:
        self.network = network
        self.path = path
        self.engine: CityEngine | None = None
        self.rowid = 0
        self.rows = 0
        self.bytes = 0
        self.ids: set[str] = set()
        self.numbers: set[tuple[str, str, str]] = set()
        self.office_days: set[tuple[str, str]] = set()

    def read(self) -> list[e.BaseEvent]:
        """Check the file and take in what was added since the last read; returns the new events."""
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            check = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if check != ["ok"]:
                raise CrashLoopError(f"PRAGMA integrity_check: {check[:10]}")
            if self.engine is None:
                secret = conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
                self.engine = CityEngine(self.network, secret=bytes.fromhex(secret[0]) if secret else b"")
            rows, size = conn.execute(
                "SELECT count(*), coalesce(sum(length(body)), 0) FROM events WHERE rowid <= ?", (self.rowid,)
            ).fetchone()
            if (rows, size) != (self.rows, self.bytes):
                raise CrashLoopError(f"the journal's first {self.rows} rows ({self.bytes} bytes) now read as "
                                     f"{rows} rows ({size} bytes): rows read before were lost or changed")
            new = conn.execute("SELECT rowid, body FROM events WHERE rowid > ? ORDER BY rowid",
                               (self.rowid,)).fetchall()
        finally:
            conn.close()
        events = [e.decode(body) for _, body in new]
        if new:
            self.rowid = new[-1][0]
            self.rows += len(new)
            self.bytes += sum(len(body) for _, body in new)  # characters, as SQLite's length() counts text
        self._take(events)
        return events

    def _take(self, events: list[e.BaseEvent]) -> None:
        engine = self.engine
        assert engine is not None
        redirected: dict[str, str] = {}  # new ticket -> old, from TicketRedirected
        issued_for: dict[str, str] = {}  # new ticket -> old, from TicketIssued(origin=old)
        for ev in events:
            try:
                engine.replay((ev,))
            except Exception as exc:
                raise CrashLoopError(f"replaying the journal failed at {ev.office} seq {ev.seq}: {exc}") from exc
            d = engine.offices[ev.office]
            if isinstance(ev, e.TicketIssued):
                day = d.day or ""
                key = (ev.office, day, ev.number)
                if key in self.numbers:
                    raise CrashLoopError(f"the journal issues ticket number {ev.number} twice at {ev.office} on "
                                         f"{day}")
                if ev.ticket in self.ids:
                    raise CrashLoopError(f"the journal issues ticket id {ev.ticket} twice")
                self.numbers.add(key)
                self.office_days.add((ev.office, day))
                self.ids.add(ev.ticket)
                if ev.origin is not None:
                    issued_for[ev.ticket] = ev.origin
            elif isinstance(ev, e.TicketRedirected):
                redirected[ev.new_ticket] = ev.ticket
        if redirected != issued_for:
            half = set(redirected.items()) ^ set(issued_for.items())
            raise CrashLoopError(f"half-applied redirects (one office has its part, the other not): {sorted(half)}")
        for d in engine.offices.values():
            try:
                d._check()
            except AssertionError as exc:
                raise CrashLoopError(f"replayed office {d.office.id} breaks an invariant: {exc}") from exc

    def obs(self, tid: str) -> Obs | None:
        engine = self.engine
        assert engine is not None
        oid = engine.ticket_office.get(tid)
        if oid is None:
            return None
        d = engine.offices[oid]
        t = d.tickets[tid]
        status = t.status.value
        desk = t.desk or (t.last_desk if t.status not in (Status.WAITING, Status.CANCELLED) else None)
        return Obs(status, desk, t.rating, t.number, oid, t.service, local_day(t.issued_at, d.office.timezone),
                   t.new_ticket)

    def desk(self, desk: str) -> tuple[str, str | None]:
        engine = self.engine
        assert engine is not None
        ds = engine.offices[engine.office_of_desk(desk)].desks[desk]
        return ds.status.value, ds.ticket.id if ds.ticket is not None else None

    def origin(self, tid: str) -> str | None:
        engine = self.engine
        assert engine is not None
        oid = engine.ticket_office.get(tid)
        return None if oid is None else engine.offices[oid].tickets[tid].origin


# ------------------------------------------------------------------------------------------------ the loop


def reachable(start: str, actions: set[Action]) -> set[str]:
    """Statuses a ticket in ``start`` can reach by the lifecycle's transitions using only ``actions``."""
    seen = {start}
    todo = [start]
    while todo:
        s = Status(todo.pop())
        for (src, a), dst in TRANSITIONS.items():
            if src is s and a in actions and dst.value not in seen:
                seen.add(dst.value)
                todo.append(dst.value)
    return seen


@dataclass
class Summary:
    seed: int
    kills: int = 0
    startup_kills: int = 0
    day_changes: int = 0
    answered: collections.Counter[str] = field(default_factory=collections.Counter)
    in_flight: collections.Counter[str] = field(default_factory=collections.Counter)
    kills_with_in_flight: int = 0
    unanswered_applied: int = 0  # tickets found changed (or made) by a command that had no answer
    in_flight_issues_landed: int = 0
    tickets: int = 0
    office_days: int = 0
    events: int = 0
    http_tickets_read: int = 0
    seconds: float = 0.0

    def text(self) -> str:
        answered = sum(n for k, n in self.answered.items() if "nothing" not in k)
        lines = [
            f"crashloop: seed {self.seed}: {self.kills} kills under load (+{self.startup_kills} during start-up, "
            f"{self.day_changes} clock moves to a new day) in {self.seconds:.0f} s",
            f"  answered commands checked after the kills: {answered} "
            f"({', '.join(f'{k} {n}' for k, n in sorted(self.answered.items()))})",
            f"  in flight at a kill: {sum(self.in_flight.values())} over {self.kills_with_in_flight} kills "
            f"({', '.join(f'{k} {n}' for k, n in sorted(self.in_flight.items()))}); "
            f"tickets changed by an unanswered command: {self.unanswered_applied}",
            f"  tickets: {self.tickets}, every number unique within its office's day "
            f"({self.office_days} office-days); journal events: {self.events}; PRAGMA integrity_check ok after "
            f"every kill; tickets read back over HTTP after restarts: {self.http_tickets_read}",
        ]
        return "\n".join(lines)


class CrashLoop:
    def __init__(self, data: Path, *, seed: int, port: int | None = None, log: Callable[[str], None] = print,
                 startup_kill_p: float = 0.08, day_change_p: float = 0.05, max_window_s: float = 1.2,
                 after_kill: Callable[[CrashLoop, int], None] | None = None) -> None:
        """``after_kill(loop, n)`` runs after kill ``n``, before the checks: for tests of the checker itself."""
        self.data = data
        self.after_kill = after_kill
        self.seed = seed
        self.rng = random.Random(seed)
        self.log = log
        self.startup_kill_p = startup_kill_p
        self.day_change_p = day_change_p
        self.max_window_s = max_window_s
        self.offset = 0.0
        self.server = ServerProcess(data, port=port or quiet_port(random.Random()), extra=self._extra())
        self.network = load_network()
        self.ledger = Ledger()
        self.mirror = Mirror(self.network, data / JOURNAL)
        self.summary = Summary(seed=seed)
        self.workers: list[DeskWorker] = []
        self.clients: list[Client] = []

    def _extra(self) -> list[str]:
        return ["--kiosk-per-minute", "1000000", "--kiosk-burst", "100000", "--time-offset", f"{self.offset:.0f}"]

    # -------------------------------------------------------------- set-up

    def _setup(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        net = self.network
        office_of = {d.id: o.id for o in net.offices.values() for d in o.desks}
        # the devices' tokens, minted as `cherga token issue --data` does (its TokenStore), without 12 processes
        store = TokenStore(self.data)
        try:
            def auth(role: str, office: str, desk: str | None = None) -> dict[str, str]:
                return {"Authorization": f"Bearer {store.issue(net, role, office=office, desk=desk)}"}

            desk_auth = {d: auth("desk", office_of[d], d) for d in DESKS}
            kiosk_auth = {o: auth("kiosk", o) for o in KIOSKS}
        finally:
            store.close()
        serves: dict[str, set[str]] = collections.defaultdict(set)  # office -> services its driven desks serve
        desks = {d.id: d for o in net.offices.values() for d in o.desks}
        for desk in DESKS:
            serves[office_of[desk]] |= desks[desk].services
        for desk in DESKS:
            office = office_of[desk]
            # a ticket is sent only where a driven desk will call it, so redirected tickets do not pile up
            to = {s: sorted(o for o in serves if o != office and s in serves[o]) for s in serves[office]}
            self.workers.append(DeskWorker(self.ledger, desk_auth[desk], desk, office, to))
        for office in KIOSKS:
            mine = [d for d in net.offices[office].desks if d.id in DESKS]
            services = sorted({s for d in mine for s in d.services})
            self.clients.append(Kiosk(self.ledger, kiosk_auth[office], office, services,
                                      WAITING_PER_DESK * len(mine)))
        self.clients.extend(Visitor(self.ledger, {}) for _ in range(VISITORS))
        self.clients.extend(self.workers)

    # -------------------------------------------------------------- one round

    def run(self, kills: int) -> Summary:
        t0 = time.monotonic()
        self._setup()
        self.server.start()
        try:
            for n in range(1, kills + 1):
                self._round(n)
                if n % 50 == 0 or n == kills:
                    self.summary.seconds = time.monotonic() - t0
                    self.log(f"after kill {n}: {self._progress()}")
        finally:
            self.server.kill()
        self.summary.seconds = time.monotonic() - t0
        self.summary.tickets = len(self.ledger.tickets)
        self.summary.office_days = len(self.mirror.office_days)
        self.summary.events = self.mirror.rows
        return self.summary

    def _progress(self) -> str:
        s = self.summary
        return (f"{sum(s.answered.values())} answered, {sum(s.in_flight.values())} in flight at kills, "
                f"{len(self.ledger.tickets)} tickets, {self.mirror.rows} events, {s.seconds:.0f} s")

    def _round(self, n: int) -> None:
        where = f"kill {n} (seed {self.seed}, data {self.data})"
        lg = self.ledger
        rnd = Round(self.server.url)
        threads = [threading.Thread(target=c.run, args=(rnd, self.rng.getrandbits(64)), name=c.name, daemon=True)
                   for c in self.clients]
        for t in threads:
            t.start()
        r = self.rng.random()
        window = self.rng.uniform(0.0, 0.08) if r < 0.2 else self.rng.uniform(0.08, self.max_window_s)
        time.sleep(window)
        rnd.killed.set()
        proc = self.server.proc
        assert proc is not None
        alive = proc.poll() is None
        self.server.kill()
        rnd.stop.set()
        for t in threads:
            t.join(120)
            if t.is_alive():
                raise CrashLoopError(f"{where}: client {t.name} still waits two minutes after the kill")
        if not alive:
            raise CrashLoopError(f"{where}: the server had exited by itself ({proc.returncode}) before the kill")
        if lg.errors:
            raise CrashLoopError(f"{where}: " + "; ".join(lg.errors[:10]))
        self.summary.kills += 1
        if self.after_kill is not None:
            self.after_kill(self, n)
        self._check_journal(where)
        self._restart(where)
        self._check_http(where)
        self._settle(where)

    # -------------------------------------------------------------- after the kill: the journal

    def _check_journal(self, where: str) -> None:
        lg = self.ledger
        try:
            self.mirror.read()
        except CrashLoopError as exc:
            raise CrashLoopError(f"{where}: {exc}") from exc
        m = self.mirror
        engine = m.engine
        assert engine is not None
        problems: list[str] = []
        in_flight = sum(lg.in_flight.values()) - sum(self.summary.in_flight.values())
        if in_flight:
            self.summary.kills_with_in_flight += 1
        # tickets no answer told us about: an issue or a redirect in flight made them, or nothing may have
        phantoms: collections.Counter[str] = collections.Counter()
        for oid, d in engine.offices.items():
            for tid in d.tickets:
                if tid in lg.tickets:
                    continue
                origin = d.tickets[tid].origin
                if origin is None:
                    phantoms[oid] += 1
                elif origin not in lg.tickets or lg.tickets[origin].sent[Action.REDIRECT] <= 0:
                    problems.append(f"ticket {tid} at {oid} redirected from {origin}, which no one redirected")
                lg.tickets[tid] = Rec(id=tid, office=oid, origin=origin)
                lg.touched.add(tid)
                self.summary.unanswered_applied += 1
                self.summary.in_flight_issues_landed += 1
        for oid, k in phantoms.items():
            if k > lg.unknown_issues[oid]:
                problems.append(f"{k} tickets at {oid} that no answered issue made, with {lg.unknown_issues[oid]} "
                                "issues in flight")
        # the desks: what each holds must be what its worker was told, or what its unanswered command did
        for w in self.workers:
            status, held = m.desk(w.desk)
            unknown = w.unknown
            if held is not None:
                if status != "open":
                    problems.append(f"desk {w.desk} is {status} holding {held}")
                if held == w.ticket:
                    pass
                elif w.ticket is None and unknown is not None and unknown[0] == "call-next":
                    rec = lg.tickets[held]
                    rec.sent[Action.CALL] += 1
                    if rec.desk is not None and rec.desk != w.desk:
                        problems.append(f"ticket {held} held by desk {w.desk} after desk {rec.desk} called it")
                    rec.desk = w.desk
                    lg.touched.add(held)
                else:
                    problems.append(f"desk {w.desk} holds {held}; its worker had {w.ticket} and sent {unknown}")
            else:
                if w.ticket is not None:
                    now = m.obs(w.ticket)
                    if now is None or now.status in ACTIVE:
                        problems.append(f"desk {w.desk} holds nothing, yet its ticket {w.ticket} reads {now}")
                elif status != w.status and not (unknown is not None and unknown[1] == status):
                    problems.append(f"desk {w.desk} is {status}: its worker was told {w.status} and sent {unknown}")
        # every ticket: what was answered is there; nothing is further than the commands sent could take it
        for tid, rec in lg.tickets.items():
            o = m.obs(tid)
            if o is None:  # an answer named it (or the journal had it before)
                problems.append(f"ticket {rec.number} ({tid}) of {rec.office}, answered, is not in the journal")
                continue
            if o.status != rec.base or (o.rating is not None and rec.rating is None):
                self.summary.unanswered_applied += 1
            problems.extend(self._compare(rec, o, lg))
            if len(problems) > 20:
                break
        if problems:
            raise CrashLoopError(f"{where}: " + "; ".join(problems[:20]))

    def _compare(self, rec: Rec, o: Obs, lg: Ledger) -> list[str]:
        out: list[str] = []
        name = f"ticket {rec.number or o.number} ({rec.id})"
        if o.office != rec.office:
            out.append(f"{name} is at {o.office}, was answered at {rec.office}")
        if rec.number is not None and (o.number, o.service, o.day) != (rec.number, rec.service, rec.day):
            out.append(f"{name} reads {o.number}/{o.service}/{o.day}, was answered as "
                       f"{rec.number}/{rec.service}/{rec.day}")
        sent = {a for a, k in rec.sent.items() if k > 0}
        if o.status not in reachable(rec.base, sent):
            out.append(f"{name} is {o.status}: answered {rec.base}, and the commands sent "
                       f"({', '.join(sorted(a.value for a in sent)) or 'none'}) cannot take it there")
        if rec.terminal is not None and o.status != rec.terminal:
            out.append(f"{name} is {o.status}, was answered {rec.terminal}")
        if o.status not in (Status.WAITING.value, Status.CANCELLED.value) and o.desk != rec.desk:
            out.append(f"{name} ({o.status}) reads desk {o.desk}, was called at desk {rec.desk}")
        if rec.rating is not None and o.rating != rec.rating:
            out.append(f"{name} rated {rec.rating} (answered) reads {o.rating}")
        if rec.rating is None and o.rating is not None and o.rating not in rec.rating_sent:
            out.append(f"{name} reads rating {o.rating}, which no one sent")
        if o.status == Status.REDIRECTED.value:
            if o.new_ticket is None or (rec.new is not None and o.new_ticket != rec.new):
                out.append(f"{name} redirected to {o.new_ticket}, answered {rec.new}")
            elif self.mirror.origin(o.new_ticket) != rec.id:
                out.append(f"{name} redirected to {o.new_ticket}, which does not come from it")
        if rec.origin is not None and self.mirror.origin(rec.id) != rec.origin:
            out.append(f"{name} was redirected from {rec.origin}, reads {self.mirror.origin(rec.id)}")
        return out

    # -------------------------------------------------------------- a new life: restart, read back over HTTP

    def _restart(self, where: str) -> None:
        if self.rng.random() < self.day_change_p:
            self.offset += 86_400.0  # the next day: numbering starts again, the first commands open the day
            self.summary.day_changes += 1
            self.server.extra = self._extra()
        while self.rng.random() < self.startup_kill_p:
            self._kill_during_startup(where)
        try:
            self.server.start(timeout=120)
        except RuntimeError as exc:
            raise CrashLoopError(f"{where}: the server does not start again: {exc}") from exc

    def _kill_during_startup(self, where: str) -> None:
        """Start the server and kill it before (or just as) it is ready: replaying must not write."""
        s = self.server
        rows = self.mirror.rows
        s.data.mkdir(parents=True, exist_ok=True)
        with open(s.data.parent / f"serve-{s.port}.log", "ab") as log:
            s.proc = subprocess.Popen(
                [sys.executable, "-m", "cherga", "serve", "--data", str(s.data), "--port", str(s.port),
                 "--always-open", *s.extra], stdout=log, stderr=subprocess.STDOUT,
            )
        time.sleep(self.rng.uniform(0.0, 1.6))
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
        self.summary.startup_kills += 1
        try:
            if self.mirror.read():
                raise CrashLoopError("a server killed while starting up wrote events")
        except CrashLoopError as exc:
            raise CrashLoopError(f"{where}, then a kill during start-up: {exc}") from exc
        assert self.mirror.rows == rows

    def _check_http(self, where: str) -> None:
        lg = self.ledger
        m = self.mirror
        engine = m.engine
        assert engine is not None
        problems: list[str] = []
        others = [tid for tid in lg.tickets if tid not in lg.touched]
        sample = sorted(lg.touched) + self.rng.sample(others, min(HTTP_SAMPLE, len(others)))
        with httpx.Client(base_url=self.server.url, timeout=60.0) as http:
            for tid in sample:
                r = http.get(f"/api/v1/tickets/{tid}")
                want = m.obs(tid)
                if want is None:
                    if r.status_code != 404:
                        problems.append(f"ticket {tid}, not in the journal, answers {r.status_code} after restart")
                    continue
                if r.status_code != 200:
                    problems.append(f"ticket {tid} answers {r.status_code} after restart: {r.text[:200]}")
                    continue
                got = obs_from_json(r.json())
                if got != want:
                    problems.append(f"ticket {tid} reads {got} after restart; the journal says {want}")
            self.summary.http_tickets_read += len(sample)
            for w in self.workers:
                d = http.get(f"/api/v1/desks/{w.desk}", headers=w.headers).json()
                status, held = m.desk(w.desk)
                got_held = d["ticket"]["id"] if d["ticket"] is not None else None
                if got_held != held or (held is None and d["status"] != status):
                    problems.append(f"desk {w.desk} reads {d['status']}/{got_held} after restart; the journal says "
                                    f"{status}/{held}")
                w.adopt(d)
                w.unknown = None
            for oid, dsp in engine.offices.items():
                state = http.get(f"/api/v1/offices/{oid}/state").json()
                waiting = sum(q["waiting"] for q in state["queues"])
                want_waiting = sum(1 for t in dsp.tickets.values() if t.status is Status.WAITING)
                if waiting != want_waiting:
                    problems.append(f"office {oid} shows {waiting} waiting after restart; the journal has "
                                    f"{want_waiting}")
        if problems:
            raise CrashLoopError(f"{where}, after restart: " + "; ".join(problems[:20]))

    def _settle(self, where: str) -> None:
        """Nothing is in flight any more: what the journal holds is what is known from now on."""
        lg = self.ledger
        m = self.mirror
        for tid in lg.touched:
            rec = lg.tickets[tid]
            o = m.obs(tid)
            if o is None:
                continue
            lg._learn(rec, o.number, o.service, o.day)
            rec.base = o.status
            rec.terminal = o.status if o.status in TERMINAL else None
            rec.sent.clear()
            rec.rating, rec.rating_sent = o.rating, set()
            if o.desk is not None:
                rec.desk = o.desk
            if o.status == Status.WAITING.value:
                lg.waiting[rec.office].add(tid)
            else:
                lg.waiting[rec.office].discard(tid)
            if o.status in (Status.DONE.value, Status.REFUSED.value) and o.rating is None:
                lg.finished.append(tid)
        if lg.errors:
            raise CrashLoopError(f"{where}: " + "; ".join(lg.errors[:10]))
        for c in self.clients:
            c.unknown = None
        lg.touched.clear()
        lg.unknown_issues.clear()
        self.summary.answered = collections.Counter(lg.answered)
        self.summary.in_flight = collections.Counter(lg.in_flight)


@contextlib.contextmanager
def _data_dir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
    else:
        yield Path(tempfile.mkdtemp(prefix="cherga-crashloop-")) / "data"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--kills", type=int, default=1000)
    p.add_argument("--seed", type=int, default=None, help="default: a random one, printed")
    p.add_argument("--data", type=Path, default=None, help="a new (or empty) data directory; default: a temporary one")
    p.add_argument("--port", type=int, default=None)
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    with _data_dir(args.data) as data:
        print(f"crashloop: seed {seed}, {args.kills} kills, data {data}", flush=True)
        loop = CrashLoop(data, seed=seed, port=args.port, log=lambda s: print(s, flush=True))
        try:
            summary = loop.run(args.kills)
        except CrashLoopError as exc:
            print(f"FAILED (seed {seed}, data {data}): {exc}", flush=True)
            return 1
    print(summary.text(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
