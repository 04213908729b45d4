"""``cherga sim run | compare | forecast``: the figures API.md promises, JSON alone on standard output."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from cherga.cli import main
from cherga.engine.policy import RULES
from cherga.sim import cli as sim_cli

FIGURES = {"served", "mean_wait_min", "p90_wait_min", "max_wait_min", "share_within_15", "share_within_20"}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(list(argv)) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def test_run_prints_overall_and_categories_with_intervals(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a live progress bar (stderr made a terminal) must not reach standard output
    err = io.StringIO()
    monkeypatch.setattr(sim_cli, "STDERR", Console(file=err, force_terminal=True, width=100))
    monkeypatch.setattr(sim_cli, "PROGRESS_AFTER_S", 0.0)
    data = run_json(capsys, "sim", "run", "--office", "vyshenka", "--days", "6", "--reps", "3", "--seed", "5", "--json",
                    "--lang", "en")
    assert "simulating" in err.getvalue()
    overall = data["overall"]
    assert isinstance(overall, dict)
    assert FIGURES | {"abandonment", "utilisation", "ci95"} <= set(overall)
    cats = data["categories"]
    assert isinstance(cats, dict) and {"quick", "acceptance", "issuance", "vulnerable"} <= set(cats)
    for g in cats.values():
        assert set(g) >= FIGURES
        assert 0.0 <= g["share_within_15"] <= g["share_within_20"] <= 1.0
        assert g["mean_wait_min"] <= g["max_wait_min"]
    lo, hi = overall["ci95"]["mean_wait_min"]
    assert lo <= overall["mean_wait_min"] <= hi
    assert sum(g["served"] for g in cats.values()) == pytest.approx(overall["served"], abs=0.02)
    # the same seed, the same figures
    again = run_json(capsys, "sim", "run", "--office", "vyshenka", "--days", "6", "--reps", "3", "--seed", "5",
                     "--json")
    assert again["overall"] == overall


def test_run_tables_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "run", "--office", "khutory", "--days", "2", "--reps", "2", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "overall" in out and "utilisation" in out


def test_compare_puts_every_rule_on_the_same_visitors(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "sim", "compare", "--office", "zamostia", "--days", "2", "--reps", "2", "--json")
    rules = data["rules"]
    assert isinstance(rules, dict) and set(rules) == set(RULES)
    issued = {r["overall"]["issued"] for r in rules.values()}
    assert len(issued) == 1
    for r in rules.values():
        for g in r["categories"].values():
            assert FIGURES | {"meets_targets"} <= set(g)
    assert main(["sim", "compare", "--office", "zamostia", "--days", "1", "--reps", "1", "--rules", "fifo,best"]) == 2
    assert "best" in capsys.readouterr().err
    assert main(["sim", "compare", "--office", "zamostia", "--days", "1", "--reps", "1", "--rules", "fifo,strict"]) == 0
    out = capsys.readouterr().out
    assert "fifo" in out and "strict" in out


def test_forecast_reports_a_finite_error_per_category(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "sim", "forecast", "--office", "zamostia", "--days", "3", "--reps", "2", "--json")
    overall = data["overall"]
    assert isinstance(overall, dict)
    assert overall["tickets"] > 50
    assert math.isfinite(overall["mae_min"]) and overall["mae_min"] >= 0
    assert math.isfinite(overall["bias_min"]) and abs(overall["bias_min"]) <= overall["mae_min"]
    assert overall["rmse_min"] >= overall["mae_min"]
    cats = data["categories"]
    assert isinstance(cats, dict) and len(cats) >= 4
    for a in cats.values():
        assert a["tickets"] > 0 and math.isfinite(a["mae_min"]) and a["mae_min"] >= 0
    # the forecast command really forecasts: the engine's expected waits are not all zero
    assert overall["mae_min"] != pytest.approx(0.0)


def test_forecast_noise_floor_on_the_tickets_asked(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "sim", "forecast", "--office", "zamostia", "--days", "1", "--reps", "1",
                    "--noise-floor", "4", "--json")
    floor = data["noise_floor"]
    assert isinstance(floor, dict) and floor["tickets"] == 4 and floor["copies"] == 40
    assert set(floor["oracle"]) == set(floor["forecast"]) == {"mae_min", "rmse_min"}
    assert main(["sim", "forecast", "--office", "zamostia", "--days", "1", "--reps", "1", "--noise-floor", "0",
                 "--json"]) == 0  # 0: not asked
    assert "noise_floor" not in json.loads(capsys.readouterr().out)
    assert main(["sim", "forecast", "--office", "zamostia", "--noise-floor", "-2"]) == 2
    assert "--noise-floor must be at least 1" in capsys.readouterr().err


def test_unknown_office_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "run", "--office", "atlantis", "--json"]) == 2
    err = capsys.readouterr().err
    assert "atlantis" in err and "main" in err


def test_the_installed_command_prints_json_only() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cherga", "sim", "run", "--office", "khutory", "--days", "1", "--reps", "2", "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert json.loads(proc.stdout)["office"] == "khutory"


def test_run_with_redirects_sends_visitors_of_an_overloaded_office_elsewhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # two desks for the main centre's Monday: the kiosk tells most visitors to wait long past the target
    plan = tmp_path / "plan.json"
    rows = [{"day": "mon", "hour": h, "desks": 2, "arrivals_per_hour": 40.0, "mean_service_min": 9.0}
            for h in range(8, 20)]
    plan.write_text(json.dumps({"office": "main", "plan": rows, "desk_hours": 24.0}), encoding="utf-8")
    data = run_json(capsys, "sim", "run", "--office", "main", "--plan", str(plan), "--redirects", "0.5", "--days", "1",
                    "--reps", "2", "--seed", "3", "--json")
    # the office's figures as without --redirects, and the network's beside them
    assert {"overall", "categories", "replications", "days", "targets", "office", "network"} <= set(data)
    assert data["office"] == "main" and data["replications"] == 2 and data["days"] == 1
    overall = data["overall"]
    assert isinstance(overall, dict) and overall["redirected"] > 0
    network = data["network"]
    assert isinstance(network, dict)
    assert set(network["offices"]) == {"main", "zamostia", "vyshenka", "khutory"}
    assert network["offices"]["main"]["overall"] == overall
    journeys = network["journeys"]
    assert journeys["moved"] > 0 and journeys["travel_min"] > 0
    routes = journeys["routes"]
    assert routes and any(r.startswith("main→") for r in routes)
    assert sum(n for r, n in routes.items() if r.startswith("main→")) >= 0.9 * journeys["moved"]
    # every visitor counted once in the network: those who moved are not counted twice
    issued = sum(o["overall"]["issued"] for o in network["offices"].values())
    assert network["overall"]["issued"] == pytest.approx(issued - journeys["moved"], abs=0.02)
    # and the tables for people
    assert main(["sim", "run", "--office", "main", "--plan", str(plan), "--redirects", "0.5", "--days", "1",
                 "--reps", "1", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "main→" in out and "zamostia" in out and "redirected" in out


@pytest.mark.parametrize("share", ["1.5", "-0.1", "nan"])
def test_redirects_outside_zero_to_one_is_a_clear_error(capsys: pytest.CaptureFixture[str], share: str) -> None:
    assert main(["sim", "run", "--office", "main", "--redirects", share, "--days", "1", "--reps", "1", "--json"]) == 2
    captured = capsys.readouterr()
    assert "--redirects" in captured.err and "between 0 and 1" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
