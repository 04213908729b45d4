"""Redirects: to a less-busy office of the network, with the travel there counted.

Inside an office balancing needs no moves: every desk calls from all the queues it serves, and a desk with nothing
of its own helps with the queues it is skilled for as backup, by the same rule (:meth:`Dispatcher.pick`). Across
offices the visitor must travel, so the engine offers, and the head applies, a move only when travel plus the wait
there beats the wait here and the wait here passes the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cherga.engine import forecast
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.forecast import OfficeLoad
from cherga.engine.model import Network


@dataclass(frozen=True, slots=True)
class Alternative:
    office: str
    eta_min: float
    travel_min: float


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Move waiting ticket ``number`` from ``office`` to ``to_office``: it would be called ``saves_min`` sooner."""

    ticket: str
    number: str
    service: str
    office: str
    to_office: str
    eta_here_min: float
    eta_there_min: float
    travel_min: float
    saves_min: float


def etas_from_loads(loads: Mapping[str, OfficeLoad], service: str) -> dict[str, float]:
    """Each issuing office's expected wait for ``service``, from published loads."""
    return {
        oid: load.eta_by_service[service]
        for oid, load in loads.items()
        if load.issuing and service in load.eta_by_service
    }


def alternatives(
    network: Network, office: str, eta_here: float, etas_elsewhere: Mapping[str, float]
) -> list[Alternative]:
    """Offices where the service would be had sooner, travel included, best first. O(offices).

    ``etas_elsewhere`` maps each office that offers the service and is issuing to its expected wait.
    """
    if eta_here <= network.targets.target_min:
        return []
    out = []
    for other, eta in etas_elsewhere.items():
        if other == office:
            continue
        travel = network.travel(office, other)
        if travel is None:
            continue
        if travel + eta < eta_here:
            out.append(Alternative(office=other, eta_min=round(eta, 1), travel_min=travel))
    out.sort(key=by_total)
    return out


def by_total(a: Alternative) -> tuple[float, str]:
    """The order alternatives are offered in: least road plus wait first, ties by office id."""
    return (a.travel_min + a.eta_min, a.office)


def suggestions(
    d: Dispatcher, loads: Mapping[str, OfficeLoad], now: float, *, limit: int = 20
) -> list[Suggestion]:
    """Waiting tickets of ``d`` that another office would serve sooner, biggest saving first.

    O(n log n + n × queues) for n waiting: for the head's dashboard, not for the hot path.
    """
    network = d.network
    out: list[Suggestion] = []
    for (service, _), q in d.queues.items():
        if not q.live:
            continue
        etas = etas_from_loads(loads, service)
        for ahead, t in enumerate(q.ordered()):
            eta_here = forecast.wait_min(d, q, ahead, now, since=t.since)
            if eta_here is None:  # nobody here can serve it now: the head sees that as an alert, not a saving
                continue
            best = alternatives(network, d.office.id, eta_here, etas)
            if best:
                alt = best[0]
                out.append(
                    Suggestion(
                        ticket=t.id, number=t.number, service=service, office=d.office.id, to_office=alt.office,
                        eta_here_min=round(eta_here, 1), eta_there_min=alt.eta_min, travel_min=alt.travel_min,
                        saves_min=round(eta_here - alt.travel_min - alt.eta_min, 1),
                    )
                )
    out.sort(key=lambda s: (-s.saves_min, s.number))
    return out[:limit]
