"""The dispatcher's behaviour, command by command, on the small hand-made network of conftest."""

from __future__ import annotations

import re

import pytest
from conftest import T0, small_network

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine import forecast
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import Status
from cherga.engine.model import Category, Network, PolicyConfig
from cherga.engine.network import CityEngine
from cherga.engine.policy import RULES
from cherga.errors import Conflict, InvalidCommand, IssuingClosed, NotFound

MIN = 60.0


def office(net: Network, **kw: object) -> Dispatcher:
    d = Dispatcher(net, "main", secret=b"test", **kw)  # type: ignore[arg-type]
    return d


def issue(d: Dispatcher, service: str, at: float, vulnerable: bool = False, **kw: object) -> e.TicketIssued:
    evs = d.apply(c.IssueTicket(office="main", service=service, vulnerable=vulnerable, **kw), at)  # type: ignore[arg-type]
    out = evs[-1]
    assert isinstance(out, e.TicketIssued)
    d._check()
    return out


def call(d: Dispatcher, desk: str, at: float) -> e.TicketCalled | None:
    evs = d.apply(c.CallNext(desk=desk), at)
    d._check()
    called = [x for x in evs if isinstance(x, e.TicketCalled)]
    return called[0] if called else None


def test_numbers_are_letter_and_daily_counter_and_ids_unguessable(net: Network) -> None:
    d = office(net)
    a = issue(d, "residence", T0)
    b = issue(d, "residence", T0 + 1)
    q = issue(d, "extract", T0 + 2)
    assert (a.number, b.number, q.number) == ("A001", "A002", "Q001")
    assert re.fullmatch(r"[0-9a-f]{30}", a.ticket) and a.ticket != b.ticket
    # the next local day starts the counters again
    tomorrow = issue(d, "residence", T0 + 24 * 3600)
    assert tomorrow.number == "A001"
    assert tomorrow.ticket not in (a.ticket, b.ticket)


def test_every_event_carries_the_next_seq(net: Network) -> None:
    d = office(net)
    seqs = []
    for cmd in (c.OpenDesk(desk="m2"), c.IssueTicket(office="main", service="advice"), c.CallNext(desk="m2"),
                c.Start(desk="m2"), c.Finish(desk="m2")):
        seqs += [ev.seq for ev in d.apply(cmd, T0 + len(seqs))]
    assert seqs == list(range(1, len(seqs) + 1))


def test_priority_order_of_the_standard(net: Network) -> None:
    d = office(net, rule=RULES["strict"])
    d.apply(c.OpenDesk(desk="m2"), T0)
    order = ["advice", "pickup", "residence", "subsidy", "extract"]  # issued worst-first
    for i, s in enumerate(order):
        issue(d, s, T0 + i)
    issue(d, "advice", T0 + 10, vulnerable=True)
    got = []
    for i in range(6):
        t = call(d, "m2", T0 + 100 + i)
        assert t is not None
        got.append(d.tickets[t.ticket].category)
        d.apply(c.Finish(desk="m2"), T0 + 100 + i)
    assert got == [Category.VULNERABLE, Category.QUICK, Category.SEASONAL, Category.ACCEPTANCE,
                   Category.ISSUANCE, Category.CONSULTATION]
    assert call(d, "m2", T0 + 200) is None  # nothing waits: the API answers 204


def test_first_in_first_out_inside_a_rank_across_services(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    a = issue(d, "extract", T0 + 1)
    b = issue(d, "certificate", T0 + 2)  # quick too, and shares the letter Q
    c2 = issue(d, "extract", T0 + 3)
    assert (a.number, b.number, c2.number) == ("Q001", "Q002", "Q003")
    got = []
    for i in range(3):
        t = call(d, "m2", T0 + 10 + i)
        assert t is not None
        got.append(t.ticket)
        d.apply(c.Finish(desk="m2"), T0 + 10 + i)
    assert got == [a.ticket, b.ticket, c2.ticket]


def test_a_ticket_nearing_its_limit_is_called_ahead_of_rank(net: Network) -> None:
    d = office(net)  # default rule: limits, 15 min, margin 3
    d.apply(c.OpenDesk(desk="m2"), T0)
    old = issue(d, "advice", T0)  # consultation: last rank
    issue(d, "extract", T0 + 11 * MIN)  # quick: rank 3
    t = call(d, "m2", T0 + 11.5 * MIN)  # the consultation has waited 11.5 min: not yet near 15
    assert t is not None and d.tickets[t.ticket].service == "extract"
    d.apply(c.Finish(desk="m2"), T0 + 12 * MIN)
    issue(d, "extract", T0 + 12 * MIN)
    t = call(d, "m2", T0 + 12.5 * MIN)  # now 12.5 min >= 15 - 3: it jumps the quick one
    assert t is not None and t.ticket == old.ticket


def test_head_changes_order_and_limits_live(net: Network) -> None:
    d = office(net, rule=None)
    d.apply(c.OpenDesk(desk="m2"), T0)
    issue(d, "extract", T0)
    advice = issue(d, "advice", T0 + 1)
    order = (Category.CONSULTATION, Category.VULNERABLE, Category.SPECIAL, Category.QUICK, Category.SEASONAL,
             Category.ACCEPTANCE, Category.ISSUANCE)
    d.apply(c.SetPolicy(office="main", order=order, max_wait_min=((Category.QUICK, 20.0),)), T0 + 2)
    assert d.policy.max_wait_min[Category.QUICK] == 20.0
    t = call(d, "m2", T0 + 3)
    assert t is not None and t.ticket == advice.ticket
    with pytest.raises(InvalidCommand, match="at most 20"):
        d.apply(c.SetPolicy(office="main", order=order, max_wait_min=((Category.QUICK, 25.0),)), T0 + 4)
    with pytest.raises(InvalidCommand, match="missing: issuance"):
        d.apply(c.SetPolicy(office="main", order=order[:-1], max_wait_min=()), T0 + 4)


def test_refused_commands_change_nothing(net: Network) -> None:
    d = office(net)
    issue(d, "residence", T0)
    before = d.digest()
    cases: list[tuple[c.Command, type[Exception], str]] = [
        (c.Finish(desk="m2"), Conflict, "no ticket is called"),
        (c.CallNext(desk="m2"), Conflict, "closed"),
        (c.IssueTicket(office="main", service="nope"), NotFound, "unknown service"),
        (c.CallNext(desk="zz"), NotFound, "unknown desk"),
        (c.Cancel(ticket="nope"), NotFound, "unknown ticket"),
        (c.Transfer(desk="m2", service="advice"), Conflict, "no ticket"),
    ]
    for cmd, exc, words in cases:
        with pytest.raises(exc, match=words):
            d.apply(cmd, T0 + 5)
        assert d.digest() == before
    # a refused command on the first moment of a new day does not open the day either
    with pytest.raises(Conflict):
        d.apply(c.Finish(desk="m2"), T0 + 24 * 3600)
    assert d.digest() == before


def test_call_while_a_ticket_is_still_called_is_refused(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    issue(d, "residence", T0)
    issue(d, "residence", T0 + 1)
    call(d, "m2", T0 + 2)
    with pytest.raises(Conflict, match="still has ticket A001"):
        d.apply(c.CallNext(desk="m2"), T0 + 3)


def test_recall_then_no_show_after_max_calls_and_restore_within_grace(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    t = issue(d, "residence", T0)
    call(d, "m2", T0 + 1)
    r1 = d.apply(c.Recall(desk="m2"), T0 + 60)
    r2 = d.apply(c.Recall(desk="m2"), T0 + 120)
    assert [type(x).__name__ for x in r1 + r2] == ["TicketRecalled", "TicketRecalled"]
    r3 = d.apply(c.Recall(desk="m2"), T0 + 180)  # max_calls = 3: the fourth call does not happen
    assert isinstance(r3[0], e.TicketNoShow)
    assert d.tickets[t.ticket].status is Status.NO_SHOW
    d.apply(c.Restore(desk="m2", ticket=t.ticket), T0 + 180 + 5 * MIN)
    assert d.tickets[t.ticket].status is Status.CALLED
    d.apply(c.NoShow(desk="m2"), T0 + 400)
    with pytest.raises(Conflict, match="new ticket"):
        d.apply(c.Restore(desk="m2", ticket=t.ticket), T0 + 400 + 16 * MIN)


def test_two_services_on_one_ticket(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    t = issue(d, "residence", T0, more_services=("pickup",))
    call(d, "m2", T0 + 1)
    evs = d.apply(c.Finish(desk="m2"), T0 + 10 * MIN)
    assert isinstance(evs[0], e.ServiceFinished) and evs[0].next_service == "pickup"
    tk = d.tickets[t.ticket]
    assert (tk.status, tk.service, tk.category, tk.number) == (Status.WAITING, "pickup", Category.ISSUANCE, "A001")
    again = call(d, "m2", T0 + 11 * MIN)
    assert again is not None and again.ticket == t.ticket
    d.apply(c.Finish(desk="m2"), T0 + 13 * MIN)
    assert tk.status is Status.DONE


def test_transfer_to_head_or_end_and_to_a_desk(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    d.apply(c.OpenDesk(desk="m3"), T0)
    first = issue(d, "residence", T0)
    waiting = issue(d, "pickup", T0 + 1)
    call(d, "m2", T0 + 2)
    d.apply(c.Transfer(desk="m2", service="pickup"), T0 + 3)  # default: head
    assert d.queues[("pickup", False)].ordered()[0].id == first.ticket
    t = call(d, "m3", T0 + 4)
    assert t is not None and t.ticket == first.ticket
    d.apply(c.Transfer(desk="m3", service="pickup", position=c.Position.END), T0 + 5)
    assert [x.id for x in d.queues[("pickup", False)].ordered()] == [waiting.ticket, first.ticket]
    call(d, "m2", T0 + 6)  # waiting (pickup) goes to m2
    d.apply(c.Transfer(desk="m2", to_desk="m3"), T0 + 7)
    assert d.personal["m3"].live == 1
    t = call(d, "m3", T0 + 8)  # m3's own list comes first
    assert t is not None and t.ticket == waiting.ticket
    with pytest.raises(Conflict, match="does not serve"):
        d.apply(c.Transfer(desk="m3", to_desk="m1"), T0 + 9)


def test_idle_desk_helps_with_backup_work_only_when_its_own_is_done(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m3"), T0)  # own: extract, pickup; backup: residence
    r = issue(d, "residence", T0)
    t = call(d, "m3", T0 + 1)
    assert t is not None and t.ticket == r.ticket
    d.apply(c.Finish(desk="m3"), T0 + 2)
    issue(d, "residence", T0 + 3)
    q = issue(d, "pickup", T0 + 4)
    t = call(d, "m3", T0 + 5)  # its own work first
    assert t is not None and t.ticket == q.ticket


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_desk_helping_with_a_queue_calls_by_the_policy_not_by_queue_length(net: Network, rule: str) -> None:
    """The bug found from outside: only a desk that serves residence as backup is open; two regular tickets came
    first, a person with a disability second. The busier (regular) lane used to win."""
    d = office(net, rule=RULES[rule])
    d.apply(c.OpenDesk(desk="m3"), T0)
    first = issue(d, "residence", T0)
    issue(d, "residence", T0 + 1)
    v = issue(d, "residence", T0 + 2, vulnerable=True)
    t = call(d, "m3", T0 + 3)
    assert t is not None and t.ticket == (first.ticket if rule == "fifo" else v.ticket)  # fifo ignores categories


def test_a_vulnerable_visitor_in_a_helped_queue_goes_before_the_desks_own_regular_work(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m3"), T0)
    own = issue(d, "pickup", T0)
    helped = issue(d, "residence", T0 + 1)  # regular: waits while the desk has work of its own
    v = issue(d, "residence", T0 + 2, vulnerable=True)
    t = call(d, "m3", T0 + 3)
    assert t is not None and t.ticket == v.ticket
    d.apply(c.Finish(desk="m3"), T0 + 2 * MIN)
    t = call(d, "m3", T0 + 3 * MIN)
    assert t is not None and t.ticket == own.ticket
    d.apply(c.Finish(desk="m3"), T0 + 4 * MIN)
    t = call(d, "m3", T0 + 5 * MIN)
    assert t is not None and t.ticket == helped.ticket


def test_a_ticket_sent_to_a_desk_keeps_the_order_of_the_standard(net: Network) -> None:
    d = office(net, rule=RULES["strict"])
    d.apply(c.OpenDesk(desk="m2"), T0)
    d.apply(c.OpenDesk(desk="m3"), T0)
    sent = issue(d, "pickup", T0)
    call(d, "m2", T0 + 1)
    d.apply(c.Transfer(desk="m2", to_desk="m3"), T0 + 2)  # sent to m3 in person
    regular = issue(d, "pickup", T0 + 3)
    v = issue(d, "pickup", T0 + 4, vulnerable=True)
    t = call(d, "m3", T0 + 5)
    assert t is not None and t.ticket == v.ticket  # a vulnerable visitor first, as everywhere
    d.apply(c.Finish(desk="m3"), T0 + 6)
    t = call(d, "m3", T0 + 7)
    assert t is not None and t.ticket == sent.ticket  # then the one sent here, ahead of its rank's queue
    d.apply(c.Finish(desk="m3"), T0 + 8)
    t = call(d, "m3", T0 + 9)
    assert t is not None and t.ticket == regular.ticket


def test_limits_sees_a_long_wait_behind_a_ticket_put_at_the_head(net: Network) -> None:
    """``limits`` must see the longest-waiting ticket of a queue even when one put at its head sits before it."""
    d = office(net)
    d.apply(c.OpenDesk(desk="m3"), T0)
    old = issue(d, "pickup", T0)
    issue(d, "pickup", T0 + 13 * MIN, position=c.Position.HEAD)  # as a transfer to the head would put it
    t = call(d, "m3", T0 + 14 * MIN)
    assert t is not None and t.ticket == old.ticket  # 14 min of its 15 waited (margin 3): it goes first


def test_rating_once_per_finished_ticket(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    t = issue(d, "advice", T0)
    with pytest.raises(Conflict, match="once its service is finished"):
        d.apply(c.Rate(ticket=t.ticket, score=c.Score.GOOD), T0 + 1)
    call(d, "m2", T0 + 1)
    d.apply(c.Finish(desk="m2", outcome=c.Outcome.REFUSED), T0 + 2)
    ev = d.apply(c.Rate(ticket=t.ticket, score=c.Score.BAD), T0 + 3)[0]
    assert isinstance(ev, e.TicketRated) and (ev.desk, ev.service, ev.score) == ("m2", "advice", "bad")
    with pytest.raises(Conflict, match="already been rated"):
        d.apply(c.Rate(ticket=t.ticket, score=c.Score.GOOD), T0 + 4)


def test_closing_time_stops_issuing_and_close_day_keeps_the_journal_straight(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    a = issue(d, "advice", T0)
    b = issue(d, "advice", T0 + 1)
    d.apply(c.StopIssuing(office="main"), T0 + 2)
    with pytest.raises(IssuingClosed):
        d.apply(c.IssueTicket(office="main", service="advice"), T0 + 3)
    call(d, "m2", T0 + 4)  # those waiting are still served
    assert d.tickets[a.ticket].status is Status.CALLED
    with pytest.raises(Conflict, match="still serving"):
        d.apply(c.CloseDay(office="main"), T0 + 5)
    d.apply(c.Finish(desk="m2"), T0 + 6)
    evs = d.apply(c.CloseDay(office="main"), T0 + 7)
    assert [type(x).__name__ for x in evs] == ["TicketCancelled", "DeskChanged", "DayClosed"]
    assert d.tickets[b.ticket].status is Status.CANCELLED
    assert issue(d, "advice", T0 + 24 * 3600).number == "C001"  # next day: open again, counters reset


def test_walk_in_is_recorded_like_any_visit(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    evs = d.apply(c.ServeWalkIn(desk="m2", service="advice"), T0)
    assert [type(x).__name__ for x in evs] == ["TicketIssued", "TicketCalled"]
    d._check()


def test_cancel_waiting_or_called(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    a = issue(d, "advice", T0)
    b = issue(d, "advice", T0 + 1)
    d.apply(c.Cancel(ticket=b.ticket), T0 + 2)
    call(d, "m2", T0 + 3)
    d.apply(c.Cancel(ticket=a.ticket), T0 + 4)
    assert d.desks["m2"].ticket is None
    assert d.waiting() == 0
    with pytest.raises(Conflict, match="cancelled"):
        d.apply(c.Cancel(ticket=a.ticket), T0 + 5)


def test_expected_wait_grows_with_the_queue_and_learns_service_times(net: Network) -> None:
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    etas = [issue(d, "residence", T0 + i).eta_min for i in range(5)]
    assert etas[0] == 0.0 and etas == sorted(etas) and etas[-1] > etas[1]
    assert forecast.mean_service_min(d, "residence") == 12.0
    call(d, "m2", T0 + 10)
    d.apply(c.Finish(desk="m2"), T0 + 10 + 42 * MIN)
    # one 42-minute visit against a prior worth 5 visits of 12
    assert forecast.mean_service_min(d, "residence") == pytest.approx((5 * 12 + 42) / 6)
    assert forecast.ticket_eta(d, d.queues[("residence", False)].ordered()[0], T0 + 43 * MIN)[1] == 1


def test_positions_follow_every_change_and_are_the_calling_order(net: Network) -> None:
    """The phone page's position: 1 + the tickets called before it, after every kind of change to the queue."""
    d = office(net)
    d.apply(c.OpenDesk(desk="m2"), T0)
    d.apply(c.OpenDesk(desk="m3"), T0)
    now = T0

    def check() -> None:
        for q in d.queues.values():
            for place, t in enumerate(q.ordered()):
                for _ in range(2):  # asked again at the same seq: the cached answer
                    assert forecast.ticket_eta(d, t, now)[1] == place + 1

    for i in range(12):
        now += MIN
        issue(d, ("extract", "residence", "pickup")[i % 3], now, vulnerable=i % 5 == 4)
        check()
    for step in range(10):
        now += MIN
        if step % 3 == 0:
            call(d, "m2", now)
        elif step % 3 == 1:
            waiting = [t for t in d.tickets.values() if t.status is Status.WAITING]
            d.apply(c.Cancel(ticket=waiting[len(waiting) // 2].id), now)
        else:
            d.apply(c.Transfer(desk="m2", service="extract", position=c.Position.HEAD), now)
        check()
    called = [t for t in d.tickets.values() if t.status is not Status.WAITING]
    assert all(forecast.ticket_eta(d, t, now) == (0.0, 0) for t in called)


def test_calling_order_holds_when_times_arrive_out_of_order(net: Network) -> None:
    """Joining a queue is an append while time goes forward; a time from the past (a replayed or skewed clock)
    still lands in its place: the calling order is (head, waiting since, issue order) whatever the arrival order."""
    d = office(net)
    d.apply(c.OpenDesk(desk="m3"), T0)
    times = [T0 + 50, T0 + 10, T0 + 30, T0 + 10, T0 + 70, T0 + 20]
    numbers = {issue(d, "extract", at).number: at for at in times}
    expected = sorted(numbers, key=lambda n: (numbers[n], n))
    got = []
    for k in range(len(times)):
        called = call(d, "m3", T0 + 100 + k)
        assert called is not None
        got.append(called.number)
        d.apply(c.Finish(desk="m3"), T0 + 100 + k)
        d._check()
    assert got == expected


def test_redirect_to_another_office_and_alternatives_at_issue() -> None:
    net = small_network()
    eng = CityEngine(net, secret=b"t")
    eng.apply(c.OpenDesk(desk="m2"), T0)
    eng.apply(c.OpenDesk(desk="b1"), T0)
    first = None
    alts = []
    for i in range(8):
        res = eng.issue(c.IssueTicket(office="main", service="residence"), T0 + i)
        first = first or res.ticket
        alts = res.alternatives
    assert alts and alts[0].office == "branch" and alts[0].travel_min == 10.0
    evs = eng.apply(c.SendToOffice(ticket=first, to_office="branch"), T0 + 20)
    new = next(x for x in evs if isinstance(x, e.TicketIssued))
    old = eng.offices["main"].tickets[first]
    assert old.status is Status.REDIRECTED and old.new_ticket == new.ticket
    assert eng.office_of_ticket(new.ticket) == "branch"
    # the remote workplace does not offer advice: the redirect is refused and nothing changes
    other = eng.issue(c.IssueTicket(office="main", service="advice"), T0 + 21).ticket
    before = eng.offices["main"].digest(), eng.offices["remote"].digest()
    with pytest.raises(Conflict, match="not offered"):
        eng.apply(c.SendToOffice(ticket=other, to_office="remote"), T0 + 22)
    assert (eng.offices["main"].digest(), eng.offices["remote"].digest()) == before
    sugg = eng.suggestions("main", T0 + 23)
    assert all(s.to_office in ("branch", "remote") and s.saves_min > 0 for s in sugg)
    # a desk with nothing called has nothing to send: a conflict with the state (409), not a malformed command
    with pytest.raises(Conflict, match="has no ticket to send"):
        eng.apply(c.SendToOffice(desk="m2", to_office="branch"), T0 + 24)


def test_alternatives_at_issue_offer_only_offices_with_every_service_of_the_visit() -> None:
    net = small_network()
    eng = CityEngine(net, secret=b"t")
    for desk in ("m2", "b1", "r1"):
        eng.apply(c.OpenDesk(desk=desk), T0)
    for i in range(8):
        plain = eng.issue(c.IssueTicket(office="main", service="residence"), T0 + i).alternatives
    assert {a.office for a in plain} == {"branch", "remote"}
    # the remote workplace offers residence but not advice: a visitor who needs both is not sent there
    both = eng.issue(c.IssueTicket(office="main", service="residence", more_services=("advice",)), T0 + 9)
    assert [a.office for a in both.alternatives] == ["branch"]


def test_booked_visit_is_called_at_its_slot_ahead_of_walk_ins() -> None:
    d = Dispatcher(small_network(PolicyConfig(rule="strict")), "main")
    d.apply(c.OpenDesk(desk="m2"), T0)
    issue(d, "advice", T0)
    booked = issue(d, "advice", T0 + 1, due_at=T0 + 30 * MIN)
    issue(d, "advice", T0 + 2)
    t = call(d, "m2", T0 + 3)
    assert t is not None and t.ticket != booked.ticket  # before its slot it waits like anyone
    d.apply(c.Finish(desk="m2"), T0 + 4)
    t = call(d, "m2", T0 + 30 * MIN)
    assert t is not None and t.ticket == booked.ticket  # at its slot, ahead of the walk-in who came first
    d.apply(c.Finish(desk="m2"), T0 + 31 * MIN)
    booked2 = issue(d, "advice", T0 + 32 * MIN, due_at=T0 + 40 * MIN)
    v = issue(d, "pickup", T0 + 33 * MIN, vulnerable=True)
    t = call(d, "m2", T0 + 40 * MIN)
    assert t is not None and t.ticket == v.ticket  # a vulnerable visitor still goes first
    d.apply(c.Finish(desk="m2"), T0 + 41 * MIN)
    t = call(d, "m2", T0 + 41 * MIN)
    assert t is not None and t.ticket == booked2.ticket


def test_a_late_close_after_midnight_closes_the_day_that_ended(net: Network) -> None:
    d = office(net)
    left = issue(d, "extract", T0)  # Monday 09:00
    evs = d.apply(c.CloseDay(office="main"), T0 + 15.25 * 3600)  # Tuesday 00:15
    closed = [x for x in evs if isinstance(x, e.DayClosed)]
    assert closed and closed[0].day == "2026-11-23"
    assert d.tickets[left.ticket].status is Status.CANCELLED
    assert issue(d, "extract", T0 + 24 * 3600).number == "Q001"  # Tuesday issues as usual
