"""Randomised stateful test of the whole engine, as sortedcontainers tests its structures.

Every command of the engine, in any order, at any time; after every step the invariants hold (``_check``: no
ticket in two places, every ticket in exactly one state, desks and queues agree), a refused command changed
nothing, every call followed the priority rule as a brute-force scan of *all* waiting tickets would, and a replay
of the events so far rebuilds the same state.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from conftest import SERVICES, T0, small_network
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import Status
from cherga.engine.model import Category, Desk, Network, Office, OfficeKind, PolicyConfig, Targets
from cherga.engine.network import CityEngine
from cherga.engine.policy import RULES, Candidate
from cherga.errors import ChergaError

# passports need the national registries here, so the registries switch refuses something
SERVICES_W = {**SERVICES, "passport": dataclasses.replace(SERVICES["passport"], needs_registry=True)}
SERVICE_IDS = sorted(SERVICES)
DESK = st.integers(0, 99)  # an index into the network's desks, drawn with the network
OFFICE = st.integers(0, 9)


@st.composite
def networks(draw: st.DrawFn) -> Network:
    """The hand-made network, or a generated one: one to three offices of one to four desks, each with its own
    services and some it only helps with (backup), so every way a desk may call is exercised."""
    if draw(st.integers(0, 3)) == 0:
        return dataclasses.replace(small_network(), services=SERVICES_W)
    offices = {}
    names = ["main", "branch", "remote"][: draw(st.integers(1, 3))]
    for oid in names:
        desks = []
        for k in range(draw(st.integers(1, 4))):
            own = draw(st.sets(st.sampled_from(SERVICE_IDS), min_size=1, max_size=4))
            backup = draw(st.sets(st.sampled_from(SERVICE_IDS), max_size=3)) - own
            desks.append(Desk(id=f"{oid[0]}{k + 1}", office=oid, number=str(k + 1), services=frozenset(own),
                              backup=frozenset(backup), special="passport" in own))
        offices[oid] = Office(id=oid, name_uk=oid, name_en=oid,
                              kind=OfficeKind.MAIN if oid == "main" else OfficeKind.SUBDIVISION, desks=tuple(desks))
    travel = {(a, b): 10.0 + 5 * i for i, (a, b) in enumerate((a, b) for a in names for b in names if a < b)}
    return Network(offices=offices, services=SERVICES_W, travel_min=travel, targets=Targets(), policy=PolicyConfig())


def expected_pick(d: Dispatcher, desk: str, now: float) -> set[str]:
    """The ticket the policy has ``desk`` call now, found by scanning all waiting tickets (no queue heads).

    What the desk may call: the tickets sent to it (as put at the head), the waiting tickets of its own services,
    the vulnerable ones of the services it helps with, and, when nothing of its own waits, every ticket of the
    services it helps with; a booked visitor whose slot has come counts also as put at the head, waiting since the
    slot. The policy's rule picks among them all."""
    spec = d.desks[desk].desk
    waiting = [t for t in d.tickets.values() if t.status is Status.WAITING]
    personal = [t for t in waiting if t.queue is d.personal[desk]]
    queued = [t for t in waiting if t.queue is not None and t.queue.desk is None]
    own = [t for t in queued if t.service in spec.services]
    helps = [t for t in queued if t.service in spec.backup and t.service not in spec.services]
    pool = own + [t for t in helps if t.vulnerable] if personal or own else helps
    if d.under_alert(now):  # from an alert until service resumes, nobody is called
        return set()
    window = d.policy.booked_window_min * 60
    # waits on the office's clock that stops under alerts: each ticket's wait is now - alerted - its net_since, i.e.
    # the time since it joined less the alert seconds since then (recomputed here from the ticket, not the queue)
    alerted = d.alerted_s(now)
    net_now = now - alerted
    cands = [Candidate(t, t.category, d.rank(t.category), 0, net_now - d.net_waited_s(t, now), t.counter)
             for t in personal]
    for t in pool:
        cands.append(Candidate(t, t.category, d.rank(t.category), 0 if t.head else 1,
                               net_now - d.net_waited_s(t, now), t.counter))
        if t.due_at is not None and t.due_at <= now <= t.due_at + window:
            cands.append(Candidate(t, t.category, d.rank(t.category), 0, t.due_at - alerted, t.counter))
    if not cands:
        return set()
    return {d.rule(cands, net_now, d.policy).ticket.id}  # type: ignore[attr-defined]


class EngineMachine(RuleBasedStateMachine):
    @initialize(net=networks(), rule_name=st.sampled_from(sorted(RULES)))
    def setup(self, net: Network, rule_name: str) -> None:
        self.net = net
        self.desks = [d.id for o in net.offices.values() for d in o.desks]
        self.offices = list(net.offices)
        self.engine = CityEngine(net, secret=b"stateful", rule=RULES[rule_name])
        self.now = T0
        self.log: list[e.BaseEvent] = []
        self.steps = 0
        for desk in self.desks:
            self._apply(c.OpenDesk(desk=desk))

    def _apply(self, cmd: Any) -> list[e.BaseEvent]:
        before = {oid: d.digest() for oid, d in self.engine.offices.items()}
        sheltering = {oid for oid, d in self.engine.offices.items() if d.under_alert(self.now)}
        try:
            evs = self.engine.apply(cmd, self.now)
        except ChergaError as exc:
            assert exc.message
            after = {oid: d.digest() for oid, d in self.engine.offices.items()}
            assert after == before, f"refused {cmd} but the state changed"
            return []
        # from an alert until service resumes: nobody is called, issued or brought back there
        assert not [x for x in evs if x.office in sheltering and isinstance(
            x, (e.TicketCalled, e.TicketRecalled, e.TicketRestored, e.TicketIssued))], f"{cmd} under an alert: {evs}"
        self.log.extend(evs)
        return evs

    def _desk(self, k: int) -> str:
        return self.desks[k % len(self.desks)]

    def _office(self, k: int) -> str:
        return self.offices[k % len(self.offices)]

    def _busy(self, desk: str, pick: int) -> str:
        """Mostly a desk that has a ticket, so desk actions get exercised; sometimes ``desk`` as drawn."""
        busy = sorted(ds.desk.id for d in self.engine.offices.values() for ds in d.desks.values() if ds.ticket)
        return busy[pick % len(busy)] if busy and pick % 5 else desk

    def _tickets(self) -> list[str]:
        return sorted(t for d in self.engine.offices.values() for t in d.tickets)

    @rule(minutes=st.floats(min_value=0, max_value=30))
    def advance(self, minutes: float) -> None:
        self.now += minutes * 60

    @rule(hours=st.integers(min_value=6, max_value=30), dice=st.integers(0, 9))
    def next_day(self, hours: int, dice: int) -> None:
        if dice == 0:  # rare, or nothing would ever be called
            self.now += hours * 3600

    def _service(self, office: str, k: int) -> str:
        """Mostly a service the office offers (a generated office offers few), sometimes any, or an unknown one."""
        offered = sorted(self.net.offices[office].services)
        if k % 10 == 9:
            return "unknown"
        return offered[k % len(offered)] if k % 10 else SERVICE_IDS[k % len(SERVICE_IDS)]

    @rule(office_k=OFFICE, service_k=st.integers(0, 999),
          vulnerable=st.booleans(), more=st.lists(st.sampled_from(SERVICE_IDS), max_size=2),
          head=st.booleans(), due=st.none() | st.floats(min_value=0, max_value=60))
    def issue(self, office_k: int, service_k: int, vulnerable: bool, more: list[str], head: bool,
              due: float | None) -> None:
        office = self._office(office_k)
        self._apply(c.IssueTicket(office=office, service=self._service(office, service_k), vulnerable=vulnerable,
                                  more_services=tuple(more), position=c.Position.HEAD if head else c.Position.END,
                                  due_at=None if due is None else self.now + due * 60))

    @rule(desk_k=DESK, kind=st.sampled_from([c.OpenDesk, c.CloseDesk, c.PauseDesk, c.ResumeDesk]),
          dice=st.integers(0, 3))
    def desk_state(self, desk_k: int, kind: type, dice: int) -> None:
        desk = self._desk(desk_k)
        if dice == 0 or kind in (c.OpenDesk, c.ResumeDesk):
            self._apply(kind(desk=desk))

    @rule(office_k=OFFICE, service_k=st.integers(0, 999), vulnerable=st.booleans())
    def issue_plain(self, office_k: int, service_k: int, vulnerable: bool) -> None:
        office = self._office(office_k)
        self._apply(c.IssueTicket(office=office, service=self._service(office, service_k), vulnerable=vulnerable))

    @rule(office_k=OFFICE, service_k=st.integers(0, 999), vulnerable=st.booleans())
    def issue_another(self, office_k: int, service_k: int, vulnerable: bool) -> None:
        self.issue_plain(office_k, service_k, vulnerable)

    @rule(desk_k=DESK)
    def call_next_again(self, desk_k: int) -> None:
        self.call_next(desk_k)

    @rule(desk_k=DESK)
    def call_next(self, desk_k: int) -> None:
        desk = self._desk(desk_k)
        d = self.engine.offices[self.engine.office_of_desk(desk)]
        allowed = expected_pick(d, desk, self.now)
        evs = self._apply(c.CallNext(desk=desk))
        called = [x for x in evs if isinstance(x, e.TicketCalled)]
        if called:
            assert called[0].ticket in allowed, f"desk {desk} called {called[0].number}, policy allows {allowed}"
        elif d.desks[desk].status.value == "open" and d.desks[desk].ticket is None:
            assert not allowed, f"desk {desk} called nothing though {allowed} wait"

    @rule(desk_k=DESK, pick=st.integers(min_value=0, max_value=10_000))
    def call_ticket(self, desk_k: int, pick: int) -> None:
        desk = self._desk(desk_k)
        ts = self._tickets()
        self._apply(c.CallTicket(desk=desk, ticket=ts[pick % len(ts)] if ts else "none"))

    @rule(desk_k=DESK, pick=st.integers(0, 99),
          kind=st.sampled_from([c.Recall, c.Start, c.NoShow]))
    def desk_action(self, desk_k: int, pick: int, kind: type) -> None:
        desk = self._desk(desk_k)
        self._apply(kind(desk=self._busy(desk, pick)))

    @rule(desk_k=DESK, pick=st.integers(0, 99), outcome=st.sampled_from(list(c.Outcome)))
    def finish(self, desk_k: int, pick: int, outcome: c.Outcome) -> None:
        desk = self._desk(desk_k)
        self._apply(c.Finish(desk=self._busy(desk, pick), outcome=outcome))

    @rule(desk_k=DESK, pick=st.integers(min_value=0, max_value=10_000))
    def restore(self, desk_k: int, pick: int) -> None:
        desk = self._desk(desk_k)
        gone = sorted(t.id for d in self.engine.offices.values() for t in d.tickets.values()
                      if t.status is Status.NO_SHOW)
        ts = gone or self._tickets()
        self._apply(c.Restore(desk=desk, ticket=ts[pick % len(ts)] if ts else "none"))

    @rule(desk_k=DESK, pick=st.integers(0, 99), service=st.none() | st.sampled_from(SERVICE_IDS),
          to_desk_k=st.none() | DESK, head=st.booleans())
    def transfer(self, desk_k: int, pick: int, service: str | None, to_desk_k: int | None, head: bool) -> None:
        desk = self._desk(desk_k)
        to_desk = None if to_desk_k is None else self._desk(to_desk_k)
        self._apply(c.Transfer(desk=self._busy(desk, pick), service=service, to_desk=to_desk,
                               position=c.Position.HEAD if head else c.Position.END))

    @rule(pick=st.integers(min_value=0, max_value=10_000), desk_k=st.none() | DESK,
          office_k=OFFICE)
    def send_to_office(self, pick: int, desk_k: int | None, office_k: int) -> None:
        desk = None if desk_k is None else self._desk(desk_k)
        office = self._office(office_k)
        ts = self._tickets()
        ticket = None if desk is not None else (ts[pick % len(ts)] if ts else "none")
        self._apply(c.SendToOffice(ticket=ticket, desk=desk, to_office=office))

    @rule(pick=st.integers(min_value=0, max_value=10_000))
    def cancel(self, pick: int) -> None:
        ts = self._tickets()
        self._apply(c.Cancel(ticket=ts[pick % len(ts)] if ts else "none"))

    @rule(pick=st.integers(min_value=0, max_value=10_000), score=st.sampled_from(list(c.Score)))
    def rate(self, pick: int, score: c.Score) -> None:
        done = sorted(t.id for d in self.engine.offices.values() for t in d.tickets.values()
                      if t.status in (Status.DONE, Status.REFUSED))
        ts = done if done and pick % 4 else self._tickets()
        self._apply(c.Rate(ticket=ts[pick % len(ts)] if ts else "none", score=score))

    @rule(office_k=OFFICE, order=st.permutations(list(Category)),
          limits=st.dictionaries(st.sampled_from(list(Category)), st.floats(min_value=-5, max_value=30), max_size=3),
          rule_name=st.none() | st.sampled_from([*RULES, "bogus"]))
    def set_policy(self, office_k: int, order: list[Category], limits: dict[Category, float],
                   rule_name: str | None) -> None:
        office = self._office(office_k)
        self._apply(c.SetPolicy(office=office, order=tuple(order), max_wait_min=tuple(limits.items()),
                                rule=rule_name))

    @rule(office_k=OFFICE, kind=st.sampled_from([c.StopIssuing, c.CloseDay]), dice=st.integers(0, 9))
    def closing(self, office_k: int, kind: type, dice: int) -> None:
        office = self._office(office_k)
        if dice == 0:
            d = self.engine.offices[office]
            early = kind is c.CloseDay and d.under_alert(self.now)
            live = {t.id for t in d.tickets.values() if t.status in (Status.WAITING, Status.CALLED, Status.SERVING)}
            evs = self._apply(kind(office=office))
            if early and any(isinstance(x, e.DayClosed) and x.office == office for x in evs):
                # closed under an alert: everyone waiting, called or served ends "not served today", nobody cancelled
                assert {x.ticket for x in evs if isinstance(x, e.TicketNotServed)} == live, evs
                assert not [x for x in evs if isinstance(x, e.TicketCancelled) and x.office == office], evs
                assert all(d.tickets[t].status is Status.NOT_SERVED for t in live)

    @rule(desk_k=DESK, service=st.sampled_from(SERVICE_IDS), vulnerable=st.booleans())
    def walk_in(self, desk_k: int, service: str, vulnerable: bool) -> None:
        desk = self._desk(desk_k)
        self._apply(c.ServeWalkIn(desk=desk, service=service, vulnerable=vulnerable))

    @rule(office_k=OFFICE, active=st.booleans(), resume=st.none() | st.sampled_from([0.0, 0.5, 5.0, 30.0, -1.0]),
          source=st.sampled_from([*c.AlertSource, "bogus"]))
    def alert(self, office_k: int, active: bool, resume: float | None, source: str) -> None:
        office = self._office(office_k)
        d = self.engine.offices[office]
        was = d.alert_active()
        evs = self._apply(c.SetAlert(office=office, active=active, resume_after_min=resume,
                                     source=source))  # type: ignore[arg-type]
        if was == active:
            assert not [x for x in evs if isinstance(x, e.AlertChanged)], "the same switch twice changed something"
        if source == "bogus" or resume == -1.0:  # refused: nothing changed
            assert d.alert_active() == was
        elif active:
            assert d.alert_active() and d.under_alert(self.now)

    @rule(office_k=OFFICE, available=st.booleans())
    def registries(self, office_k: int, available: bool) -> None:
        office = self._office(office_k)
        d = self.engine.offices[office]
        was = d.registries_available
        evs = self._apply(c.SetRegistries(office=office, available=available))
        assert bool(evs) == (was != available) or any(isinstance(x, e.DayOpened) for x in evs)
        assert d.registries_available == available

    @rule(office_k=OFFICE, vulnerable=st.booleans())
    def issue_under_alert_or_registries_down(self, office_k: int, vulnerable: bool) -> None:
        """Whatever the state, issuing under an alert, or a service needing the registries while they are down, is
        refused with its own error and changes nothing."""
        office = self._office(office_k)
        d = self.engine.offices[office]
        services = sorted(self.net.offices[office].services)
        service = "passport" if "passport" in services else services[0]
        before = d.digest()
        try:
            evs = self.engine.apply(c.IssueTicket(office=office, service=service, vulnerable=vulnerable), self.now)
        except ChergaError as exc:
            assert d.digest() == before
            if d.under_alert(self.now):
                assert exc.code == "alert", exc
            elif not d.registries_available and service == "passport":
                assert exc.code == "registry_unavailable", exc
            return
        self.log.extend(evs)
        assert not d.under_alert(self.now)
        assert d.registries_available or service != "passport"

    @invariant()
    def invariants_hold(self) -> None:
        if not hasattr(self, "engine"):
            return
        for d in self.engine.offices.values():
            d._check()
        self.steps += 1

    @precondition(lambda self: hasattr(self, "engine"))
    @invariant()
    def replay_equals_live(self) -> None:
        if self.steps % 7:
            return
        fresh = CityEngine(self.net, secret=b"stateful", rule=self.engine.offices["main"]._fixed_rule)
        fresh.replay(e.decode(e.encode(x)) for x in self.log)
        for oid, d in self.engine.offices.items():
            assert fresh.offices[oid].digest() == d.digest(), f"replay differs in {oid}"


TestEngine = EngineMachine.TestCase
TestEngine.settings = settings(
    max_examples=150, stateful_step_count=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
