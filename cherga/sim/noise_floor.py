"""What no forecast can beat: the part of a wait that the service times still to come decide.

A wait is the time until enough services ahead of the ticket end. Who is ahead (who came before, who comes later
and overtakes by the priority order, who leaves) is knowable in principle; how long each of those services will
take is not, until it ends. This module measures that floor on simulated days, with common random numbers:

- the day as it happened: the visitors of :func:`cherga.sim.model.make_visitors` (their arrivals, services,
  categories, patience, no-shows, bookings), simulated once;
- for a ticket, ``copies`` counterfactual days with exactly the same visitors, arriving at the same moments with
  the same flags and patience, and the same day up to the ticket's issue (the services that had ended keep their
  durations; each service under way keeps the time it had lasted and is drawn again given that), but every later
  duration drawn afresh from the same distributions (a stream of their own);
- the **oracle** predicts the ticket's wait as the median (for the MAE) or the mean (for the RMSE) of its waits
  over the copies: it knows everything the service knows at issue, and also every later arrival, and nothing of
  the durations still to come.

Its error against the day as it happened is what remains for any forecaster: a lower bound on the expected error
of every forecast made from what can be known at issue. :func:`noise_floor` reports it beside the engine's own
error on the same tickets.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any, Final

import numpy as np

from cherga.engine.model import Network
from cherga.sim.model import DayResult, Visitors, default_schedule, make_visitors, simulate_day
from cherga.sim.profile import Profile, lognormal_params
from cherga.sim.runner import run_office

NOISE_KEY: Final = zlib.crc32(b"noise floor: service times again")
_STD: Final = NormalDist()


def resample_services(visitors: Visitors, network: Network, profile: Profile, rng: np.random.Generator,
                      keep: Sequence[bool] = (), lasted: Mapping[int, float] | None = None) -> Visitors:
    """The same visitors with fresh service times (first and second service), from the profile's distributions;
    those marked in ``keep`` keep theirs, and a visitor in ``lasted`` gets a first service longer than that."""
    out = visitors.copy()
    for i, sid in enumerate(out.service):
        if keep and keep[i]:
            continue
        if lasted and i in lasted:
            out.service_min[i] = _draw_longer(rng, sid, network, profile, lasted[i])
            continue
        out.service_min[i] = _draw(rng, sid, network, profile)
        second = out.second[i]
        if second is not None:
            out.second_min[i] = _draw(rng, second, network, profile)
    return out


def _params(sid: str, network: Network, profile: Profile) -> tuple[float, float]:
    st = profile.service_time.get(sid)
    return (st.mean_min, st.cv) if st else (network.services[sid].mean_service_min, 1.0)


def _draw(rng: np.random.Generator, sid: str, network: Network, profile: Profile) -> float:
    mean, cv = _params(sid, network, profile)
    if profile.distribution == "exponential":
        return float(rng.exponential(mean))
    if cv <= 0.0:
        return mean
    mu, sigma = lognormal_params(mean, cv)
    return float(rng.lognormal(mu, sigma))


def _draw_longer(rng: np.random.Generator, sid: str, network: Network, profile: Profile, lasted: float) -> float:
    """A service time drawn given that it has already lasted ``lasted`` minutes (what the desk knows)."""
    mean, cv = _params(sid, network, profile)
    if profile.distribution == "exponential":
        return lasted + float(rng.exponential(mean))  # memoryless
    if cv <= 0.0:
        return max(mean, lasted)
    mu, sigma = lognormal_params(mean, cv)
    z = _STD.cdf((math.log(lasted) - mu) / sigma) if lasted > 0 else 0.0
    u = z + (1.0 - z) * float(rng.random())
    if u >= 1.0 - 1e-12:  # far in the tail: the conditional mean is about the elapsed time
        return lasted
    return max(lasted, math.exp(mu + sigma * _STD.inv_cdf(max(u, 1e-12))))


def _rng(ss: np.random.SeedSequence, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, *key))))


def oracle_waits(network: Network, office_id: str, profile: Profile, day: int, ss: np.random.SeedSequence,
                 copies: int, keep: Sequence[bool] = (), key: int = 0,
                 lasted: Mapping[int, float] | None = None) -> np.ndarray:
    """``[copy, visitor]`` minutes from issue to the first call on the counterfactual days (NaN: never called);
    the visitors marked in ``keep`` keep the service times they had."""
    office = network.offices[office_id]
    sched = default_schedule(office, day)
    if sched is None:
        return np.empty((copies, 0))
    base = make_visitors(network, office, profile, day, ss)
    rng = _rng(ss, day, NOISE_KEY, key)
    rows = []
    for _ in range(copies):
        v = resample_services(base, network, profile, rng, keep, lasted)
        r = simulate_day(network, office_id, v, sched, day=day, recall_interval_min=profile.recall_interval_min)
        rows.append(r.wait[:len(base)])
    return np.array(rows, dtype=np.float64)


def known_at(r: DayResult, n_own: int, at: float) -> tuple[list[bool], dict[int, float]]:
    """What the service knows of the durations at ``at``: which of the day's own visitors' services had ended (they
    keep their times), and how long each service then under way had lasted."""
    v = r.visitors
    ended: list[bool] = []
    lasted: dict[int, float] = {}
    for x, w in enumerate(r.wait[:n_own]):
        called_at = v.t[x] + w if w == w else math.inf
        ended.append(called_at + v.service_min[x] <= at)
        if called_at < at and not ended[-1]:
            lasted[x] = at - called_at
    return ended, lasted


def noise_floor(network: Network, office_id: str, profile: Profile, *, days: Sequence[int],
                 seeds: Sequence[np.random.SeedSequence], sample: int = 200, copies: int = 40) -> dict[str, Any]:
    """The strict lower bound, on ``sample`` tickets drawn at random. For each, the oracle knows the day up to the
    ticket's issue exactly as it happened (the services that ended keep their durations), and of each service
    under way then, how long it has lasted so far, as the engine does: its duration is drawn again given that; the
    services begun later are drawn afresh. It also knows every later arrival, which the engine cannot. No
    forecaster with only what the service can know at issue has a smaller expected error (up to the Monte Carlo
    error of the oracle's median, which raises its figure a little: see ``copies``)."""
    results = run_office(network, office_id, profile, days=days, seeds=seeds, eta=True)
    pool: list[tuple[int, int, int]] = []  # (replication, day index, visitor)
    for k, rep in enumerate(results):
        for d, r in enumerate(rep):
            n_own = len(make_visitors(network, network.offices[office_id], profile, r.day, seeds[k]))
            pool.extend((k, d, i) for i in range(n_own) if r.wait[i] == r.wait[i] and r.eta[i] == r.eta[i])
    pick = _rng(seeds[0], NOISE_KEY, 1).choice(len(pool), size=min(sample, len(pool)), replace=False)
    n = 0
    err_eta = err_oracle = sq_eta = sq_oracle = wait_sum = 0.0
    for j in sorted(pick.tolist()):
        k, d, i = pool[j]
        r = results[k][d]
        t_issue = r.visitors.t[i]
        n_own = len(r.wait) if not r.came_from else min(r.came_from)
        ended, lasted = known_at(r, n_own, t_issue)
        col = oracle_waits(network, office_id, profile, r.day, seeds[k], copies, ended, key=j + 2, lasted=lasted)[:, i]
        called = col[~np.isnan(col)]
        if called.size * 2 < copies:
            continue
        w, eta = r.wait[i], r.eta[i]
        n += 1
        wait_sum += w
        err_eta += abs(eta - w)
        sq_eta += (eta - w) ** 2
        err_oracle += abs(float(np.median(called)) - w)
        sq_oracle += (float(called.mean()) - w) ** 2
    if n == 0:
        return {"tickets": 0}
    return {"tickets": n, "copies": copies, "mean_wait_min": round(wait_sum / n, 3),
            "forecast": {"mae_min": round(err_eta / n, 3), "rmse_min": round(math.sqrt(sq_eta / n), 3)},
            "oracle": {"mae_min": round(err_oracle / n, 3), "rmse_min": round(math.sqrt(sq_oracle / n), 3)}}
