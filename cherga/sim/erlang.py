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
  1e-16), and the waiting-time tail from GMR's closed form evaluated with the same sums.

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


def _float(name: str, value: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number, got {value!r}") from exc


def _nonnegative(name: str, value: float) -> float:
    v = _float(name, value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def _positive(name: str, value: float, *, allow_inf: bool = False) -> float:
    v = _float(name, value)
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
    v = _float(name, value)
    if math.isnan(v) or v < 0.0:
        raise ValueError(f"{name} must be >= 0 minutes, got {value!r}")
    return v


def _share(name: str, value: float, *, low_open: bool, high_open: bool) -> float:
    v = _float(name, value)
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


def _log_products(log_num: float, base: float, step: float) -> FloatArray:
    """``log w_k`` for ``w_k = Π_{j=1..k} num/(base + j·step)``, ``k = 0..K`` (so ``w_0 = 1``).

    With ``num = λ``, ``base = cμ``, ``step = θ`` these are the queue weights
    ``π_{c+k}/π_c`` of Erlang A, and ``Σ_k w_k`` is Garnett-Mandelbaum-Reiman's
    ``A(x, y) = 1 + Σ_{k≥1} y^k / Π_{j=1..k}(x+j)`` at ``x = cμ/θ``, ``y = num/θ``.  Logs are used
    because the products over- or underflow for large queues; the ratios are formed as
    ``num/(base + jθ)`` rather than ``y/(x+j)`` so a tiny ``θ`` costs no precision.  Once the
    ratio ``r_j`` is below 1 it keeps falling, so the tail after ``K`` is at most
    ``w_K·r/(1−r)`` with ``r = r_{K+1}``; truncation stops when that is below 1e-17 of the
    largest term (hence of the sum).
    """
    first: FloatArray = np.zeros(1, dtype=np.float64)
    if math.isinf(log_num):  # num = 0: only w_0
        return first
    chunks = [first]
    last = top = 0.0
    k_done = 0
    size = 256
    while True:
        k = np.arange(k_done + 1, k_done + size + 1, dtype=np.float64)
        part = last + np.cumsum(log_num - np.log(base + k * step))
        chunks.append(part)
        k_done += size
        last = float(part[-1])
        top = max(top, float(part.max()))
        log_ratio = log_num - math.log(base + (k_done + 1) * step)
        if log_ratio < 0.0:
            ratio = math.exp(log_ratio)
            if last - top + math.log(ratio / (1.0 - ratio)) < math.log(_TRUNCATION_EPS):
                break
        if k_done >= _MAX_CHAIN_STATES:
            raise ValueError(
                "mean_patience_min is too long for this overload: the queue would need more than "
                f"{_MAX_CHAIN_STATES} states; use math.inf for the Erlang C limit"
            )
        size *= 2  # doubling keeps the total work linear in the final length
    result: FloatArray = np.concatenate(chunks)
    return result


def _log_sum_exp(logs: FloatArray) -> float:
    top = float(logs.max())
    return top + math.log(float(np.exp(logs - top).sum()))


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Steady state of the M/M/c+M queue (Erlang A, Palm's model with exponential patience).

    Arrivals at rate ``λ`` always join; a waiting customer abandons after an ``Exp(θ)`` patience
    (``θ = 1/mean_patience_min``); service is FCFS and ``Exp(μ)``.  With ``θ > 0`` the system
    is stable for every load, so ``utilisation = a/c`` may exceed 1.

    The stationary distribution of the number in system follows from detailed balance on the
    birth-death chain (birth ``λ``; death ``nμ`` for ``n ≤ c``, ``cμ + (n−c)θ`` above):
    ``π_n ∝ a^n/n!`` for ``n ≤ c`` and ``π_{c+k} = π_c·Π_{j=1..k} λ/(cμ + jθ)``.

    Attributes:
        p_wait: ``P(W > 0) = Σ_{n≥c} π_n`` (PASTA); in Garnett-Mandelbaum-Reiman's notation
            ``A·E / (1 + (A−1)·E)`` with ``E`` the Erlang B and ``A = A(cμ/θ, λ/θ)``,
            ``A(x, y) = (x·e^y/y^x)·γ(x, y)`` (``γ`` the lower incomplete gamma function).
        p_abandon: ``θ·E[Lq]/λ`` (abandonment flow over arrival flow), equal to
            ``p_wait·(1/(ρA) + 1 − 1/ρ)`` with ``ρ = λ/(cμ)`` (GMR 2002).
        mean_wait_min: ``E[W] = E[Lq]/λ`` by Little's law, over all arrivals, where ``W`` is the
            time actually spent waiting (until service or until abandoning).
        mean_queue_length: ``E[Lq] = Σ_k k·π_{c+k}``.

    With ``mean_patience_min = inf`` (``θ = 0``) every figure is that of :func:`erlang_c`,
    including its conventions for unstable systems, and ``p_abandon = 0``.
    """

    servers: int
    offered_load: float
    utilisation: float
    mean_patience_min: float
    p_wait: float
    p_abandon: float
    mean_wait_min: float
    mean_queue_length: float
    _arrivals_per_min: float = field(repr=False, compare=False)
    _c_mu: float = field(repr=False, compare=False)
    _theta: float = field(repr=False, compare=False)
    _log_a: float = field(repr=False, compare=False)  # log A(cμ/θ, λ/θ) = log Σ_k π_{c+k}/π_c
    _no_abandon: ErlangC | None = field(repr=False, compare=False)

    def p_offered_wait_over(self, t_min: float) -> float:
        """``P(V > t)`` for the offered (virtual) wait ``V``: the wait of an infinitely patient
        arrival, i.e. the time until it would reach a desk (GMR 2002)::

            P(V > t) = P(W > 0) · e^{−cμt} · e^{y − z} · A(x, z) / A(x, y),
            x = cμ/θ,  y = λ/θ,  z = y·e^{−θt}

        equivalently ``P(W > 0)·γ(x, z)/γ(x, y)``.  Why: an arrival finding ``k`` queued ahead
        (probability ``∝ w_k(y) = y^k/Π_{j≤k}(x+j)``, PASTA) moves up whenever someone ahead
        is served (rate ``cμ``) or abandons (``θ`` each), so ``u_k(t) = P(V > t | k ahead)``
        solves ``u_k' = θ(x+k)(u_{k−1} − u_k)``.  For ``G(t, y) = Σ_k w_k(y)·u_k(t)`` this gives,
        using ``(x+k)·w_k = y·w_{k−1}`` and ``y·∂_y w_k = k·w_k``, the transport equation
        ``∂_t G + θy·∂_y G = θ(y − x)·G`` with ``G(0, y) = A(x, y)``; integrating along the
        characteristics ``y·e^{−θt}`` yields the formula.  (Checked in the tests against a
        uniformised-chain computation, the incomplete-gamma form and a simulation.)
        """
        t = _time("t_min", t_min)
        if self._no_abandon is not None:
            return self._no_abandon.p_wait_over(t)
        if self.p_wait == 0.0 or t == 0.0:
            return self.p_wait
        if math.isinf(t):
            return 0.0
        theta = self._theta
        log_num = math.log(self._arrivals_per_min) - theta * t  # log(θz)
        log_a_z = _log_sum_exp(_log_products(log_num, self._c_mu, theta))
        y_minus_z = self._arrivals_per_min * -math.expm1(-theta * t) / theta  # exact even for tiny θ
        log_ratio = -self._c_mu * t + y_minus_z + log_a_z - self._log_a
        return min(self.p_wait, self.p_wait * math.exp(log_ratio))

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
    """Erlang A analysis of M/M/c+M (Palm 1943; Garnett, Mandelbaum & Reiman 2002).

    ``mean_patience_min`` is the mean of the exponential patience (``θ = 1/mean``); pass
    ``math.inf`` for no abandonment, which gives exactly :func:`erlang_c`.  The stationary
    distribution is computed numerically (see :class:`ErlangA`), truncated where the remaining
    probability is below 1e-17 of the largest state probability.

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
    c_mu = c / s
    theta = 1.0 / patience
    # θ = 0, or so small that λ/θ overflows: abandonment is below float resolution.
    if theta == 0.0 or not math.isfinite(max(lam, c_mu) / theta):
        ec = erlang_c(lam, s, c)
        lq = lam * ec.mean_wait_min if lam > 0.0 else 0.0
        return ErlangA(c, a, rho, patience, ec.p_wait, 0.0, ec.mean_wait_min, lq, lam, c_mu, 0.0, 0.0, ec)
    if lam == 0.0:
        return ErlangA(c, a, rho, patience, 0.0, 0.0, 0.0, 0.0, lam, c_mu, theta, 0.0, None)
    # log π_n (unnormalised) for n = 0..c: n·log a − log n!  (a^n/n! overflows for large c).
    n = np.arange(c + 1, dtype=np.float64)
    low = n * math.log(a) - np.concatenate(([0.0], np.cumsum(np.log(n[1:]))))
    queue = _log_products(math.log(lam), c_mu, theta)  # log π_{c+k}/π_c, k = 0..K
    logs = np.concatenate((low[:-1], low[-1] + queue))
    top = float(logs.max())
    pi = np.exp(logs - top)
    pi /= pi.sum()
    ahead = pi[c:]
    p_wait = min(1.0, float(ahead.sum()))
    lq = float(np.dot(np.arange(ahead.size, dtype=np.float64), ahead))
    mean_wait = lq / lam  # Little's law on the queue
    log_a = _log_sum_exp(queue)
    return ErlangA(
        c, a, rho, patience, p_wait, theta * mean_wait, mean_wait, lq, lam, c_mu, theta, log_a, None
    )
