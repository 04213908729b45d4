"""The national day at 1% (issue 16.5): 20 offices, a whole day, every command durable through the kiosk's path,
beside SQLite's own batch insert in the same run. The country itself (2,000 offices, about 12 million commands,
tens of minutes) is ``python bench/national_day.py --offices 2000``; see that module for the workload.

Run: ``python -m pytest bench/test_bench_national_day.py -q -s --benchmark-json=/tmp/national.json``. Nothing
asserts a time (a noisy machine must not fail a run): ``extra_info`` keeps the figures; what is asserted is that
the day was what it says (every visitor issued through the kiosk's path and served, every event durable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from national_day import DAY_MIN, national_day
from pytest_benchmark.fixture import BenchmarkFixture

OFFICES = 20
TICKETS = 1_500


def test_national_day_one_percent(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    out: dict[str, Any] = benchmark.pedantic(
        lambda: national_day(OFFICES, tickets_per_office=TICKETS, directory=tmp_path), rounds=1, iterations=1)
    benchmark.group = "national-day"
    benchmark.extra_info.update({k: v for k, v in out.items() if k != "hourly"})
    benchmark.extra_info["hourly_per_s"] = [round(h["per_s"]) for h in out["hourly"]]
    expected = OFFICES * TICKETS * (out["hours"] * 60 / DAY_MIN)
    assert abs(out["tickets"] - expected) < 5 * expected ** 0.5, out["tickets"]  # Poisson: within 5 sigma
    assert out["refused"] == 0
    assert out["commands"] >= 4 * out["tickets"] * 0.99  # issue, call, start, finish: nearly all served by closing
    assert out["journal"]["events"] == out["appended"], "every event handed to the journal is in it"
    assert len(out["hourly"]) >= 11
