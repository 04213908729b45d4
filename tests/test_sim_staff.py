"""The staffing optimiser: Erlang C where Erlang C is exact, more where the simulation proves it short, and the plan
file that ``cherga sim run --plan`` (and the service's desk schedule) reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cherga.cli import main
from cherga.engine.loader import load_network
from cherga.engine.model import Category, Desk, Hours, Network, Office, OfficeKind, Service
from cherga.errors import ConfigError
from cherga.sim.erlang import min_servers
from cherga.sim.plan import Plan, PlanRow, desk_order, load_plan, plan_from_dict, skill_groups
from cherga.sim.profile import constant_profile, default_profile
from cherga.sim.staffing import ALL, DAY, OFFICE, Demand, lagged, plan_week

NET: Network = load_network()


def one_queue(desks: int, mean_min: float, hours: tuple[int, int] = (8 * 60, 16 * 60)) -> Network:
    svc = Service(id="svc", name_uk="Послуга", name_en="Service", category=Category.ACCEPTANCE, letter="A",
                  mean_service_min=mean_min)
    office = Office(
        id="one", name_uk="Офіс", name_en="Office", kind=OfficeKind.MAIN,
        desks=tuple(Desk(id=f"d{k + 1}", office="one", number=str(k + 1), services=frozenset({"svc"}))
                    for k in range(desks)),
        hours=Hours({0: hours}),
    )
    return Network(offices={"one": office}, services={"svc": svc}, travel_min={})


@pytest.mark.parametrize(("lam", "mean"), [(30.0, 10.0), (90.0, 10.0)])
def test_constant_demand_gets_erlang_cs_fewest_desks(lam: float, mean: float) -> None:
    net = one_queue(24, mean)
    prof = constant_profile(net, "one", lam, distribution="exponential")
    res = plan_week(net, "one", prof, np.random.default_rng(7), replications=16, weekdays=[0], workers=1)
    c = min_servers(lam / 60.0, mean)
    assert c > 1
    assert [row.desks for row in res.plan.rows] == [c] * 8
    assert [row.erlang_c for row in res.plan.rows] == [c] * 8
    day = res.days[0]
    assert day.failing == [] and day.short == {}
    # and the simulation agrees the office meets the targets with them
    chk = day.checks[(OFFICE, DAY, ALL)]
    assert chk.within_target.value >= 0.9 and chk.over_limit <= 0.01


def two_categories(desks: int) -> Network:
    """One desk group serving extracts (quick, ranked 3rd) and consultations (ranked last)."""
    quick = Service(id="extract", name_uk="Витяг", name_en="Extract", category=Category.QUICK, letter="B",
                    mean_service_min=10.0)
    advice = Service(id="advice", name_uk="Консультація", name_en="Advice", category=Category.CONSULTATION,
                     letter="K", mean_service_min=10.0)
    office = Office(
        id="one", name_uk="Офіс", name_en="Office", kind=OfficeKind.MAIN,
        desks=tuple(Desk(id=f"d{k + 1}", office="one", number=str(k + 1), services=frozenset({"extract", "advice"}))
                    for k in range(desks)),
        hours=Hours({0: (8 * 60, 16 * 60)}),
    )
    return Network(offices={"one": office}, services={"extract": quick, "advice": advice}, travel_min={})


def test_simulation_adds_desks_where_erlang_c_is_short() -> None:
    """Erlang C pools the categories; a strict priority order makes the last rank wait for everyone else. Its
    per-category target is missed with Erlang C's desks, the simulation proves it, and adds desks; the default
    "limits" rule, which calls a ticket nearing its limit ahead of rank, keeps Erlang C's desks."""
    net = two_categories(24)
    prof = constant_profile(net, "one", 60.0).with_changes(mix={"extract": 0.7, "advice": 0.3})
    c = min_servers(1.0, 10.0)
    strict = plan_week(net, "one", prof, np.random.default_rng(3), replications=16, weekdays=[0], workers=1,
                       rule="strict")
    desks = [row.desks for row in strict.plan.rows]
    assert all(n >= c for n in desks)
    assert sum(desks) > 8 * c
    assert [row.erlang_c for row in strict.plan.rows] == [c] * 8
    first = strict.days[0]
    assert first.failing == []
    limits = plan_week(net, "one", prof, np.random.default_rng(3), replications=16, weekdays=[0], workers=1)
    assert [row.desks for row in limits.plan.rows] == [c] * 8
    chk = limits.days[0].checks[(OFFICE, DAY, "consultation")]
    assert chk.within_target.value >= 0.9 and chk.over_limit <= 0.01


def test_lagged_sipp_shifts_load_by_one_service_time() -> None:
    d = [Demand(0.0, 0.0)] * 24
    d[8] = Demand(60.0, 15.0)
    d[9] = Demand(120.0, 15.0)
    d[10] = Demand(0.0, 0.0)
    lag = lagged(d, [8, 9, 10])
    assert lag[8].arrivals_per_hour == pytest.approx(60.0)  # the hour before opening counts as loaded as the first
    assert lag[9].arrivals_per_hour == pytest.approx(0.75 * 120 + 0.25 * 60)
    assert lag[10].arrivals_per_hour == pytest.approx(0.25 * 120)
    assert lag[10].mean_service_min == pytest.approx(15.0)


def test_skill_groups_of_the_demo_centre() -> None:
    office = NET.offices["main"]
    groups = skill_groups(office)
    ids = [office.desks[k].id for g in groups for k in g.desks]
    assert sorted(ids) == sorted(d.id for d in office.desks)  # every desk in exactly one group
    by_desk = {office.desks[k].id: g.id for g in groups for k in g.desks}
    assert [office.desks[k].id for k in groups[0].desks] == ["main-01"]  # passports stand alone
    assert by_desk["main-03"] == by_desk["main-07"] == by_desk["main-09"]  # extracts link residence, business, land
    assert by_desk["main-02"] == by_desk["main-14"] != by_desk["main-03"]
    # within a group, the first desks cover every service
    big = next(g for g in groups if len(g.desks) == 7)
    covered: set[str] = set()
    for k in big.desks[:3]:
        covered |= office.desks[k].services
    assert covered == set(big.services)
    assert desk_order(office, big.desks) == list(big.desks) or len(desk_order(office, big.desks)) == 7


def test_plan_file_round_trip_and_errors(tmp_path: Path) -> None:
    office = NET.offices["khutory"]
    plan = Plan("khutory", [PlanRow("mon", h, 1, 4.0, 9.0) for h in range(9, 16)])
    data = plan.to_dict(NET)
    assert data["desk_hours"] == 7.0
    assert set(data["plan"][0]) == {"day", "hour", "desks", "arrivals_per_hour", "mean_service_min"}
    back = plan_from_dict(data, NET)
    sched = back.schedule(NET, 0)
    assert sched is not None and len(sched.changes) == 1
    assert back.schedule(NET, 1) is not None and back.schedule(NET, 1).changes == ()  # type: ignore[union-attr]
    bad = json.loads(json.dumps(data))
    bad["plan"][2]["desks"] = len(office.desks) + 1
    with pytest.raises(ConfigError, match=r"plan\[2\]\.desks"):
        plan_from_dict(bad, NET)
    bad = json.loads(json.dumps(data))
    bad["plan"][0]["day"] = "monday"
    with pytest.raises(ConfigError, match=r"plan\[0\]\.day"):
        plan_from_dict(bad, NET)
    with pytest.raises(ConfigError, match="no such plan"):
        load_plan(tmp_path / "missing.json", NET)


def test_staff_command_writes_the_plan_the_chart_and_runs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.json"
    code = main(["sim", "staff", "--office", "vyshenka", "--out", str(out), "--reps", "4", "--workers", "1",
                 "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["office"] == "vyshenka"
    rows = printed["plan"]
    hours = NET.offices["vyshenka"].hours.by_weekday
    assert {r["day"] for r in rows} == {"mon", "tue", "wed", "thu", "fri", "sat"}
    assert len(rows) == sum((b - a) // 60 for a, b in hours.values())
    for r in rows:
        assert {"day", "hour", "desks", "arrivals_per_hour", "mean_service_min"} <= set(r)
        assert 1 <= r["desks"] <= 4 and r["arrivals_per_hour"] > 0 and r["mean_service_min"] > 0
        assert r["desks"] == sum(r["groups"].values())
    assert printed["desk_hours"] == pytest.approx(sum(r["desks"] for r in rows))
    png = out.with_suffix(".png")
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    code = main(["sim", "run", "--office", "vyshenka", "--plan", str(out), "--days", "6", "--reps", "2", "--json"])
    assert code == 0
    ran = json.loads(capsys.readouterr().out)
    assert ran["plan"] == str(out)
    assert ran["overall"]["served"] > 0

    code = main(["sim", "run", "--office", "main", "--plan", str(out), "--days", "1", "--reps", "1", "--json"])
    assert code == 2
    assert "vyshenka" in capsys.readouterr().err


def test_erlang_only_plan_is_quick_and_at_least_covers_the_services(tmp_path: Path) -> None:
    prof = default_profile(NET, "main")
    res = plan_week(NET, "main", prof, np.random.default_rng(1), simulate=False)
    assert res.days and all(dp.checks == {} for dp in res.days)
    groups = res.groups
    for dp in res.days:
        for h in dp.hours:
            for g in groups:
                assert 1 <= dp.counts[g.id][h] <= len(g.desks)


@pytest.mark.slow
def test_an_office_week_plan_fits_the_desks_there_are() -> None:
    # how long it takes is bench/test_bench_sim.py's business (goal: ≤ 60 s), never a test's
    res = plan_week(NET, "main", default_profile(NET, "main"), np.random.default_rng(1))
    assert res.desk_hours(NET) <= sum(len(NET.offices["main"].desks) * (b - a) / 60
                                      for a, b in NET.offices["main"].hours.by_weekday.values())
