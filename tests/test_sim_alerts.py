"""The planner knows the war (#15.6): air-raid alerts in the simulated day, their fit, and what they do to waits."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
from contextlib import redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from cherga.cli import main
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.loader import load_network
from cherga.errors import ConfigError
from cherga.sim.alerts import AlertSpan, fit_alerts, overlap, sound
from cherga.sim.calibrate import calibrate, read_alert_list
from cherga.sim.model import (
    ABANDONED,
    UNSERVED,
    DayResult,
    default_schedule,
    make_alerts,
    make_visitors,
    replication_seeds,
    simulate_day,
)
from cherga.sim.profile import Alerts, default_profile, load_profile, profile_from_dict, profile_to_dict, save_profile
from cherga.sim.runner import net_of_alerts, run_office, summarise

NET = load_network()
# `cherga sim run --office main --days 3 --reps 2 --seed 7 --json`, printed at 50214bd (before alerts were modelled)
BEFORE_ALERTS_SHA256 = "b388e4cc1c01adbf0ef079f04900008936c95f19b1757300d5ca0f8cf855b58f"


def cli_json(*argv: str) -> dict[str, object]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(list(argv)) == 0
    data = json.loads(buf.getvalue())
    assert isinstance(data, dict)
    return data


def cli_text(*argv: str) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(list(argv)) == 0
    return buf.getvalue()


def one_day(spans: tuple[AlertSpan, ...], *, patience: float | None = 40.0, seed: int = 3, load: float = 1.0
            ) -> tuple[list[e.BaseEvent], object]:
    office = NET.offices["main"]
    base = default_profile(NET, "main")
    # the profile's alerts only decide who comes back (70 %); the stops are the test's
    prof = base.with_changes(patience_mean_min=patience, no_show_share=0.0, alerts=Alerts(per_hour=1 / 24),
                             hourly={k: tuple(x * load for x in row) for k, row in base.hourly.items()})
    ss = replication_seeds(np.random.default_rng(seed), 1)[0]
    v = make_visitors(NET, office, prof, 0, ss)
    sched = default_schedule(office, 0)
    assert sched is not None
    events: list[e.BaseEvent] = []
    r = simulate_day(NET, "main", v, sched, day=0, sink=events.extend, alerts=spans)
    return events, r


def env_min_at(at: float) -> float:
    """Epoch seconds in the model's env minutes (EPOCH, Monday 08:00 Kyiv, is 0)."""
    return (at - datetime(2026, 11, 2, 8, tzinfo=ZoneInfo("Europe/Kyiv")).timestamp()) / 60.0


def env_min(ev: e.BaseEvent) -> float:
    return env_min_at(ev.at)


# ------------------------------------------------------------------------------------------------ no alerts


def test_an_alert_free_profile_gives_byte_identical_results_to_before() -> None:
    argv = ["sim", "run", "--office", "main", "--days", "3", "--reps", "2", "--seed", "7", "--json", "--quiet"]
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(argv) == 0
    text = buf.getvalue()
    assert hashlib.sha256(text.encode()).hexdigest() == BEFORE_ALERTS_SHA256
    # and saying "no alerts" is the same run
    buf2 = io.StringIO()
    with redirect_stdout(buf2):
        assert main([*argv, "--alerts", "0"]) == 0
    assert buf2.getvalue() == text
    # alerts only at night, every stop over before opening: the very same day
    office = NET.offices["main"]
    sched = default_schedule(office, 0)
    assert sched is not None
    ss = replication_seeds(np.random.default_rng(4), 1)[0]
    prof = default_profile(NET, "main")
    v = make_visitors(NET, office, prof, 0, ss)
    plain = simulate_day(NET, "main", v, sched, day=0)
    night = simulate_day(NET, "main", v, sched, day=0, alerts=(AlertSpan(-300.0, -200.0, -190.0, False),))
    # NaN (never called) in both at the same places: compared as text, since compiled NaNs are distinct objects
    assert repr(night.wait) == repr(plain.wait) and night.outcome == plain.outcome


# ------------------------------------------------------------------------------------------------ one alert


def test_an_alert_stops_calls_and_admissions_for_its_span_and_resumes_after_the_delay() -> None:
    start, clear, resume = 120.0, 160.0, 170.0  # 10:00 to 10:40, service back at 10:50
    events, r = one_day((AlertSpan(start, clear, resume, False),))
    issued = [ev for ev in events if isinstance(ev, e.TicketIssued)]
    called = [ev for ev in events if isinstance(ev, e.TicketCalled)]
    assert issued and called
    assert not [ev for ev in issued if start <= env_min(ev) < resume]  # nobody admitted
    assert not [ev for ev in called if start <= env_min(ev) < resume]  # nobody called
    # those who came meanwhile and came back take their tickets as service resumes, and are called from then
    assert any(env_min(ev) == pytest.approx(resume) for ev in issued)
    assert r.came_back > 0 and r.turned_away > 0  # type: ignore[attr-defined]
    assert min(env_min(ev) for ev in called if env_min(ev) >= resume) == pytest.approx(resume)
    # a visit under way is held: it ends its own minutes plus the stop after it began
    visitors = r.visitors  # type: ignore[attr-defined]
    row = {ev.ticket: k for k, ev in enumerate(issued)}
    call_at = {ev.ticket: env_min(ev) for ev in called}
    held = 0
    for ev in events:
        if isinstance(ev, e.ServiceFinished) and ev.ticket in call_at:
            t0 = call_at[ev.ticket]
            i = row[ev.ticket]
            took = visitors.service_min[i] if visitors.second[i] is None else None
            if took is not None and t0 < start < t0 + took:
                held += 1
                assert env_min(ev) == pytest.approx(t0 + took + (resume - start), abs=1e-6)
            assert not start < env_min(ev) < resume
    assert held > 0
    # the engine was told, through its own commands: the alert, then the all-clear with the resumption
    switched = [ev for ev in events if isinstance(ev, e.AlertChanged)]
    assert [(sw.active, env_min(sw)) for sw in switched] == [(True, start), (False, clear)]
    assert switched[1].resumes_at is not None
    assert env_min_at(switched[1].resumes_at) == pytest.approx(resume)
    # and the journal's alert events calibrate back to the alert
    cal = calibrate(NET, "main", events)
    assert cal.alerts is not None and cal.alerts.count == 1
    assert cal.alerts.mean_min == pytest.approx(clear - start)


def test_the_net_waits_leave_the_alert_time_out_and_patience_does_not_run_in_the_shelter() -> None:
    span = AlertSpan(150.0, 200.0, 210.0, False)
    _, r = one_day((span,), patience=25.0, seed=5, load=2.2)
    net = net_of_alerts(r)  # type: ignore[arg-type]
    v = r.visitors  # type: ignore[attr-defined]
    through = 0
    for i, w in enumerate(r.wait):  # type: ignore[attr-defined]
        if w == w:
            assert net.wait[i] == pytest.approx(w - overlap((span,), v.t[i], v.t[i] + w))
            if v.t[i] < span.start < v.t[i] + w:
                through += 1
                assert net.wait[i] == pytest.approx(w - (span.resume - span.start))
        if r.outcome[i] == ABANDONED:  # type: ignore[attr-defined]
            # gave up after exactly their patience, counted net of the stop
            assert net.waited[i] == pytest.approx(v.patience[i], abs=1e-6)
            assert r.waited[i] >= v.patience[i] - 1e-6  # type: ignore[attr-defined]
    assert through > 0
    assert any(o == ABANDONED and r.waited[i] > v.patience[i] + 1 for i, o in  # type: ignore[attr-defined]
               enumerate(r.outcome))  # type: ignore[attr-defined]


def test_an_alert_at_closing_time_ends_the_day_and_nobody_waiting_is_served() -> None:
    office = NET.offices["main"]
    sched = default_schedule(office, 0)
    assert sched is not None
    span = AlertSpan(sched.close - 20.0, sched.close + 30.0, sched.close + 40.0, False)
    events, r = one_day((span,), patience=None, load=2.2)
    assert not [ev for ev in events if isinstance(ev, e.TicketCalled) and env_min(ev) >= span.start]
    waiting_at_alert = [i for i, o in enumerate(r.outcome) if o == UNSERVED]  # type: ignore[attr-defined]
    assert waiting_at_alert
    assert all(r.visitors.t[i] < span.start for i in waiting_at_alert)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ many alerts


def test_more_alert_minutes_make_longer_raw_waits_and_the_net_waits_shorter_than_raw() -> None:
    base = default_profile(NET, "main")
    seeds = replication_seeds(np.random.default_rng(9), 6)
    means = []
    nets = []
    for mean_min in (0.0, 30.0, 90.0):
        prof = base if mean_min == 0 else base.with_changes(alerts=Alerts(per_hour=3 / 24, mean_min=mean_min,
                                                                          sd_min=mean_min / 2))
        res = run_office(NET, "main", prof, days=range(2), seeds=seeds)
        means.append(summarise(res, NET.targets).overall.mean_wait.value)
        nets.append(summarise([[net_of_alerts(d) for d in rep] for rep in res], NET.targets).overall.mean_wait.value)
        if mean_min:
            assert sum(d.alert_min for rep in res for d in rep) > 0
    assert means[0] < means[1] < means[2]
    assert nets[0] == means[0] and nets[1] < means[1] and nets[2] < means[2]


def test_the_alert_process_is_seeded_by_the_replication_and_repeats_exactly() -> None:
    prof = default_profile(NET, "main").with_changes(alerts=Alerts(per_hour=4 / 24, mean_min=50, sd_min=40))
    office = NET.offices["main"]
    a = [make_alerts(prof, office, d, ss) for ss in replication_seeds(np.random.default_rng(2), 3) for d in range(4)]
    b = [make_alerts(prof, office, d, ss) for ss in replication_seeds(np.random.default_rng(2), 3) for d in range(4)]
    c = [make_alerts(prof, office, d, ss) for ss in replication_seeds(np.random.default_rng(3), 3) for d in range(4)]
    assert a == b and a != c
    assert any(a)
    for spans in a:
        for x, y in itertools.pairwise(spans):
            assert x.resume < y.start  # merged: one stop until service has resumed
        for sp in spans:
            assert sp.resume == pytest.approx(sp.clear + (30.0 if sp.at_opening else 10.0))
    argv = ["sim", "run", "--office", "vyshenka", "--days", "3", "--reps", "2", "--seed", "4", "--alerts", "3:40",
            "--json", "--quiet"]
    assert cli_json(*argv) == cli_json(*argv)


# ------------------------------------------------------------------------------------------------ calibrate


def test_calibrate_recovers_a_known_rate_and_mean_duration_within_sampling_error(tmp_path: Path) -> None:
    rate_per_day, mean, sd = 2.5, 55.0, 40.0
    truth = Alerts(per_hour=rate_per_day / 24, mean_min=mean, sd_min=sd)
    rng = np.random.default_rng(17)
    tz = ZoneInfo("Europe/Kyiv")
    t0 = datetime(2026, 3, 1, tzinfo=tz)
    days = 120
    alerts = []
    for d in range(days):
        for s, end in sound(truth, rng, d * 1440.0):
            alerts.append({"start": (t0 + timedelta(minutes=s)).isoformat(),
                           "end": (t0 + timedelta(minutes=end)).isoformat()})
    f = tmp_path / "alerts.json"
    f.write_text(json.dumps({"from": "2026-03-01", "to": (t0 + timedelta(days=days - 1)).date().isoformat(),
                             "alerts": alerts}))
    listed, hours = read_alert_list(f, "Europe/Kyiv")
    assert hours == pytest.approx(days * 24.0, abs=1.0)  # a DST change in the period moves it an hour
    fit = fit_alerts(listed, hours)
    n = len(listed)
    assert abs(fit.per_day - rate_per_day) < 3 * math.sqrt(n) / hours * 24
    assert abs(fit.mean_min - mean) < 3 * sd / math.sqrt(n)
    assert abs(fit.sd_min - sd) < 0.25 * sd
    # through the command, into a profile that loads back with the alerts
    out = tmp_path / "profile.json"
    data = cli_json("sim", "calibrate", "--office", "main", "--alert-list", str(f), "--out", str(out), "--json",
                    "--quiet")
    report = data["report"]
    assert isinstance(report, dict) and report["alerts"]["count"] == n
    prof = load_profile(out, NET)
    assert prof.alerts is not None and prof.alerts.per_day == pytest.approx(fit.per_day, rel=1e-5)
    assert prof.alerts.mean_min == pytest.approx(fit.mean_min, rel=1e-4)


def test_profile_alerts_round_trip_and_errors_name_the_field(tmp_path: Path) -> None:
    prof = default_profile(NET, "main")
    assert "alerts" not in profile_to_dict(prof)  # no alerts: the file as before
    with_alerts = prof.with_changes(alerts=Alerts(per_hour=0.1, mean_min=45, sd_min=30, resume_after_min=5))
    path = tmp_path / "p.json"
    save_profile(with_alerts, path)
    back = load_profile(path, NET)
    assert back.alerts is not None and back.alerts.per_day == pytest.approx(2.4)
    assert back.alerts.resume_after_min == 5 and back.alerts.sd_min == 30
    raw = profile_to_dict(with_alerts)
    for bad, message in (({"per_day": -1, "mean_min": 30}, "alerts.per_day"),
                         ({"per_day": 2, "mean_min": 30, "return_share": 2}, "alerts.return_share"),
                         ({"per_day": 2, "duration": "empirical"}, "empirical_min"),
                         ({"per_day": 2, "mean_min": 30, "colour": "red"}, "unknown field 'colour'"),
                         ({"mean_min": 30}, "per_day")):
        with pytest.raises(ConfigError, match=message):
            profile_from_dict({**raw, "alerts": bad}, NET)


# ------------------------------------------------------------------------------------------------ the commands


def test_run_json_keeps_the_documented_keys_and_adds_alerts_and_net_waits(
        capsys: pytest.CaptureFixture[str]) -> None:
    plain = cli_json("sim", "run", "--office", "main", "--days", "2", "--reps", "3", "--seed", "2", "--json",
                     "--quiet")
    data = cli_json("sim", "run", "--office", "main", "--days", "2", "--reps", "3", "--seed", "2", "--alerts",
                    "4:60", "--json", "--quiet")
    assert set(plain) | {"alerts", "wait_net_of_alerts"} == set(data)
    alerts = data["alerts"]
    assert isinstance(alerts, dict)
    assert {"count", "minutes", "per_day", "turned_away", "came_back", "model", "ci95"} <= set(alerts)
    assert alerts["count"] > 0 and alerts["minutes"] > 0
    assert alerts["model"]["per_day"] == 4 and alerts["model"]["mean_min"] == 60
    net = data["wait_net_of_alerts"]
    assert isinstance(net, dict) and set(net) == {"overall", "categories"}
    overall = data["overall"]
    assert isinstance(overall, dict)
    for key in ("mean_wait_min", "p90_wait_min", "max_wait_min", "share_within_15", "share_within_20"):
        assert key in net["overall"]
    assert net["overall"]["mean_wait_min"] < overall["mean_wait_min"]
    assert net["overall"]["share_within_15"] >= overall["share_within_15"]
    cats = data["categories"]
    assert isinstance(cats, dict) and set(net["categories"]) == set(cats)
    # the table says it in Ukrainian first
    text = cli_text("sim", "run", "--office", "main", "--days", "2", "--reps", "3", "--seed", "2", "--alerts",
                    "4:60", "--quiet")
    assert "Повітряні тривоги" in text and "без тривог" in text
    for bad, message in (("two:60", "RATE_PER_DAY:MEAN_MIN"), (None, "the profile has no alerts")):
        argv = ["sim", "run", "--office", "main", "--quiet", "--alerts"]
        assert main(argv + ([bad] if bad else [])) == 2
        assert message in capsys.readouterr().err


def test_staff_plans_for_alerts_on_waits_net_of_alerts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cherga.sim.staffing import plan_week

    prof = default_profile(NET, "vyshenka")
    heavy = prof.with_changes(alerts=Alerts(per_hour=4 / 24, mean_min=60, sd_min=30))
    plain = plan_week(NET, "vyshenka", prof, np.random.default_rng(1), replications=4, weekdays=[1], workers=1)
    war = plan_week(NET, "vyshenka", heavy, np.random.default_rng(1), replications=4, weekdays=[1], workers=1)
    assert war.plan.desk_hours(NET) >= war.erlang_desk_hours() - 1e-9
    assert plain.days[0].checks != war.days[0].checks  # the alerts were simulated
    assert main(["sim", "staff", "--office", "vyshenka", "--out", str(tmp_path / "p.json"), "--alerts", "2:30",
                 "--erlang-only", "--quiet"]) == 2
    assert "--erlang-only cannot plan for alerts" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ the network, compare,
# forecast


def _network_day_under_alerts(seed: int) -> tuple[dict[str, DayResult], dict[str, Dispatcher], list[e.BaseEvent],
                                                     dict[str, tuple[AlertSpan, ...]]]:
    """The main centre thinly staffed beside the other offices at full strength, everyone willing to go elsewhere,
    one day under the region's alerts (three a day, about an hour each): the results, the dispatchers, the journal
    and each office's stops."""
    from cherga.sim.model import SimDispatcher, hourly_schedule, office_seed, simulate_network_day
    from cherga.sim.runner import alert_seed

    ss = replication_seeds(np.random.default_rng(seed), 1)[0]
    war = Alerts(per_hour=3 / 24, mean_min=60.0, sd_min=30.0)
    ids = ("main", "zamostia", "vyshenka")
    profiles = {oid: default_profile(NET, oid).with_changes(redirect_share=0.8, alerts=war) for oid in ids}
    main_desks = [k for k, d in enumerate(NET.offices["main"].desks)][:3]
    schedules = {oid: (hourly_schedule(NET.offices[oid], 0, {h: main_desks for h in range(24)}) if oid == "main"
                       else default_schedule(NET.offices[oid], 0)) for oid in ids}
    visitors = {oid: make_visitors(NET, NET.offices[oid], profiles[oid], 0, office_seed(ss, oid)) for oid in ids}
    spans = {oid: make_alerts(profiles[oid], NET.offices[oid], 0, alert_seed(NET, ss, oid)) for oid in ids}
    ds = {oid: SimDispatcher(NET, oid, eta=True) for oid in ids}
    events: list[e.BaseEvent] = []
    res = simulate_network_day(NET, visitors, {k: v for k, v in schedules.items() if v is not None}, ds, day=0,
                               sink=events.extend, alerts=spans)
    return res, ds, events, spans


def test_the_network_with_redirects_runs_under_alerts_and_keeps_its_journals() -> None:
    from cherga.sim.model import SimDispatcher

    res, ds, events, spans = _network_day_under_alerts(4)
    # one siren for the region: the same alerts at every office (each then with its own hours)
    starts = {oid: {sp.start for sp in s} for oid, s in spans.items()}
    assert starts["main"] and starts["main"] == starts["zamostia"] == starts["vyshenka"], starts
    moved = sum(len(r.came_from) for r in res.values())
    assert moved > 0, "nobody went elsewhere: the day tests nothing of the journeys"
    for oid, r in res.items():
        evs = [ev for ev in events if ev.office == oid]
        # the journal: numbered without a gap, in time order, replayed exactly, every invariant kept
        assert [ev.seq for ev in evs] == list(range(1, len(evs) + 1)), oid
        assert all(a.at <= b.at for a, b in itertools.pairwise(evs)), oid
        fresh = SimDispatcher(NET, oid)
        fresh.replay(evs)
        assert fresh.digest() == ds[oid].digest(), oid
        ds[oid]._check()
        # told of its alerts through the engine's own commands; nobody issued, sent there or called meanwhile
        switched = [ev for ev in evs if isinstance(ev, e.AlertChanged)]
        assert switched, oid
        for sp in spans[oid]:
            busy = [ev for ev in evs if isinstance(ev, (e.TicketIssued, e.TicketCalled))
                    and sp.start <= env_min(ev) < sp.resume - 1e-9]
            assert not busy, (oid, sp, busy[:3])
        assert r.alert_count > 0 and r.alert_min > 0
        raw = [w for w in r.wait if w == w]
        net = [w for w in net_of_alerts(r).wait if w == w]
        assert len(raw) == len(net) and all(n <= w + 1e-9 for n, w in zip(net, raw, strict=True)), oid


def test_run_with_redirects_and_alerts_reports_both(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sim", "run", "--office", "zamostia", "--days", "2", "--reps", "2", "--seed", "3", "--redirects", "0.5",
            "--json", "--quiet"]
    plain = cli_json(*argv)
    war = cli_json(*argv, "--alerts", "4:90")
    assert cli_json(*argv, "--alerts", "0") == plain  # no alerts: exactly the run without them
    assert set(plain) | {"alerts", "wait_net_of_alerts"} == set(war)
    alerts = war["alerts"]
    assert isinstance(alerts, dict) and alerts["count"] > 0 and alerts["minutes"] > 0
    raw, net = war["overall"], war["wait_net_of_alerts"]["overall"]  # type: ignore[index]
    assert isinstance(raw, dict) and isinstance(net, dict)
    assert net["mean_wait_min"] < raw["mean_wait_min"]
    assert raw["mean_wait_min"] > plain["overall"]["mean_wait_min"]  # type: ignore[index]
    assert "journeys" in war["network"]  # type: ignore[operator]
    text = cli_text(*argv[:-2], "--alerts", "4:90", "--quiet")
    assert "Повітряні тривоги" in text and "без тривог" in text


def test_compare_and_forecast_take_alerts() -> None:
    base = ["--office", "main", "--days", "1", "--reps", "3", "--seed", "4", "--json", "--quiet"]
    rules = ["--rules", "fifo,limits"]
    plain = cli_json("sim", "compare", *base, *rules)
    war = cli_json("sim", "compare", *base, *rules, "--alerts", "4:90")
    assert set(war) == set(plain) | {"alerts", "wait_net_of_alerts"}
    assert war["alerts"]["count"] > 0  # type: ignore[index]
    for rule in ("fifo", "limits"):
        raw = war["rules"][rule]["overall"]  # type: ignore[index]
        assert raw["mean_wait_min"] > plain["rules"][rule]["overall"]["mean_wait_min"]  # type: ignore[index]
        assert war["wait_net_of_alerts"][rule]["overall"]["mean_wait_min"] < raw["mean_wait_min"]  # type: ignore
    fplain = cli_json("sim", "forecast", *base)
    fwar = cli_json("sim", "forecast", *base, "--alerts", "4:90")
    assert "net_of_alerts" not in fplain and fwar["alerts"]["count"] > 0  # type: ignore[index]
    raw_o, net_o = fwar["overall"], fwar["net_of_alerts"]["overall"]  # type: ignore[index]
    assert raw_o["tickets"] == net_o["tickets"] > 0  # type: ignore[index]
    # the forecast cannot know the next alert: against the raw waits it promised too little, more than net
    assert raw_o["bias_min"] <= net_o["bias_min"]  # type: ignore[index]


def test_a_day_closed_under_an_alert_that_ends_in_the_night_opens_the_next_day_as_usual() -> None:
    """The engine heard no all-clear at the end of the day before (it closed early); the next morning's first
    command is the all-clear, so the kiosks issue again."""
    from cherga.sim.model import SimDispatcher, Visitors

    office = NET.offices["main"]
    prof = default_profile(NET, "main")
    ss = replication_seeds(np.random.default_rng(2), 1)[0]
    d = SimDispatcher(NET, "main")
    events: list[e.BaseEvent] = []
    s0 = default_schedule(office, 0)
    assert s0 is not None
    night = AlertSpan(s0.close - 30.0, s0.close + 300.0, s0.close + 310.0, False)
    # nobody comes on day 0: no visit under way holds the day open past the alert, which closes it at closing time
    simulate_day(NET, "main", Visitors(), s0, day=0, dispatcher=d, alerts=(night,), sink=events.extend)
    assert d.alert_active()
    s1 = default_schedule(office, 1)
    assert s1 is not None
    n = len(events)
    r = simulate_day(NET, "main", make_visitors(NET, office, prof, 1, ss), s1, day=1, dispatcher=d,
                     sink=events.extend)
    first = events[n + 0] if not isinstance(events[n], e.DayOpened) else events[n + 1]
    assert isinstance(first, e.AlertChanged) and not first.active, events[n:n + 3]
    assert not d.under_alert(events[-1].at)
    assert sum(1 for o in r.outcome if o != UNSERVED) > 0
    d._check()


def test_an_alert_at_closing_that_lasts_past_midnight_ends_the_day_before_it() -> None:
    """Visits under way when the alert catches closing time end "not served today" with the day, at closing time: held
    until the all-clear after midnight, their day would have closed in the next one (whose kiosks it stopped)."""
    from cherga.sim.model import SimDispatcher

    office = NET.offices["main"]
    prof = default_profile(NET, "main").with_changes(patience_mean_min=None)
    ss = replication_seeds(np.random.default_rng(6), 1)[0]
    d = SimDispatcher(NET, "main")
    events: list[e.BaseEvent] = []
    s0 = default_schedule(office, 0)
    assert s0 is not None
    span = AlertSpan(s0.close - 15.0, s0.close + 420.0, s0.close + 430.0, False)  # the all-clear after midnight
    r0 = simulate_day(NET, "main", make_visitors(NET, office, prof, 0, ss), s0, day=0, dispatcher=d, alerts=(span,),
                      sink=events.extend)
    closed = next(ev for ev in events if isinstance(ev, e.DayClosed))
    assert env_min(closed) == pytest.approx(s0.close)
    called = {ev.ticket for ev in events if isinstance(ev, e.TicketCalled)}
    finished = {ev.ticket for ev in events if isinstance(ev, e.ServiceFinished)}
    held = {ev.ticket for ev in events if isinstance(ev, e.TicketNotServed)} & called
    assert held and not held & finished, "a visit held at a desk ends with the day, not served"
    assert UNSERVED in r0.outcome
    n = len(events)
    s1 = default_schedule(office, 1)
    assert s1 is not None
    r1 = simulate_day(NET, "main", make_visitors(NET, office, prof, 1, ss), s1, day=1, dispatcher=d,
                      sink=events.extend)
    assert any(isinstance(ev, e.TicketIssued) for ev in events[n:])  # the next day's kiosks issue
    assert sum(1 for o in r1.outcome if o != UNSERVED) > 0
    d._check()
