"""The planner's network day: visitors shown a faster office at the kiosk go there, after the road."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.errors import ConfigError
from cherga.sim.model import (
    NO_SHOW,
    ON,
    REDIRECTED,
    SERVED,
    WAITING,
    DayResult,
    Schedule,
    SimDispatcher,
    Visitors,
    day_start,
    default_schedule,
    hourly_schedule,
    make_visitors,
    office_seed,
    replication_seeds,
    simulate_day,
    simulate_network_day,
)
from cherga.sim.profile import Profile, default_profile, profile_from_dict, profile_to_dict
from cherga.sim.runner import run_network, summarise, summarise_network

NET: Network = load_network()
SERVICE = "residence-certificate"  # 6 minutes; offered at the main centre and at Zamostia, 20 minutes apart
OPEN = day_start(0) + 480.0  # Monday 08:00
MAIN_DESK = next(k for k, d in enumerate(NET.offices["main"].desks) if SERVICE in d.services)


def seeds(n: int = 1, seed: int = 11) -> list[np.random.SeedSequence]:
    return replication_seeds(np.random.default_rng(seed), n)


def rich(office: str, share: float = 0.0) -> Profile:
    return default_profile(NET, office).with_changes(
        patience_mean_min=30.0, no_show_share=0.05, second_service_share=0.2, booked_share=0.1,
        vulnerable_share=0.1, redirect_share=share,
    )


def crowd(n: int, *, service_min: float, travels: bool, gap: float = 1.0) -> Visitors:
    """``n`` visitors for one service, ``gap`` minutes apart from 08:00, all willing (or not) to go elsewhere."""
    return Visitors(
        t=[OPEN + i * gap for i in range(n)], service=[SERVICE] * n,
        category=[NET.services[SERVICE].category.value] * n,
        vulnerable=[False] * n, service_min=[service_min] * n, patience=[math.inf] * n, no_show=[False] * n,
        second=[None] * n, second_min=[0.0] * n, due=[None] * n, travels=[travels] * n,
    )


def one_desk_at_main_full_zamostia(
    main: Visitors, *, sink: list[e.BaseEvent] | None = None
) -> tuple[dict[str, DayResult], dict[str, Dispatcher]]:
    """The main centre with a single desk on duty; Zamostia fully staffed, with no visitors of its own."""
    schedules = {
        "main": Schedule(OPEN, OPEN + 600.0, ((OPEN, MAIN_DESK, ON),)),
        "zamostia": default_schedule(NET.offices["zamostia"], 0),
    }
    ds = {oid: SimDispatcher(NET, oid, eta=True) for oid in schedules}
    visitors = {"main": main, "zamostia": Visitors()}
    out = simulate_network_day(NET, visitors, schedules, ds, day=0, sink=None if sink is None else sink.extend)  # type: ignore[arg-type]
    return out, ds


def by_office(events: list[e.BaseEvent]) -> dict[str, list[e.BaseEvent]]:
    out: dict[str, list[e.BaseEvent]] = {}
    for ev in events:
        out.setdefault(ev.office, []).append(ev)
    return out


def assert_valid_journals(events: list[e.BaseEvent], ds: dict[str, Dispatcher]) -> None:
    for oid, evs in by_office(events).items():
        assert [ev.seq for ev in evs] == list(range(1, len(evs) + 1)), oid
        assert all(a.at <= b.at for a, b in itertools.pairwise(evs)), f"{oid}: time never runs backwards"
        fresh = SimDispatcher(NET, oid)
        fresh.replay(evs)
        assert fresh.digest() == ds[oid].digest(), oid
        ds[oid]._check()


# ------------------------------------------------------------------------------------------------ no journeys


def test_nobody_willing_to_travel_leaves_every_office_exactly_as_it_runs_alone() -> None:
    ss = seeds(1, 5)[0]
    schedules = {oid: s for oid in NET.offices if (s := default_schedule(NET.offices[oid], 0)) is not None}
    visitors = {oid: make_visitors(NET, NET.offices[oid], rich(oid), 0, office_seed(ss, oid)) for oid in schedules}
    together: list[e.BaseEvent] = []
    ds = {oid: SimDispatcher(NET, oid, eta=True) for oid in schedules}
    res = simulate_network_day(NET, visitors, schedules, ds, day=0, sink=together.extend)
    for oid in schedules:
        alone: list[e.BaseEvent] = []
        r = simulate_day(NET, oid, visitors[oid], schedules[oid], day=0, eta=True, sink=alone.extend)
        assert by_office(together)[oid] == alone, oid
        assert res[oid].wait == pytest.approx(r.wait, nan_ok=True)
        assert res[oid].outcome == r.outcome
        assert res[oid].moved == {} and res[oid].came_from == {}
    assert len(together) > 1000


def test_offices_draw_unrelated_visitors_and_the_willing_are_drawn_beside_the_rest() -> None:
    ss = seeds(1, 7)[0]
    a = make_visitors(NET, NET.offices["main"], rich("main"), 0, office_seed(ss, "main"))
    b = make_visitors(NET, NET.offices["vyshenka"], rich("vyshenka"), 0, office_seed(ss, "vyshenka"))
    assert a.t[:20] != b.t[:20]
    willing = make_visitors(NET, NET.offices["main"], rich("main", 0.4), 0, office_seed(ss, "main"))
    # the same visitors (common random numbers): only who may travel is new
    assert (willing.t, willing.service, willing.service_min, willing.patience, willing.no_show) == (
        a.t, a.service, a.service_min, a.patience, a.no_show)
    assert a.travels == []
    share = sum(willing.travels) / len(willing)
    assert len(willing) > 100 and 0.3 < share < 0.5


# ------------------------------------------------------------------------------------------------ journeys


def test_an_overloaded_office_sends_willing_visitors_to_a_free_one_after_the_road() -> None:
    events: list[e.BaseEvent] = []
    res, ds = one_desk_at_main_full_zamostia(crowd(40, service_min=6.0, travels=True), sink=events)
    main, zam = res["main"], res["zamostia"]
    travel = NET.travel("main", "zamostia")
    assert travel == 20.0

    moved = [i for i, o in enumerate(main.outcome) if o == REDIRECTED]
    assert len(moved) >= 10, "most of the crowd would wait far past the target at one desk"
    assert 0 not in moved and 1 not in moved, "the first visitors are called within the target and stay"
    assert main.moved == {i: ("zamostia", travel) for i in moved}
    assert WAITING not in main.outcome and WAITING not in zam.outcome

    journals = by_office(events)
    issued_main = {ev.ticket: ev for ev in journals["main"] if isinstance(ev, e.TicketIssued)}
    redirected = [ev for ev in journals["main"] if isinstance(ev, e.TicketRedirected)]
    issued_zam = {ev.ticket: ev for ev in journals["zamostia"] if isinstance(ev, e.TicketIssued)}
    called_zam = {ev.ticket: ev.at for ev in journals["zamostia"] if isinstance(ev, e.TicketCalled)}
    # as travellers leave, those behind them are called sooner than the kiosk said: a few are called here while on
    # the road (a no-show here, and a new ticket there); the others' tickets move when they get there
    road_no_shows = {ev.ticket for ev in journals["main"] if isinstance(ev, e.TicketNoShow)}
    assert len(redirected) >= 10
    assert len(redirected) + len(road_no_shows) == len(moved) == len(issued_zam) == len(zam.came_from)
    assert {ev.origin for ev in issued_zam.values()} == {ev.ticket for ev in redirected} | road_no_shows
    for ev in redirected:
        # each leaves when the kiosk shows them the wait, and their ticket moves when they get there
        assert ev.to_office == "zamostia"
        assert ev.at == pytest.approx(issued_main[ev.ticket].at + travel * 60.0)
        assert issued_main[ev.ticket].eta_min > NET.targets.target_min
        new = issued_zam[ev.new_ticket]
        assert (new.channel, new.origin, new.service, new.at) == ("redirect", ev.ticket, SERVICE, ev.at)
        assert not new.head, "at the end of the line there, as a newcomer"
        assert called_zam[ev.new_ticket] >= new.at, "nobody is called at Zamostia before they are there"
    # their rows there: arrival time, origin, and the wait counted from their ticket there
    for j, (origin, oi) in zam.came_from.items():
        assert origin == "main" and oi in moved
        assert zam.visitors.t[j] == pytest.approx(main.visitors.t[oi] + travel)
        assert zam.outcome[j] == SERVED
    assert_valid_journals(events, ds)

    # the same crowd with nobody willing to travel: the main centre's waits were far worse
    stay, _ = one_desk_at_main_full_zamostia(crowd(40, service_min=6.0, travels=False))
    assert all(o == SERVED for o in stay["main"].outcome)
    stayed = [w for w, o in zip(main.wait, main.outcome, strict=True) if o != REDIRECTED]
    assert max(stayed) < max(stay["main"].wait) - 60.0
    # and those who went were called sooner, road included, than they would have been had they stayed
    there = {oi: zam.wait[j] for j, (_, oi) in zam.came_from.items()}
    assert sum(travel + w for w in there.values()) < sum(stay["main"].wait[oi] for oi in there) - 60.0 * len(there) / 2
    assert stay["zamostia"].came_from == {} and len(stay["zamostia"].wait) == 0


def test_a_visitor_called_while_on_the_road_is_a_no_show_here_and_takes_a_new_ticket_there() -> None:
    """The kiosk's forecast expects 6-minute visits; these take 12 seconds, so the desk reaches the travellers
    long before the twenty minutes of their road are over."""
    events: list[e.BaseEvent] = []
    res, ds = one_desk_at_main_full_zamostia(crowd(12, service_min=0.2, travels=True, gap=0.01), sink=events)
    main, zam = res["main"], res["zamostia"]
    journals = by_office(events)
    no_shows = {ev.ticket for ev in journals["main"] if isinstance(ev, e.TicketNoShow)}
    assert len(no_shows) >= 3, "travellers were called at the main centre while on the road"
    redirected = {ev.ticket for ev in journals["main"] if isinstance(ev, e.TicketRedirected)}
    assert not no_shows & redirected
    new = [ev for ev in journals["zamostia"] if isinstance(ev, e.TicketIssued)]
    assert {ev.origin for ev in new} == no_shows | redirected
    assert all(ev.channel == "redirect" for ev in new)
    # a no-show's new ticket is taken at the moment they get there, like a redirect's
    issued_main = {ev.ticket: ev.at for ev in journals["main"] if isinstance(ev, e.TicketIssued)}
    assert all(ev.at == pytest.approx(issued_main[ev.origin] + 20.0 * 60.0) for ev in new if ev.origin in no_shows)
    # still a journey, not a no-show, in the results: the visit goes on at Zamostia
    assert sum(o == REDIRECTED for o in main.outcome) == len(no_shows | redirected) == len(zam.came_from)
    assert NO_SHOW not in main.outcome
    assert all(o == SERVED for o in zam.outcome)
    assert_valid_journals(events, ds)


def test_no_office_that_lacks_a_service_of_the_visit_or_closes_before_arrival_is_offered() -> None:
    v = crowd(30, service_min=6.0, travels=True)
    v.second = ["driving-licence-issuance"] * 30  # offered at the main centre only
    v.second_min = [2.0] * 30
    res, _ = one_desk_at_main_full_zamostia(v)
    assert REDIRECTED not in res["main"].outcome

    late = crowd(30, service_min=6.0, travels=True)
    late.t = [day_start(0) + 1020.0 - 15.0 + i * 0.1 for i in range(30)]  # Zamostia closes at 17:00, 20 min away
    schedules = {
        "main": Schedule(late.t[0], late.t[0] + 600.0, ((late.t[0], MAIN_DESK, ON),)),
        "zamostia": default_schedule(NET.offices["zamostia"], 0),
    }
    ds = {oid: SimDispatcher(NET, oid, eta=True) for oid in schedules}
    out = simulate_network_day(NET, {"main": late, "zamostia": Visitors()}, schedules, ds, day=0)  # type: ignore[arg-type]
    assert REDIRECTED not in out["main"].outcome


# ------------------------------------------------------------------------------------------------ runs and results


def test_a_network_run_counts_each_visitor_once_and_reports_the_journeys() -> None:
    profiles = {oid: rich(oid, 0.6) for oid in ("main", "zamostia", "vyshenka")}
    thin = {h: [MAIN_DESK, MAIN_DESK + 1] for h in range(24)}

    def schedule_for(oid: str, day: int) -> Schedule | None:
        if oid == "main":
            return hourly_schedule(NET.offices["main"], day, thin)
        return default_schedule(NET.offices[oid], day)

    events: list[e.BaseEvent] = []
    res = run_network(NET, profiles, days=[0], seeds=seeds(2, 3), schedule_for=schedule_for, sink=events.extend)
    second = events[next(i for i, ev in enumerate(events) if ev.seq == 1 and i > 0 and ev.office == events[0].office):]
    s = summarise_network(res, NET.targets)
    per_rep_moved = [sum(len(r.came_from) for oid in res for r in res[oid][k]) for k in range(2)]
    assert all(m > 0 for m in per_rep_moved)
    assert s.journeys.moved.value == pytest.approx(sum(per_rep_moved) / 2)
    assert sum(s.journeys.routes.values()) == pytest.approx(s.journeys.moved.value)
    assert any(k.startswith("main→") for k in s.journeys.routes)
    assert s.journeys.travel_min.value >= 20.0  # the nearest office is 20 minutes away
    assert s.journeys.total_min.value == pytest.approx(s.journeys.travel_min.value + s.journeys.wait_there_min.value,
                                                       abs=5.0)
    # each visitor once: the network's tickets less the ones that moved on
    issued = sum(s.offices[oid].overall.issued.value for oid in res)
    assert s.overall.issued.value == pytest.approx(issued - s.journeys.moved.value)
    main = s.offices["main"].overall
    assert main.redirected is not None and main.redirected.value > 0.0
    assert summarise(res["main"], NET.targets).overall.redirected == main.redirected
    d = s.to_dict()
    assert set(d) == {"offices", "overall", "journeys"}
    assert d["offices"]["main"]["overall"]["redirected"] > 0.0
    # the second replication's journals start afresh (fresh dispatchers), each in time order
    assert all(a.at <= b.at for a, b in itertools.pairwise(ev for ev in second if ev.office == "zamostia"))
    kinds = Counter(type(ev).__name__ for ev in second if ev.office == "main")
    assert kinds["TicketRedirected"] > 0


def test_the_share_of_visitors_who_travel_is_part_of_the_profile() -> None:
    p = rich("main", 0.25)
    assert profile_from_dict(profile_to_dict(p), NET).redirect_share == 0.25
    data = profile_to_dict(p)
    data["redirect_share"] = 1.5
    with pytest.raises(ConfigError, match="redirect_share"):
        profile_from_dict(data, NET)
    del data["redirect_share"]
    assert profile_from_dict(data, NET).redirect_share == 0.0

