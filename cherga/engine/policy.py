"""Which ticket a desk calls next: the priority rules.

A rule is a plain function (as a queue discipline is in Ciw): given the heads of the queues a desk may call from,
it returns the one to call. The dispatcher hands it one candidate per non-empty queue, so a rule never sees, and
never scans, the waiting list. Every rule is first-in first-out inside a queue because each queue keeps its
tickets ordered by ``(head flag, waiting since, counter)``, as SimPy orders its event heap.

Rules, by name (:data:`RULES`):

* ``strict``  — the policy's category order, first-in first-out inside a rank;
* ``limits``  — the default: ``strict``, but a ticket within ``margin_min`` of its category's wait limit goes first,
  the one nearest its limit first;
* ``aging``   — every ``aging_min_per_rank`` minutes of waiting make up for one rank;
* ``fifo``    — the longest-waiting ticket, whatever its category.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import NamedTuple

from cherga.engine.model import Category, PolicyConfig
from cherga.errors import InvalidCommand


class Candidate(NamedTuple):
    """The head ticket of one queue, as a rule sees it (a named tuple: built on every call, so it must be cheap)."""

    ticket: object  # opaque to the rule: what the dispatcher calls if this candidate wins
    category: Category
    rank: int  # 0 = first in the policy's order
    head: int  # 0 when the ticket was put at the head of its queue (a transfer), else 1
    since: float  # when it started waiting, in seconds
    counter: int  # issue order; breaks every tie first-in first-out


Rule = Callable[[Sequence[Candidate], float, PolicyConfig], Candidate]


_BY_RANK = itemgetter(2, 3, 4, 5)  # rank, head, since, counter
_BY_WAIT = itemgetter(3, 4, 5)  # head, since, counter


def strict(cands: Sequence[Candidate], now: float, policy: PolicyConfig) -> Candidate:
    """Category order, then first-in first-out. O(k) for k candidates."""
    return min(cands, key=_BY_RANK)


def fifo(cands: Sequence[Candidate], now: float, policy: PolicyConfig) -> Candidate:
    """Longest wait first, categories ignored. O(k)."""
    return min(cands, key=_BY_WAIT)


_slack: list[tuple[PolicyConfig, dict[Category, float]]] = [(PolicyConfig(), {})]


def _slack_s(policy: PolicyConfig) -> dict[Category, float]:
    """Each category's limit less the margin, in seconds, for the last policy seen (one entry, read once, so
    dispatchers in other threads with other policies only cost a recomputation)."""
    entry = _slack[0]
    if entry[0] is not policy:
        margin = policy.margin_min * 60.0
        entry = (policy, {cat: policy.max_wait_min.get(cat, 15.0) * 60.0 - margin for cat in Category})
        _slack[0] = entry
    return entry[1]


def limits(cands: Sequence[Candidate], now: float, policy: PolicyConfig) -> Candidate:
    """``strict``, except that tickets nearing their category's limit go first, nearest deadline first. O(k)."""
    slack = _slack_s(policy)
    urgent = [c for c in cands if now - c[4] >= slack[c[1]]]
    if urgent:
        limit = policy.max_wait_min
        return min(urgent, key=lambda c: (c.since + limit.get(c.category, 15.0) * 60.0, c.rank, c.counter))
    return min(cands, key=_BY_RANK)


def aging(cands: Sequence[Candidate], now: float, policy: PolicyConfig) -> Candidate:
    """Each ``aging_min_per_rank`` minutes waited count as one rank higher. O(k)."""
    step = policy.aging_min_per_rank * 60.0
    return min(cands, key=lambda c: (c.head, c.since + c.rank * step, c.counter))


RULES: dict[str, Rule] = {"limits": limits, "strict": strict, "aging": aging, "fifo": fifo}


def rule_named(name: str) -> Rule:
    try:
        return RULES[name]
    except KeyError:
        raise InvalidCommand(f"unknown priority rule {name!r}; expected one of {', '.join(RULES)}") from None


def validate_policy(order: Sequence[str], max_wait_min: Sequence[tuple[str, float]], limit_min: float) -> None:
    """Refuse a policy the head could not have meant, saying what is wrong."""
    cats = [c.value for c in Category]
    unknown = [o for o in order if o not in cats]
    if unknown:
        raise InvalidCommand(f"unknown categories in order: {', '.join(unknown)}; expected {', '.join(cats)}")
    if sorted(order) != sorted(cats):
        missing = [c for c in cats if c not in order]
        dup = sorted({o for o in order if list(order).count(o) > 1})
        raise InvalidCommand(
            "the order must name each category exactly once"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; repeated: {', '.join(dup)}" if dup else "")
        )
    for cat, minutes in max_wait_min:
        if cat not in cats:
            raise InvalidCommand(f"unknown category {cat!r} in max_wait_min; expected one of {', '.join(cats)}")
        if not (0 < minutes <= limit_min):
            raise InvalidCommand(
                f"max_wait_min for {cat} must be above 0 and at most {limit_min:g} minutes, got {minutes:g}"
            )
