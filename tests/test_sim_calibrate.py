"""Calibration: simulate an office from a known profile into a real journal, fit it back, recover the profile."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cherga.cli import main
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.errors import ConfigError
from cherga.journal.sqlite import SqliteJournal
from cherga.sim.calibrate import calibrate, lognormal_fit, read_journal
from cherga.sim.model import replication_seeds
from cherga.sim.profile import Profile, default_profile, load_profile
from cherga.sim.runner import run_office

NET: Network = load_network()
OFFICE = "zamostia"
DAYS = 21  # three weeks: three of each weekday the branch opens


def truth() -> Profile:
    return default_profile(NET, OFFICE).with_changes(patience_mean_min=20.0, no_show_share=0.05)


@pytest.fixture(scope="module")
def journal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("data")
    with SqliteJournal(data / "journal.sqlite3") as journal:
        run_office(NET, OFFICE, truth(), days=range(DAYS), seeds=replication_seeds(np.random.default_rng(4), 1),
                   sink=journal.append)
    return data


def test_lognormal_fit_is_the_maximum_likelihood_one() -> None:
    rng = np.random.default_rng(1)
    x = rng.lognormal(2.0, 0.6, 20_000)
    mean, cv, n = lognormal_fit(x.tolist())
    assert n == x.size
    assert mean == pytest.approx(math.exp(2.0 + 0.18), rel=0.01)
    assert cv == pytest.approx(math.sqrt(math.expm1(0.36)), rel=0.02)


def test_calibration_recovers_the_profile_it_was_simulated_from(journal_dir: Path) -> None:
    events = read_journal(journal_dir, OFFICE)
    cal = calibrate(NET, OFFICE, events)
    true = truth()
    prof = cal.profile
    assert cal.days_by_weekday == {"mon": 3, "tue": 3, "wed": 3, "thu": 3, "fri": 3, "sat": 0, "sun": 0}
    # arrivals per weekday: each day's total within Poisson error of the truth
    for wd in ("mon", "tue", "wed", "thu", "fri"):
        expect = sum(true.rates(NET, ("mon", "tue", "wed", "thu", "fri").index(wd))[s][h]
                     for s in true.mix for h in range(24))
        got = sum(prof.hourly[wd])
        assert abs(got - expect) <= 4 * math.sqrt(expect / 3), (wd, got, expect)
    # the hourly shape: the late-morning peak is there
    mon = prof.hourly["mon"]
    assert sum(mon[10:12]) > sum(mon[8:10])
    # service times: each well-observed service's mean and CV
    for fit in cal.fits:
        if fit.samples >= 60:
            st = true.service_time[fit.service]
            assert fit.fitted
            assert fit.mean_min == pytest.approx(st.mean_min, rel=4 * st.cv / math.sqrt(fit.samples))
            # the log-scale sd has standard error sigma / sqrt(2n)
            sigma = math.sqrt(math.log1p(st.cv**2))
            fit_sigma = math.sqrt(math.log1p(fit.cv**2))
            assert abs(fit_sigma - sigma) <= 4 * sigma / math.sqrt(2 * fit.samples)
        elif fit.samples < 10:
            assert not fit.fitted and fit.mean_min == NET.services[fit.service].mean_service_min
    assert sum(f.samples >= 60 for f in cal.fits) >= 3
    # shares: within a few binomial standard errors
    n = cal.tickets
    for got, want in ((prof.vulnerable_share, true.vulnerable_share), (prof.booked_share, true.booked_share),
                      (prof.second_service_share, true.second_service_share)):
        assert abs(got - want) <= 4 * math.sqrt(want * (1 - want) / n) + 1e-9
    assert abs(prof.no_show_share - true.no_show_share) <= 4 * math.sqrt(0.05 * 0.95 / n)
    assert prof.recall_interval_min == pytest.approx(true.recall_interval_min)
    # patience: the censored maximum-likelihood estimate, within its relative error 1/sqrt(abandonments)
    assert prof.patience_mean_min is not None and cal.abandonments >= 20
    assert prof.patience_mean_min == pytest.approx(20.0, rel=4 / math.sqrt(cal.abandonments))
    assert prof.month is None and prof.seasonal == {}


def test_calibrate_command_writes_a_profile_that_run_and_staff_use(
    journal_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "zamostia.json"
    assert main(["sim", "calibrate", "--data", str(journal_dir), "--office", OFFICE, "--out", str(out),
                 "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["report"]["tickets"] > 0 and printed["out"] == str(out)
    prof = load_profile(out, NET)
    assert prof.office == OFFICE and prof.source.startswith("journal ")
    assert main(["sim", "run", "--office", OFFICE, "--profile", str(out), "--days", "5", "--reps", "2",
                 "--json"]) == 0
    ran = json.loads(capsys.readouterr().out)
    assert ran["profile"].startswith("journal ")
    assert ran["overall"]["issued"] > 0
    plan = tmp_path / "plan.json"
    assert main(["sim", "staff", "--office", OFFICE, "--profile", str(out), "--out", str(plan), "--erlang-only",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["office"] == OFFICE
    # a profile made for another office is refused, by name
    assert main(["sim", "run", "--office", "main", "--profile", str(out), "--days", "1", "--json"]) == 2
    assert "zamostia" in capsys.readouterr().err


def test_calibrate_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no journal"):
        read_journal(tmp_path, OFFICE)
    with pytest.raises(ConfigError, match="no tickets"):
        calibrate(NET, OFFICE, [])
