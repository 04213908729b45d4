"""The SimPy model: it drives the real dispatcher, exactly, and its randomness is common across configurations."""

from __future__ import annotations

import heapq
import itertools
import json
import math
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.errors import ConfigError
from cherga.sim import defaults
from cherga.sim.mmc import OFFICE as MMC_OFFICE
from cherga.sim.mmc import mmc_network, mmc_visitors
from cherga.sim.model import (
    ABANDONED,
    EPOCH,
    EPOCH_S,
    NO_SHOW,
    ON,
    SERVED,
    UNSERVED,
    WAITING,
    Schedule,
    SimDispatcher,
    Visitors,
    day_start,
    default_schedule,
    hourly_schedule,
    make_visitors,
    replication_seeds,
    simulate_day,
)
from cherga.sim.profile import (
    Profile,
    default_profile,
    load_profile,
    profile_from_dict,
    profile_to_dict,
    save_profile,
)
from cherga.sim.runner import compare_rules, run_office, summarise

NET: Network = load_network()


def seeds(n: int = 1, seed: int = 11) -> list[np.random.SeedSequence]:
    return replication_seeds(np.random.default_rng(seed), n)


# ------------------------------------------------------------------------------------------------ exactness


def fifo_waits(arrivals: list[float], services: list[float], c: int) -> list[float]:
    """The Kiefer-Wolfowitz recursion: first come, first served on c servers."""
    free = [0.0] * c
    out = []
    for t, s in zip(arrivals, services, strict=True):
        f = heapq.heappop(free)
        start = max(t, f)
        out.append(start - t)
        heapq.heappush(free, start + s)
    return out


@pytest.mark.parametrize("desks", [1, 3, 8])
def test_one_queue_through_the_dispatcher_is_exactly_first_come_first_served(desks: int) -> None:
    net = mmc_network(desks, 10.0)
    v = mmc_visitors(desks * 5.0, 10.0, 30.0, seeds()[0])
    sched = Schedule(0.0, 30 * 60.0, tuple((0.0, k, ON) for k in range(desks)))
    r = simulate_day(net, MMC_OFFICE, v, sched, day=0)
    assert r.outcome == [SERVED] * len(v)
    assert r.wait == pytest.approx(fifo_waits(v.t, v.service_min, desks), abs=1e-9)
    assert math.fsum(r.busy_min) == pytest.approx(math.fsum(v.service_min))


def _rich_profile(office: str) -> Profile:
    return default_profile(NET, office).with_changes(
        patience_mean_min=12.0, no_show_share=0.1, second_service_share=0.25, booked_share=0.2, vulnerable_share=0.1,
    )


def test_a_day_is_a_valid_journal_that_replays_to_the_same_state() -> None:
    office = "zamostia"
    events: list[e.BaseEvent] = []
    d = SimDispatcher(NET, office)
    v = make_visitors(NET, NET.offices[office], _rich_profile(office), 0, seeds()[0])
    sched = default_schedule(NET.offices[office], 0)
    assert sched is not None
    r = simulate_day(NET, office, v, sched, day=0, sink=events.extend, dispatcher=d)
    d._check()
    assert [ev.seq for ev in events] == list(range(1, len(events) + 1))
    assert all(a.at <= b.at for a, b in itertools.pairwise(events)), "time never runs backwards"
    fresh = SimDispatcher(NET, office)
    fresh.replay(events)
    assert fresh.digest() == d.digest()
    assert isinstance(events[-1], e.DayClosed)

    # every visitor's fate is known, and matches the journal
    assert WAITING not in r.outcome
    kinds = Counter(type(ev).__name__ for ev in events)
    n = len(v)
    assert kinds["TicketIssued"] == n
    fate = Counter(r.outcome)
    assert fate[SERVED] + fate[NO_SHOW] + fate[ABANDONED] + fate[UNSERVED] == n
    assert fate[ABANDONED] == sum(1 for ev in events if isinstance(ev, e.TicketCancelled) and ev.reason == "visitor")
    assert fate[NO_SHOW] == kinds["TicketNoShow"] > 0
    assert fate[ABANDONED] > 0
    # a no-show is recalled until the policy's number of calls, then the dispatcher marks it
    assert kinds["TicketRecalled"] == fate[NO_SHOW] * (NET.policy.max_calls - 1)
    # second services go back to the queue on the same ticket
    seconds = sum(1 for ev in events if isinstance(ev, e.ServiceFinished) and ev.next_service is not None)
    assert seconds > 0
    assert kinds["ServiceFinished"] == fate[SERVED] + seconds
    # booked visits carry their slot
    issued = [ev for ev in events if isinstance(ev, e.TicketIssued)]
    booked = [ev for ev in issued if ev.due_at is not None]
    assert len(booked) == sum(1 for x in v.due if x is not None) > 0
    assert all(ev.channel == "booking" and ev.due_at is not None and ev.due_at > ev.at for ev in booked)
    # a visitor who gives up does so exactly when patience runs out
    for i, o in enumerate(r.outcome):
        if o == ABANDONED:
            assert r.waited[i] == pytest.approx(v.patience[i])
            assert math.isnan(r.wait[i])
    # the category at issue: the flag wins
    for ev, cat in zip(issued, v.category, strict=True):
        assert ev.category == cat
        assert (cat == "vulnerable") == ev.vulnerable


@pytest.mark.parametrize("seed", [2, 3])
def test_a_desk_back_from_its_break_first_lets_go_those_whose_patience_ran_out(seed: int) -> None:
    """One desk whose break stops the office: a visitor who gave up during the break leaves at that moment, before
    the desk reopens. (The model once reopened first and cancelled after, so the journal went back in time.)"""
    office = "khutory"
    events: list[e.BaseEvent] = []
    d = SimDispatcher(NET, office)
    v = make_visitors(NET, NET.offices[office], _rich_profile(office), 0, seeds(1, seed)[0])
    sched = default_schedule(NET.offices[office], 0)
    assert sched is not None
    r = simulate_day(NET, office, v, sched, day=0, sink=events.extend, dispatcher=d)
    assert all(a.at <= b.at for a, b in itertools.pairwise(events)), "time never runs backwards"
    fresh = SimDispatcher(NET, office)
    fresh.replay(events)
    assert fresh.digest() == d.digest()
    paused, back = [ev.at for ev in events if isinstance(ev, e.DeskChanged)][1:3]
    gave_up = [ev.at for ev in events if isinstance(ev, e.TicketCancelled) and ev.reason == "visitor"]
    assert any(paused < at < back for at in gave_up), "this seed has a visitor giving up during the break"
    assert sum(o == ABANDONED for o in r.outcome) == len(gave_up)


def test_arrivals_while_every_desk_is_busy_cost_no_simpy_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every desk busy an arrival is applied, at its own time, before the next command; the waits are still
    exactly first come, first served (above), and SimPy schedules about one event per visitor, not two."""
    import simpy

    scheduled = [0]
    real = simpy.Environment.schedule

    def counting(self: simpy.Environment, *args: object, **kwargs: object) -> None:
        scheduled[0] += 1
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(simpy.Environment, "schedule", counting)
    desks = 2
    net = mmc_network(desks, 10.0)
    v = mmc_visitors(15.0, 10.0, 8.0, seeds()[0])  # 15 an hour for 2 desks that serve 12: always busy
    sched = Schedule(0.0, 8 * 60.0, tuple((0.0, k, ON) for k in range(desks)))
    r = simulate_day(net, MMC_OFFICE, v, sched, day=0)
    assert r.wait == pytest.approx(fifo_waits(v.t, v.service_min, desks), abs=1e-9)
    assert len(v) > 100
    # a service ends with one timeout per visitor; idle spells at the start add a few arrivals and wake-ups
    assert scheduled[0] < 1.2 * len(v)


def test_time_is_simpys_clock_from_a_monday_0800_in_kyiv() -> None:
    local = EPOCH.astimezone(ZoneInfo("Europe/Kyiv"))
    assert (local.weekday(), local.hour, local.minute) == (0, 8, 0)
    events: list[e.BaseEvent] = []
    day = 8  # the second week's Tuesday
    v = make_visitors(NET, NET.offices["main"], default_profile(NET, "main"), day, seeds()[0])
    sched = default_schedule(NET.offices["main"], day)
    assert sched is not None
    simulate_day(NET, "main", v, sched, day=day, sink=events.extend)
    opened = events[0]
    assert isinstance(opened, e.DayOpened)
    assert opened.day == "2026-11-10"
    first = datetime.fromtimestamp(events[1].at, ZoneInfo("Europe/Kyiv"))
    assert (first.weekday(), first.hour, first.minute) == (1, 8, 0)
    issued = [ev for ev in events if isinstance(ev, e.TicketIssued)]
    assert [ev.at for ev in issued] == pytest.approx([EPOCH_S + t * 60.0 for t in v.t])
    assert day_start(day) + 8 * 60 == pytest.approx((first.timestamp() - EPOCH_S) / 60.0)


def test_breaks_pause_desks_and_nobody_is_called_at_a_desk_on_break() -> None:
    office = "khutory"  # one desk: its break stops the office
    events: list[e.BaseEvent] = []
    v = make_visitors(NET, NET.offices[office], default_profile(NET, office), 0, seeds()[0])
    sched = default_schedule(NET.offices[office], 0)
    assert sched is not None
    simulate_day(NET, office, v, sched, day=0, sink=events.extend)
    status = [(ev.at, ev.status) for ev in events if isinstance(ev, e.DeskChanged)]
    assert [s for _, s in status][:3] == ["open", "paused", "open"]
    paused, back = status[1][0], status[2][0]
    assert back - paused == pytest.approx(30 * 60.0)
    assert not [ev for ev in events if isinstance(ev, e.TicketCalled) and paused <= ev.at < back]


def test_hourly_schedule_opens_and_closes_desks_on_the_hour_and_never_mid_visit() -> None:
    office = NET.offices["main"]
    on = {h: list(range(3 if h < 12 else 1)) for h in range(8, 20)}
    sched = hourly_schedule(office, 0, on)
    assert sched is not None
    assert sched.changes[:3] == ((0.0, 0, ON), (0.0, 1, ON), (0.0, 2, ON))
    assert {(t, k) for t, k, s in sched.changes if s != ON} == {(240.0, 1), (240.0, 2)}
    prof = default_profile(NET, "main").with_changes(mix={"results-issuance": 1.0})
    v = make_visitors(NET, office, prof, 0, seeds()[0])
    events: list[e.BaseEvent] = []
    simulate_day(NET, "main", v, sched, day=0, sink=events.extend)  # a refused CloseDesk would raise
    closed = [ev for ev in events if isinstance(ev, e.DeskChanged) and ev.status == "closed" and ev.desk != "main-01"]
    assert closed and min(ev.at for ev in closed) >= EPOCH_S + 240 * 60


# ------------------------------------------------------------------------------------------------ randomness


def test_same_seed_same_visitors_and_one_stream_per_service() -> None:
    office = NET.offices["main"]
    prof = default_profile(NET, "main")
    ss = seeds()[0]
    a = make_visitors(NET, office, prof, 0, ss)
    b = make_visitors(NET, office, prof, 0, seeds()[0])
    assert a.t == b.t and a.service == b.service and a.service_min == b.service_min
    assert make_visitors(NET, office, prof, 1, ss).t != a.t
    # dropping one service leaves every other service's visitors exactly as they were
    gone = "results-issuance"
    c = make_visitors(NET, office, prof.with_changes(mix={k: v for k, v in prof.mix.items() if k != gone}), 0, ss)

    def of(v: Visitors) -> list[tuple[float, str, float]]:
        return [(t, s, m) for t, s, m in zip(v.t, v.service, v.service_min, strict=True) if s != gone]

    assert of(c) == of(a)
    assert gone in a.service and gone not in c.service


def test_rules_are_compared_on_the_very_same_visitors() -> None:
    prof = default_profile(NET, "zamostia")
    res = compare_rules(NET, "zamostia", prof, rules=["strict", "fifo"], days=[0, 1], seeds=seeds(2))
    a, b = res["strict"], res["fifo"]
    assert a.overall.issued.value == b.overall.issued.value
    for cat in a.categories:
        assert a.categories[cat].issued.value == b.categories[cat].issued.value


def test_service_times_are_lognormal_with_the_services_mean_and_cv() -> None:
    prof = default_profile(NET, "main").with_changes(mix={"residence-registration": 1.0})
    xs: list[float] = []
    for ss in seeds(20):
        xs += make_visitors(NET, NET.offices["main"], prof, 0, ss).service_min
    x = np.array(xs)
    mean = NET.services["residence-registration"].mean_service_min
    assert x.mean() == pytest.approx(mean, rel=4 * defaults.SERVICE_CV / math.sqrt(x.size))
    logs = np.log(x)
    assert np.sqrt(np.expm1(logs.var())) == pytest.approx(defaults.SERVICE_CV, rel=0.08)


# ------------------------------------------------------------------------------------------------ profile


def test_default_profile_shapes_a_centres_week() -> None:
    prof = default_profile(NET, "main")
    per_day = {wd: sum(prof.hourly[wd]) for wd in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert per_day["mon"] == max(per_day.values())
    assert per_day["sun"] == 0.0  # the centre is closed on Sundays
    mon = prof.hourly["mon"]
    assert max(range(24), key=lambda h: mon[h]) in (10, 11)
    assert mon[12] < mon[11] and mon[13] < mon[14]  # the lunchtime dip, then the afternoon peak
    assert sum(prof.mix.values()) == pytest.approx(1.0)
    # heating season: subsidies up in November against July
    nov = prof.rates(NET, 0)["housing-subsidy"]
    jul = prof.with_changes(month=7).rates(NET, 0)["housing-subsidy"]
    assert sum(nov) > 3 * sum(jul)
    assert prof.rates(NET, 0)["results-issuance"] == prof.with_changes(month=7).rates(NET, 0)["results-issuance"]
    # a branch offers fewer services and sees a smaller flow
    branch = default_profile(NET, "zamostia")
    assert set(branch.mix) == set(NET.offices["zamostia"].services)
    assert sum(branch.hourly["mon"]) < per_day["mon"] / 3


def test_profile_round_trips_and_errors_name_the_field(tmp_path: Path) -> None:
    prof = default_profile(NET, "vyshenka")
    path = tmp_path / "p.json"
    save_profile(prof, path)
    back = load_profile(path, NET)
    assert all(back.hourly[k] == pytest.approx(prof.hourly[k], abs=1e-3) for k in prof.hourly)
    assert back.mix == pytest.approx(prof.mix, abs=1e-5)
    assert back.service_time.keys() == prof.service_time.keys()
    data = profile_to_dict(prof)
    data["hourly"]["mon"] = [1.0] * 23
    with pytest.raises(ConfigError, match=r"hourly\.mon"):
        profile_from_dict(data, NET)
    data = profile_to_dict(prof)
    data["mix"]["passport-foreign"] = 0.1  # not offered at Vyshenka
    with pytest.raises(ConfigError, match=r"mix\.passport-foreign"):
        profile_from_dict(data, NET)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"bad\.json"):
        load_profile(tmp_path / "bad.json", NET)
    assert json.loads(path.read_text())["office"] == "vyshenka"


def test_summary_counts_every_ticket_and_bounds_utilisation() -> None:
    res = run_office(NET, "vyshenka", _rich_profile("vyshenka"), days=range(2), seeds=seeds(3))
    s = summarise(res, NET.targets)
    total = sum(len(r.visitors) for rep in res for r in rep) / 3
    assert s.overall.issued.value == pytest.approx(total)
    assert sum(g.issued.value for g in s.categories.values()) == pytest.approx(total)
    assert s.overall.utilisation is not None and 0.0 < s.overall.utilisation.value < 1.0
    w15, w20 = s.overall.within[15.0].value, s.overall.within[20.0].value
    assert 0.0 <= w15 <= w20 <= 1.0
    assert s.overall.abandonment.value > 0
    d = s.to_dict()
    for key in ("served", "mean_wait_min", "p90_wait_min", "max_wait_min", "share_within_15", "share_within_20"):
        assert key in d["overall"]
        for cat in d["categories"].values():
            assert key in cat


def test_the_sim_dispatcher_decides_exactly_as_the_engines_own() -> None:
    """Numbered ids and no expected wait at issue change nothing about who is called when."""
    from cherga.engine.dispatcher import Dispatcher

    office = "vyshenka"
    v = make_visitors(NET, NET.offices[office], _rich_profile(office), 0, seeds()[0])
    sched = default_schedule(NET.offices[office], 0)
    assert sched is not None
    real = simulate_day(NET, office, v, sched, day=0, dispatcher=Dispatcher(NET, office))
    fast = simulate_day(NET, office, v, sched, day=0)
    with_eta = simulate_day(NET, office, v, sched, day=0, eta=True)
    assert fast.wait == pytest.approx(real.wait, nan_ok=True)
    assert fast.outcome == real.outcome == with_eta.outcome
    assert with_eta.eta == pytest.approx(real.eta, nan_ok=True)  # NaN: no open desk when it was issued
    assert all(x == 0.0 for x in fast.eta) and any(x > 0.0 for x in real.eta)
