"""Trust: one M/M/c queue simulated through the real dispatcher agrees with Erlang C within sampling error.

The tolerance is not a chosen number: it is the t quantile (two-sided 99.9 %, replications − 1 degrees of freedom)
times the standard error the replications themselves show. Each case also demands that the standard error be
small against the value (under a fifth of it), so that the agreement means something; the cases are sized for
that: M/M/20 near saturation relaxes slowly, so it runs with long services and long replications.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cherga.cli import main
from cherga.sim.erlang import erlang_a, erlang_c
from cherga.sim.mmc import simulate_mmc
from cherga.sim.stats import t_quantile

# (arrivals per hour, mean service minutes, desks, hours per replication, replications)
CASES = [
    pytest.param(3.0, 12.0, 1, 300.0, 12, id="c=1"),
    pytest.param(20.0, 12.0, 5, 100.0, 12, id="c=5"),
    pytest.param(34.0, 30.0, 20, 120.0, 12, id="c=20"),
]


@pytest.mark.parametrize(("lam", "s", "c", "hours", "reps"), CASES)
def test_simulated_mmc_agrees_with_erlang_c(lam: float, s: float, c: int, hours: float, reps: int) -> None:
    res = simulate_mmc(lam, s, c, hours, np.random.default_rng(2026), replications=reps)
    ec = erlang_c(lam / 60.0, s, c)
    k = t_quantile(0.9995, reps - 1)
    for est, exact, name in (
        (res.mean_wait, ec.mean_wait_min, "mean wait"),
        (res.p_wait, ec.p_wait, "P(wait > 0)"),
        (res.p_wait_over_15, ec.p_wait_over(15.0), "P(wait > 15)"),
    ):
        assert math.isfinite(est.se) and est.se > 0
        assert est.se < 0.2 * exact, f"{name}: too few visitors for a meaningful check (se {est.se:.4g})"
        assert abs(est.value - exact) <= k * est.se, (
            f"{name}: simulated {est.value:.4f} ± {est.se:.4f} (se) against Erlang C {exact:.4f}"
        )
    assert res.utilisation.value == pytest.approx(lam * s / 60.0 / c, rel=0.03)


def test_mmc_command_prints_both_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "mmc", "--arrivals-per-hour", "20", "--mean-service-min", "12", "--desks", "5",
                 "--hours", "20", "--seed", "3", "--reps", "3", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    for part in ("simulated", "erlang_c"):
        assert set(data[part]) >= {"mean_wait_min", "p_wait", "p_wait_over_15"}
    assert data["erlang_c"]["p_wait"] == pytest.approx(erlang_c(20 / 60, 12.0, 5).p_wait, abs=1e-5)
    assert 0.0 < data["simulated"]["p_wait"] < 1.0


def test_mmc_command_refuses_nonsense(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "mmc", "--arrivals-per-hour", "20", "--mean-service-min", "12", "--desks", "0",
                 "--hours", "20", "--seed", "3", "--json"])
    assert code == 2
    assert "--desks" in capsys.readouterr().err


def test_reneging_agrees_with_erlang_a() -> None:
    """M/M/5+M near saturation: the patience deadlines (applied lazily, each at its own time) give Erlang A's
    waits and abandonment, within the replications' sampling error."""
    lam, s, c, patience, reps = 24.0, 12.0, 5, 20.0, 12
    res = simulate_mmc(lam, s, c, 100.0, np.random.default_rng(2026), replications=reps, patience_min=patience)
    ea = erlang_a(lam / 60.0, s, c, patience)
    assert res.p_abandon is not None
    k = t_quantile(0.9995, reps - 1)
    for est, exact, name in (
        (res.mean_wait, ea.mean_wait_min, "mean wait"),
        (res.p_wait, ea.p_wait, "P(wait > 0)"),
        (res.p_wait_over_15, ea.p_wait_over(15.0), "P(wait > 15)"),
        (res.p_abandon, ea.p_abandon, "P(gives up)"),
    ):
        assert est.se < 0.2 * exact, f"{name}: too few visitors for a meaningful check (se {est.se:.4g})"
        assert abs(est.value - exact) <= k * est.se, (
            f"{name}: simulated {est.value:.4f} ± {est.se:.4f} (se) against Erlang A {exact:.4f}"
        )
    assert "erlang_a" in res.to_dict()
