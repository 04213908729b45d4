"""The noise floor of the forecast (issue 13.3): the oracle's counterfactual days are the real day with only the
service times still to come drawn again, so its figures bound what any forecast can reach."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.sim.model import make_visitors, replication_seeds
from cherga.sim.noise_floor import _draw_longer, known_at, noise_floor, oracle_waits, resample_services
from cherga.sim.profile import Profile, default_profile
from cherga.sim.runner import run_office

OFFICE = "main"


@pytest.fixture(scope="module")
def net() -> Network:
    return load_network()


@pytest.fixture(scope="module")
def busy(net: Network) -> Profile:
    p = default_profile(net, OFFICE)
    return p.with_changes(hourly={d: tuple(x * 2.2 for x in row) for d, row in p.hourly.items()})


def test_keeping_every_service_time_replays_the_day_exactly(net: Network, busy: Profile) -> None:
    ss = replication_seeds(np.random.default_rng(3), 1)[0]
    real = run_office(net, OFFICE, busy, days=[0], seeds=[ss])[0][0]
    n = len(make_visitors(net, net.offices[OFFICE], busy, 0, ss))
    same = oracle_waits(net, OFFICE, busy, 0, ss, copies=2, keep=[True] * n)
    assert same.shape == (2, n)
    assert np.array_equal(same[0], np.array(real.wait[:n]), equal_nan=True)
    assert np.array_equal(same[1], same[0], equal_nan=True)
    fresh = oracle_waits(net, OFFICE, busy, 0, ss, copies=2)
    assert not np.array_equal(fresh[0], same[0], equal_nan=True), "fresh service times must change some waits"
    assert not np.array_equal(fresh[0], fresh[1], equal_nan=True), "each copy draws its own"


def test_resampling_moves_only_the_service_times(net: Network, busy: Profile) -> None:
    ss = replication_seeds(np.random.default_rng(4), 1)[0]
    v = make_visitors(net, net.offices[OFFICE], busy, 1, ss)
    keep = [i % 2 == 0 for i in range(len(v))]
    w = resample_services(v, net, busy, np.random.default_rng(0), keep, lasted={1: 30.0})
    assert (w.t, w.service, w.category, w.patience, w.no_show, w.due) == (
        v.t, v.service, v.category, v.patience, v.no_show, v.due)
    assert all(w.service_min[i] == v.service_min[i] for i in range(0, len(v), 2))
    assert sum(w.service_min[i] != v.service_min[i] for i in range(1, len(v), 2)) > len(v) // 3
    assert w.service_min[1] > 30.0


@pytest.mark.parametrize("lasted", [0.0, 5.0, 20.0, 40.0])
def test_a_service_under_way_is_drawn_given_how_long_it_has_lasted(net: Network, busy: Profile,
                                                                    lasted: float) -> None:
    sid = next(iter(busy.service_time))
    rng = np.random.default_rng(1)
    draws = np.array([_draw_longer(rng, sid, net, busy, lasted) for _ in range(4000)])
    assert (draws >= lasted).all()
    # against rejection sampling from the same lognormal: the same conditional mean within a few percent
    st = busy.service_time[sid]
    sigma = math.sqrt(math.log1p(st.cv ** 2))
    mu = math.log(st.mean_min) - sigma ** 2 / 2
    raw = np.random.default_rng(2).lognormal(mu, sigma, 400_000)
    tail = raw[raw > lasted]
    assert tail.size > 1000
    assert draws.mean() == pytest.approx(tail.mean(), rel=0.06)


def test_the_oracle_knows_the_day_up_to_the_issue_exactly(net: Network, busy: Profile) -> None:
    """The counterfactual days agree with the real one on everything before the ticket's issue: every visitor
    called by then is called at the same moment in every copy, and nobody else is called before it."""
    ss = replication_seeds(np.random.default_rng(5), 1)[0]
    r = run_office(net, OFFICE, busy, days=[0], seeds=[ss])[0][0]
    n = len(make_visitors(net, net.offices[OFFICE], busy, 0, ss))
    v = r.visitors
    i = max(range(n), key=lambda x: r.wait[x] if r.wait[x] == r.wait[x] else -1.0)  # the longest wait
    at = v.t[i]
    ended, lasted = known_at(r, n, at)
    assert lasted and any(ended), "a busy morning has services ended and under way"
    assert all(0 < x < at - v.t[k] + 1e-9 for k, x in lasted.items())
    copies = oracle_waits(net, OFFICE, busy, 0, ss, copies=4, keep=ended, lasted=lasted)
    real_call = np.array([v.t[x] + r.wait[x] for x in range(n)])
    before = real_call < at
    for row in copies:
        call = np.array(v.t[:n]) + row
        assert np.array_equal(call[before], real_call[before])
        assert not (call[~before] < at - 1e-9).any()
    assert len({tuple(np.nan_to_num(row[~before]).round(6)) for row in copies}) > 1, "what follows is drawn again"


def test_the_floor_is_reported_beside_the_forecast_on_the_same_tickets(net: Network, busy: Profile) -> None:
    seeds = replication_seeds(np.random.default_rng(7), 1)
    out = noise_floor(net, OFFICE, busy, days=[0], seeds=seeds, sample=6, copies=8)
    assert out["tickets"] == 6 and out["copies"] == 8
    assert set(out) >= {"mean_wait_min", "forecast", "oracle"}
    assert out["oracle"]["mae_min"] >= 0.0 and out["forecast"]["mae_min"] >= 0.0
    again = noise_floor(net, OFFICE, busy, days=[0], seeds=seeds, sample=6, copies=8)
    assert again == out, "the same seeds give the same figures"
