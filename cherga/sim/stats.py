"""Estimates over replications: means with t-based confidence intervals, and ratio estimates for shares.

Independent replications are the unit of statistics: waits within one simulated day are correlated (a queue that
builds up delays everyone behind), so a confidence interval comes from the spread *between* replications, never
from the count of tickets. Shares pooled over replications (``Σ hits / Σ tickets``) get the ratio estimator's
standard error, which weighs replications by their size.

Student's t quantile is computed here (scipy carries no type information for ``mypy --strict``) from the
regularised incomplete beta function, by bisection on the distribution function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes §6.4)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(ln_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function with ``df`` degrees of freedom."""
    x = df / (df + t * t)
    tail = 0.5 * betainc(df / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=256)
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection to 1e-12)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"df must be positive, got {df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate over ``n`` replications, its standard error and the t-based interval's half-width."""

    value: float
    se: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.value - self.half_width

    @property
    def high(self) -> float:
        return self.value + self.half_width

    def ci(self, digits: int = 4) -> list[float | None]:
        if not math.isfinite(self.half_width):
            return [None, None]
        return [round(self.low, digits), round(self.high, digits)]


def _half(se: float, n: int, level: float) -> float:
    if n < 2 or not math.isfinite(se):
        return math.inf
    return t_quantile(0.5 + level / 2.0, n - 1) * se


def mean_estimate(values: Sequence[float], level: float = 0.95) -> Estimate:
    """The mean of per-replication values with a t-based ``level`` interval (NaN values are left out)."""
    xs = [v for v in values if not math.isnan(v)]
    n = len(xs)
    if n == 0:
        return Estimate(math.nan, math.inf, math.inf, 0)
    m = math.fsum(xs) / n
    if n < 2:
        return Estimate(m, math.inf, math.inf, n)
    var = math.fsum((x - m) ** 2 for x in xs) / (n - 1)
    se = math.sqrt(var / n)
    return Estimate(m, se, _half(se, n, level), n)


def ratio_estimate(nums: Sequence[float], dens: Sequence[float], level: float = 0.95) -> Estimate:
    """``Σ num / Σ den`` over replications, with the ratio estimator's standard error.

    ``se² = Σ (num_r − R·den_r)² / (n (n − 1) d̄²)`` with ``R`` the pooled ratio and ``d̄`` the mean denominator
    (Cochran, *Sampling Techniques*, §6.4): a replication with more tickets weighs more, and one with none adds
    nothing to the ratio while still counting as a replication.
    """
    n = len(nums)
    total_d = math.fsum(dens)
    if n == 0 or total_d <= 0:
        return Estimate(math.nan, math.inf, math.inf, n)
    r = math.fsum(nums) / total_d
    if n < 2:
        return Estimate(r, math.inf, math.inf, n)
    dbar = total_d / n
    s2 = math.fsum((a - r * b) ** 2 for a, b in zip(nums, dens, strict=True)) / (n - 1)
    se = math.sqrt(s2 / n) / dbar
    return Estimate(r, se, _half(se, n, level), n)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation, as numpy's default; NaN for no values."""
    n = len(sorted_values)
    if n == 0:
        return math.nan
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac
