"""The engine's state machine with remote tickets (#18.3) among every other command.

:class:`test_stateful.EngineMachine` (every command, the invariants, the brute-force oracle of who is called next,
replay after every few steps), with offices that take tickets from phones and three more rules: a remote issue, a
check-in (by the kiosk or the entrance QR: the same command) and time passing to the grace's end. After every step
a second oracle, kept by this test from the events alone, says which remote tickets have had their turn: exactly
those that joined their queue before a ticket called from it (not one put at the head). A remote ticket is never
called; a checked-in one waits where its time of joining puts it; the grace ends exactly the tickets it should.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule
from test_stateful import OFFICE, EngineMachine, networks

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.lifecycle import Status
from cherga.engine.model import Network
from cherga.engine.policy import RULES

GRACE_MIN = 5.0


def remote_on(net: Network) -> Network:
    """Every office takes remote tickets: always open while a desk serves the service (a way here shorter than
    any wait, which the loader would not take), a cap that sometimes bites, a short grace."""
    offices = {oid: dataclasses.replace(o, remote_join=True, remote_travel_min=-1.0, remote_per_hour=8,
                                        remote_grace_min=GRACE_MIN)
               for oid, o in net.offices.items()}
    return dataclasses.replace(net, offices=offices)


class RemoteMachine(EngineMachine):
    @initialize(net=networks(), rule_name=st.sampled_from(sorted(RULES)))
    def setup(self, net: Network, rule_name: str) -> None:
        super().setup(remote_on(net), rule_name)
        self.passed: set[str] = set()  # the oracle: remote tickets whose turn has come, from the events alone
        self.remote_issued = 0

    def _apply(self, cmd: Any) -> list[e.BaseEvent]:
        # what each called ticket was, before the command (a walk-in is issued and called in one)
        evs = super()._apply(cmd)
        for ev in evs:
            if isinstance(ev, e.TicketCalled):
                d = self.engine.offices[ev.office]
                t = d.tickets[ev.ticket]
                assert not t.remote or t.checked_in_at is not None, f"remote {t.number} called before check-in"
                if t.head:
                    continue
                for r in d.tickets.values():
                    if r.status is Status.REMOTE and (r.service, r.vulnerable) == (t.service, t.vulnerable) \
                            and (r.since, r.counter) < (t.since, t.counter):
                        self.passed.add(r.id)
            elif isinstance(ev, e.TicketIssued) and ev.remote:
                self.remote_issued += 1
        return evs

    @rule(office_k=OFFICE, service_k=st.integers(0, 999), vulnerable=st.booleans(),
          browser=st.none() | st.sampled_from(["b1", "b2", "b3"]))
    def issue_remote(self, office_k: int, service_k: int, vulnerable: bool, browser: str | None) -> None:
        office = self._office(office_k)
        d = self.engine.offices[office]
        held = {t.browser for t in d.tickets.values() if t.remote and t.browser is not None
                and t.status in (Status.REMOTE, Status.WAITING, Status.CALLED, Status.SERVING)}
        evs = self._apply(c.IssueTicket(office=office, service=self._service(office, service_k),
                                        vulnerable=vulnerable, channel="remote", remote=True, browser=browser))
        if evs:
            issued = next(x for x in evs if isinstance(x, e.TicketIssued))
            t = d.tickets[issued.ticket]
            assert t.status is Status.REMOTE and t.queue is None
            assert browser is None or browser not in held, "a browser got a second live remote ticket"

    @rule(office_k=OFFICE, service_k=st.integers(0, 999), vulnerable=st.booleans(), behind=st.integers(1, 3))
    def remote_then_hall(self, office_k: int, service_k: int, vulnerable: bool, behind: int) -> None:
        """A remote ticket and visitors in the hall who joined after it: calling them passes it over."""
        self.issue_remote(office_k, service_k, vulnerable, None)
        office = self._office(office_k)
        for _ in range(behind):
            self._apply(c.IssueTicket(office=office, service=self._service(office, service_k), vulnerable=vulnerable))

    @rule(pick=st.integers(0, 10_000))
    def check_in(self, pick: int) -> None:
        remote = sorted((t for d in self.engine.offices.values() for t in d.tickets.values() if t.remote),
                        key=lambda t: t.id)
        if not remote:
            return
        t = remote[pick % len(remote)]
        was = t.status
        evs = [x for x in self._apply(c.CheckInRemote(office=t.office, ticket=t.id))
               if not isinstance(x, e.DayOpened)]  # the first command of a new day opens it
        if was is Status.REMOTE:
            assert [type(x) for x in evs] == [e.RemoteCheckedIn]
            assert t.status is Status.WAITING and t.since == t.issued_at and not t.head
            q = t.queue
            assert q is not None and q.desk is None
            # the place it had: after exactly those in the hall who joined before it (and any put at the head)
            order = q.ordered()
            before = [x for x in order if x.head or (x.since, x.counter) < (t.since, t.counter)]
            assert order.index(t) == len(before)
            self.passed.discard(t.id)
        else:
            assert not evs  # a second check-in changes nothing; an ended one is refused

    @rule(minutes=st.floats(min_value=0, max_value=2 * GRACE_MIN), office_k=OFFICE)
    def grace_passes(self, minutes: float, office_k: int) -> None:
        self.now += minutes * 60
        office = self._office(office_k)
        d = self.engine.offices[office]
        # the grace runs on the office's clock that stops under an air-raid alert (the visitor is in the shelter)
        net_now = self.now - d.alerted_s(self.now)
        due = {t.id for t in d.tickets.values() if t.status is Status.REMOTE and t.passed_at is not None
               and t.passed_net + GRACE_MIN * 60 <= net_now}
        evs = [x for x in self._apply(c.ExpireRemote(office=office)) if not isinstance(x, e.DayOpened)]
        assert {x.ticket for x in evs if isinstance(x, e.RemoteExpired)} == due
        for tid in due:
            assert d.tickets[tid].status is Status.NO_SHOW
            self.passed.discard(tid)

    @invariant()
    def passed_as_the_oracle_says(self) -> None:
        if not hasattr(self, "engine"):
            return
        for d in self.engine.offices.values():
            for t in d.tickets.values():
                if t.status is Status.REMOTE:
                    assert (t.passed_at is not None) is (t.id in self.passed), \
                        f"{t.number}: passed {t.passed_at} but the oracle says {t.id in self.passed}"
                    assert t.queue is None and t.desk is None


TestRemote = RemoteMachine.TestCase
TestRemote.settings = settings(
    max_examples=30, stateful_step_count=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
