"""The writer that the crash test kills: ``python tests/crash_writer.py DATA_DIR SEED``.

It builds a :class:`~cherga.engine.network.CityEngine` over the demo network, replays the journal in ``DATA_DIR``
(``journal.db``) if there is one, then applies random legal commands forever, appending each command's events to
the :class:`~cherga.journal.sqlite.SqliteJournal` with a few commands in flight (so group commit batches
them). Once a command's future completes, and only then, it prints ``ACK <office> <seq>`` (the office and ``seq``
of the command's last event) and flushes: a printed ACK is an acknowledged, so durable, command.

It first prints ``READY <events replayed>`` once the replay is done. The module also holds
:class:`RandomDriver`, the seeded generator of legal commands that ``tests/test_journal.py`` uses too.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

import numpy as np

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import Status
from cherga.engine.loader import load_network
from cherga.engine.model import Category
from cherga.engine.network import CityEngine
from cherga.engine.policy import RULES
from cherga.engine.state import DeskState, DeskStatus, Ticket
from cherga.errors import ChergaError
from cherga.journal.sqlite import SqliteJournal

# Monday 2026-11-23 09:00 in Kyiv (UTC+2), as tests/conftest.py's T0
T0 = 1_795_417_200.0
JOURNAL_FILE = "journal.db"
SECRET = b"crash-test"

AnyCommand = c.Command | c.SendToOffice
_T = TypeVar("_T")


class RandomDriver:
    """Seeded random commands that fit the engine's current state, so nearly all of them are accepted.

    It reads the engine (never writes it): a closed desk gets opened, an idle one calls the next ticket (or a
    kiosk issues one for it), a called ticket is mostly started, sometimes recalled, marked a no-show, transferred,
    sent to another office or cancelled; a ticket being served is finished; finished tickets get rated; now and
    then the head changes the policy. ``refused`` counts the commands the engine refused anyway.
    """

    def __init__(self, engine: CityEngine, rng: np.random.Generator, *, policy_changes: bool = True,
                 wartime: bool = True) -> None:
        """``wartime``: now and then an air-raid alert sounds or ends (resuming at once, after a few minutes or
        after the office's configured delay) and the registries go down or come back; a ticket the registries
        cannot serve is finished "not possible now"."""
        self.engine = engine
        self.rng = rng
        self.policy_changes = policy_changes
        self.wartime = wartime
        self.office_ids = sorted(engine.offices)
        sizes = np.array([len(engine.offices[o].desks) + 2.0 for o in self.office_ids])
        self.office_p = sizes / sizes.sum()
        self.services = {o: sorted(engine.offices[o].office.services) for o in self.office_ids}
        self.desk_ids = {o: sorted(engine.offices[o].desks) for o in self.office_ids}
        self.offered_at = {
            s: [o for o in self.office_ids if s in engine.offices[o].office.services]
            for s in engine.network.services
        }
        self.refused = 0
        self.accepted = 0
        self.now = 0.0  # the time of the command being chosen

    # ------------------------------------------------------------------ helpers

    def _pick(self, items: Sequence[_T]) -> _T:
        return items[int(self.rng.integers(len(items)))]

    def _chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def _tickets(self, d: Dispatcher, *statuses: Status) -> list[Ticket]:
        return [t for t in d.tickets.values() if t.status in statuses]

    # ------------------------------------------------------------------ the commands

    def command(self, now: float) -> AnyCommand:
        """One command for time ``now``."""
        self.now = now
        oid = self.office_ids[int(self.rng.choice(len(self.office_ids), p=self.office_p))]
        d = self.engine.offices[oid]
        if self.wartime:
            w = self._wartime(d, now)
            if w is None and d.under_alert(now):
                w = self._sheltering(d)
            if w is not None:
                return w
        r = self.rng.random()
        if r < 0.25 and not d.issuing_stopped:
            return self._issue(d, self._pick(self.services[oid]), now)
        if r < 0.88:
            return self._desk_command(d, d.desks[self._pick(self.desk_ids[oid])], now)
        if r < 0.91:
            waiting = self._tickets(d, Status.WAITING)
            if waiting:
                return c.Cancel(ticket=self._pick(waiting).id, reason="visitor")
        elif r < 0.97:
            done = [t for t in self._tickets(d, Status.DONE, Status.REFUSED) if t.rating is None]
            if done:
                return c.Rate(ticket=self._pick(done).id, score=self._pick(list(c.Score)))
        elif r < 0.99:
            waiting = self._tickets(d, Status.WAITING)
            if waiting:
                t = self._pick(waiting)
                targets = self._targets(oid, t)
                if targets:
                    return c.SendToOffice(to_office=self._pick(targets), ticket=t.id,
                                          position=self._pick(list(c.Position)))
        elif self.policy_changes:
            return self._set_policy(oid) if self._chance(0.5) else self._configure(d)
        return self._desk_command(d, d.desks[self._pick(self.desk_ids[oid])], now)

    def _issue(self, d: Dispatcher, service: str, now: float) -> c.IssueTicket:
        if self.wartime and not d.registries_available and self._chance(0.95):
            # the kiosk hides what the registries cannot serve now
            service = self._without_registry(d, service)
        more: tuple[str, ...] = ()
        if self._chance(0.1):
            other = self._pick(self.services[d.office.id])
            if other != service:
                more = (other,)
        if more and self.wartime and not d.registries_available and d.network.services[more[0]].needs_registry:
            more = ()
        return c.IssueTicket(
            office=d.office.id, service=service, vulnerable=self._chance(0.08), more_services=more,
            channel=self._pick(("kiosk", "kiosk", "kiosk", "online")),
            position=c.Position.HEAD if self._chance(0.02) else c.Position.END,
            due_at=now + float(self.rng.uniform(0, 1800)) if self._chance(0.03) else None,
        )

    def _targets(self, oid: str, t: Ticket) -> list[str]:
        """Other offices that offer every service the ticket still needs (and, in wartime, issue them now)."""
        need = (t.service, *t.more)
        return [o for o in self.office_ids if o != oid and all(o in self.offered_at[s] for s in need)
                and not (self.wartime and self._closed_to(self.engine.offices[o], need))]

    def _closed_to(self, d: Dispatcher, need: tuple[str, ...]) -> bool:
        """Whether ``d`` would refuse to issue ``need`` now: under an alert, or a service of it needs the registries
        while they are down."""
        return d.under_alert(self.now) or (not d.registries_available
                                           and any(d.network.services[s].needs_registry for s in need))

    def _without_registry(self, d: Dispatcher, service: str) -> str:
        """``service``, or another of the office's that needs no registry when it does."""
        if not d.network.services[service].needs_registry:
            return service
        free = [s for s in self.services[d.office.id] if not d.network.services[s].needs_registry]
        return self._pick(free) if free else service

    def _set_policy(self, oid: str) -> c.SetPolicy:
        order = [Category(x) for x in self.rng.permutation([cat.value for cat in Category])]
        cats = list(Category)
        limits = tuple(
            (self._pick(cats), float(round(self.rng.uniform(5.0, 20.0), 1))) for _ in range(int(self.rng.integers(3)))
        )
        return c.SetPolicy(office=oid, order=tuple(order), max_wait_min=limits, rule=self._pick(sorted(RULES)))

    def _configure(self, d: Dispatcher) -> AnyCommand:
        """The head's live configuration (API.md 1.1): a service renamed, retired or brought back, a desk renumbered
        or given a backup, hours, closed days, targets; the engine refuses what the loader would."""
        oid = d.office.id
        r = self.rng.random()
        if r < 0.4:
            s = d.network.services[self._pick(self.services[oid])]
            renamed = s.name_en.endswith(" (new)")  # named anew, and back again: the names do not grow
            name_uk = s.name_uk.removesuffix(" (нова)") if renamed else s.name_uk + " (нова)"
            name_en = s.name_en.removesuffix(" (new)") if renamed else s.name_en + " (new)"
            return c.PutService(
                office=oid, service=s.id, name_uk=name_uk, name_en=name_en, category=s.category.value,
                letter=s.letter, mean_service_min=float(round(self.rng.uniform(2.0, 30.0), 1)), sphere_uk=s.sphere_uk,
                sphere_en=s.sphere_en, intent=s.intent.value, online_url=s.online_url, needs_registry=s.needs_registry,
                retired=False if self._chance(0.5) else None)
        if r < 0.5:
            return c.RetireService(office=oid, service=self._pick(self.services[oid]))
        if r < 0.75:
            ds = d.desks[self._pick(self.desk_ids[oid])]
            backup = tuple(x for x in self.services[oid] if x not in ds.desk.services and self._chance(0.1))
            return c.PutDesk(office=oid, desk=ds.id, number=str(int(self.rng.integers(1, 60))),
                             services=tuple(sorted(ds.desk.services)), backup=backup)
        if r < 0.85:
            return c.SetHours(office=oid, hours=tuple((day, f"{int(self.rng.integers(7, 10)):02d}:00-20:00")
                                                      for day in ("mon", "tue", "wed", "thu", "fri")))
        if r < 0.9:
            return c.SetClosedDays(office=oid, holidays=("01-01", "08-24"), closures=("2026-12-31",))
        return c.SetTargets(office=oid, target_min=float(round(self.rng.uniform(10.0, 20.0), 1)), limit_min=20.0,
                            share_within_target=0.9, share_over_limit=0.01)

    def _wartime(self, d: Dispatcher, now: float) -> AnyCommand | None:
        """Now and then an alert on or off, or the registries' switch; an alert that is on is mostly ended soon, so
        the engine spends a share of its time under alert, not all of it. Repeats (idempotent) included."""
        oid = d.office.id
        r = self.rng.random()
        on = d.alert_active()
        if r < (0.08 if on else 0.004):
            active = (not on) if self._chance(0.85) else on  # the same switch again now and then
            delay = None if active else self._pick((None, 0.0, 0.0, float(round(self.rng.uniform(0.5, 15.0), 1))))
            return c.SetAlert(office=oid, active=active, source=self._pick(list(c.AlertSource)),
                              resume_after_min=delay)
        if r < (0.084 if on else 0.007):
            up = d.registries_available
            return c.SetRegistries(office=oid, available=(not up) if self._chance(0.85) else up,
                                   source=self._pick(list(c.AlertSource)))
        return None

    def _sheltering(self, d: Dispatcher) -> AnyCommand | None:
        """Under an alert (until service resumes) mostly what the engine still takes: visits under way started and
        finished, ratings, a visitor who leaves, desks paused, resumed or opened; now and then (``None``) any
        command, which the engine mostly refuses (409 alert)."""
        r = self.rng.random()
        if r < 0.04:
            return None
        busy = [ds for ds in d.desks.values() if ds.ticket is not None]
        if r < 0.55 and busy:
            ds = self._pick(busy)
            t = ds.ticket
            assert t is not None
            if t.status is Status.CALLED and self._chance(0.5):
                return c.Start(desk=ds.desk.id)
            return c.Finish(desk=ds.desk.id, outcome=self._finish_outcome(t, d, 0.05))
        if r < 0.7:
            done = [t for t in self._tickets(d, Status.DONE, Status.REFUSED) if t.rating is None]
            if done:
                return c.Rate(ticket=self._pick(done).id, score=self._pick(list(c.Score)))
        elif r < 0.74:
            waiting = self._tickets(d, Status.WAITING)
            if waiting:
                return c.Cancel(ticket=self._pick(waiting).id, reason="visitor")
        idle = [ds for ds in d.desks.values() if ds.ticket is None]
        if not idle:
            return None
        ds = self._pick(idle)
        if ds.status is DeskStatus.CLOSED:
            return c.OpenDesk(desk=ds.desk.id)
        if ds.status is DeskStatus.PAUSED:
            return c.ResumeDesk(desk=ds.desk.id)
        return c.PauseDesk(desk=ds.desk.id)

    def _finish_outcome(self, t: Ticket, d: Dispatcher, refused: float) -> c.Outcome:
        """Served mostly; refused with the chance given; "not possible now" for a service that needs the registries
        (most often while they are down), and rarely for another (the engine takes it: the desk decides)."""
        needs = d.network.services[t.service].needs_registry
        p = (0.6 if not d.registries_available else 0.1) if needs else 0.01
        if self.wartime and self._chance(p):
            return c.Outcome.NOT_POSSIBLE
        return c.Outcome.REFUSED if self._chance(refused) else c.Outcome.SERVED

    def _desk_command(self, d: Dispatcher, ds: DeskState, now: float) -> AnyCommand:
        desk = ds.desk.id
        if ds.status is DeskStatus.CLOSED:
            return c.OpenDesk(desk=desk)
        if ds.status is DeskStatus.PAUSED:
            return c.ResumeDesk(desk=desk)
        t = ds.ticket
        if t is None:
            return self._idle_desk(d, ds, now)
        r = self.rng.random()
        if t.status is Status.CALLED:
            if r < 0.6:
                return c.Start(desk=desk)
            if r < 0.75:
                return c.Finish(desk=desk, outcome=self._finish_outcome(t, d, 0.1))
            if r < 0.85:
                return c.Recall(desk=desk)
            if r < 0.9:
                return c.NoShow(desk=desk)
            if r < 0.95:
                return self._transfer(d, ds, t)
            if r < 0.97:
                targets = self._targets(d.office.id, t)
                if targets:
                    return c.SendToOffice(to_office=self._pick(targets), desk=desk)
            return c.Cancel(ticket=t.id, reason="visitor left")
        # serving
        if r < 0.88:
            return c.Finish(desk=desk, outcome=self._finish_outcome(t, d, 0.05))
        if r < 0.96:
            return self._transfer(d, ds, t)
        targets = self._targets(d.office.id, t)
        if targets:
            return c.SendToOffice(to_office=self._pick(targets), desk=desk, position=c.Position.HEAD)
        return c.Finish(desk=desk)

    def _transfer(self, d: Dispatcher, ds: DeskState, t: Ticket) -> c.Transfer:
        position = c.Position.END if self._chance(0.3) else c.Position.HEAD
        if self._chance(0.5):
            others = [x for x in self.services[d.office.id] if x != t.service]
            return c.Transfer(desk=ds.desk.id, service=self._pick(others), position=position)
        desks = [x for x in self.desk_ids[d.office.id] if x != ds.desk.id and d.desks[x].desk.serves(t.service)]
        if not desks:
            return c.Transfer(desk=ds.desk.id, service=t.service, position=position)
        return c.Transfer(desk=ds.desk.id, to_desk=self._pick(desks), position=position)

    def _idle_desk(self, d: Dispatcher, ds: DeskState, now: float) -> AnyCommand:
        desk = ds.desk.id
        r = self.rng.random()
        if r < 0.02:
            return c.PauseDesk(desk=desk)
        if r < 0.03:
            return c.CloseDesk(desk=desk)
        if r < 0.06:
            return c.ServeWalkIn(desk=desk, service=self._pick(sorted(ds.desk.services)),
                                 vulnerable=self._chance(0.1))
        if r < 0.1:
            waiting = [t for t in self._tickets(d, Status.WAITING) if ds.desk.serves(t.service)]
            if waiting:
                return c.CallTicket(desk=desk, ticket=self._pick(waiting).id)
        elif r < 0.13:
            grace = d.policy.no_show_grace_min * 60.0
            gone = [
                t for t in self._tickets(d, Status.NO_SHOW)
                if ds.desk.serves(t.service) and t.no_show_at is not None and now - t.no_show_at <= grace
            ]
            if gone:
                return c.Restore(desk=desk, ticket=self._pick(gone).id)
        if d.pick(desk, now) is not None:
            return c.CallNext(desk=desk)
        if d.issuing_stopped:
            return c.CallNext(desk=desk)
        # nothing waits for this desk: the kiosk issues a ticket it can serve
        return self._issue(d, self._pick(sorted(ds.desk.services)), now)

    # ------------------------------------------------------------------ driving

    def step(self, now: float) -> list[e.BaseEvent]:
        """Apply one random command at ``now``; a refused one returns no events (and changed nothing)."""
        cmd = self.command(now)
        try:
            events = self.engine.apply(cmd, now)
        except ChergaError:
            self.refused += 1
            return []
        self.accepted += 1
        return events


def open_all(engine: CityEngine, now: float) -> list[e.BaseEvent]:
    """Open every desk of every office (a morning)."""
    out: list[e.BaseEvent] = []
    for d in engine.offices.values():
        for desk in sorted(d.desks):
            out.extend(engine.apply(c.OpenDesk(desk=desk), now))
    return out


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3:
        print("usage: python tests/crash_writer.py DATA_DIR SEED", file=sys.stderr)
        return 2
    data = Path(argv[1])
    rng = np.random.default_rng(int(argv[2]))
    data.mkdir(parents=True, exist_ok=True)
    path = data / JOURNAL_FILE
    engine = CityEngine(load_network(), secret=SECRET)
    now = T0
    replayed = 0
    if path.exists():
        journal = SqliteJournal(path)
        for ev in journal.read():
            engine.replay((ev,))
            now = max(now, ev.at)
            replayed += 1
    else:
        journal = SqliteJournal(path)
    if replayed and rng.random() < 0.4:
        now += 16 * 3600.0  # restarted the next morning: a new day opens, ticket numbers start again
    print(f"READY {replayed}", flush=True)
    driver = RandomDriver(engine, rng)
    window = int(rng.integers(1, 17))  # commands in flight at once
    in_flight: collections.deque[tuple[Future[None], str, int]] = collections.deque()
    out = sys.stdout
    while True:
        now += float(rng.exponential(3.0))
        events = driver.step(now)
        if not events:
            continue
        in_flight.append((journal.append(events), events[-1].office, events[-1].seq))
        while len(in_flight) >= window or (in_flight and in_flight[0][0].done()):
            fut, office, seq = in_flight.popleft()
            fut.result()  # a JournalError ends the writer: nothing after it is acknowledged
            out.write(f"ACK {office} {seq}\n")
            out.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
