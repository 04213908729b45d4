"""cherga.sim.stats: Student's t quantile against scipy, the estimators against their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from cherga.sim.stats import betainc, mean_estimate, percentile, ratio_estimate, t_cdf, t_quantile


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 9, 15, 29, 30, 100, 1000])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.95, 0.975, 0.99, 0.995, 0.9995])
def test_t_quantile_matches_scipy(p: float, df: int) -> None:
    assert t_quantile(p, df) == pytest.approx(float(sps.t.ppf(p, df)), rel=1e-9, abs=1e-9)
    assert t_quantile(1 - p, df) == pytest.approx(float(sps.t.ppf(1 - p, df)), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("df", [1, 3, 12, 200])
@pytest.mark.parametrize("t", [-4.0, -1.0, 0.0, 0.5, 2.0, 7.0])
def test_t_cdf_matches_scipy(t: float, df: int) -> None:
    assert t_cdf(t, df) == pytest.approx(float(sps.t.cdf(t, df)), abs=1e-12)


def test_betainc_matches_scipy() -> None:
    from scipy.special import betainc as sp_betainc

    for a, b, x in [(0.5, 0.5, 0.3), (2.0, 5.0, 0.1), (10.0, 0.5, 0.95), (50.0, 0.5, 0.99)]:
        assert betainc(a, b, x) == pytest.approx(float(sp_betainc(a, b, x)), rel=1e-10)


def test_t_quantile_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError):
        t_quantile(0.5, 0)


def test_mean_estimate_is_the_t_interval() -> None:
    xs = [1.0, 2.0, 4.0, 7.0]
    est = mean_estimate(xs)
    m = float(np.mean(xs))
    se = float(np.std(xs, ddof=1)) / 2.0
    assert est.value == pytest.approx(m)
    assert est.se == pytest.approx(se)
    assert est.half_width == pytest.approx(float(sps.t.ppf(0.975, 3)) * se)
    assert est.ci() == [round(m - est.half_width, 4), round(m + est.half_width, 4)]
    one = mean_estimate([3.0])
    assert one.value == 3.0 and math.isinf(one.half_width)
    assert math.isnan(mean_estimate([]).value)


def test_ratio_estimate_pools_and_weighs_by_size() -> None:
    nums, dens = [9.0, 1.0, 0.0], [10.0, 2.0, 0.0]
    est = ratio_estimate(nums, dens)
    r = 10.0 / 12.0
    assert est.value == pytest.approx(r)
    dbar = 12.0 / 3
    s2 = sum((a - r * b) ** 2 for a, b in zip(nums, dens, strict=True)) / 2
    assert est.se == pytest.approx(math.sqrt(s2 / 3) / dbar)
    assert math.isnan(ratio_estimate([0.0], [0.0]).value)


def test_ratio_estimate_covers_the_truth_at_its_level() -> None:
    """Binomial shares with varying sizes: the 95 % interval holds the true share about 95 % of the time."""
    rng = np.random.default_rng(5)
    hits = 0
    trials = 400
    for _ in range(trials):
        n = rng.integers(20, 80, size=12)
        k = rng.binomial(n, 0.3)
        est = ratio_estimate(k.astype(float).tolist(), n.astype(float).tolist())
        hits += est.low <= 0.3 <= est.high
    assert 0.9 <= hits / trials <= 0.99


def test_percentile_is_numpys_linear() -> None:
    xs = sorted(np.random.default_rng(1).exponential(5.0, 101).tolist())
    for q in (0.0, 0.1, 0.5, 0.9, 1.0):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, 100 * q)))
    assert math.isnan(percentile([], 0.5))
