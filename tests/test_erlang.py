"""Tests for cherga.sim.erlang: Erlang B/C against exact sums, min_servers by its definition,
Erlang A against Garnett-Mandelbaum-Reiman's closed forms, its θ → 0 limit and a simulation."""

from __future__ import annotations

import heapq
import math
from collections import deque
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import gammainc, gammaln

from cherga.sim.erlang import ErlangA, ErlangC, erlang_a, erlang_b, erlang_c, min_servers

# --------------------------------------------------------------------------- exact references


def _scaled_terms(a: Fraction, c: int) -> list[int]:
    """T_k = a^k/k! · q^c · c!  (a = p/q) as exact integers, k = 0..c."""
    p, q = a.numerator, a.denominator
    fact_c = math.factorial(c)
    return [p**k * q ** (c - k) * (fact_c // math.factorial(k)) for k in range(c + 1)]


def exact_erlang_b(a: Fraction, c: int) -> Fraction:
    """(a^c/c!) / Σ_{k≤c} a^k/k!, exactly."""
    t = _scaled_terms(a, c)
    return Fraction(t[c], sum(t))


def exact_erlang_c(a: Fraction, c: int) -> Fraction:
    """The textbook direct sum, exactly: (a^c/c!)·c/(c−a) / (Σ_{k<c} a^k/k! + (a^c/c!)·c/(c−a))."""
    assert a < c
    t = _scaled_terms(a, c)
    c_minus_a = c - a
    return Fraction(t[c] * c) / (c_minus_a * sum(t[:c]) + t[c] * c)


# --------------------------------------------------------------------------- Erlang B / C values


def test_erlang_c_two_servers_unit_load_is_one_third() -> None:
    r = erlang_c(1.0, 1.0, 2)
    assert isinstance(r, ErlangC)
    assert r.servers == 2
    assert r.offered_load == 1.0
    assert r.utilisation == 0.5
    assert r.p_wait == pytest.approx(1 / 3, rel=1e-14)
    # Wq = C/(cμ − λ) = (1/3)/(2 − 1)
    assert r.mean_wait_min == pytest.approx(1 / 3, rel=1e-14)
    assert r.p_wait_over(0.0) == pytest.approx(1 / 3, rel=1e-14)
    assert r.p_wait_over(2.0) == pytest.approx(math.exp(-2.0) / 3, rel=1e-14)


def test_erlang_c_ten_erlangs_twelve_servers() -> None:
    # λ = 10/h, S = 1 h expressed per minute: a = 10 Erlangs on 12 desks.
    r = erlang_c(10 / 60, 60.0, 12)
    assert r.offered_load == pytest.approx(10.0)
    assert r.p_wait == pytest.approx(0.4494, abs=5e-5)
    assert r.p_wait == pytest.approx(float(exact_erlang_c(Fraction(r.offered_load), 12)), rel=1e-13)
    # Wq = C·S/(c − a) = 0.4494·60/2 minutes
    assert r.mean_wait_min == pytest.approx(r.p_wait * 60.0 / 2.0, rel=1e-12)


def test_single_server_is_mm1() -> None:
    lam, s = 0.7, 1.0
    r = erlang_c(lam, s, 1)
    assert r.p_wait == pytest.approx(0.7, rel=1e-14)
    assert r.mean_wait_min == pytest.approx(0.7 / (1.0 - 0.7), rel=1e-13)
    assert r.p_wait_over(3.0) == pytest.approx(0.7 * math.exp(-0.3 * 3.0), rel=1e-13)


@pytest.mark.parametrize("rho", [0.05, 0.3, 0.7, 0.9, 0.99, 0.999])
def test_erlang_c_matches_direct_sum_for_c_up_to_200(rho: float) -> None:
    for c in range(1, 201):
        a = rho * c
        got = erlang_c(a, 1.0, c).p_wait  # S = 1 so the offered load is exactly the float a
        want = float(exact_erlang_c(Fraction(a), c))
        assert got == pytest.approx(want, rel=1e-11), (c, a)
        assert erlang_b(a, c) == pytest.approx(float(exact_erlang_b(Fraction(a), c)), rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(1000, 950.0), (1000, 999.0), (2000, 1900.5), (1500, 1200.0)])
def test_erlang_c_is_stable_for_large_c(c: int, a: float) -> None:
    r = erlang_c(a, 1.0, c)
    assert 0.0 < r.p_wait < 1.0
    assert r.p_wait == pytest.approx(float(exact_erlang_c(Fraction(a), c)), rel=1e-11)


def test_zero_arrivals_never_wait() -> None:
    r = erlang_c(0.0, 10.0, 3)
    assert r.p_wait == 0.0
    assert r.mean_wait_min == 0.0
    assert r.p_wait_over(0.0) == 0.0
    assert r.wait_quantile(0.99) == 0.0


@pytest.mark.parametrize(("lam", "s", "c"), [(1.0, 1.0, 1), (2.0, 1.5, 3), (5.0, 12.0, 30)])
def test_unstable_system_is_reported_not_raised(lam: float, s: float, c: int) -> None:
    r = erlang_c(lam, s, c)
    assert r.utilisation >= 1.0
    assert not r.stable
    assert r.p_wait == 1.0
    assert r.mean_wait_min == math.inf
    assert r.p_wait_over(0.0) == 1.0
    assert r.p_wait_over(1e6) == 1.0
    assert r.wait_quantile(0.0) == 0.0
    assert r.wait_quantile(0.5) == math.inf


def test_wait_quantile_inverts_the_tail() -> None:
    r = erlang_c(1.5, 12.5, 22)
    assert r.wait_quantile(0.0) == 0.0
    assert r.wait_quantile(1.0 - r.p_wait) == 0.0
    assert r.wait_quantile(0.5 * (1.0 - r.p_wait)) == 0.0
    assert r.wait_quantile(1.0) == math.inf
    for q in (0.9, 0.95, 0.99, 0.999):
        assert q > 1.0 - r.p_wait
        t = r.wait_quantile(q)
        assert t > 0.0
        assert r.p_wait_over(t) == pytest.approx(1.0 - q, rel=1e-10)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((-0.1, 1.0, 2), "arrivals_per_min"),
        ((math.nan, 1.0, 2), "arrivals_per_min"),
        ((math.inf, 1.0, 2), "arrivals_per_min"),
        ((1.0, 0.0, 2), "mean_service_min"),
        ((1.0, -3.0, 2), "mean_service_min"),
        ((1.0, math.inf, 2), "mean_service_min"),
        ((1.0, 1.0, 0), "servers"),
        ((1.0, 1.0, -4), "servers"),
    ],
)
def test_erlang_c_rejects_bad_arguments(args: tuple[float, float, int], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        erlang_c(*args)
    with pytest.raises(ValueError, match=name):
        erlang_a(*args, 5.0)


def test_servers_must_be_an_integer() -> None:
    with pytest.raises(TypeError, match="servers"):
        erlang_c(1.0, 1.0, 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="servers"):
        erlang_c(1.0, 1.0, True)
    assert erlang_c(1.0, 1.0, np.int64(2)).p_wait == pytest.approx(1 / 3)  # type: ignore[arg-type]


def test_other_arguments_are_validated() -> None:
    r = erlang_c(1.0, 1.0, 2)
    with pytest.raises(ValueError, match="t_min"):
        r.p_wait_over(-1.0)
    with pytest.raises(ValueError, match="q"):
        r.wait_quantile(1.5)
    with pytest.raises(ValueError, match="mean_patience_min"):
        erlang_a(1.0, 1.0, 2, 0.0)
    with pytest.raises(ValueError, match="share_within"):
        min_servers(1.0, 1.0, share_within=1.0)
    with pytest.raises(ValueError, match="share_over_limit"):
        min_servers(1.0, 1.0, share_over_limit=0.0)
    with pytest.raises(ValueError, match="target_min"):
        min_servers(1.0, 1.0, target_min=-1.0)
    with pytest.raises(ValueError, match="max_servers"):
        min_servers(1.5, 12.5, max_servers=10)  # offered load 18.75 needs at least 19


# --------------------------------------------------------------------------- monotonicity


@settings(max_examples=300, deadline=None)
@given(
    c=st.integers(min_value=1, max_value=300),
    rho=st.floats(min_value=0.01, max_value=1.5),
    s=st.floats(min_value=0.5, max_value=60.0),
    t=st.sampled_from([0.0, 1.0, 15.0, 20.0]),
)
def test_more_servers_never_more_waiting(c: int, rho: float, s: float, t: float) -> None:
    lam = rho * c / s
    fewer, more = erlang_c(lam, s, c), erlang_c(lam, s, c + 1)
    slack = 1e-12
    assert more.p_wait <= fewer.p_wait * (1 + slack)
    assert more.mean_wait_min <= fewer.mean_wait_min * (1 + slack)
    assert more.p_wait_over(t) <= fewer.p_wait_over(t) * (1 + slack)


# --------------------------------------------------------------------------- min_servers


def _meets(lam: float, s: float, c: int, **kw: float) -> bool:
    """The definition of min_servers, written out with the public ErlangC object."""
    target, within = kw.get("target_min", 15.0), kw.get("share_within", 0.9)
    limit, over = kw.get("limit_min", 20.0), kw.get("share_over_limit", 0.01)
    r = erlang_c(lam, s, c)
    return r.stable and 1.0 - r.p_wait_over(target) >= within and r.p_wait_over(limit) <= over


def test_min_servers_cnap_example() -> None:
    # 1.5 visitors per minute, 12.5-minute services: 18.75 Erlangs.
    lam, s = 1.5, 12.5
    c = min_servers(lam, s)
    assert c == 22
    assert _meets(lam, s, c)
    assert not _meets(lam, s, c - 1)
    # Brute force from one desk up gives the same least c.
    assert next(k for k in range(1, 100) if _meets(lam, s, k)) == c


def test_min_servers_zero_arrivals() -> None:
    assert min_servers(0.0, 12.5) == 0


def test_min_servers_stricter_targets_need_more_desks() -> None:
    lam, s = 1.5, 12.5
    base = min_servers(lam, s)
    strict = min_servers(lam, s, target_min=5.0, share_within=0.95, limit_min=10.0, share_over_limit=0.001)
    assert strict > base
    assert _meets(lam, s, strict, target_min=5.0, share_within=0.95, limit_min=10.0, share_over_limit=0.001)
    loose = min_servers(lam, s, share_within=0.0, share_over_limit=1.0)
    assert loose == 19  # only stability: the least integer above 18.75


def test_min_servers_raises_when_cap_is_too_low() -> None:
    with pytest.raises(ValueError, match="max_servers"):
        min_servers(1.5, 12.5, max_servers=20)


@settings(max_examples=200, deadline=None)
@given(
    lam=st.floats(min_value=0.01, max_value=20.0),
    s=st.floats(min_value=0.5, max_value=40.0),
    target=st.floats(min_value=0.0, max_value=30.0),
    within=st.floats(min_value=0.0, max_value=0.999),
    limit=st.floats(min_value=0.0, max_value=60.0),
    over=st.floats(min_value=0.001, max_value=1.0),
)
def test_min_servers_is_the_least_passing_c(
    lam: float, s: float, target: float, within: float, limit: float, over: float
) -> None:
    kw = {"target_min": target, "share_within": within, "limit_min": limit, "share_over_limit": over}
    c = min_servers(lam, s, **kw)  # type: ignore[arg-type]
    assert c > lam * s
    assert _meets(lam, s, c, **kw)
    if c > 1:
        assert not _meets(lam, s, c - 1, **kw)


# --------------------------------------------------------------------------- Erlang A: closed forms


def _gmr_reference(lam: float, s: float, c: int, patience: float) -> tuple[float, float]:
    """P(wait) and P(abandon) from Garnett, Mandelbaum & Reiman (2002), eqs. for M/M/n+M.

    A(x, y) = x·e^y/y^x · γ(x, y) (γ the lower incomplete gamma), x = cμ/θ, y = λ/θ;
    P(W > 0) = A·E/(1 + (A − 1)·E) with E the Erlang B; P(Ab | W > 0) = 1/(ρA) + 1 − 1/ρ, ρ = λ/(cμ).
    """
    mu, theta = 1.0 / s, 1.0 / patience
    x, y = c * mu / theta, lam / theta
    big_a = math.exp(math.log(x) + y - x * math.log(y) + gammaln(x) + math.log(gammainc(x, y)))
    e = float(exact_erlang_b(Fraction(lam * s), c))
    p_wait = big_a * e / (1.0 + (big_a - 1.0) * e)
    rho = lam / (c * mu)
    return p_wait, p_wait * (1.0 / (rho * big_a) + 1.0 - 1.0 / rho)


ERLANG_A_CASES = [
    (1.0, 3.0, 2, 4.0),  # overloaded, short patience
    (1.0, 2.5, 3, 5.0),
    (2.0, 5.0, 10, 10.0),
    (0.5, 12.0, 8, 20.0),
    (10.0, 1.0, 12, 0.5),
    (1.5, 12.5, 18, 15.0),  # the ЦНАП example one desk short of stability
    (100.0, 10.0, 500, 30.0),  # large and twice overloaded
]


@pytest.mark.parametrize(("lam", "s", "c", "patience"), ERLANG_A_CASES)
def test_erlang_a_matches_garnett_mandelbaum_reiman(lam: float, s: float, c: int, patience: float) -> None:
    r = erlang_a(lam, s, c, patience)
    assert isinstance(r, ErlangA)
    p_wait, p_abandon = _gmr_reference(lam, s, c, patience)
    assert r.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert r.p_abandon == pytest.approx(p_abandon, rel=1e-9)
    # GMR: P(V > t | V > 0) = γ(x, y·e^{−θt}) / γ(x, y) for the offered (virtual) wait V.
    theta = 1.0 / patience
    x, y = c / s / theta, lam / theta
    for t in (0.5, 5.0, 15.0, 20.0):
        want = p_wait * gammainc(x, y * math.exp(-theta * t)) / gammainc(x, y)
        assert r.p_offered_wait_over(t) == pytest.approx(want, rel=1e-8, abs=1e-14)
        assert r.p_wait_over(t) == pytest.approx(math.exp(-theta * t) * want, rel=1e-8, abs=1e-14)


@pytest.mark.parametrize(("lam", "s", "c", "patience"), ERLANG_A_CASES)
def test_erlang_a_internal_consistency(lam: float, s: float, c: int, patience: float) -> None:
    r = erlang_a(lam, s, c, patience)
    theta = 1.0 / patience
    assert r.p_abandon == pytest.approx(theta * r.mean_wait_min, rel=1e-12)
    assert r.mean_queue_length == pytest.approx(lam * r.mean_wait_min, rel=1e-12)
    assert r.p_wait_over(0.0) == r.p_wait
    assert 0.0 <= r.p_abandon <= r.p_wait <= 1.0
    # E[W] = ∫ P(W > t) dt, by trapezoid over a fine grid (the tail beyond is negligible).
    horizon = 40.0 * max(patience, 1.0)
    grid = np.linspace(0.0, horizon, 4001)
    tail = np.array([r.p_wait_over(float(t)) for t in grid])
    assert np.all(np.diff(tail) <= 1e-15)
    assert tail[-1] < 1e-12
    assert float(np.trapezoid(tail, grid)) == pytest.approx(r.mean_wait_min, rel=2e-3)


def _dense_chain_reference(lam: float, s: float, c: int, patience: float, extra: int) -> np.ndarray:
    """Stationary law of the M/M/c+M chain truncated at c + extra, from π·Q = 0 by least squares."""
    mu, theta = 1.0 / s, 1.0 / patience
    size = c + extra + 1
    q = np.zeros((size, size))
    for n in range(size - 1):
        q[n, n + 1] = lam
    for n in range(1, size):
        q[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
    np.fill_diagonal(q, -q.sum(axis=1))
    lhs = np.vstack([q.T, np.ones(size)])
    rhs = np.zeros(size + 1)
    rhs[-1] = 1.0
    return np.linalg.lstsq(lhs, rhs, rcond=None)[0]


def _uniformised_offered_wait_tail(ahead: np.ndarray, c_mu: float, theta: float, t: float) -> float:
    """Σ_k ahead[k]·P(Σ_{j=0..k} Exp(cμ + jθ) > t) by uniformisation (Jensen 1953): the pure-death
    chain of 'customers ahead' run on a Poisson(Λt) clock, Λ ≥ every rate; no cancellation."""
    rates = c_mu + theta * np.arange(ahead.size)
    lam_u = float(rates[-1])
    move = rates / lam_u
    m = lam_u * t
    x = ahead.astype(float).copy()
    total = 0.0
    for i in range(math.ceil(m + 12.0 * math.sqrt(m) + 50.0)):
        total += math.exp(-m + i * math.log(m) - math.lgamma(i + 1)) * float(x.sum())
        moved = x * move
        x = x - moved
        x[:-1] += moved[1:]  # one fewer ahead; what leaves stage 0 reaches a desk
    return total


@pytest.mark.parametrize(("lam", "s", "c", "patience"), ERLANG_A_CASES[:5])
def test_erlang_a_matches_dense_chain_and_uniformisation(
    lam: float, s: float, c: int, patience: float
) -> None:
    pi = _dense_chain_reference(lam, s, c, patience, extra=150)
    assert abs(pi[-1]) < 1e-15  # the truncation is harmless for these cases (lstsq noise ~1e-17)
    ahead = pi[c:]
    r = erlang_a(lam, s, c, patience)
    # Drop the solver's round-off states far out (they only inflate the uniformisation rate).
    tail = ahead[: int(np.flatnonzero(ahead > 1e-18)[-1]) + 1]
    assert r.p_wait == pytest.approx(float(ahead.sum()), rel=1e-9)
    lq = float(np.dot(np.arange(ahead.size), ahead))
    assert r.mean_queue_length == pytest.approx(lq, rel=1e-9)
    assert r.mean_wait_min == pytest.approx(lq / lam, rel=1e-9)
    for t in (0.5, 3.0, 15.0, 20.0):
        want = _uniformised_offered_wait_tail(tail, c / s, 1.0 / patience, t)
        assert r.p_offered_wait_over(t) == pytest.approx(want, rel=1e-7, abs=1e-12)


def test_erlang_a_overload_fluid_limit() -> None:
    # Twice overloaded: at least half of the offered work must be shed by abandonment (fluid limit).
    r = erlang_a(100.0, 10.0, 500, 30.0)
    assert r.utilisation == 2.0
    assert r.p_abandon == pytest.approx(0.5, abs=1e-3)
    assert math.isfinite(r.mean_wait_min)


# --------------------------------------------------------------------------- Erlang A → Erlang C


@pytest.mark.parametrize(("lam", "s", "c"), [(1.0, 1.0, 2), (10.0, 1.0, 12), (1.5, 12.5, 22), (0.9, 1.0, 1)])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(lam: float, s: float, c: int) -> None:
    ec = erlang_c(lam, s, c)
    previous_error = math.inf
    for patience in (1e3, 1e5, 1e7, 1e9):
        ea = erlang_a(lam, s, c, patience)
        error = abs(ea.p_wait - ec.p_wait) + abs(ea.mean_wait_min - ec.mean_wait_min)
        assert error <= previous_error
        previous_error = error
    assert ea.p_wait == pytest.approx(ec.p_wait, rel=1e-6)
    assert ea.mean_wait_min == pytest.approx(ec.mean_wait_min, rel=1e-6)
    assert ea.p_abandon == pytest.approx(0.0, abs=1e-7)
    for t in (0.0, 1.0, 15.0, 20.0):
        assert ea.p_wait_over(t) == pytest.approx(ec.p_wait_over(t), rel=1e-6, abs=1e-15)


def test_infinite_patience_is_exactly_erlang_c() -> None:
    for lam, s, c in [(10.0, 1.0, 12), (2.0, 1.0, 2)]:  # stable and unstable
        ec, ea = erlang_c(lam, s, c), erlang_a(lam, s, c, math.inf)
        assert ea.p_wait == ec.p_wait
        assert ea.mean_wait_min == ec.mean_wait_min
        assert ea.p_abandon == 0.0
        assert ea.p_wait_over(15.0) == ec.p_wait_over(15.0)


def test_erlang_a_zero_arrivals() -> None:
    r = erlang_a(0.0, 10.0, 3, 5.0)
    assert (r.p_wait, r.p_abandon, r.mean_wait_min, r.mean_queue_length) == (0.0, 0.0, 0.0, 0.0)
    assert r.p_wait_over(1.0) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    c=st.integers(min_value=1, max_value=40),
    rho=st.floats(min_value=0.05, max_value=2.0),
    s=st.floats(min_value=1.0, max_value=30.0),
    patience=st.floats(min_value=0.5, max_value=60.0),
)
def test_erlang_a_more_servers_never_more_waiting(c: int, rho: float, s: float, patience: float) -> None:
    lam = rho * c / s
    fewer, more = erlang_a(lam, s, c, patience), erlang_a(lam, s, c + 1, patience)
    slack = 1e-9
    assert more.p_wait <= fewer.p_wait * (1 + slack)
    assert more.p_abandon <= fewer.p_abandon * (1 + slack)
    assert more.mean_wait_min <= fewer.mean_wait_min * (1 + slack)
    assert more.p_wait_over(15.0) <= fewer.p_wait_over(15.0) * (1 + slack) + 1e-15


# --------------------------------------------------------------------------- Erlang A vs simulation

_ARRIVE, _DEPART, _ABANDON = 0, 1, 2


def simulate_mmc_m(
    lam: float, s: float, c: int, patience: float, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event-driven M/M/c+M, FCFS, starting empty.  Returns per-customer (waited, abandoned, wait)."""
    arrival = np.cumsum(rng.exponential(1.0 / lam, n))
    service = rng.exponential(s, n)
    patience_draw = rng.exponential(patience, n)
    waited = np.zeros(n, dtype=bool)
    abandoned = np.zeros(n, dtype=bool)
    started = np.zeros(n, dtype=bool)
    wait = np.zeros(n)
    events: list[tuple[float, int, int, int]] = [(float(arrival[0]), 0, _ARRIVE, 0)]
    seq = 1
    queue: deque[int] = deque()
    busy = 0

    def start(i: int, now: float) -> None:
        nonlocal busy, seq
        busy += 1
        started[i] = True
        wait[i] = now - arrival[i]
        heapq.heappush(events, (now + float(service[i]), seq, _DEPART, i))
        seq += 1

    while events:
        now, _, kind, i = heapq.heappop(events)
        if kind == _ARRIVE:
            if i + 1 < n:
                heapq.heappush(events, (float(arrival[i + 1]), seq, _ARRIVE, i + 1))
                seq += 1
            if busy < c:
                start(i, now)
            else:
                waited[i] = True
                queue.append(i)
                heapq.heappush(events, (now + float(patience_draw[i]), seq, _ABANDON, i))
                seq += 1
        elif kind == _DEPART:
            busy -= 1
            while queue:
                j = queue.popleft()
                if not abandoned[j]:  # abandoned customers are removed lazily
                    start(j, now)
                    break
        elif not started[i]:  # _ABANDON, unless service already began
            abandoned[i] = True
            wait[i] = float(patience_draw[i])
    return waited, abandoned, wait


@pytest.mark.parametrize(("lam", "s", "c", "patience"), [(1.0, 2.5, 3, 5.0), (1.0, 3.0, 2, 4.0), (2.0, 5.0, 10, 10.0)])
def test_erlang_a_agrees_with_simulation(lam: float, s: float, c: int, patience: float) -> None:
    rng = np.random.default_rng(20240917)
    n, warmup, batches = 44_000, 4_000, 20
    waited, abandoned, wait = simulate_mmc_m(lam, s, c, patience, n, rng)
    r = erlang_a(lam, s, c, patience)
    checks = {
        "p_wait": (waited, r.p_wait),
        "p_abandon": (abandoned, r.p_abandon),
        "mean_wait_min": (wait, r.mean_wait_min),
        "p_wait_over(2)": (wait > 2.0, r.p_wait_over(2.0)),
        "p_wait_over(5)": (wait > 5.0, r.p_wait_over(5.0)),
    }
    for name, (samples, theory) in checks.items():
        # Batch means: batches of 2,000 customers are far longer than the queue's memory, so
        # they are close to independent and give an honest standard error.  With 19 degrees of
        # freedom and 15 checks in all, 4.5 standard errors keeps the family-wise false-alarm
        # rate well under 1 % (for any seed); getting the mean patience wrong by 2x shows as ~8-10.
        means = np.asarray(samples[warmup:], dtype=float).reshape(batches, -1).mean(axis=1)
        estimate = float(means.mean())
        stderr = float(means.std(ddof=1)) / math.sqrt(batches)
        assert abs(estimate - theory) <= 4.5 * stderr + 1e-3, (name, estimate, theory, stderr)
