"""Print the ratios of one bench run: ``python bench/report.py /tmp/bench.json``.

Reads the file written by ``pytest bench/test_bench_engine.py bench/test_bench_sim.py --benchmark-json=...`` and
prints, as a Markdown table, every figure BENCHMARKS.md asks cherga to show beside its anchor measured in the same
run. Ratios use
medians (the machine is shared and noisy; a median shrugs off the odd descheduled round); the ratio of the minima,
the least disturbed rounds, is shown beside them.
Nothing here passes or fails: the goals are printed beside the figures for the reader to judge.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Bench:
    key: str
    median: float  # seconds
    mean: float
    min: float
    rounds: int
    extra: dict[str, Any]


def load(path: Path) -> dict[str, Bench]:
    data = json.loads(path.read_text())
    out: dict[str, Bench] = {}
    for b in data.get("benchmarks", []):
        extra = b.get("extra_info", {})
        key = extra.get("key") or b.get("fullname") or b["name"]
        s = b["stats"]
        out[key] = Bench(key=key, median=float(s["median"]), mean=float(s["mean"]), min=float(s["min"]),
                         rounds=int(s["rounds"]), extra=extra)
    return out


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def rows(benches: dict[str, Bench]) -> list[tuple[str, str, str]]:
    """(what, measured, goal) lines; a figure whose benches are missing from the run is left out."""
    out: list[tuple[str, str, str]] = []

    def have(*keys: str) -> bool:
        return all(k in benches for k in keys)

    def ratio(a: str, b: str) -> str:
        x, y = benches[a], benches[b]
        return f"{x.median / y.median:.2f}× (minima {x.min / y.min:.2f}×)"

    for n in (500, 5_000, 50_000):
        k = f"call-next/{n}"
        if have(k):
            out.append((f"call-next, {n:,} waiting (median)", _time(benches[k].median), ""))
    if have("heapq-anchor/50000"):
        anchor = benches["heapq-anchor/50000"]
        out.append(("anchor: heapq push + pop, 50,000 in the heap (median)", _time(anchor.median),
                    "BENCHMARKS.md: 2.4 µs"))
    if have("call-next/50000", "call-next/500"):
        out.append(("call-next 50,000 / 500 waiting", ratio("call-next/50000", "call-next/500"), "≤ 1.5×"))
    if have("call-next/5000", "call-next/500"):
        out.append(("call-next 5,000 / 500 waiting", ratio("call-next/5000", "call-next/500"), "≤ 1.5×"))
    for n in (500, 50_000):
        if have(f"call-next/{n}", "heapq-anchor/50000"):
            out.append((f"call-next at {n:,} / heapq anchor", ratio(f"call-next/{n}", "heapq-anchor/50000"),
                        "the anchor is the floor"))
    if have("sql-aging/500", "sql-aging/50000"):
        out.append(("SQL aging query, 500 waiting (median)", _time(benches["sql-aging/500"].median),
                    "BENCHMARKS.md: 94 µs"))
        out.append(("SQL aging query, 50,000 waiting (median)", _time(benches["sql-aging/50000"].median),
                    "BENCHMARKS.md: 9,138 µs"))
        out.append(("SQL aging 50,000 / 500 waiting", ratio("sql-aging/50000", "sql-aging/500"),
                    "BENCHMARKS.md: 97×"))
    if have("mixed"):
        m = benches["mixed"]
        out.append((
            "mixed day, no journal: commands/s",
            f"{_count(m.extra.get('commands_per_second'))} ({m.extra.get('commands', '?')} commands, "
            f"{m.extra.get('refused', '?')} refused; engine {m.extra.get('engine', '?')})",
            "",
        ))
    for key, label in (("durable/group-commit", "group commit, asyncio, append_async (as the service)"),
                       ("durable/group-commit-wrap-future", "group commit, asyncio, wrap_future each"),
                       ("durable/group-commit-threads", "group commit, threads under a lock"),
                       ("durable/one-commit-per-command", "one commit per command (anchor)")):
        if have(key):
            d = benches[key]
            out.append((
                f"durable, {label}: acknowledged commands/s",
                f"{_count(d.extra.get('commands_per_second'))} ({d.extra.get('submitters', '?')} submitters, "
                f"{d.extra.get('commands_per_commit', '?')} per commit)",
                "BENCHMARKS.md: about 3,000 commits/s" if key.endswith("per-command") else "≥ 20,000",
            ))
    if have("sim-mmc-cherga"):
        m = benches["sim-mmc-cherga"]
        per_round = m.extra.get("ratio_vs_ciw_per_round")
        out.append(("M/M/20 day × 30 through the dispatcher (median)",
                    f"{_time(m.median)} (engine and model {m.extra.get('engine', '?')})", ""))
        if m.extra.get("ratio_vs_ciw") is not None:
            out.append((
                "M/M/20 × 30: cherga / Ciw 3.2.7, interleaved",
                f"{m.extra['ratio_vs_ciw']:.2f}× (Ciw {_time(float(m.extra['ciw_median_s']))}; rounds "
                + ", ".join(f"{r:.2f}" for r in per_round or []) + ")",
                "≤ 0.5×",
            ))
        out.append(("M/M/20 × 30: cherga / plain SimPy Resource model", f"{m.extra['ratio_vs_simpy']:.2f}×",
                    "the floor for a SimPy model"))
    if have("sim-staff-week"):
        out.append(("office-week staffing plan", _time(benches["sim-staff-week"].median), "≤ 60 s"))
    for n in (20, 2_000):
        if have(f"network-issue/{n}"):
            m = benches[f"network-issue/{n}"]
            out.append((f"kiosk issue with alternatives, {n:,} offices (median)",
                        f"{_time(m.median)} ({m.extra.get('neighbours_weighed', '?')} neighbours weighed)", ""))
        if have(f"network-issue-full-scan/{n}"):
            out.append((f"anchor: the same issue weighing every office, {n:,} offices (median)",
                        _time(benches[f"network-issue-full-scan/{n}"].median), "the former path"))
    if have("network-issue-ratio"):
        m = benches["network-issue-ratio"]
        out.append(("kiosk issue with alternatives, 2,000 / 20 offices, interleaved",
                    f"{m.extra.get('ratio_vs_20')}× ({m.extra.get('median_us_at_20')} µs at 20)", "≤ 1.5×"))
    if have("journal/throughput"):
        x = benches["journal/throughput"].extra
        out.append(("journal: durable events/s / SQLite executemany rows/s, interleaved",
                    f"{x.get('journal_vs_sqlite')}× ({_count(x.get('journal_events_per_s'))} against "
                    f"{_count(x.get('sqlite_rows_per_s'))}; rounds {x.get('journal_vs_sqlite_per_round')})",
                    "issue 16: near SQLite's batch limit"))
        out.append(("journal: CPU µs per event / SQLite's per row",
                    f"{x.get('journal_cpu_us_per_event')} / {x.get('sqlite_cpu_us_per_row')} µs "
                    f"({x.get('journal_vs_sqlite_cpu')}×)", "CPU time: steadier on a shared machine"))
    if have("journal/with-engine"):
        x = benches["journal/with-engine"].extra
        out.append(("engine + journal: durable commands/s / engine alone",
                    f"{_count(x.get('durable_commands_per_s'))} / {_count(x.get('engine_only_commands_per_s'))} "
                    f"({x.get('durable_vs_engine_only')}×; CPU {x.get('durable_cpu_us_per_command')} / "
                    f"{x.get('engine_only_cpu_us_per_command')} µs per command; engine {x.get('engine', '?')})", ""))
    if have("durable/group-commit", "durable/one-commit-per-command"):
        g = benches["durable/group-commit"].extra.get("commands_per_second")
        o = benches["durable/one-commit-per-command"].extra.get("commands_per_second")
        if isinstance(g, int | float) and isinstance(o, int | float) and o:
            out.append(("durable: group commit / one commit per command", f"{g / o:.1f}×", ""))
    return out


def table(lines: list[tuple[str, str, str]]) -> str:
    head = ("what", "measured", "goal / reference")
    widths = [max(len(r[i]) for r in (head, *lines)) for i in range(3)]
    fmt = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt.format(*head), sep, *(fmt.format(*r) for r in lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("json", type=Path, help="the file written by --benchmark-json")
    args = parser.parse_args(argv)
    try:
        benches = load(args.json)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot read {args.json}: {exc}", file=sys.stderr)
        return 1
    lines = rows(benches)
    if not lines:
        print(f"{args.json} holds none of the engine's or the planner's benches", file=sys.stderr)
        return 1
    print(table(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
