"""Randomised stateful test of the whole engine, as sortedcontainers tests its structures.

Every command of the engine, in any order, at any time; after every step the invariants hold (``_check``: no
ticket in two places, every ticket in exactly one state, desks and queues agree), a refused command changed
nothing, every call followed the priority rule as a brute-force scan of *all* waiting tickets would, and a replay
of the events so far rebuilds the same state.
"""

from __future__ import annotations

from typing import Any

from conftest import SERVICES, T0, small_network
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import Status
from cherga.engine.model import Category
from cherga.engine.network import CityEngine
from cherga.engine.policy import RULES, Candidate
from cherga.errors import ChergaError

NET = small_network()
DESKS = [d.id for o in NET.offices.values() for d in o.desks]
OFFICES = list(NET.offices)
SERVICE_IDS = sorted(SERVICES)


def expected_pick(d: Dispatcher, desk: str, now: float) -> set[str]:
    """Every ticket the policy allows ``desk`` to call now, by scanning all waiting tickets (no heads)."""
    waiting = [t for t in d.tickets.values() if t.status is Status.WAITING]
    personal = [t for t in waiting if t.queue is d.personal[desk]]
    if personal:
        best = min(personal, key=lambda t: (0 if t.head else 1, t.since, t.counter))
        return {best.id}
    own = d.network.offices[d.office.id].desks
    spec = next(x for x in own if x.id == desk)
    mine = [t for t in waiting if t.service in spec.services and t.queue is not None and t.queue.desk is None]
    window = d.policy.booked_window_min * 60
    due = [t for t in mine if t.due_at is not None and t.due_at <= now <= t.due_at + window]
    if due:
        return {min(due, key=lambda t: (t.due_at or 0.0, t.counter)).id}
    if mine:
        cands = [Candidate(t, t.category, d.rank(t.category), 0 if t.head else 1, t.since, t.counter) for t in mine]
        return {d.rule(cands, now, d.policy).ticket.id}  # type: ignore[attr-defined]
    backup = [t for t in waiting if t.service in spec.backup and t.queue is not None and t.queue.desk is None]
    if not backup:
        return set()
    sizes: dict[tuple[str, bool], int] = {}
    for t in backup:
        sizes[(t.service, t.vulnerable)] = sizes.get((t.service, t.vulnerable), 0) + 1
    top = max(sizes.values())
    # any of the busiest queues' first tickets
    return {
        min((t for t in backup if (t.service, t.vulnerable) == k), key=lambda t: (0 if t.head else 1, t.since,
                                                                                     t.counter)).id
        for k, n in sizes.items() if n == top
    }


class EngineMachine(RuleBasedStateMachine):
    @initialize(rule_name=st.sampled_from(sorted(RULES)))
    def setup(self, rule_name: str) -> None:
        self.engine = CityEngine(NET, secret=b"stateful", rule=RULES[rule_name])
        self.now = T0
        self.log: list[e.BaseEvent] = []
        self.steps = 0
        for desk in DESKS:
            self._apply(c.OpenDesk(desk=desk))

    def _apply(self, cmd: Any) -> list[e.BaseEvent]:
        before = {oid: d.digest() for oid, d in self.engine.offices.items()}
        try:
            evs = self.engine.apply(cmd, self.now)
        except ChergaError as exc:
            assert exc.message
            after = {oid: d.digest() for oid, d in self.engine.offices.items()}
            assert after == before, f"refused {cmd} but the state changed"
            return []
        self.log.extend(evs)
        return evs

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

    @rule(office=st.sampled_from(OFFICES), service=st.sampled_from([*SERVICE_IDS, "unknown"]),
          vulnerable=st.booleans(), more=st.lists(st.sampled_from(SERVICE_IDS), max_size=2),
          head=st.booleans(), due=st.none() | st.floats(min_value=0, max_value=60))
    def issue(self, office: str, service: str, vulnerable: bool, more: list[str], head: bool,
              due: float | None) -> None:
        self._apply(c.IssueTicket(office=office, service=service, vulnerable=vulnerable, more_services=tuple(more),
                                  position=c.Position.HEAD if head else c.Position.END,
                                  due_at=None if due is None else self.now + due * 60))

    @rule(desk=st.sampled_from(DESKS), kind=st.sampled_from([c.OpenDesk, c.CloseDesk, c.PauseDesk, c.ResumeDesk]),
          dice=st.integers(0, 3))
    def desk_state(self, desk: str, kind: type, dice: int) -> None:
        if dice == 0 or kind in (c.OpenDesk, c.ResumeDesk):
            self._apply(kind(desk=desk))

    @rule(office=st.sampled_from(OFFICES), service=st.sampled_from(SERVICE_IDS), vulnerable=st.booleans())
    def issue_plain(self, office: str, service: str, vulnerable: bool) -> None:
        self._apply(c.IssueTicket(office=office, service=service, vulnerable=vulnerable))

    @rule(desk=st.sampled_from(DESKS))
    def call_next_again(self, desk: str) -> None:
        self.call_next(desk)

    @rule(desk=st.sampled_from(DESKS))
    def call_next(self, desk: str) -> None:
        d = self.engine.offices[self.engine.office_of_desk(desk)]
        allowed = expected_pick(d, desk, self.now)
        evs = self._apply(c.CallNext(desk=desk))
        called = [x for x in evs if isinstance(x, e.TicketCalled)]
        if called:
            assert called[0].ticket in allowed, f"desk {desk} called {called[0].number}, policy allows {allowed}"
        elif d.desks[desk].status.value == "open" and d.desks[desk].ticket is None:
            assert not allowed, f"desk {desk} called nothing though {allowed} wait"

    @rule(desk=st.sampled_from(DESKS), pick=st.integers(min_value=0, max_value=10_000))
    def call_ticket(self, desk: str, pick: int) -> None:
        ts = self._tickets()
        self._apply(c.CallTicket(desk=desk, ticket=ts[pick % len(ts)] if ts else "none"))

    @rule(desk=st.sampled_from(DESKS), pick=st.integers(0, 99),
          kind=st.sampled_from([c.Recall, c.Start, c.NoShow]))
    def desk_action(self, desk: str, pick: int, kind: type) -> None:
        self._apply(kind(desk=self._busy(desk, pick)))

    @rule(desk=st.sampled_from(DESKS), pick=st.integers(0, 99), outcome=st.sampled_from(list(c.Outcome)))
    def finish(self, desk: str, pick: int, outcome: c.Outcome) -> None:
        self._apply(c.Finish(desk=self._busy(desk, pick), outcome=outcome))

    @rule(desk=st.sampled_from(DESKS), pick=st.integers(min_value=0, max_value=10_000))
    def restore(self, desk: str, pick: int) -> None:
        gone = sorted(t.id for d in self.engine.offices.values() for t in d.tickets.values()
                      if t.status is Status.NO_SHOW)
        ts = gone or self._tickets()
        self._apply(c.Restore(desk=desk, ticket=ts[pick % len(ts)] if ts else "none"))

    @rule(desk=st.sampled_from(DESKS), pick=st.integers(0, 99), service=st.none() | st.sampled_from(SERVICE_IDS),
          to_desk=st.none() | st.sampled_from(DESKS), head=st.booleans())
    def transfer(self, desk: str, pick: int, service: str | None, to_desk: str | None, head: bool) -> None:
        self._apply(c.Transfer(desk=self._busy(desk, pick), service=service, to_desk=to_desk,
                               position=c.Position.HEAD if head else c.Position.END))

    @rule(pick=st.integers(min_value=0, max_value=10_000), desk=st.none() | st.sampled_from(DESKS),
          office=st.sampled_from(OFFICES))
    def send_to_office(self, pick: int, desk: str | None, office: str) -> None:
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

    @rule(office=st.sampled_from(OFFICES), order=st.permutations(list(Category)),
          limits=st.dictionaries(st.sampled_from(list(Category)), st.floats(min_value=-5, max_value=30), max_size=3),
          rule_name=st.none() | st.sampled_from([*RULES, "bogus"]))
    def set_policy(self, office: str, order: list[Category], limits: dict[Category, float],
                   rule_name: str | None) -> None:
        self._apply(c.SetPolicy(office=office, order=tuple(order), max_wait_min=tuple(limits.items()),
                                rule=rule_name))

    @rule(office=st.sampled_from(OFFICES), kind=st.sampled_from([c.StopIssuing, c.CloseDay]), dice=st.integers(0, 9))
    def closing(self, office: str, kind: type, dice: int) -> None:
        if dice == 0:
            self._apply(kind(office=office))

    @rule(desk=st.sampled_from(DESKS), service=st.sampled_from(SERVICE_IDS), vulnerable=st.booleans())
    def walk_in(self, desk: str, service: str, vulnerable: bool) -> None:
        self._apply(c.ServeWalkIn(desk=desk, service=service, vulnerable=vulnerable))

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
        fresh = CityEngine(NET, secret=b"stateful", rule=self.engine.offices["main"]._fixed_rule)
        fresh.replay(e.decode(e.encode(x)) for x in self.log)
        for oid, d in self.engine.offices.items():
            assert fresh.offices[oid].digest() == d.digest(), f"replay differs in {oid}"


TestEngine = EngineMachine.TestCase
TestEngine.settings = settings(
    max_examples=100, stateful_step_count=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
