"""What the API shows of the engine's state: plain JSON-able dicts, with nothing that names a person."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cherga.engine import balancer, forecast
from cherga.engine.commands import SCALES
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import ALERT_HOLDS, DESK_ACTIONS, Action, DeskPhase, Status, allows
from cherga.engine.model import Network, Office
from cherga.engine.network import CityEngine
from cherga.engine.state import DeskState, DeskStatus, Queue, Ticket


def iso(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat(timespec="seconds")


def office_json(net: Network, office: Office, registries_available: bool = True) -> dict[str, Any]:
    services = sorted(office.services)
    return {
        "id": office.id, "name": office.name_uk, "name_en": office.name_en, "kind": office.kind.value,
        "address_uk": office.address_uk, "region": office.region,
        "shelter_address_uk": office.shelter_address_uk, "shelter_address_en": office.shelter_address_en,
        "notify_ahead": office.notify_ahead,  # the phone page alerts this many tickets ahead (#18.1)
        # a freed slot is held this long for the visitor told; the reminder's hour the day before (#18.4)
        "slot_hold_min": office.slot_hold_min, "reminder_hour": office.reminder_hour,
        # joining from the phone (#18.3): whether the office takes remote tickets, and the grace once the turn came
        "remote_join": office.remote_join, "remote_grace_min": office.remote_grace_min,
        "remote_travel_min": office.remote_travel_min,
        "rating_scale": office.rating_scale, "rating_levels": list(SCALES[office.rating_scale]),
        "services": [
            {
                "id": s.id, "name": s.name_uk, "name_en": s.name_en, "category": s.category.value,
                "sphere_uk": s.sphere_uk, "sphere_en": s.sphere_en, "intent": s.intent.value, "letter": s.letter,
                "mean_service_min": s.mean_service_min, "online_url": s.online_url,
                "needs_registry": s.needs_registry, "available": registries_available or not s.needs_registry,
            }
            for s in (net.services[sid] for sid in services) if not s.retired  # retired: no longer issued
        ],
        "desks": [{"id": d.id, "number": d.number, "services": sorted(d.services)} for d in office.desks],
    }


def ticket_json(d: Dispatcher, t: Ticket, now: float) -> dict[str, Any]:
    svc = d.network.services[t.service]
    eta, position = forecast.ticket_eta(d, t, now) if t.status in (Status.WAITING, Status.REMOTE) else (0.0, 0)
    desk_id = t.desk or (t.last_desk if t.status not in (Status.WAITING, Status.CANCELLED) else None)
    return {
        "id": t.id, "number": t.number, "office": d.office.id, "service": t.service,
        "category": svc.category.value, "vulnerable": t.vulnerable, "status": t.status.value,
        "position": position, "eta_min": forecast.rounded(eta),
        "eta_reason": forecast.NO_OPEN_DESK if eta is None else None,
        "desk": desk_id, "desk_number": d.desks[desk_id].desk.number if desk_id else None,
        "more_services": list(t.more), "issued_at": iso(t.issued_at, d.office.timezone),
        "new_ticket": t.new_ticket, "rating": t.rating, "online_url": svc.online_url,
        "can_rate": allows(t.status, Action.RATE) and t.rating is None,  # once, as the ticket's table allows
        **(_remote_json(d, t, eta, now) if t.remote else {}),
    }


def _remote_json(d: Dispatcher, t: Ticket, eta: float | None, now: float) -> dict[str, Any]:
    """A ticket joined from the phone (#18.3): whether its turn has come while away, and by when the visitor must
    check in to keep the place (its turn, as forecast, plus the office's grace; once the turn came, exact)."""
    grace = d.office.remote_grace_min * 60.0
    by: float | None = None
    if t.status is Status.REMOTE:
        if t.passed_at is not None:
            by = d.remote_deadline(t)  # the grace stands still under an air-raid alert
            by = by if by is not None and by < math.inf else None
        elif eta is not None:
            by = now + eta * 60.0 + grace
    return {"remote": True, "passed": t.passed_at is not None and t.status is Status.REMOTE,
            "checked_in": t.checked_in_at is not None,
            "check_in_by": iso(by, d.office.timezone) if by is not None else None}


def alternatives_json(alts: list[balancer.Alternative]) -> list[dict[str, Any]]:
    return [{"office": a.office, "eta_min": a.eta_min, "travel_min": a.travel_min} for a in alts]


def desk_status(ds: DeskState) -> str:
    return ds.ticket.status.value if ds.ticket is not None else ds.status.value


def desk_json(d: Dispatcher, ds: DeskState, now: float) -> dict[str, Any]:
    waiting = []
    for s in forecast.queues(d, now):
        if ds.desk.serves(s.service):
            waiting.append({"service": s.service, "waiting": s.waiting, "eta_min": s.eta_min,
                            "eta_reason": s.eta_reason})
    return {
        "id": ds.desk.id, "number": ds.desk.number, "office": d.office.id, "status": desk_status(ds),
        "ticket": ticket_json(d, ds.ticket, now) if ds.ticket is not None else None,
        "waiting": waiting, "personal_waiting": d.personal[ds.desk.id].live,
        # what the desk may do now, from the desk's table: the desk console enables exactly these (under an
        # air-raid alert, not those the alert holds)
        "actions": [a for a in DESK_ACTIONS[DeskPhase(desk_status(ds))]
                    if not (d.under_alert(now) and a in ALERT_HOLDS)],
    }


def alert_json(d: Dispatcher) -> dict[str, Any]:
    """The office's air-raid alert as API.md 1.1 has it: whether it is on, since when, when service resumes."""
    tz = d.office.timezone
    until = d.alert_until
    return {
        "active": d.alert_active(),
        "since": iso(d.alert_since, tz) if d.alert_since is not None else None,
        "resumes_at": iso(until, tz) if 0.0 < until < float("inf") else None,
    }


def alert_answer(d: Dispatcher) -> dict[str, Any]:
    return {"office": d.office.id, **alert_json(d)}


def state_json(d: Dispatcher, seq: int, now: float) -> dict[str, Any]:
    return {
        "seq": seq,
        "desks": [
            {"id": ds.desk.id, "number": ds.desk.number, "status": desk_status(ds),
             "ticket": ds.ticket.number if ds.ticket is not None else None}
            for ds in d.desks.values()
        ],
        "queues": [
            {"service": q.service, "waiting": q.waiting, "eta_min": q.eta_min, "eta_reason": q.eta_reason,
             "longest_wait_min": q.longest_wait_min}
            for q in forecast.queues(d, now)
        ],
        "alert": alert_json(d),
        "registries": {"available": d.registries_available},
    }


def policy_json(d: Dispatcher) -> dict[str, Any]:
    return {
        "order": [c.value for c in d.policy.order],
        "max_wait_min": {c.value: d.policy.max_wait_min.get(c, 15.0) for c in d.policy.order},
        "rule": d.policy.rule,
    }


def desk_open_for(d: Dispatcher, service: str) -> bool:
    """Whether an open desk (not paused, not closed) serves ``service``, as its own or as backup."""
    return any(
        ds.status is DeskStatus.OPEN and (service in ds.desk.services or service in ds.desk.backup)
        for ds in d.desks.values()
    )


def oldest(q: Queue) -> Ticket | None:
    """The live ticket of ``q`` that has waited longest (the earliest ``since``). Each of the queue's two runs is
    sorted by ``since``, so this reads the first live entry of each: amortised O(1), not a scan."""
    best: Ticket | None = None
    for lane, start in zip(q.lanes, q.starts, strict=True):
        for i in range(start, len(lane)):
            t = lane[i][3]
            if t.entry == lane[i][2] and t.queue is q and t.status is Status.WAITING:
                if best is None or t.since < best.since:
                    best = t
                break
    return best


@dataclass(frozen=True, slots=True)
class Waited:
    """What the head is told of one line of waiting visitors: measured, not forecast."""

    service: str
    vulnerable: bool  # the vulnerable lane of the service
    desk: str | None  # tickets sent to one desk
    waiting: int
    longest_min: float  # now - since of the ticket that has waited longest
    number: str | None  # that ticket's number
    limit_min: float  # the category's max wait, never past the network's limit


def waited(d: Dispatcher, now: float) -> list[Waited]:
    """Every line with someone waiting: each service's two lanes, and the tickets sent to each desk (one line per
    desk and service). O(queues + tickets sent to desks)."""
    net_limit = d.network.targets.limit_min
    out = []
    for (service, vul), q in d.queues.items():
        if not q.live:
            continue
        t = oldest(q)
        cat = q.category or d.network.services[service].category
        out.append(Waited(
            service=service, vulnerable=vul, desk=None, waiting=q.live,
            longest_min=round(d.net_waited_s(t, now) / 60.0, 1) if t is not None else 0.0,  # alerts left out
            number=t.number if t is not None else None,
            limit_min=min(d.policy.max_wait_min.get(cat, net_limit), net_limit),
        ))
    for desk_id, pq in d.personal.items():
        if not pq.live:
            continue
        by_service: dict[str, list[Ticket]] = {}
        for t in pq.ordered():
            by_service.setdefault(t.service, []).append(t)
        for service, ts in sorted(by_service.items()):
            t = min(ts, key=lambda x: x.since)
            out.append(Waited(
                service=service, vulnerable=t.vulnerable, desk=desk_id, waiting=len(ts),
                longest_min=round(d.net_waited_s(t, now) / 60.0, 1), number=t.number,
                limit_min=min(d.policy.max_wait_min.get(t.category, net_limit), net_limit),
            ))
    return out


def _lane_uk(w: Waited, d: Dispatcher) -> str:
    if w.desk is not None:
        return f" (направлені до вікна {d.desks[w.desk].desk.number})"
    return " (першочергові)" if w.vulnerable else ""


def _lane_en(w: Waited, d: Dispatcher) -> str:
    if w.desk is not None:
        return f" (sent to desk {d.desks[w.desk].desk.number})"
    return " (priority lane)" if w.vulnerable else ""


def alerts(engine: CityEngine, d: Dispatcher, now: float,
           summaries: list[forecast.QueueSummary] | None = None,
           lines: list[Waited] | None = None) -> list[dict[str, str]]:
    """What the head must look at now.

    Measured: a ticket that has waited past the target (15 min) or past its category's limit (its max wait, 20 at
    most), and visitors waiting for a service that no open desk serves (or for a desk that is not open). Forecast:
    a queue where a newcomer would wait past the target. And an open desk idle beside a long queue it can serve.
    Each rule fires whenever its condition holds, so "no alerts" means none holds.
    """
    net = engine.network
    target = net.targets.target_min
    out: list[dict[str, str]] = []
    if summaries is None:
        summaries = forecast.queues(d, now)
    if lines is None:
        lines = waited(d, now)
    for w in lines:
        svc = net.services[w.service]
        lane_uk, lane_en = _lane_uk(w, d), _lane_en(w, d)
        if w.longest_min > w.limit_min:
            out.append({
                "kind": "ticket_over_limit",
                "message_uk": f"«{svc.name_uk}»{lane_uk}: талон {w.number} чекає вже {w.longest_min:.0f} хв "
                              f"(межа {w.limit_min:.0f})",
                "message_en": f"{svc.name_en}{lane_en}: ticket {w.number} has waited {w.longest_min:.0f} min "
                              f"(limit {w.limit_min:.0f})",
            })
        elif w.longest_min > target:
            out.append({
                "kind": "ticket_over_target",
                "message_uk": f"«{svc.name_uk}»{lane_uk}: талон {w.number} чекає вже {w.longest_min:.0f} хв "
                              f"(ціль {target:.0f})",
                "message_en": f"{svc.name_en}{lane_en}: ticket {w.number} has waited {w.longest_min:.0f} min "
                              f"(target {target:.0f})",
            })
        if w.desk is not None:
            ds = d.desks[w.desk]
            if ds.status is not DeskStatus.OPEN:
                out.append({
                    "kind": "no_open_desk",
                    "message_uk": f"«{svc.name_uk}»: {w.waiting} чекають на вікно {ds.desk.number}, "
                                  f"а воно {'на перерві' if ds.status is DeskStatus.PAUSED else 'закрите'}",
                    "message_en": f"{svc.name_en}: {w.waiting} waiting for desk {ds.desk.number}, which is "
                                  f"{'paused' if ds.status is DeskStatus.PAUSED else 'closed'}",
                })
    for q in summaries:
        if not q.waiting:
            continue
        svc = net.services[q.service]
        if not desk_open_for(d, q.service):
            out.append({
                "kind": "no_open_desk",
                "message_uk": f"«{svc.name_uk}»: чекають {q.waiting}, але жодне відкрите вікно цієї послуги "
                              f"не надає",
                "message_en": f"{svc.name_en}: {q.waiting} waiting, but no open desk serves it",
            })
            continue
        eta, _ = _eta(d, q)
        if eta is not None and eta > target:
            out.append({
                "kind": "queue_over_target",
                "message_uk": f"«{svc.name_uk}»: прогноз для новоприбулого ≈ {eta:.0f} хв (ціль {target:.0f})",
                "message_en": f"{svc.name_en}: forecast for a newcomer ≈ {eta:.0f} min (target {target:.0f})",
            })
    long_queue = {q.service for q in summaries if q.waiting >= 3}
    for ds in d.desks.values():
        if ds.status is DeskStatus.OPEN and ds.ticket is None and long_queue & (ds.desk.services | ds.desk.backup):
            out.append({
                "kind": "desk_idle",
                "message_uk": f"Вікно {ds.desk.number} вільне, а черга, яку воно обслуговує, довга",
                "message_en": f"Desk {ds.desk.number} is idle while a queue it serves is long",
            })
    return out


def _eta(d: Dispatcher, q: forecast.QueueSummary) -> tuple[float | None, str | None]:
    """The forecast as API.md 1.1 has it: null, with the reason, when no open desk serves the queue."""
    reason = getattr(q, "eta_reason", None)
    if q.eta_min is None or reason is not None:
        return None, reason or "no_open_desk"
    if not desk_open_for(d, q.service):
        return None, "no_open_desk"
    return q.eta_min, None


def load_json(engine: CityEngine, d: Dispatcher, now: float) -> dict[str, Any]:
    net = engine.network
    loads = engine.loads(now)
    summaries = forecast.queues(d, now)
    lines = waited(d, now)
    longest: dict[str, Waited] = {}  # per service, over its lanes (tickets sent to a desk are lines of their own)
    for w in lines:
        if w.desk is None and (w.service not in longest or w.longest_min > longest[w.service].longest_min):
            longest[w.service] = w
    queues: list[dict[str, Any]] = []
    for q in summaries:
        eta, reason = _eta(d, q)
        lw = longest.get(q.service)
        cat = net.services[q.service].category
        queues.append({
            "service": q.service, "waiting": q.waiting, "eta_min": eta, "eta_reason": reason,
            "longest_wait_min": lw.longest_min if lw is not None else 0.0,
            "limit_min": lw.limit_min if lw is not None else min(d.policy.max_wait_min.get(cat, net.targets.limit_min),
                                                               net.targets.limit_min),
        })
    top = max(lines, key=lambda w: w.longest_min, default=None)
    expected = [q for q in queues if q["waiting"] and q["eta_min"] is not None]
    worst = max(expected, key=lambda q: q["eta_min"], default=None)
    return {
        "office": d.office.id, "target_min": net.targets.target_min, "limit_min": net.targets.limit_min,
        # the headline: how long the visitor who has waited longest has waited, measured now
        "longest_wait": None if top is None else {
            "wait_min": top.longest_min, "number": top.number, "service": top.service,
            "desk": d.desks[top.desk].desk.number if top.desk is not None else None, "limit_min": top.limit_min,
        },
        # beside it, labelled: the highest forecast for a newcomer among the queues where someone waits
        "forecast": {
            "eta_min": worst["eta_min"] if worst is not None else None,
            "service": worst["service"] if worst is not None else None,
            "no_open_desk": [q["service"] for q in queues if q["waiting"] and q["eta_min"] is None],
        },
        "desks": [
            {"id": x.desk, "number": x.number, "status": x.status, "ticket": x.ticket, "served": x.served,
             "utilisation": x.utilisation, "waiting_for_it": x.waiting_for_it}
            for x in forecast.desks(d, now)
        ],
        "queues": queues,
        "offices": [
            {"id": oid, "name": net.offices[oid].name_uk, "name_en": net.offices[oid].name_en, "kind": ld.kind,
             "waiting": ld.waiting, "open_desks": ld.open_desks, "busy_desks": ld.busy_desks,
             "max_eta_min": ld.max_eta_min, "unserved": ld.unserved}
            for oid, ld in loads.items()
        ],
        "suggestions": [
            {"ticket": s.ticket, "number": s.number, "service": s.service, "to_office": s.to_office,
             "eta_here_min": s.eta_here_min, "eta_there_min": s.eta_there_min, "travel_min": s.travel_min,
             "saves_min": s.saves_min}
            for s in balancer.suggestions(d, loads, now)
        ],
        "alerts": alerts(engine, d, now, summaries, lines),
    }
