"""Air-raid alerts in the simulated day: when they sound, when service resumes, and what they cost the waits.

The alert process (:func:`alert_spans`): alerts sound as a Poisson process over the whole clock day, night
included, at :attr:`cherga.sim.profile.Alerts.per_hour`; each lasts a duration drawn from the profile's
distribution. Alerts that overlap, or sound again before service has resumed, are one stop. Service resumes
``resume_after_min`` after the all-clear (``resume_after_opening_min`` when the alert was on at opening time). Each
day's alerts come from its own child stream; the previous day's alerts that last past midnight are drawn from
theirs, so a day's stops do not depend on which days run before it.

What a stop does in :class:`cherga.sim.model.OfficeDay`: desks do not call from the alert until service resumes;
a visit under way is held and goes on after (its remaining minutes); a recall waits likewise; visitors' patience
does not run (every patience deadline moves by the stop's length); a visitor who comes while service is stopped
(:func:`cherga.sim.model.shelter`) takes a ticket when it resumes with probability ``return_share``, else goes
home (and is counted as turned away, not as a ticket); one who would come back only after closing time goes home.
An alert on at closing time, or one that sounds after it, ends the day at once (``CloseDay`` under the alert): those
still waiting, and anyone held at a desk, are not served today, as the engine's close under an alert has it (held,
they could only go on after the all-clear, possibly past midnight, in the next day).

Net of alerts (:func:`overlap`): a wait with the time under alert, from the alert to the resumption, taken out.

Calibration (:func:`fit_alerts`): the rate is alerts over hours observed (the maximum-likelihood rate of a Poisson
process, standard error ``√n / hours``); the duration is lognormal by maximum likelihood (mean and SD of the
fitted lognormal), or the alerts' own minutes (``empirical``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cherga.sim import defaults
from cherga.sim.profile import Alerts, lognormal_params

DAY_MIN = 1440.0


@dataclass(frozen=True, slots=True)
class AlertSpan:
    """One stop of service (env minutes): the alert sounds at ``start``, the all-clear comes at ``clear``, service
    resumes at ``resume``; ``at_opening``: the alert was on at opening time."""

    start: float
    clear: float
    resume: float
    at_opening: bool


def durations(a: Alerts, rng: np.random.Generator, n: int) -> list[float]:
    """``n`` alerts' minutes from the profile's distribution."""
    if n == 0:
        return []
    if a.duration == "empirical":
        pool = np.asarray(a.empirical_min or (a.mean_min,), dtype=np.float64)
        return [float(x) for x in pool[rng.integers(0, pool.size, n)]]
    if a.duration == "exponential":
        return [float(x) for x in rng.exponential(a.mean_min, n)]
    if a.sd_min <= 0:
        return [a.mean_min] * n
    mu, sigma = lognormal_params(a.mean_min, a.sd_min / a.mean_min)
    return [float(x) for x in rng.lognormal(mu, sigma, n)]


def sound(a: Alerts, rng: np.random.Generator, t0: float) -> list[tuple[float, float]]:
    """The alerts that sound in the 24 hours from ``t0``: ``(start, all-clear)``, by start."""
    n = int(rng.poisson(a.per_hour * 24.0))
    starts = sorted(float(t0 + x) for x in rng.random(n) * DAY_MIN)
    return [(s, s + d) for s, d in zip(starts, durations(a, rng, n), strict=True)]


def merge(
    a: Alerts, alerts: Iterable[tuple[float, float]], open_at: float, day_end: float
) -> tuple[AlertSpan, ...]:
    """The stops of service: overlapping alerts, and an alert that sounds before service resumed, are one; those
    over before ``open_at`` (service resumed by then) or starting from ``day_end`` on are left out."""
    out: list[AlertSpan] = []
    cur: list[float] | None = None

    def resume(s: float, e: float) -> float:
        delay = a.resume_after_opening_min if s <= open_at < e else a.resume_after_min
        return e + delay

    for s, e in sorted(alerts):
        if cur is not None and s <= resume(cur[0], cur[1]):
            cur[1] = max(cur[1], e)
            continue
        if cur is not None:
            out.append(AlertSpan(cur[0], cur[1], resume(cur[0], cur[1]), cur[0] <= open_at < cur[1]))
        cur = [s, e]
    if cur is not None:
        out.append(AlertSpan(cur[0], cur[1], resume(cur[0], cur[1]), cur[0] <= open_at < cur[1]))
    return tuple(sp for sp in out if sp.resume > open_at and sp.start < day_end)


def overlap(spans: Sequence[AlertSpan], t0: float, t1: float) -> float:
    """Minutes of ``[t0, t1]`` while service was stopped (from an alert to the resumption)."""
    total = 0.0
    for sp in spans:
        lo, hi = max(t0, sp.start), min(t1, sp.resume)
        if hi > lo:
            total += hi - lo
    return total


def minutes_open(spans: Sequence[AlertSpan], open_at: float, close_at: float) -> tuple[int, float]:
    """The stops that fell in opening hours, and their minutes there."""
    n = 0
    m = 0.0
    for sp in spans:
        lo, hi = max(open_at, sp.start), min(close_at, sp.resume)
        if hi > lo:
            n += 1
            m += hi - lo
    return n, m


# ------------------------------------------------------------------------------------------------ calibration


@dataclass(frozen=True, slots=True)
class AlertFit:
    alerts: Alerts | None  # None: no alert in the period
    count: int
    hours: float
    per_day: float
    per_day_se: float
    mean_min: float
    sd_min: float

    def report(self) -> dict[str, object]:
        def r(x: float) -> float | None:
            return round(x, 4) if math.isfinite(x) else None

        return {"count": self.count, "hours_observed": round(self.hours, 2), "per_day": r(self.per_day),
                "per_day_se": r(self.per_day_se), "mean_min": r(self.mean_min), "sd_min": r(self.sd_min),
                "duration": None if self.alerts is None else self.alerts.duration}


def fit_alerts(
    alerts: Sequence[tuple[float, float]], hours: float, *, empirical: bool = False, source: str = "fitted",
    base: Alerts | None = None,
) -> AlertFit:
    """The rate and the duration of ``alerts`` (``(start, end)`` in minutes) observed over ``hours`` hours.

    Rate: ``n / hours`` per hour (Poisson maximum likelihood). Duration: lognormal maximum likelihood (mean
    ``exp(μ̂ + σ̂²/2)``, SD ``mean × √(exp σ̂² − 1)``), or with ``empirical`` the observed minutes themselves. The
    resume delays and the share who come back are ``base``'s (or the defaults)."""
    if hours <= 0:
        raise ValueError("the alerts' period must last more than 0 hours")
    mins = [e - s for s, e in alerts if e > s]
    n = len(mins)
    if n == 0:
        return AlertFit(None, 0, hours, 0.0, 0.0, math.nan, math.nan)
    logs = [math.log(x) for x in mins]
    mu = math.fsum(logs) / n
    s2 = math.fsum((x - mu) ** 2 for x in logs) / n
    mean = math.exp(mu + s2 / 2.0)
    sd = mean * math.sqrt(math.expm1(s2))
    keep = base or Alerts(per_hour=0.0, return_share=defaults.ALERT_RETURN_SHARE)
    fitted = Alerts(
        per_hour=n / hours, mean_min=mean, sd_min=sd, duration="empirical" if empirical else "lognormal",
        empirical_min=tuple(round(x, 2) for x in mins) if empirical else (),
        resume_after_min=keep.resume_after_min, resume_after_opening_min=keep.resume_after_opening_min,
        return_share=keep.return_share, source=source,
    )
    return AlertFit(fitted, n, hours, n / hours * 24.0, math.sqrt(n) / hours * 24.0, mean, sd)
