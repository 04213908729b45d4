"""The one forecast (API.md 1.1 "Honest waits"): what it says in the states a centre goes through."""

from __future__ import annotations

from conftest import T0, small_network

from cherga.engine import commands as c
from cherga.engine import forecast
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.model import PolicyConfig
from cherga.engine.policy import RULES

MIN = 60.0


def office(rule: str = "limits") -> Dispatcher:
    return Dispatcher(small_network(PolicyConfig(rule=rule)), "main", secret=b"forecast", rule=RULES[rule])


def issue(d: Dispatcher, service: str, at: float, vulnerable: bool = False) -> str:
    return d.apply(c.IssueTicket(office="main", service=service, vulnerable=vulnerable), at)[-1].ticket  # type: ignore[attr-defined]


def state_eta(d: Dispatcher, service: str, now: float) -> float | None:
    return next(q.eta_min for q in forecast.queues(d, now) if q.service == service)


def test_no_open_desk_is_an_unknown_wait_with_its_reason_never_zero() -> None:
    d = office()
    issue(d, "residence", T0)
    q = next(q for q in forecast.queues(d, T0) if q.service == "residence")
    assert (q.eta_min, q.eta_reason) == (None, forecast.NO_OPEN_DESK)
    d.apply(c.OpenDesk(desk="m2"), T0 + 1)  # serves residence as its own
    assert state_eta(d, "residence", T0 + 2) is not None
    d.apply(c.PauseDesk(desk="m2"), T0 + 3)  # a paused desk calls nobody
    assert state_eta(d, "residence", T0 + 4) is None
    d.apply(c.OpenDesk(desk="m3"), T0 + 5)  # helps with residence: its wait is known again
    assert state_eta(d, "residence", T0 + 6) is not None


def test_the_first_in_line_waits_for_the_first_desk_to_free_not_the_average() -> None:
    d = office()
    for desk in ("m2", "m3"):
        d.apply(c.OpenDesk(desk=desk), T0)
    assert state_eta(d, "extract", T0) == 0.0  # a free desk: no wait
    issue(d, "residence", T0)  # 12 min
    issue(d, "extract", T0 + 1)  # 5 min
    d.apply(c.CallNext(desk="m2"), T0 + 2)
    d.apply(c.CallNext(desk="m3"), T0 + 3)
    # both desks busy, nothing waiting: a newcomer for extract waits until m3's 5 minutes end, not (12 + 5) / 2
    eta = state_eta(d, "extract", T0 + 3)
    assert eta is not None and 4.5 <= eta <= 5.0, eta


def test_state_and_a_ticket_issued_then_agree() -> None:
    d = office()
    d.apply(c.OpenDesk(desk="m2"), T0)
    for k in range(6):
        issue(d, "residence", T0 + k, vulnerable=k == 3)
    d.apply(c.CallNext(desk="m2"), T0 + 10)
    now = T0 + 2 * MIN
    shown = state_eta(d, "residence", now)
    ev = d.apply(c.IssueTicket(office="main", service="residence"), now)[-1]
    assert shown is not None and ev.eta_min is not None  # type: ignore[attr-defined]
    assert abs(shown - ev.eta_min) <= 0.5  # type: ignore[attr-defined]


def test_higher_ranks_arriving_today_lengthen_a_low_rank_wait_under_strict() -> None:
    quiet, busy = office("strict"), office("strict")
    for d in (quiet, busy):
        d.apply(c.OpenDesk(desk="m2"), T0)
    for k in range(30):  # a morning of quick services (which rank above consultations) at one office only
        issue(busy, "extract", T0 + k * 2 * MIN)
        busy.apply(c.CallNext(desk="m2"), T0 + k * 2 * MIN + 1)
        busy.apply(c.Finish(desk="m2"), T0 + k * 2 * MIN + 60)
    now = T0 + 60 * MIN
    for d in (quiet, busy):  # the same hall now: three consultations waiting, the desk busy with one
        for k in range(4):
            issue(d, "advice", now + k)
        d.apply(c.CallNext(desk="m2"), now + 5)
    a, b = state_eta(quiet, "advice", now + 6), state_eta(busy, "advice", now + 6)
    assert a is not None and b is not None and b > a  # the quick ones still to come will go first


def test_a_vulnerable_visitor_is_told_less_than_a_regular_one_of_the_same_service() -> None:
    """Under ``strict``. (Under ``limits`` the regular tickets here would all reach their limit before the desk
    frees, and go first: the forecast says so too.)"""
    d = office("strict")
    d.apply(c.OpenDesk(desk="m2"), T0)
    for k in range(5):
        issue(d, "residence", T0 + k)
    d.apply(c.CallNext(desk="m2"), T0 + 10)
    regular = forecast.new_ticket_eta(d, d.queues[("residence", False)], T0 + 20)[0]
    vulnerable = forecast.new_ticket_eta(d, d.queues[("residence", True)], T0 + 20)[0]
    assert regular is not None and vulnerable is not None and vulnerable < regular


def test_under_limits_a_low_rank_is_not_promised_an_endless_wait() -> None:
    """Quick services keep coming (they rank above consultations). Under ``strict`` every one still to come goes
    first; under ``limits`` a consultation goes in the order of waiting once near its limit, so it is told about
    that long, not the endless wait of ``strict``."""
    waits = {}
    for rule in ("limits", "strict"):
        d = office(rule)
        d.apply(c.OpenDesk(desk="m2"), T0)
        for k in range(50):  # a quick service every 1.2 minutes, each served in about a minute
            at = T0 + k * 72
            issue(d, "extract", at)
            d.apply(c.CallNext(desk="m2"), at + 1)
            d.apply(c.Finish(desk="m2"), at + 60)
        now = T0 + 61 * MIN
        for k in range(3):
            issue(d, "extract", now + k)
        d.apply(c.CallNext(desk="m2"), now + 5)
        waits[rule] = state_eta(d, "advice", now + 6)
    assert waits["limits"] is not None and waits["strict"] is not None
    assert waits["limits"] < waits["strict"], waits
    assert waits["limits"] <= 15.0, waits


def test_the_boards_category_line_never_hides_people_no_open_desk_serves() -> None:
    from cherga.displays.hub import category_queues
    from cherga.engine.network import CityEngine

    engine = CityEngine(small_network(), secret=b"board")
    engine.apply(c.OpenDesk(desk="m3"), T0)  # extract (quick) is served; certificate (quick too) is not
    engine.apply(c.IssueTicket(office="main", service="extract"), T0 + 1)
    quick = next(x for x in category_queues(engine, "main", T0 + 2) if x["category"] == "quick")
    assert quick["waiting"] == 1 and quick["eta_min"] is not None and quick["eta_reason"] is None
    engine.apply(c.IssueTicket(office="main", service="certificate"), T0 + 3)
    quick = next(x for x in category_queues(engine, "main", T0 + 4) if x["category"] == "quick")
    assert (quick["waiting"], quick["eta_min"], quick["eta_reason"]) == (2, None, "no_open_desk")


def test_an_offices_load_counts_those_no_open_desk_serves() -> None:
    d = office()
    d.apply(c.OpenDesk(desk="m3"), T0)  # extract is served, certificate is not
    issue(d, "extract", T0)
    issue(d, "certificate", T0 + 1)
    issue(d, "certificate", T0 + 2)
    load = forecast.office_load(d, T0 + 3)
    assert load.unserved == 2 and load.waiting == 3
    assert "certificate" not in load.eta_by_service and "extract" in load.eta_by_service
