"""What the API shows of the engine's state: plain JSON-able dicts, with nothing that names a person."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cherga.engine import balancer, forecast
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import Status
from cherga.engine.model import Network, Office
from cherga.engine.network import CityEngine
from cherga.engine.state import DeskState, Ticket


def iso(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat(timespec="seconds")


def office_json(net: Network, office: Office) -> dict[str, Any]:
    services = sorted(office.services)
    return {
        "id": office.id, "name": office.name_uk, "name_en": office.name_en, "kind": office.kind.value,
        "address_uk": office.address_uk,
        "services": [
            {
                "id": s.id, "name": s.name_uk, "name_en": s.name_en, "category": s.category.value,
                "sphere_uk": s.sphere_uk, "sphere_en": s.sphere_en, "intent": s.intent.value, "letter": s.letter,
                "mean_service_min": s.mean_service_min, "online_url": s.online_url,
            }
            for s in (net.services[sid] for sid in services)
        ],
        "desks": [{"id": d.id, "number": d.number, "services": sorted(d.services)} for d in office.desks],
    }


def ticket_json(d: Dispatcher, t: Ticket, now: float) -> dict[str, Any]:
    svc = d.network.services[t.service]
    eta, position = forecast.ticket_eta(d, t, now) if t.status is Status.WAITING else (0.0, 0)
    desk_id = t.desk or (t.last_desk if t.status not in (Status.WAITING, Status.CANCELLED) else None)
    return {
        "id": t.id, "number": t.number, "office": d.office.id, "service": t.service,
        "category": svc.category.value, "vulnerable": t.vulnerable, "status": t.status.value,
        "position": position, "eta_min": round(eta, 1),
        "desk": desk_id, "desk_number": d.desks[desk_id].desk.number if desk_id else None,
        "more_services": list(t.more), "issued_at": iso(t.issued_at, d.office.timezone),
        "new_ticket": t.new_ticket, "rating": t.rating, "online_url": svc.online_url,
        "can_rate": t.status in (Status.DONE, Status.REFUSED) and t.rating is None,
    }


def alternatives_json(alts: list[balancer.Alternative]) -> list[dict[str, Any]]:
    return [{"office": a.office, "eta_min": a.eta_min, "travel_min": a.travel_min} for a in alts]


def desk_status(ds: DeskState) -> str:
    return ds.ticket.status.value if ds.ticket is not None else ds.status.value


def desk_json(d: Dispatcher, ds: DeskState, now: float) -> dict[str, Any]:
    waiting = []
    for s in forecast.queues(d, now):
        if ds.desk.serves(s.service):
            waiting.append({"service": s.service, "waiting": s.waiting, "eta_min": s.eta_min})
    return {
        "id": ds.desk.id, "number": ds.desk.number, "office": d.office.id, "status": desk_status(ds),
        "ticket": ticket_json(d, ds.ticket, now) if ds.ticket is not None else None,
        "waiting": waiting, "personal_waiting": d.personal[ds.desk.id].live,
    }


def state_json(d: Dispatcher, seq: int, now: float) -> dict[str, Any]:
    return {
        "seq": seq,
        "desks": [
            {"id": ds.desk.id, "number": ds.desk.number, "status": desk_status(ds),
             "ticket": ds.ticket.number if ds.ticket is not None else None}
            for ds in d.desks.values()
        ],
        "queues": [
            {"service": q.service, "waiting": q.waiting, "eta_min": q.eta_min, "longest_wait_min": q.longest_wait_min}
            for q in forecast.queues(d, now)
        ],
    }


def policy_json(d: Dispatcher) -> dict[str, Any]:
    return {
        "order": [c.value for c in d.policy.order],
        "max_wait_min": {c.value: d.policy.max_wait_min.get(c, 15.0) for c in d.policy.order},
        "rule": d.policy.rule,
    }


def alerts(engine: CityEngine, d: Dispatcher, now: float,
           summaries: list[forecast.QueueSummary] | None = None) -> list[dict[str, str]]:
    """What the head must look at now: queues passing the target, tickets past their limit, idle desks."""
    net = engine.network
    out: list[dict[str, str]] = []
    if summaries is None:
        summaries = forecast.queues(d, now)
    for q in summaries:
        name = net.services[q.service]
        if q.waiting and q.eta_min > net.targets.target_min:
            out.append({
                "kind": "queue_over_target",
                "message_uk": f"«{name.name_uk}»: очікування новоприбулого ≈ {q.eta_min:.0f} хв "
                              f"(ціль {net.targets.target_min:.0f})",
                "message_en": f"{name.name_en}: a newcomer would wait ≈ {q.eta_min:.0f} min "
                              f"(target {net.targets.target_min:.0f})",
            })
        if q.longest_wait_min > net.targets.limit_min:
            out.append({
                "kind": "ticket_over_limit",
                "message_uk": f"«{name.name_uk}»: талон чекає вже {q.longest_wait_min:.0f} хв "
                              f"(межа {net.targets.limit_min:.0f})",
                "message_en": f"{name.name_en}: a ticket has waited {q.longest_wait_min:.0f} min "
                              f"(limit {net.targets.limit_min:.0f})",
            })
    long_queue = {q.service for q in summaries if q.waiting >= 3}
    for ds in d.desks.values():
        if ds.status.value == "open" and ds.ticket is None and long_queue & (ds.desk.services | ds.desk.backup):
            out.append({
                "kind": "desk_idle",
                "message_uk": f"Вікно {ds.desk.number} вільне, а черга, яку воно обслуговує, довга",
                "message_en": f"Desk {ds.desk.number} is idle while a queue it serves is long",
            })
    return out


def load_json(engine: CityEngine, d: Dispatcher, now: float) -> dict[str, Any]:
    net = engine.network
    loads = engine.loads(now)
    summaries = forecast.queues(d, now)
    return {
        "office": d.office.id, "target_min": net.targets.target_min, "limit_min": net.targets.limit_min,
        "desks": [
            {"id": x.desk, "number": x.number, "status": x.status, "ticket": x.ticket, "served": x.served,
             "utilisation": x.utilisation, "waiting_for_it": x.waiting_for_it}
            for x in forecast.desks(d, now)
        ],
        "queues": [
            {"service": q.service, "waiting": q.waiting, "eta_min": q.eta_min, "longest_wait_min": q.longest_wait_min}
            for q in summaries
        ],
        "offices": [
            {"id": oid, "name": net.offices[oid].name_uk, "name_en": net.offices[oid].name_en, "kind": ld.kind,
             "waiting": ld.waiting, "open_desks": ld.open_desks, "busy_desks": ld.busy_desks,
             "max_eta_min": ld.max_eta_min}
            for oid, ld in loads.items()
        ],
        "suggestions": [
            {"ticket": s.ticket, "number": s.number, "service": s.service, "to_office": s.to_office,
             "eta_here_min": s.eta_here_min, "eta_there_min": s.eta_there_min, "travel_min": s.travel_min,
             "saves_min": s.saves_min}
            for s in balancer.suggestions(d, loads, now)
        ],
        "alerts": alerts(engine, d, now, summaries),
    }
