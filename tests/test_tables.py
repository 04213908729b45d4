"""The lifecycle tables decide, and everything that asks "may this happen now?" derives from them.

* For every desk phase, every action the server lists with the desk (``views.desk_json``'s ``actions``) succeeds
  on a real engine and lands where the desk's table says; every action it does not list is refused, except the
  repeats the table accepts without offering them (``DESK_ALSO``), which land where that table says.
* The ticket's decisions journalled as other steps (walk-in, the recall past max calls, closing the day) replay to
  the status their rows name; the recall past max calls is a no-show that frees the desk.
* Who may rate, the cluster's live set and the reports' buckets are the ticket table's; the booking's table decides
  its commands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from conftest import T0, small_network

from cherga.displays import cluster, views
from cherga.engine import bookings
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import (
    DESK_ACTIONS,
    DESK_ALSO,
    DESK_TRANSITIONS,
    LIVE,
    NEW,
    RECORDED_AS,
    TERMINAL,
    TRANSITIONS,
    Action,
    BookingStatus,
    DeskAction,
    DeskPhase,
    Status,
    allows,
)
from cherga.engine.model import PolicyConfig
from cherga.errors import CommandError, Conflict
from cherga.reports import compute

DESK = "m2"  # serves everything but passports


class Scene:
    """An office with desk m2 in a given phase, a ticket waiting that m2 serves and a no-show m2 may bring back."""

    def __init__(self, phase: DeskPhase) -> None:
        self.d = Dispatcher(small_network(), "main")
        self.now = T0
        self.log: list[e.BaseEvent] = []
        self.step(c.OpenDesk(desk="m3"))
        self.no_show = self.issue("extract")
        self.step(c.CallNext(desk="m3"))
        self.step(c.NoShow(desk="m3"))
        self.waiting = self.issue("certificate")  # m3 does not serve it
        self.held = self.issue("advice")
        if phase is not DeskPhase.CLOSED:
            self.step(c.OpenDesk(desk=DESK))
        if phase is DeskPhase.PAUSED:
            self.step(c.PauseDesk(desk=DESK))
        if phase in (DeskPhase.CALLED, DeskPhase.SERVING):
            self.step(c.CallTicket(desk=DESK, ticket=self.held))
        if phase is DeskPhase.SERVING:
            self.step(c.Start(desk=DESK))
        assert self.phase() == phase

    def step(self, cmd: c.Command) -> list[e.BaseEvent]:
        self.now += 30.0
        out = self.d.apply(cmd, self.now)
        self.log.extend(out)
        return out

    def issue(self, service: str) -> str:
        ev = self.step(c.IssueTicket(office="main", service=service))[-1]
        assert isinstance(ev, e.TicketIssued)
        return ev.ticket

    def phase(self) -> DeskPhase:
        return DeskPhase(views.desk_status(self.d.desks[DESK]))

    def listed(self) -> list[str]:
        return list(views.desk_json(self.d, self.d.desks[DESK], self.now)["actions"])


COMMANDS: dict[DeskAction, Callable[[Scene], c.Command]] = {
    DeskAction.OPEN: lambda s: c.OpenDesk(desk=DESK),
    DeskAction.CLOSE: lambda s: c.CloseDesk(desk=DESK),
    DeskAction.PAUSE: lambda s: c.PauseDesk(desk=DESK),
    DeskAction.RESUME: lambda s: c.ResumeDesk(desk=DESK),
    DeskAction.CALL_NEXT: lambda s: c.CallNext(desk=DESK),
    DeskAction.CALL_TICKET: lambda s: c.CallTicket(desk=DESK, ticket=s.waiting),
    DeskAction.WALK_IN: lambda s: c.ServeWalkIn(desk=DESK, service="extract"),
    DeskAction.RESTORE: lambda s: c.Restore(desk=DESK, ticket=s.no_show),
    DeskAction.RECALL: lambda s: c.Recall(desk=DESK),
    DeskAction.START: lambda s: c.Start(desk=DESK),
    DeskAction.FINISH: lambda s: c.Finish(desk=DESK),
    DeskAction.NO_SHOW: lambda s: c.NoShow(desk=DESK),
    DeskAction.TRANSFER: lambda s: c.Transfer(desk=DESK, service="pickup"),
    DeskAction.REDIRECT: lambda s: c.Redirect(ticket=s.held, to_office="branch", new_ticket="elsewhere", desk=DESK),
}


def test_every_desk_action_has_a_command_here() -> None:
    assert set(COMMANDS) == set(DeskAction)


@pytest.mark.parametrize("phase", list(DeskPhase))
def test_the_desk_console_offers_exactly_what_the_engine_accepts(phase: DeskPhase) -> None:
    listed = Scene(phase).listed()
    assert listed == list(DESK_ACTIONS[phase])
    accepted = []
    for action in DeskAction:
        s = Scene(phase)
        before = s.d.digest()
        try:
            events = s.step(COMMANDS[action](s))
        except CommandError as exc:
            assert (phase, action) not in DESK_TRANSITIONS and (phase, action) not in DESK_ALSO, (action, exc)
            assert s.d.digest() == before, f"refused {action} changed the state"
            continue
        row = DESK_TRANSITIONS.get((phase, action)) or DESK_ALSO.get((phase, action))
        assert row is not None, f"{action} at a {phase} desk was accepted, but the desk's table has no such step"
        assert s.phase() in row, (action, s.phase(), row)
        if (phase, action) in DESK_TRANSITIONS:
            accepted.append(action.value)
        elif row == (phase,):  # a repeat: nothing happens
            assert events == [] and s.d.digest() == before, action
    assert accepted == listed


def test_a_called_desk_offers_no_next_pause_or_close() -> None:
    listed = Scene(DeskPhase.CALLED).listed()
    assert not {"call_next", "pause", "close"} & set(listed)
    assert {"recall", "start", "finish", "no_show", "transfer"} <= set(listed)
    with pytest.raises(Conflict, match="still has ticket"):
        Scene(DeskPhase.CALLED).step(c.CallNext(desk=DESK))


def test_the_recall_past_max_calls_is_a_no_show_that_frees_the_desk() -> None:
    s = Scene(DeskPhase.CALLED)
    s.d.policy = PolicyConfig(max_calls=2)
    assert [type(ev) for ev in s.step(c.Recall(desk=DESK))] == [e.TicketRecalled]
    assert [type(ev) for ev in s.step(c.Recall(desk=DESK))] == [e.TicketNoShow]
    assert s.d.tickets[s.held].status is TRANSITIONS[(Status.CALLED, Action.RECALL_LAST)] is Status.NO_SHOW
    assert s.phase() is DeskPhase.OPEN and s.phase() in DESK_TRANSITIONS[(DeskPhase.CALLED, DeskAction.RECALL)]


def test_decisions_recorded_as_other_steps_replay_to_their_rows() -> None:
    for action, steps in RECORDED_AS.items():
        sources = [s for (s, a) in TRANSITIONS if a is action]
        assert sources, action
        for src in sources:  # closing the day cancels a waiting ticket and a remote one alike
            at = src
            for step in steps:
                at = TRANSITIONS[(at, step)]
            assert at is TRANSITIONS[(src, action)], (action, src)


def test_walk_in_and_closing_the_day_are_rows_the_engine_follows() -> None:
    s = Scene(DeskPhase.OPEN)
    issued, called = s.step(c.ServeWalkIn(desk=DESK, service="extract"))
    assert isinstance(issued, e.TicketIssued) and isinstance(called, e.TicketCalled)
    assert s.d.tickets[issued.ticket].status is TRANSITIONS[(NEW, Action.WALK_IN)]
    s.step(c.Finish(desk=DESK))
    out = s.step(c.CloseDay(office="main"))
    cancelled = {ev.ticket for ev in out if isinstance(ev, e.TicketCancelled)}
    assert cancelled == {s.waiting, s.held}
    assert {s.d.tickets[t].status for t in cancelled} == {TRANSITIONS[(Status.WAITING, Action.CLOSE_DAY)]}
    assert s.d.tickets[s.no_show].status is Status.NO_SHOW  # not a row of closing the day
    fresh = Dispatcher(small_network(), "main")  # the evolvers take the same statuses from the table
    fresh.replay(s.log)
    assert fresh.digest() == s.d.digest()


def test_who_may_rate_is_the_tickets_table() -> None:
    s = Scene(DeskPhase.CALLED)
    assert views.ticket_json(s.d, s.d.tickets[s.held], s.now)["can_rate"] is False
    with pytest.raises(Conflict, match="once its service is finished"):
        s.step(c.Rate(ticket=s.held, score=c.Score.GOOD))
    s.step(c.Finish(desk=DESK, outcome=c.Outcome.REFUSED))
    assert allows(s.d.tickets[s.held].status, Action.RATE)
    assert views.ticket_json(s.d, s.d.tickets[s.held], s.now)["can_rate"] is True
    s.step(c.Rate(ticket=s.held, score=c.Score.GOOD))
    assert views.ticket_json(s.d, s.d.tickets[s.held], s.now)["can_rate"] is False
    assert {st for st in Status if allows(st, Action.RATE)} == {Status.DONE, Status.REFUSED, Status.NOT_POSSIBLE}


def test_the_live_set_and_the_report_buckets_are_the_tickets_table() -> None:
    assert cluster.LIVE == LIVE == (Status.WAITING, Status.CALLED, Status.SERVING)
    assert compute.STATUSES == ("done", "refused", "no_show", "cancelled", "redirected", "not_possible", "not_served",
                                "open")
    # every status is one bucket: its own when it is no longer live, "open" while it is; a remote ticket (not yet
    # in the hall, so not redirectable: not LIVE) is still open too
    assert {s.value for s in Status if s not in LIVE and s is not Status.REMOTE} == set(compute.STATUSES[:-1])
    assert Status.REMOTE not in TERMINAL


def test_the_bookings_table_decides_cancel_and_check_in() -> None:
    d = Dispatcher(small_network(), "main")
    now = T0
    start = next(st for st, _ in bookings.slots(d, "extract", dt.date(2026, 11, 24), now))
    booked = d.apply(c.Book(office="main", service="extract", start=start), now)[-1]
    assert isinstance(booked, e.AppointmentBooked)
    assert d.bookings[booked.code].status is BookingStatus.BOOKED
    d.apply(c.CancelBooking(office="main", code=booked.code), now + 1)
    assert d.bookings[booked.code].status is BookingStatus.CANCELLED
    for cmd in (c.CancelBooking(office="main", code=booked.code), c.CheckIn(office="main", code=booked.code)):
        with pytest.raises(Conflict, match=f"booking {booked.code} is already cancelled"):
            d.apply(cmd, now + 2)
    # a cancelled booking frees its slot
    assert start in [st for st, _ in bookings.slots(d, "extract", dt.date(2026, 11, 24), now)]
