"""Engine-independent queueing analytics for desk planning: Erlang C and Erlang A.

These closed-form / numerically exact models answer the planners' question "how many
desks keep waits under 15 minutes, and almost never past 20?" without running the
simulator, and serve as a reference the simulator can be checked against.

Notation (all times in minutes):

* ``λ`` arrivals per minute, ``S`` mean service time, ``μ = 1/S`` service rate,
* ``c`` servers (desks), ``a = λ·S`` offered load (Erlangs), ``ρ = a/c`` utilisation,
* ``θ = 1/mean_patience`` abandonment rate of a waiting customer (Erlang A only).

Models:

* **Erlang C** (M/M/c, infinitely patient customers) — Erlang (1917), "Solution of some
  problems in the theory of probabilities of significance in automatic telephone
  exchanges", *Elektroteknikeren* 13; textbook form in Gross, Shortle, Thompson & Harris,
  *Fundamentals of Queueing Theory*, 4th ed. (2008), §2.3.
* **Erlang A** (M/M/c+M, exponential patience) — Palm (1943/1957); formulas and naming from
  Garnett, Mandelbaum & Reiman (2002), "Designing a call center with impatient customers",
  *Manufacturing & Service Operations Management* 4(3):208-227.  Computed here from the
  stationary distribution of the birth-death chain (exact up to a truncation error below
  1e-16), and the waiting-time tail by uniformisation (Jensen 1953; Grassmann 1977).

Only the standard library and numpy are used (scipy has no type stubs under ``mypy --strict``).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["ErlangA", "ErlangC", "erlang_a", "erlang_b", "erlang_c", "min_servers"]

FloatArray = npt.NDArray[np.float64]

# Truncate the Erlang A chain once the neglected tail mass is below this (relative to the
# largest state probability, which is at most the total mass): far below float resolution.
_TRUNCATION_EPS: Final = 1e-17
# Guard against runaway truncation (tiny θ with an overloaded system needs ~λ/θ states).
_MAX_CHAIN_STATES: Final = 5_000_000


# --------------------------------------------------------------------------- validation


def _nonnegative(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def _positive(name: str, value: float, *, allow_inf: bool = False) -> float:
    v = float(value)
    if math.isnan(v) or v <= 0.0 or (math.isinf(v) and not allow_inf):
        kind = "a positive number (or math.inf)" if allow_inf else "a finite number > 0"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return v


def _servers(name: str, value: int) -> int:
    # bool is an int subclass, but `servers=True` is certainly a bug.
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        c = operator.index(value)
    except TypeError as exc:
        raise TypeError(f"{name} must be an integer, got {value!r}") from exc
    if c < 1:
        raise ValueError(f"{name} must be >= 1, got {c}")
    return c


def _time(name: str, value: float) -> float:
    v = float(value)
    if math.isnan(v) or v < 0.0:
        raise ValueError(f"{name} must be >= 0 minutes, got {value!r}")
    return v


def _share(name: str, value: float, *, low_open: bool, high_open: bool) -> float:
    v = float(value)
    low_ok = v > 0.0 if low_open else v >= 0.0
    high_ok = v < 1.0 if high_open else v <= 1.0
    if math.isnan(v) or not (low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return v


# --------------------------------------------------------------------------- Erlang B / C


def _erlang_b_recursive(offered_load: float, servers: int) -> float:
    # B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).  Every iterate lies in [0, 1], so unlike
    # the textbook a^c/c! sums nothing overflows, and the recursion is numerically stable
    # (errors are damped at each step); O(c), fine for c in the thousands.
    b = 1.0
    for k in range(1, servers + 1):
        ab = offered_load * b
        b = ab / (k + ab)
    return b


def _erlang_c_from_b(b: float, offered_load: float, servers: int) -> float:
    # C = c·B / (c − a·(1 − B)) = c·B / (c − a + a·B), for a < c.  Written with (c − a) so
    # that a close to c loses no precision (c − a is exact by Sterbenz's lemma then).
    return servers * b / (servers - offered_load + offered_load * b)


def _wait_tail(p_wait: float, decay_rate_per_min: float, t_min: float) -> float:
    # M/M/c FCFS: the wait, given that one waits, is Exp(cμ − λ), hence P(W > t) = C·e^{−(cμ−λ)t}.
    return p_wait * math.exp(-decay_rate_per_min * t_min)


def erlang_b(offered_load: float, servers: int) -> float:
    """Erlang B blocking probability of M/M/c/c (Erlang 1917), via the stable recursion.

    ``B(c, a) = (a^c/c!) / Σ_{k=0..c} a^k/k!``, computed as ``B(0) = 1``,
    ``B(k) = a·B(k−1) / (k + a·B(k−1))`` (Gross & Harris, §2.6).
    """
    a = _nonnegative("offered_load", offered_load)
    c = _servers("servers", servers)
    return _erlang_b_recursive(a, c)


@dataclass(frozen=True, slots=True)
class ErlangC:
    """Steady state of the M/M/c FCFS queue with infinitely patient customers.

    Attributes:
        servers: ``c``.
        offered_load: ``a = λ·S`` in Erlangs.
        utilisation: ``ρ = a/c``.  The queue is stable only for ``ρ < 1``.
        p_wait: Erlang C, the probability that an arrival has to wait,
            ``C(c, a) = (a^c/c!)·(c/(c−a)) / (Σ_{k<c} a^k/k! + (a^c/c!)·(c/(c−a)))``.
        mean_wait_min: ``Wq = C/(cμ − λ)`` minutes, averaged over all arrivals.
        decay_rate_per_min: ``cμ − λ``, the rate of the exponential wait of those who wait.

    For an unstable system (``ρ ≥ 1``) the queue grows without bound: by convention
    ``p_wait = 1``, ``mean_wait_min = inf``, ``decay_rate_per_min = 0`` and
    ``p_wait_over(t) = 1`` for every ``t``.  No exception is raised, so planners can sweep
    server counts through the unstable region.
    """

    servers: int
    offered_load: float
    utilisation: float
    p_wait: float
    mean_wait_min: float
    decay_rate_per_min: float

    @property
    def stable(self) -> bool:
        """True when ``ρ < 1``, i.e. a steady state exists."""
        return self.utilisation < 1.0

    def p_wait_over(self, t_min: float) -> float:
        """``P(W > t) = C·exp(−(cμ − λ)·t)`` for an arrival (Gross & Harris, §2.3); 1 if unstable."""
        t = _time("t_min", t_min)
        if not self.stable:
            return 1.0
        return _wait_tail(self.p_wait, self.decay_rate_per_min, t)

    def wait_quantile(self, q: float) -> float:
        """The ``q``-quantile of the waiting time, ``inf{t : P(W ≤ t) ≥ q}``, in minutes.

        Since ``P(W ≤ t) = 1 − C·e^{−(cμ−λ)t}`` has an atom ``1 − C`` at zero, the quantile is 0
        for ``q ≤ 1 − C`` and ``ln(C/(1−q)) / (cμ − λ)`` above it; ``inf`` for ``q = 1`` (when
        anyone waits) and for any ``q > 0`` in an unstable system.
        """
        qq = _share("q", q, low_open=False, high_open=False)
        if qq <= 1.0 - self.p_wait:
            return 0.0
        if not self.stable or qq >= 1.0:
            return math.inf
        # max() guards against a tiny negative log from rounding right at the atom.
        return max(0.0, math.log(self.p_wait / (1.0 - qq)) / self.decay_rate_per_min)


def erlang_c(arrivals_per_min: float, mean_service_min: float, servers: int) -> ErlangC:
    """Erlang C analysis of M/M/c: Poisson arrivals, exponential service, ``servers`` desks.

    ``p_wait`` is computed as ``C = c·B/(c − a·(1 − B))`` from the Erlang B recursion, which
    is accurate for thousands of servers where the direct ``a^c/c!`` sums overflow.

    Raises:
        ValueError: a negative/non-finite ``arrivals_per_min``, a non-positive
            ``mean_service_min``, or ``servers < 1``; the message names the argument.
        TypeError: ``servers`` is not an integer.
    """
    lam = _nonnegative("arrivals_per_min", arrivals_per_min)
    s = _positive("mean_service_min", mean_service_min)
    c = _servers("servers", servers)
    a = lam * s
    rho = a / c
    if a >= c:
        return ErlangC(c, a, rho, p_wait=1.0, mean_wait_min=math.inf, decay_rate_per_min=0.0)
    p = _erlang_c_from_b(_erlang_b_recursive(a, c), a, c)
    decay = (c - a) / s  # cμ − λ
    return ErlangC(c, a, rho, p_wait=p, mean_wait_min=p / decay, decay_rate_per_min=decay)


def min_servers(
    arrivals_per_min: float,
    mean_service_min: float,
    *,
    target_min: float = 15.0,
    share_within: float = 0.9,
    limit_min: float = 20.0,
    share_over_limit: float = 0.01,
    max_servers: int = 10_000,
) -> int:
    """The least ``c`` such that, under Erlang C, the system is stable (``ρ < 1``) and

    * ``P(W ≤ target_min) ≥ share_within`` (default: 90 % wait at most 15 minutes), and
    * ``P(W > limit_min) ≤ share_over_limit`` (default: at most 1 % wait past 20 minutes).

    Both ``P(W > t)`` for fixed ``t`` decrease in ``c`` (``C`` falls and ``cμ − λ`` rises), so
    the first ``c`` that passes is the least, and every larger ``c`` passes too.  Zero arrivals
    need zero servers.

    Raises:
        ValueError: invalid argument (named in the message), or no ``c ≤ max_servers``
            meets the targets.
    """
    lam = _nonnegative("arrivals_per_min", arrivals_per_min)
    s = _positive("mean_service_min", mean_service_min)
    target = _time("target_min", target_min)
    limit = _time("limit_min", limit_min)
    # share_within = 1 or share_over_limit = 0 can never be met while anyone arrives.
    within = _share("share_within", share_within, low_open=False, high_open=True)
    over = _share("share_over_limit", share_over_limit, low_open=True, high_open=False)
    cap = _servers("max_servers", max_servers)
    if lam == 0.0:
        return 0
    a = lam * s
    c = math.floor(a) + 1  # the least c with a < c
    if c > cap:
        raise ValueError(f"max_servers={cap} is below the stability bound (offered load {a:.6g} Erlangs)")
    # Walk c upwards carrying the Erlang B recursion, so the search is O(c) overall; the
    # arithmetic is exactly that of erlang_c(), so erlang_c(..., c).p_wait_over agrees bit-for-bit.
    b = _erlang_b_recursive(a, c)
    while True:
        p = _erlang_c_from_b(b, a, c)
        decay = (c - a) / s
        if 1.0 - _wait_tail(p, decay, target) >= within and _wait_tail(p, decay, limit) <= over:
            return c
        if c >= cap:
            raise ValueError(f"no server count up to max_servers={cap} meets the wait targets")
        c += 1
        ab = a * b
        b = ab / (c + ab)


# --------------------------------------------------------------------------- Erlang A


def _erlang_a_chain(lam: float, mu: float, c: int, theta: float) -> FloatArray:
    """Stationary distribution ``π_0..π_{c+K}`` of the M/M/c+M birth-death chain.

    Birth rate ``λ`` everywhere; death rate ``nμ`` for ``n ≤ c`` and ``cμ + (n−c)θ`` above.
    Detailed balance gives ``π_n ∝ a^n/n!`` for ``n ≤ c`` and
    ``π_{c+k} = π_c · Π_{j=1..k} λ/(cμ + jθ)``.  Weights are built in log space (``a^n/n!``
    overflows for large ``c``), and the queue part is truncated once the neglected tail is
    below 1e-17 of the largest weight: past the point where the ratio ``r_k = λ/(cμ+kθ)``
    drops below 1 the ratios keep decreasing, so the tail after ``K`` is at most
    ``π_K·r/(1−r)`` with ``r = r_{K+1}``.
    """
    n = np.arange(c + 1, dtype=np.float64)
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(n[1:]))))
    low = n * math.log(lam / mu) - log_fact
    top = float(low.max())
    chunks: list[FloatArray] = [low]
    last = float(low[-1])
    k_done = 0
    size = 1024
    log_lam = math.log(lam)
    while True:
        k = np.arange(k_done + 1, k_done + size + 1, dtype=np.float64)
        part = last + np.cumsum(log_lam - np.log(c * mu + k * theta))
        chunks.append(part)
        k_done += size
        last = float(part[-1])
        top = max(top, float(part.max()))
        ratio = lam / (c * mu + (k_done + 1) * theta)
        if ratio < 1.0 and last - top + math.log(ratio / (1.0 - ratio)) < math.log(_TRUNCATION_EPS):
            break
        if k_done >= _MAX_CHAIN_STATES:
            raise ValueError(
                "mean_patience_min is too long for this overload: the queue would need more than "
                f"{_MAX_CHAIN_STATES} states; use math.inf for the Erlang C limit"
            )
        size *= 2  # doubling keeps the total work linear in the final length
    logw = np.concatenate(chunks)
    w = np.exp(logw - top)
    # Drop the trailing underflowed/negligible states: they only inflate the uniformisation rate.
    tail_mass = np.cumsum(w[::-1])[::-1]
    keep = int(np.count_nonzero(tail_mass > _TRUNCATION_EPS * tail_mass[0]))
    w = w[: max(keep, c + 1)]
    result: FloatArray = w / w.sum()
    return result


def _offered_wait_tail(ahead: FloatArray, c_mu: float, theta: float, t_min: float) -> float:
    """``Σ_k ahead[k] · P(V_k > t)`` where ``V_k = Σ_{j=0..k} Exp(cμ + jθ)`` independent.

    A customer who arrives to find all ``c`` servers busy and ``k`` people queued ahead
    (probability ``π_{c+k}`` by PASTA) moves up one place each time someone ahead leaves,
    through service (rate ``cμ``) or abandonment (rate ``θ`` each); customers behind do not
    matter under FCFS.  So the offered wait ``V`` (the wait to service were the customer
    infinitely patient) is hypoexponential.  It is computed exactly by uniformisation
    (Jensen 1953; Grassmann 1977): with ``Λ = cμ + Kθ`` ≥ every rate, the pure-death chain on
    the stages is a discrete chain subordinated to a Poisson(Λt) clock, so
    ``P(V > t) = Σ_i Poisson(i; Λt)·s_i`` with ``s_i`` the unabsorbed mass after ``i`` steps —
    all terms positive, no cancellation.  The Poisson series is cut at ``Λt + 10√(Λt) + 40``
    terms (neglected weight < 1e-20).  Cost is ``O(K·Λt)``.
    """
    if t_min == 0.0:
        return float(ahead.sum())
    if math.isinf(t_min):
        return 0.0
    rates = c_mu + theta * np.arange(ahead.size, dtype=np.float64)
    lam_u = float(rates[-1])
    move = rates / lam_u
    stay = 1.0 - move
    m = lam_u * t_min
    n_max = math.ceil(m + 10.0 * math.sqrt(m) + 40.0)
    i = np.arange(n_max + 1, dtype=np.float64)
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(i[1:]))))
    poisson = np.exp(-m + i * math.log(m) - log_fact)
    x = ahead.astype(np.float64, copy=True)
    total = 0.0
    for step in range(n_max + 1):
        s = float(x.sum())
        total += float(poisson[step]) * s
        # The remaining terms add at most s (Poisson weights sum to ≤ 1): stop when negligible.
        if s <= 1e-17 * total or s == 0.0:
            break
        moved = x * move
        x = x * stay
        x[:-1] += moved[1:]  # one fewer ahead; the mass leaving stage 0 starts service
    return total


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Steady state of the M/M/c+M queue (Erlang A, Palm's model with exponential patience).

    Arrivals at rate ``λ`` always join; a waiting customer abandons after an ``Exp(θ)`` patience
    (``θ = 1/mean_patience_min``); service is FCFS and ``Exp(μ)``.  With ``θ > 0`` the system
    is stable for every load, so ``utilisation = a/c`` may exceed 1.

    Attributes:
        p_wait: ``P(W > 0) = Σ_{n≥c} π_n`` (PASTA), which in Garnett-Mandelbaum-Reiman's
            notation equals ``A·E / (1 + (A−1)·E)``, with ``E`` Erlang B and
            ``A = A(cμ/θ, λ/θ)``, ``A(x, y) = (x·e^y/y^x)·γ(x, y)``.
        p_abandon: ``θ·E[Lq]/λ`` (abandonment flow over arrival flow), equal to
            ``p_wait·(1/(ρA) + 1 − 1/ρ)`` with ``ρ = λ/(cμ)`` (GMR 2002).
        mean_wait_min: ``E[W] = E[Lq]/λ`` by Little's law, over all arrivals, where ``W`` is the
            time actually spent waiting (until service or until abandoning).
        mean_queue_length: ``E[Lq] = Σ_k k·π_{c+k}``.

    With ``mean_patience_min = inf`` (``θ = 0``) every figure is that of :func:`erlang_c`,
    including its conventions for unstable systems and ``p_abandon = 0``.
    """

    servers: int
    offered_load: float
    utilisation: float
    mean_patience_min: float
    p_wait: float
    p_abandon: float
    mean_wait_min: float
    mean_queue_length: float
    _c_mu: float = field(repr=False, compare=False)
    _theta: float = field(repr=False, compare=False)
    # π_{c+k} for k = 0..K: the probability that an arrival finds k customers queued ahead.
    _ahead: FloatArray = field(repr=False, compare=False)
    _no_abandon: ErlangC | None = field(repr=False, compare=False)

    def p_offered_wait_over(self, t_min: float) -> float:
        """``P(V > t)`` for the offered (virtual) wait ``V``: the wait of an infinitely patient
        arrival, i.e. the time until it would reach a desk.  See :func:`_offered_wait_tail`."""
        t = _time("t_min", t_min)
        if self._no_abandon is not None:
            return self._no_abandon.p_wait_over(t)
        if self.p_wait == 0.0:
            return 0.0
        return _offered_wait_tail(self._ahead, self._c_mu, self._theta, t)

    def p_wait_over(self, t_min: float) -> float:
        """``P(W > t)`` for the actual wait ``W = min(V, τ)`` of an arrival, over all arrivals.

        The arrival's own patience ``τ ~ Exp(θ)`` is independent of its offered wait ``V``
        (which depends only on those ahead), hence ``P(W > t) = e^{−θt}·P(V > t)``.  Tends to
        Erlang C's ``C·e^{−(cμ−λ)t}`` as ``θ → 0`` with ``ρ < 1``.
        """
        t = _time("t_min", t_min)
        if self._no_abandon is not None:
            return self._no_abandon.p_wait_over(t)
        if t == 0.0:
            return self.p_wait
        return math.exp(-self._theta * t) * self.p_offered_wait_over(t)


def erlang_a(
    arrivals_per_min: float, mean_service_min: float, servers: int, mean_patience_min: float
) -> ErlangA:
    """Erlang A analysis of M/M/c+M (Garnett, Mandelbaum & Reiman 2002).

    ``mean_patience_min`` is the mean of the exponential patience (``θ = 1/mean``); pass
    ``math.inf`` for no abandonment, which gives exactly :func:`erlang_c`.

    Raises:
        ValueError: a negative/non-finite ``arrivals_per_min``, a non-positive
            ``mean_service_min`` or ``mean_patience_min``, ``servers < 1``, or a patience so long
            relative to an overload that the chain needs more than 5 million states.
        TypeError: ``servers`` is not an integer.
    """
    lam = _nonnegative("arrivals_per_min", arrivals_per_min)
    s = _positive("mean_service_min", mean_service_min)
    c = _servers("servers", servers)
    patience = _positive("mean_patience_min", mean_patience_min, allow_inf=True)
    a = lam * s
    rho = a / c
    mu = 1.0 / s
    empty: FloatArray = np.zeros(1, dtype=np.float64)
    if math.isinf(patience):
        ec = erlang_c(lam, s, c)
        lq = lam * ec.mean_wait_min if lam > 0.0 else 0.0
        return ErlangA(c, a, rho, patience, ec.p_wait, 0.0, ec.mean_wait_min, lq, c * mu, 0.0, empty, ec)
    theta = 1.0 / patience
    if lam == 0.0:
        return ErlangA(c, a, rho, patience, 0.0, 0.0, 0.0, 0.0, c * mu, theta, empty, None)
    pi = _erlang_a_chain(lam, mu, c, theta)
    ahead = pi[c:]
    p_wait = min(1.0, float(ahead.sum()))
    lq = float(np.dot(np.arange(ahead.size, dtype=np.float64), ahead))
    mean_wait = lq / lam  # Little's law on the queue
    return ErlangA(c, a, rho, patience, p_wait, theta * mean_wait, mean_wait, lq, c * mu, theta, ahead, None)
