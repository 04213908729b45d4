"""``cherga sim ...``: the planner's commands (see API.md and docs/planner.md).

Every command prints a table for people, in Ukrainian (``--lang en``: English), or with ``--json`` only JSON on
standard output, the same in either language. Progress bars (rich) go to standard error, only when it is a terminal,
only once a run has taken a second, and never with ``--quiet``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cherga.engine.loader import load_network
from cherga.engine.model import Category, Network
from cherga.engine.policy import RULES
from cherga.errors import ConfigError
from cherga.lang import DAYS, DESK_HOURS, DESKS, HOURS, REPLICATIONS, TICKETS, VISITORS, count
from cherga.sim import defaults
from cherga.sim.accuracy import forecast_accuracy
from cherga.sim.alerts import fit_alerts
from cherga.sim.calibrate import calibrate, read_alert_list, read_journal
from cherga.sim.mmc import simulate_mmc
from cherga.sim.model import Schedule, default_schedule, replication_seeds
from cherga.sim.noise_floor import noise_floor
from cherga.sim.plan import Plan, load_plan, save_plan
from cherga.sim.plot import chart_path, plot_staffing
from cherga.sim.profile import (
    WEEKDAYS,
    Alerts,
    Profile,
    alerts_to_dict,
    profile_to_dict,
    resolve_profile,
    save_profile,
)
from cherga.sim.runner import (
    OVERALL,
    NetworkSummary,
    ScheduleFor,
    Summary,
    compare_rules_results,
    net_waits_dict,
    run_network,
    run_office,
    summarise,
    summarise_alerts,
    summarise_network,
)
from cherga.sim.staffing import StaffingResult, abandonment_erlang_a, hour_shares, plan_week
from cherga.sim.texts import (
    ALERTS,
    MINUTES,
    category_name,
    group_name,
    office_name,
    overall_name,
    tr,
    weekday_name,
)

STDERR = Console(stderr=True)
PROGRESS_AFTER_S = 1.0  # a bar that would flash for a moment is only noise


def _out() -> Console:
    """Standard output's console; wide enough for the tables when it is not a terminal (a file, a pipe)."""
    con = Console()
    return con if con.is_terminal else Console(width=150)


def register(sub: Any) -> None:
    sim = sub.add_parser("sim", help="the planner: simulate an office, staff it, compare policies, calibrate")
    cmds = sim.add_subparsers(dest="sim_command", required=True, metavar="SIM_COMMAND")

    p = cmds.add_parser("mmc", help="one M/M/c queue through the real dispatcher, beside Erlang C")
    p.add_argument("--arrivals-per-hour", type=float, required=True)
    p.add_argument("--mean-service-min", type=float, required=True)
    p.add_argument("--desks", type=int, required=True)
    p.add_argument("--hours", type=float, required=True, help="simulated hours per replication")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reps", type=int, default=10, help="replications (default 10)")
    p.add_argument("--warmup-hours", type=float, default=None, help="left out at the start (default: a fifth)")
    p.add_argument("--patience-min", type=float, default=None,
                   help="mean (exponential) patience: M/M/c+M, and Erlang A beside the figures")
    p.add_argument("--json", action="store_true")
    _common_args(p)
    p.set_defaults(run=_mmc)

    p = cmds.add_parser("staff", help="desks per hour that meet the wait targets at the fewest desk-hours")
    _office_args(p)
    p.add_argument("--out", type=Path, required=True, help="the plan file (JSON); the chart goes beside it (.png)")
    p.add_argument("--reps", type=int, default=16,
                   help="replications per plan tried (default 16; up to 4 times as many where a figure is in doubt)")
    p.add_argument("--rule", choices=sorted(RULES), default=None, help="priority rule (default: the policy's)")
    p.add_argument("--erlang-only", action="store_true", help="Erlang C per hour, no correction by simulation")
    p.add_argument("--workers", type=int, default=None, help="processes for the days (default: CPU count)")
    _alerts_arg(p, "plan with air-raid alerts in the simulation, so the plan meets the targets net of alerts")
    p.set_defaults(run=_staff)

    p = cmds.add_parser("run", help="simulate the office and print waits per category")
    _office_args(p)
    p.add_argument("--plan", type=Path, default=None, help="desks per hour from `cherga sim staff`")
    p.add_argument("--days", type=int, default=7, help="days from a Monday (default 7)")
    p.add_argument("--reps", type=int, default=10, help="replications (default 10)")
    p.add_argument("--rule", choices=sorted(RULES), default=None, help="priority rule (default: the policy's)")
    p.add_argument("--redirects", type=float, default=None, metavar="SHARE",
                   help="simulate the whole network together: this share (0..1) of the visitors told at the kiosk "
                        "to wait past the target go to a faster office (default: this office alone)")
    _alerts_arg(p, "simulate air-raid alerts and show the waits raw and net of alerts")
    p.set_defaults(run=_run)

    p = cmds.add_parser("compare", help="the priority rules side by side on the same visitors")
    _office_args(p)
    p.add_argument("--plan", type=Path, default=None)
    p.add_argument("--days", type=int, default=5, help="days from a Monday (default 5)")
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--rules", default=",".join(RULES), help=f"comma-separated (default {','.join(RULES)})")
    _alerts_arg(p, "compare the rules under air-raid alerts (the same alerts for every rule), waits raw and net")
    p.set_defaults(run=_compare)

    p = cmds.add_parser("calibrate", help="fit an office's profile to its journal")
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--data", type=Path, default=None,
                   help="the service's data directory (journal.sqlite3); without it, only the alerts of "
                        "--alert-list are fitted, into the office's default profile")
    p.add_argument("--office", required=True)
    p.add_argument("--out", type=Path, default=None, help="profile file to write (default: print it)")
    p.add_argument("--alert-list", type=Path, default=None, metavar="FILE",
                   help='air-raid alerts to fit the rate and duration from: JSON {"from": "YYYY-MM-DD", "to": '
                        '"YYYY-MM-DD", "alerts": [{"start": ISO, "end": ISO}, ...]} (default: the journal\'s alerts)')
    p.add_argument("--alerts-empirical", action="store_true",
                   help="keep the alerts' own durations (empirical) instead of a fitted lognormal")
    p.add_argument("--json", action="store_true")
    _common_args(p)
    p.set_defaults(run=_calibrate)

    p = cmds.add_parser("forecast", help="the engine's expected waits against the waits that followed")
    _office_args(p)
    p.add_argument("--plan", type=Path, default=None)
    p.add_argument("--days", type=int, default=5)
    p.add_argument("--reps", type=int, default=5)
    _alerts_arg(p, "simulate air-raid alerts; the forecast's errors also against the waits net of alerts")
    p.add_argument("--noise-floor", type=int, default=0, metavar="N",
                   help="also measure what no forecast can beat on N tickets drawn at random (40 counterfactual "
                        "days each: slow; not with --alerts)")
    p.set_defaults(run=_forecast)


def _office_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, help="configuration directory (default: the demo)")
    p.add_argument("--office", required=True)
    p.add_argument("--profile", type=Path, default=None, help="demand profile (`cherga sim calibrate`)")
    p.add_argument("--month", type=int, default=None, choices=range(1, 13), metavar="1..12",
                   help="month for the seasonal multipliers (default profile: 11)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    _common_args(p)


def _alerts_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--alerts", nargs="?", const="profile", default=None, metavar="RATE_PER_DAY:MEAN_MIN[:SD_MIN]",
                   help=f"{what}: alerts a day (Poisson, night included) and their mean minutes (lognormal, SD the "
                        "mean unless given); alone: the profile's alerts; 0: none (default: the profile's, if any)")


def _alerts_profile(profile: Profile, value: str | None) -> Profile:
    """The profile with ``--alerts``: as it is (not given), the profile's own (``--alerts`` alone, which must have
    some), none (``0``, ``off``), or ``RATE_PER_DAY:MEAN_MIN[:SD_MIN]`` with the profile's delays and return share."""
    if value is None:
        return profile
    if value == "profile":
        if profile.alerts is None:
            raise ConfigError("--alerts: the profile has no alerts; give RATE_PER_DAY:MEAN_MIN (e.g. --alerts 2:45) "
                              "or calibrate them with `cherga sim calibrate --alert-list FILE`")
        return profile
    if value.strip().lower() in ("0", "off", "none"):
        return replace(profile, alerts=None)
    parts = value.split(":")
    try:
        nums = [float(x) for x in parts]
    except ValueError:
        nums = []
    if len(nums) not in (2, 3) or not all(x == x and x >= 0 for x in nums) or nums[1] <= 0:
        raise ConfigError(f"--alerts: expected RATE_PER_DAY:MEAN_MIN[:SD_MIN] with numbers (e.g. 2:45 or 2:45:60), "
                          f"the mean above 0, got {value!r}")
    if nums[0] == 0:
        return replace(profile, alerts=None)
    base = profile.alerts or Alerts(per_hour=0.0)
    mean = nums[1]
    sd = nums[2] if len(nums) == 3 else mean * defaults.ALERT_CV
    return replace(profile, alerts=replace(base, per_hour=nums[0] / 24.0, mean_min=mean, sd_min=sd,
                                           duration="lognormal", empirical_min=(), source="--alerts"))


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=["uk", "en"], default="uk",
                   help="language of the tables for people (default uk; --json is the same in both)")
    p.add_argument("--quiet", action="store_true", help="no progress bars on standard error")


def _network(args: argparse.Namespace) -> Network:
    net = load_network(args.config)
    office = getattr(args, "office", None)
    if office is not None and office not in net.offices:
        raise ConfigError(f"unknown office {office!r}; known: {', '.join(net.offices)}")
    return net


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")


def _share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ConfigError(f"{name} must be a share between 0 and 1, got {value:g}")


@contextmanager
def _progress(args: argparse.Namespace, label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error (never standard output) when it is a terminal and not ``--quiet``.

    It appears once the run has taken ``PROGRESS_AFTER_S``, counting what was done before, and goes when done."""
    quiet = bool(getattr(args, "quiet", False)) or not STDERR.is_terminal
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=STDERR, transient=True, disable=quiet,
    )
    task = bar.add_task(tr(_lang(args), label), total=total)
    lock = threading.Lock()
    state = {"done": False, "shown": False}

    def show() -> None:
        with lock:
            if not state["done"]:
                bar.start()
                state["shown"] = True

    timer = threading.Timer(PROGRESS_AFTER_S, show)
    timer.daemon = True
    if not quiet:
        timer.start()
    try:
        yield lambda n: bar.advance(task, n)
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if state["shown"]:
                bar.stop()


def _lang(args: argparse.Namespace) -> str:
    return str(getattr(args, "lang", "uk"))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def _pct(x: Any) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _min(x: Any) -> str:
    return "—" if x is None else f"{x:.1f}"


# ------------------------------------------------------------------------------------------------ mmc


def _mmc(args: argparse.Namespace) -> int:
    _positive("--desks", args.desks)
    _positive("--reps", args.reps)
    try:
        with _progress(args, "simulating M/M/c", None):
            res = simulate_mmc(args.arrivals_per_hour, args.mean_service_min, args.desks, args.hours,
                               np.random.default_rng(args.seed), replications=args.reps,
                               warmup_hours=args.warmup_hours, patience_min=args.patience_min)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    data = res.to_dict()
    if args.json:
        _print_json(data)
        return 0
    lang = _lang(args)
    sim, ec = data["simulated"], data.get("erlang_a", data["erlang_c"])
    model = tr(lang, "Erlang A" if "erlang_a" in data else "Erlang C")
    t = Table(title=tr(lang, "M/M/{c}: λ = {lam}/h, S = {s} min, {visitors} counted over {reps} × {hours} h",
                       c=args.desks, lam=f"{args.arrivals_per_hour:g}", s=f"{args.mean_service_min:g}",
                       visitors=count(res.customers, lang, VISITORS), reps=args.reps, hours=f"{args.hours:g}"))
    for col in ("", tr(lang, "simulated"), "± 95 %", model):
        t.add_column(col, justify="right")
    rows = [("mean_wait_min", "mean wait, min"), ("p_wait", "P(wait > 0)"), ("p_wait_over_15", "P(wait > 15 min)")]
    if "p_abandon" in sim:
        rows.append(("p_abandon", "P(gives up)"))
    rows = [(key, tr(lang, label)) for key, label in rows]
    for key, label in rows:
        ci = sim["ci95"][key]
        half = "—" if ci[0] is None else f"{(ci[1] - ci[0]) / 2:.4f}"
        t.add_row(label, f"{sim[key]:.4f}", half, "∞" if ec[key] is None else f"{ec[key]:.4f}")
    _out().print(t)
    return 0


# ------------------------------------------------------------------------------------------------ staff


def _staff(args: argparse.Namespace) -> int:
    net = _network(args)
    _positive("--reps", args.reps)
    profile = _alerts_profile(resolve_profile(net, args.office, args.profile, args.month), args.alerts)
    if profile.alerts is not None and args.erlang_only:
        raise ConfigError("--erlang-only cannot plan for alerts (Erlang C knows none); leave out one or the other")
    open_days = len(net.offices[args.office].hours.by_weekday)
    with _progress(args, "planning the week", open_days) as advance:
        res = plan_week(net, args.office, profile, np.random.default_rng(args.seed), replications=args.reps,
                        rule=args.rule, simulate=not args.erlang_only, workers=args.workers, progress=advance)
    lang = _lang(args)
    data = save_plan(res.plan, net, args.out)
    chart = plot_staffing(res, net, chart_path(args.out), lang=lang)
    if args.json:
        _print_json(data)
        return 0
    _staff_tables(res, net, lang)
    out = _out()
    out.print(tr(lang, "[bold]{n}[/] a week (Erlang C alone, capped at the desks there are: {ec}); "
                       "{reps} per day, {s} s",
                 n=count(res.desk_hours(net), lang, DESK_HOURS), ec=f"{res.erlang_desk_hours():g}",
                 reps=count(res.replications, lang, REPLICATIONS), s=f"{res.seconds:.1f}"))
    short = _erlang_short_line(res, net, lang)
    if short:
        out.print(short, style="red", soft_wrap=True, markup=False)  # one line, however long
    if profile.alerts is not None:
        a = profile.alerts
        out.print(tr(lang, "planned for air-raid alerts: {n} a day, {m} min on average, service back {r} min after "
                           "the all-clear; the targets met net of alerts",
                     n=f"{a.per_day:g}", m=f"{a.mean_min:.0f}", r=f"{a.resume_after_min:g}"))
    out.print(tr(lang, "plan: {plan}   chart: {chart}", plan=args.out, chart=chart))
    return 0


def _erlang_short_line(res: StaffingResult, net: Network, lang: str) -> str | None:
    """One line when Erlang C asks for more desks than a skill group has: no plan can give them."""
    office = net.offices[res.plan.office]
    need = have = 0
    names: list[str] = []
    slots: set[tuple[int, int]] = set()
    for g in res.groups:
        hours = [(dp, h) for dp in res.days for h in dp.erlang_short.get(g.id, ())]
        if not hours:
            continue
        names.append(group_name(g, office, net, lang))
        need += max(dp.erlang[g.id][h] for dp, h in hours)
        have += len(g.desks)
        slots |= {(dp.weekday, h) for dp, h in hours}
    if not slots:
        return None
    return tr(lang, "Not enough desks: Erlang C asks for {need}, the office has {have} ({groups}); for {hours} "
                    "over {days} no plan can reach its count.",
              need=count(need, lang, DESKS), groups="; ".join(names),
              have=have, hours=count(len(slots), lang, HOURS), days=count(len({d for d, _ in slots}), lang, DAYS))


def _staff_tables(res: StaffingResult, net: Network, lang: str) -> None:
    out = _out()
    office = net.offices[res.plan.office]
    hours = sorted({h for dp in res.days for h in dp.hours})
    t = Table(title=tr(lang, "{office}: desks on duty per hour (Erlang C's count in brackets)",
                       office=office_name(office, lang)))
    t.add_column(tr(lang, "hour"), justify="right")
    for dp in res.days:
        t.add_column(weekday_name(WEEKDAYS[dp.weekday], lang), justify="right")
    for h in hours:
        cells = []
        for dp in res.days:
            if h not in dp.hours:
                cells.append("")
                continue
            n = sum(dp.counts[g.id][h] for g in res.groups)
            ec = sum(dp.erlang[g.id][h] for g in res.groups)
            short = any(h in dp.short.get(g.id, ()) for g in res.groups)
            cells.append(f"{'[red]' if short else ''}{n} ({ec}){'[/]' if short else ''}")
        t.add_row(f"{h:02d}:00", *cells)
    t.add_row(tr(lang, "desk-h"),
              *[str(sum(dp.counts[g.id][h] for g in res.groups for h in dp.hours)) for dp in res.days])
    out.print(t)
    if any(dp.checks for dp in res.days):
        t2 = Table(title=tr(lang, "simulated: share of visitors called within 15 min / past 20 min, by hour of issue"))
        t2.add_column(tr(lang, "hour"), justify="right")
        for dp in res.days:
            t2.add_column(weekday_name(WEEKDAYS[dp.weekday], lang), justify="right")
        for h in hours:
            row = []
            for dp in res.days:
                if h not in dp.hours or not dp.checks:
                    row.append("")
                    continue
                w, o = hour_shares(dp, h)
                ok = w >= res.targets.share_within_target and o <= res.targets.share_over_limit
                row.append(f"{'' if ok else '[yellow]'}{_pct(w)} / {_pct(o)}{'' if ok else '[/]'}")
            t2.add_row(f"{h:02d}:00", *row)
        out.print(t2)
    g = Table(title=tr(lang, "skill groups (desks open in this order)"))
    for col in ("group", "services", "Erlang A: gave up at peak", "short (hours)"):
        g.add_column(tr(lang, col))
    for grp in res.groups:
        shorts = sorted({f"{weekday_name(WEEKDAYS[dp.weekday], lang)} {h:02d}"
                         for dp in res.days for h in dp.short.get(grp.id, ())})
        peak = max(((dp, h) for dp in res.days for h in dp.hours),
                   key=lambda x: x[0].demand[grp.id][x[1]].load, default=None)
        aband = "—"
        if peak is not None:
            dp, h = peak
            aband = _pct(abandonment_erlang_a(dp.demand[grp.id][h], dp.counts[grp.id][h], res.patience_mean_min))
        g.add_row(group_name(grp, office, net, lang), str(len(grp.services)), aband,
                  ", ".join(shorts[:6]) + (" …" if len(shorts) > 6 else ""))
    out.print(g)


# ------------------------------------------------------------------------------------------------ run


def _schedule(net: Network, office: str, plan_path: Path | None) -> tuple[ScheduleFor | None, Plan | None]:
    if plan_path is None:
        return None, None
    plan = load_plan(plan_path, net)
    if plan.office != office:
        raise ConfigError(f"{plan_path}: the plan is for office {plan.office!r}, not {office!r}")
    return (lambda day: plan.schedule(net, day)), plan


def _run(args: argparse.Namespace) -> int:
    net = _network(args)
    _positive("--days", args.days)
    _positive("--reps", args.reps)
    if args.redirects is not None:
        _share("--redirects", args.redirects)
        return _run_network(args, net)
    profile = _alerts_profile(resolve_profile(net, args.office, args.profile, args.month), args.alerts)
    schedule_for, _ = _schedule(net, args.office, args.plan)
    seeds = replication_seeds(np.random.default_rng(args.seed), args.reps)
    with _progress(args, "simulating", args.reps * args.days) as advance:
        results = run_office(net, args.office, profile, days=range(args.days), seeds=seeds, schedule_for=schedule_for,
                             rule=args.rule, progress=advance)
    summary = summarise(results, net.targets)
    data = summary.to_dict()
    data.update({"office": args.office, "seed": args.seed, "rule": args.rule or net.policy.rule,
                 "plan": str(args.plan) if args.plan else None, "profile": profile.source})
    alerts = None
    if profile.alerts is not None:
        alerts = summarise_alerts(results, net.targets)
        data["alerts"] = {"model": alerts_to_dict(profile.alerts), **alerts.to_dict()}
        data["wait_net_of_alerts"] = net_waits_dict(alerts.net)
    if args.json:
        _print_json(data)
        return 0
    lang = _lang(args)
    _summary_table(summary, _run_title(args, net, data["rule"]), lang)
    if alerts is not None:
        _alerts_table(summary, data, args, lang)
    return 0


def _alerts_table(summary: Summary, data: dict[str, Any], args: argparse.Namespace, lang: str) -> None:
    """The alerts' effect: how many and how long, who went home, and each category's waits raw and net of alerts."""
    out = _out()
    a = data["alerts"]
    n = a["count"] or 0.0
    m = a["minutes"] or 0.0
    out.print(tr(lang, "Air-raid alerts: {n} over {days} ({m} without service in opening hours, {pd} a day); "
                       "{away} went home, {back} came back when service resumed (per replication)",
                 n=count(round(n, 1), lang, ALERTS), days=count(args.days, lang, DAYS),
                 m=count(round(m), lang, MINUTES), pd=f"{a['per_day']['minutes'] or 0:.0f} {tr(lang, 'min')}",
                 away=count(round(a["turned_away"] or 0.0), lang, VISITORS), back=_min(a["came_back"])))
    net = data["wait_net_of_alerts"]
    raw = summary.to_dict()
    t = Table(title=tr(lang, "waits raw and net of alerts (the time from an alert to the resumption left out)"))
    for col in ("category", "mean wait", "net", "≤15 min", "net", "≤20 min", "net", "targets net"):
        t.add_column(tr(lang, col), justify="right" if col != "category" else "left")
    rows = [*((k, raw["categories"][k], v) for k, v in net["categories"].items()),
            (OVERALL, raw["overall"], net["overall"])]
    for name, g, gn in rows:
        meets = gn["meets_targets"]
        mark = "—" if meets is None else ("[green]✓[/]" if meets else "[red]✗[/]")
        label = overall_name(lang) if name == OVERALL else category_name(name, lang)
        t.add_row(label, _min(g["mean_wait_min"]), _min(gn["mean_wait_min"]), _pct(g["share_within_15"]),
                  _pct(gn["share_within_15"]), _pct(g["share_within_20"]), _pct(gn["share_within_20"]), mark)
    out.print(t)


def _run_title(args: argparse.Namespace, net: Network, rule: str, extra: str = "") -> str:
    lang = _lang(args)
    plan = tr(lang, ", plan ") + str(args.plan) if args.plan else ""
    return tr(lang, "{office}: {days} × {reps} (rule: {rule}{plan})",
              office=office_name(net.offices[args.office], lang), days=count(args.days, lang, DAYS),
              reps=count(args.reps, lang, REPLICATIONS), rule=rule,
              plan=plan + extra)


def _run_network(args: argparse.Namespace, net: Network) -> int:
    """``run --redirects SHARE``: every office of the network together, visitors free to go where it is faster.

    The ``--office`` office runs with ``--profile``/``--plan``; the others with their default profile (``--month``)
    and every desk on duty. Each office's profile is given ``redirect_share=SHARE``.
    """
    share = args.redirects
    office_id = args.office
    # the alerts of --alerts (or of the office's profile) sound over the network: every office of the region has
    # them (see run_network), each with its own hours and resume delays
    alerts = _alerts_profile(resolve_profile(net, office_id, args.profile, args.month), args.alerts).alerts
    profiles = {
        oid: replace(resolve_profile(net, oid, args.profile if oid == office_id else None, args.month),
                     redirect_share=share, alerts=alerts)
        for oid in net.offices
    }
    office_schedule, _ = _schedule(net, office_id, args.plan)

    def schedule_for(oid: str, day: int) -> Schedule | None:
        if oid == office_id and office_schedule is not None:
            return office_schedule(day)
        return default_schedule(net.offices[oid], day)

    seeds = replication_seeds(np.random.default_rng(args.seed), args.reps)
    with _progress(args, "simulating the network", args.reps * args.days) as advance:
        results = run_network(net, profiles, days=range(args.days), seeds=seeds, schedule_for=schedule_for,
                              rule=args.rule, progress=advance)
    network = summarise_network(results, net.targets)
    summary = network.offices[office_id]
    data = summary.to_dict()
    data.update({"office": office_id, "seed": args.seed, "rule": args.rule or net.policy.rule,
                 "plan": str(args.plan) if args.plan else None, "profile": profiles[office_id].source,
                 "redirects": share, "network": network.to_dict()})
    summary_alerts = None
    if alerts is not None:
        summary_alerts = summarise_alerts(results[office_id], net.targets)
        data["alerts"] = {"model": alerts_to_dict(alerts), **summary_alerts.to_dict()}
        data["wait_net_of_alerts"] = net_waits_dict(summary_alerts.net)
    if args.json:
        _print_json(data)
        return 0
    lang = _lang(args)
    _summary_table(summary, _run_title(args, net, data["rule"], tr(lang, "; the network together, {share} may go "
                                                                         "elsewhere", share=_pct(share))), lang)
    if summary_alerts is not None:
        _alerts_table(summary, data, args, lang)
    _network_tables(network, net, args.days, lang)
    return 0


def _network_tables(ns: NetworkSummary, net: Network, days: int, lang: str) -> None:
    out = _out()
    j = ns.journeys.to_dict()
    t = Table(title=tr(lang, "visitors who went to another office (per replication; the road, then the wait there)"))
    for col in ("route", "visitors", "a day", "road, min", "wait there, min", "in all, min"):
        t.add_column(tr(lang, col), justify="right" if col != "route" else "left")
    for route, n in j["routes"].items():
        a, _, b = route.partition("→")
        t.add_row(route, f"{n:.1f}", f"{n / days:.1f}", _min(net.travel(a, b)), "", "")
    t.add_row(tr(lang, "all"), _min(j["moved"]), _min(None if j["moved"] is None else j["moved"] / days),
              _min(j["travel_min"]), _min(j["wait_there_min"]), _min(j["total_min"]))
    out.print(t)
    o = Table(title=tr(lang, "the offices (tickets from elsewhere included; {overall}: every visitor once, where the "
                             "visit ended)", overall=overall_name(lang)))
    for col in ("office", "issued", "mean wait", "≤15 min", "redirected", "targets"):
        o.add_column(tr(lang, col), justify="right" if col != "office" else "left")
    rows = [(oid, s.overall.to_dict(ns.targets)) for oid, s in ns.offices.items()]
    rows.append((OVERALL, ns.overall.to_dict(ns.targets)))
    for name, g in rows:
        meets = g["meets_targets"]
        mark = "—" if meets is None else ("[green]✓[/]" if meets else "[red]✗[/]")
        redirected = g.get("redirected", 0.0) if name != OVERALL else None
        o.add_row(overall_name(lang) if name == OVERALL else name, _min(g["issued"]), _min(g["mean_wait_min"]),
                  _pct(g["share_within_15"]), _pct(redirected),
                  mark)
    out.print(o)


def _summary_table(summary: Summary, title: str, lang: str) -> None:
    d = summary.to_dict()
    t = Table(title=title)
    for col in ("category", "issued", "served", "mean wait", "p90", "max", "≤15 min", "≤20 min", "gave up",
                "targets"):
        t.add_column(tr(lang, col), justify="right" if col != "category" else "left")
    rows = [*d["categories"].items(), (OVERALL, d["overall"])]
    for name, g in rows:
        meets = g["meets_targets"]
        mark = "—" if meets is None else ("[green]✓[/]" if meets else "[red]✗[/]")
        label = overall_name(lang) if name == OVERALL else category_name(name, lang)
        t.add_row(label, _min(g["issued"]), _min(g["served"]), _min(g["mean_wait_min"]), _min(g["p90_wait_min"]),
                  _min(g["max_wait_min"]), _pct(g["share_within_15"]), _pct(g["share_within_20"]),
                  _pct(g["abandonment"]), mark)
    _out().print(t)
    util = d["overall"].get("utilisation")
    _out().print(tr(lang, "desk utilisation: {u}; figures per replication, ±95 % intervals in --json", u=_pct(util)))


# ------------------------------------------------------------------------------------------------ compare


def _compare(args: argparse.Namespace) -> int:
    net = _network(args)
    _positive("--days", args.days)
    _positive("--reps", args.reps)
    rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules:
        raise ConfigError(f"unknown rules: {', '.join(unknown) or '(none given)'}; expected {', '.join(RULES)}")
    profile = _alerts_profile(resolve_profile(net, args.office, args.profile, args.month), args.alerts)
    schedule_for, _ = _schedule(net, args.office, args.plan)
    seeds = replication_seeds(np.random.default_rng(args.seed), args.reps)
    with _progress(args, "comparing rules", len(rules) * args.reps * args.days) as advance:
        runs = compare_rules_results(net, args.office, profile, rules=rules, days=range(args.days), seeds=seeds,
                                     schedule_for=schedule_for, progress=advance)
    res = {rule: summarise(r, net.targets) for rule, r in runs.items()}
    data: dict[str, Any] = {
        "office": args.office, "days": args.days, "replications": args.reps, "seed": args.seed,
        "rules": {rule: s.to_dict() for rule, s in res.items()},
    }
    if profile.alerts is not None:  # the same alerts for every rule: their stops, and each rule's waits net of them
        alerts = {rule: summarise_alerts(r, net.targets) for rule, r in runs.items()}
        first = alerts[rules[0]]
        data["alerts"] = {"model": alerts_to_dict(profile.alerts), **first.to_dict()}
        data["wait_net_of_alerts"] = {rule: net_waits_dict(a.net) for rule, a in alerts.items()}
    if args.json:
        _print_json(data)
        return 0
    lang = _lang(args)
    t = Table(title=tr(lang, "{office}: priority rules on the same visitors ({days} × {reps}) — mean wait, share "
                             "within 15 min, past 20 min", office=office_name(net.offices[args.office], lang),
                       days=count(args.days, lang, DAYS), reps=count(args.reps, lang, REPLICATIONS)))
    t.add_column(tr(lang, "category"))
    for rule in rules:
        t.add_column(rule, justify="right")
    cats = [c.value for c in Category if any(c.value in s.categories for s in res.values())]
    for cat in [*cats, OVERALL]:
        cells = []
        for rule in rules:
            s = res[rule]
            g = s.overall if cat == OVERALL else s.categories.get(cat)
            if g is None:
                cells.append("")
                continue
            gd = g.to_dict(s.targets)
            meets = gd["meets_targets"]
            colour = "green" if meets else "red"
            cells.append(f"[{colour}]{_min(gd['mean_wait_min'])} {tr(lang, 'min')} · {_pct(gd['share_within_15'])} · "
                         f"{_pct(None if gd['share_within_20'] is None else 1 - gd['share_within_20'])}[/]")
        t.add_row(overall_name(lang) if cat == OVERALL else category_name(cat, lang), *cells)
    _out().print(t)
    if "wait_net_of_alerts" in data:
        a = data["alerts"]
        _out().print(tr(lang, "under air-raid alerts ({n} over {days}, {m} without service; the same for every rule); "
                              "net of alerts, overall: {rows}",
                        n=count(round(a["count"] or 0.0, 1), lang, ALERTS), days=count(args.days, lang, DAYS),
                        m=count(round(a["minutes"] or 0.0), lang, MINUTES),
                        rows="; ".join(f"{rule} {_min(w['overall']['mean_wait_min'])} {tr(lang, 'min')} · "
                                       f"{_pct(w['overall']['share_within_15'])}"
                                       for rule, w in data["wait_net_of_alerts"].items())))
    return 0


# ------------------------------------------------------------------------------------------------ calibrate


def _calibrate(args: argparse.Namespace) -> int:
    net = _network(args)
    listed = None
    if args.alert_list is not None:
        listed = read_alert_list(args.alert_list, net.offices[args.office].timezone)
    if args.data is None:
        return _calibrate_alerts_only(args, net, listed)
    with _progress(args, "reading the journal", None):
        events = read_journal(args.data, args.office)
        cal = calibrate(net, args.office, events, alert_list=listed, empirical=args.alerts_empirical)
    prof = profile_to_dict(cal.profile)
    if args.out is not None:
        save_profile(cal.profile, args.out)
    if args.json:
        _print_json({"report": cal.report(), "profile": prof, "out": str(args.out) if args.out else None})
        return 0
    if args.out is None:
        _print_json(prof)
        return 0
    rep = cal.report()
    lang = _lang(args)
    t = Table(title=tr(lang, "{office}: {tickets}, {start} .. {end}",
                       office=office_name(net.offices[args.office], lang),
                       tickets=count(rep["tickets"], lang, TICKETS), start=rep["from"], end=rep["to"]))
    for col in ("service", "samples", "mean, min", "CV", "fitted"):
        t.add_column(tr(lang, col), justify="right" if col != "service" else "left")
    for f in rep["services"]:
        svc = net.services.get(f["service"])
        name = f["service"] if svc is None else (svc.name_uk if lang == "uk" else svc.name_en)
        t.add_row(name, str(f["samples"]), f"{f['mean_min']:.2f}", f"{f['cv']:.2f}",
                  tr(lang, "yes" if f["fitted"] else "catalogue"))
    _out().print(t)
    _out().print(tr(lang, "patience: {p} min mean; no-shows {ns}; profile written to {out}",
                    p=rep["patience_mean_min"] or "—", ns=_pct(rep["no_show_share"]), out=args.out))
    if "alerts" in rep:
        _alert_fit_line(rep["alerts"], lang)
    return 0


def _alert_fit_line(fit: dict[str, Any], lang: str) -> None:
    n = fit["count"]
    _out().print(tr(lang, "air-raid alerts: {n} over {h} h: {pd} ± {se} a day, {m} min on average (SD {sd})",
                    n=count(n, lang, ALERTS), h=f"{fit['hours_observed']:g}", pd=f"{fit['per_day'] or 0:.2f}",
                    se=f"{fit['per_day_se'] or 0:.2f}", m=_min(fit["mean_min"]), sd=_min(fit["sd_min"])))


def _calibrate_alerts_only(
    args: argparse.Namespace, net: Network, listed: tuple[list[tuple[float, float]], float] | None
) -> int:
    """``calibrate --alert-list FILE`` without ``--data``: the office's default profile with the alerts fitted."""
    if listed is None:
        raise ConfigError("calibrate needs --data DIR (the service's journal), --alert-list FILE, or both")
    fit = fit_alerts(listed[0], listed[1], empirical=args.alerts_empirical, source=f"alert list {args.alert_list}")
    profile = replace(resolve_profile(net, args.office, None, None), alerts=fit.alerts)
    if args.out is not None:
        save_profile(profile, args.out)
    prof = profile_to_dict(profile)
    if args.json:
        _print_json({"report": {"office": args.office, "alerts": fit.report()}, "profile": prof,
                     "out": str(args.out) if args.out else None})
        return 0
    if args.out is None:
        _print_json(prof)
        return 0
    _alert_fit_line(fit.report(), _lang(args))
    _out().print(tr(_lang(args), "profile written to {out}", out=args.out))
    return 0


# ------------------------------------------------------------------------------------------------ forecast


def _forecast(args: argparse.Namespace) -> int:
    net = _network(args)
    _positive("--days", args.days)
    _positive("--reps", args.reps)
    profile = _alerts_profile(resolve_profile(net, args.office, args.profile, args.month), args.alerts)
    schedule_for, _ = _schedule(net, args.office, args.plan)
    seeds = replication_seeds(np.random.default_rng(args.seed), args.reps)
    with _progress(args, "simulating with forecasts", args.reps * args.days) as advance:
        data = forecast_accuracy(net, args.office, profile, days=range(args.days), seeds=seeds,
                                 schedule_for=schedule_for, progress=advance)
    if args.noise_floor != 0:
        _positive("--noise-floor", args.noise_floor)
        if profile.alerts is not None:
            raise ConfigError("--noise-floor is measured without air-raid alerts: leave out --alerts")
        with _progress(args, "simulating with forecasts", 1) as advance:
            data["noise_floor"] = noise_floor(net, args.office, profile, days=range(args.days), seeds=seeds,
                                              sample=args.noise_floor)
            advance(1)
    if args.json:
        _print_json(data)
        return 0
    lang = _lang(args)
    t = Table(title=tr(lang, "{office}: expected wait at issue against the wait that followed ({days} × {reps})",
                       office=office_name(net.offices[args.office], lang), days=count(args.days, lang, DAYS),
                       reps=count(args.reps, lang, REPLICATIONS)))
    for col in ("category", "tickets", "MAE, min", "bias, min", "RMSE, min"):
        t.add_column(tr(lang, col), justify="right" if col != "category" else "left")
    rows: Sequence[tuple[str, Any]] = [*data["categories"].items(), (OVERALL, data["overall"])]
    for name, a in rows:
        if a is None:
            continue
        label = overall_name(lang) if name == OVERALL else category_name(name, lang)
        t.add_row(label, str(a["tickets"]), _min(a["mae_min"]), _min(a["bias_min"]), _min(a["rmse_min"]))
    _out().print(t)
    net_acc = data.get("net_of_alerts")
    if net_acc and net_acc.get("overall"):
        o = net_acc["overall"]
        _out().print(tr(lang, "under air-raid alerts ({n} over the days): against the waits net of alerts, overall "
                              "MAE {mae} min, bias {bias} min", n=count(round(data["alerts"]["count"] or 0.0, 1), lang,
                                                                        ALERTS),
                        mae=_min(o["mae_min"]), bias=_min(o["bias_min"])))
    floor = data.get("noise_floor")
    if floor and floor.get("tickets"):
        _out().print(tr(lang, "what no forecast can beat, on {n} tickets: an oracle that knows the day up to the issue "
                              "and every later arrival, but not how long the services still to come will take, errs "
                              "by MAE {mae} min (RMSE {rmse}); the forecast on the same tickets: MAE {fmae} min "
                              "(RMSE {frmse})", n=floor["tickets"], mae=_min(floor["oracle"]["mae_min"]),
                        rmse=_min(floor["oracle"]["rmse_min"]), fmae=_min(floor["forecast"]["mae_min"]),
                        frmse=_min(floor["forecast"]["rmse_min"])))
    return 0
