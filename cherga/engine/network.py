"""The city's engine: one dispatcher per office, commands routed to the office they concern.

Still pure: no I/O, no clock. It adds what spans offices: a redirect (a ticket at the target office, then the old
one marked ``redirected``), the offices' loads and the alternatives offered at issue time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cherga.engine import balancer, forecast, neighbours
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.forecast import OfficeLoad
from cherga.engine.model import Network
from cherga.engine.policy import Rule
from cherga.errors import Conflict, InvalidCommand, NotFound


@dataclass(frozen=True, slots=True)
class Issued:
    events: list[e.BaseEvent]
    ticket: str
    alternatives: list[balancer.Alternative]


class CityEngine:
    def __init__(
        self,
        network: Network,
        *,
        secret: bytes = b"cherga",
        offices: Iterable[str] | None = None,
        rule: Rule | None = None,
        enforce_hours: bool = False,
    ) -> None:
        self.network = network
        ids = list(offices) if offices is not None else list(network.offices)
        self.offices: dict[str, Dispatcher] = {
            oid: Dispatcher(network, oid, secret=secret, rule=rule, enforce_hours=enforce_hours) for oid in ids
        }
        self.desk_office = {d.id: o.id for o in network.offices.values() for d in o.desks}
        self.ticket_office: dict[str, str] = {}
        # loads of offices this engine does not own (published by other processes)
        self.remote_loads: dict[str, OfficeLoad] = {}
        # each office's nearest offices by road, built once: all a kiosk's alternatives are looked for among
        self.neighbours: neighbours.Index = neighbours.build(network)

    # ------------------------------------------------------------------ routing

    def office(self, office_id: str) -> Dispatcher:
        d = self.offices.get(office_id)
        if d is None:
            if office_id in self.network.offices:
                raise NotFound(f"office {office_id!r} is not served by this engine")
            raise NotFound(f"unknown office {office_id!r}")
        return d

    def office_of_desk(self, desk_id: str) -> str:
        try:
            return self.desk_office[desk_id]
        except KeyError:
            raise NotFound(f"unknown desk {desk_id!r}") from None

    def office_of_ticket(self, ticket_id: str) -> str:
        try:
            return self.ticket_office[ticket_id]
        except KeyError:
            raise NotFound(f"unknown ticket {ticket_id!r}") from None

    def route(self, cmd: c.Command | c.SendToOffice) -> str:
        """The office a command concerns. O(1)."""
        if isinstance(cmd, c.SendToOffice):
            if cmd.desk is not None:
                return self.office_of_desk(cmd.desk)
            if cmd.ticket is not None:
                return self.office_of_ticket(cmd.ticket)
            raise InvalidCommand("sending to another office needs a ticket or a desk")
        if isinstance(cmd, c.OFFICE_COMMANDS):
            return cmd.office
        if isinstance(cmd, c.DESK_COMMANDS):
            return self.office_of_desk(cmd.desk)
        return self.office_of_ticket(cmd.ticket)

    def apply(self, cmd: c.Command | c.SendToOffice, now: float) -> list[e.BaseEvent]:
        """Apply a command to the office it concerns. Raises, changing nothing, if any part is refused."""
        if isinstance(cmd, c.SendToOffice):
            return self._send(cmd, now)
        events = self.office(self.route(cmd)).apply(cmd, now)
        self._index(events)
        return events

    def issue(self, cmd: c.IssueTicket, now: float) -> Issued:
        events = self.apply(cmd, now)
        issued = next(ev for ev in events if isinstance(ev, e.TicketIssued))
        alts: list[balancer.Alternative] = []
        eta = issued.eta_min
        if eta is None or eta > self.network.targets.target_min:  # only then is a move worth offering
            alts = self.alternatives(cmd.office, cmd.service, cmd.more_services, math.inf if eta is None else eta,
                                     now)
        return Issued(events=events, ticket=issued.ticket, alternatives=alts)

    def alternatives(self, office: str, service: str, more_services: tuple[str, ...], eta_here: float,
                     now: float) -> list[balancer.Alternative]:
        """What :func:`balancer.alternatives` offers from :meth:`visit_etas`, weighing only ``office``'s nearest
        that offer ``service`` (:mod:`cherga.engine.neighbours`): O(nearest), whatever the size of the network.

        The candidates come nearest first, so the first one whose road alone is no shorter than the wait here ends
        the search: no wait there (never below 0) could make it or any further one sooner."""
        if eta_here <= self.network.targets.target_min:
            return []
        offices = self.network.offices
        remote = self.remote_loads
        mine = self.offices
        key = (service, False)
        left = self.neighbours.nearest
        out: list[balancer.Alternative] = []
        for other, travel in self.neighbours.of(office):
            if travel >= eta_here or left <= 0:
                break
            d = mine.get(other)
            load = remote.get(other)
            if (d is None or key not in d.queues) and (load is None or service not in load.eta_by_service):
                continue  # it does not offer the service (as configured now): not one of those weighed
            if more_services and not offices[other].services.issuperset(more_services):
                continue
            left -= 1
            eta = self._eta(other, service, now)
            if eta is None:
                if load is None or not load.issuing or service not in load.eta_by_service:
                    continue
                eta = load.eta_by_service[service]
            if travel + eta < eta_here:
                out.append(balancer.Alternative(office=other, eta_min=round(eta, 1), travel_min=travel))
        out.sort(key=balancer.by_total)
        return out

    def _eta(self, office: str, service: str, now: float) -> float | None:
        """A new ticket's expected wait for ``service`` at ``office`` if this engine runs it, issues (not under an
        air-raid alert) and has an open desk for it, as :meth:`service_etas` counts it."""
        d = self.offices.get(office)
        if d is None or d.issuing_stopped or d.under_alert(now):  # under an alert it issues nothing
            return None
        q = d.queues.get((service, False))
        if q is None:
            return None
        eta = forecast.new_ticket_eta(d, q, now)[0]
        return None if eta is None else round(eta, 1)

    def service_etas(self, service: str, now: float) -> dict[str, float]:
        """Expected wait for ``service`` at every issuing office that offers it: not one under an air-raid alert (it
        issues nothing until service resumes). O(offices × queues)."""
        out = balancer.etas_from_loads(self.remote_loads, service)
        for oid, d in self.offices.items():
            q = d.queues.get((service, False))
            if q is not None and not d.issuing_stopped and not d.under_alert(now):
                eta = forecast.new_ticket_eta(d, q, now)[0]
                if eta is not None:  # no open desk there: not an offer
                    out[oid] = round(eta, 1)
        return out

    def visit_etas(self, service: str, more_services: tuple[str, ...], now: float) -> dict[str, float]:
        """:meth:`service_etas` of the offices that offer every service of the visit: there, or the visitor comes
        back. O(offices × queues)."""
        etas = self.service_etas(service, now)
        if more_services:
            offices = self.network.offices
            etas = {o: x for o, x in etas.items() if offices[o].services.issuperset(more_services)}
        return etas

    def _send(self, cmd: c.SendToOffice, now: float) -> list[e.BaseEvent]:
        source = self.office(self.route(cmd))
        target = self.office(cmd.to_office)
        if target is source:
            raise InvalidCommand(f"ticket is already at office {cmd.to_office!r}; transfer it within the office")
        if cmd.desk is not None:
            held = source.desks[cmd.desk].ticket
            if held is None:
                raise Conflict(f"desk {cmd.desk} has no ticket to send to another office")
            ticket_id = held.id
        else:
            assert cmd.ticket is not None
            ticket_id = cmd.ticket
        t = source.check_redirect(ticket_id, cmd.desk)
        # the target's refusal (service not offered, issuing stopped) leaves the source untouched
        new = target.apply(
            c.IssueTicket(office=target.office.id, service=t.service, vulnerable=t.vulnerable, channel="redirect",
                          more_services=t.more, position=cmd.position, origin=t.id),
            now,
        )
        new_id = next(ev.ticket for ev in new if isinstance(ev, e.TicketIssued))
        old = source.apply(c.Redirect(ticket=t.id, to_office=target.office.id, new_ticket=new_id, desk=cmd.desk), now)
        events = [*new, *old]
        self._index(events)
        return events

    def _index(self, events: Iterable[e.BaseEvent]) -> None:
        for ev in events:
            if isinstance(ev, e.TicketIssued):
                self.ticket_office[ev.ticket] = ev.office

    def replay(self, events: Iterable[e.BaseEvent]) -> None:
        """Rebuild every office from the journal's events (in any interleaving of offices)."""
        for ev in events:
            d = self.offices.get(ev.office)
            if d is None:
                continue
            d.replay((ev,))
            if isinstance(ev, e.TicketIssued):
                self.ticket_office[ev.ticket] = ev.office

    # ------------------------------------------------------------------ reading

    def loads(self, now: float) -> Mapping[str, OfficeLoad]:
        out = dict(self.remote_loads)
        out.update({oid: forecast.office_load(d, now) for oid, d in self.offices.items()})
        return out

    def suggestions(self, office_id: str, now: float) -> list[balancer.Suggestion]:
        return balancer.suggestions(self.office(office_id), self.loads(now), now)
