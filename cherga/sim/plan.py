"""Staffing plans: desks on duty per hour, per office and per skill group, as the JSON file API.md describes.

A *skill group* is a set of desks whose own services link up: two desks are in one group when their own services
overlap, directly or through other desks (connected components). Visitors of a group's services are served by the
group's desks only (backups aside), so staffing is planned per group and the office's figure is the sum. Within a
group desks open in a fixed order, :func:`desk_order`: first the desks that together cover every service the
group has visitors for (greedy, the most demand first), then the rest, so that ``n`` desks of a group always means
the same ``n`` desks.

The file::

    {"office": "main",
     "plan": [{"day": "mon", "hour": 8, "desks": 9, "arrivals_per_hour": 41.2, "mean_service_min": 10.4,
               "groups": {"g1": 1, "g2": 1, ...}, "erlang_c": 8}, ...],
     "desk_hours": 512.0,
     "groups": [{"id": "g1", "desks": ["main-01"], "services": [...]}, ...]}

``groups`` (per row and at the top) is optional: a plan with office totals alone opens the first ``desks`` desks
of the office's own order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cherga.engine.model import Network, Office
from cherga.errors import ConfigError
from cherga.sim.model import Schedule, hourly_schedule
from cherga.sim.profile import WEEKDAYS, hour_overlap


@dataclass(frozen=True, slots=True)
class SkillGroup:
    id: str
    desks: tuple[int, ...]  # indices in office.desks, in opening order
    services: frozenset[str]


def skill_groups(office: Office, demand: Mapping[str, float] | None = None) -> list[SkillGroup]:
    """The office's skill groups, each with its desks in :func:`desk_order`."""
    parent = list(range(len(office.desks)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for k, dk in enumerate(office.desks):
        for s in sorted(dk.services):
            if s in owner:
                a, b = find(owner[s]), find(k)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[s] = k
    members: dict[int, list[int]] = {}
    for k in range(len(office.desks)):
        members.setdefault(find(k), []).append(k)
    groups: list[SkillGroup] = []
    for n, (_, ks) in enumerate(sorted(members.items())):
        services = frozenset(s for k in ks for s in office.desks[k].services)
        groups.append(SkillGroup(f"g{n + 1}", tuple(desk_order(office, ks, demand)), services))
    return groups


def desk_order(office: Office, desks: Sequence[int], demand: Mapping[str, float] | None = None) -> list[int]:
    """Greedy cover: each next desk adds the most uncovered demand (ties: more own services, then config order)."""
    weight = demand or {}
    left = list(desks)
    covered: set[str] = set()
    order: list[int] = []
    while left:
        best = max(
            left,
            key=lambda k, cov=frozenset(covered): (  # type: ignore[misc]
                sum(weight.get(s, 1e-6) for s in office.desks[k].services - cov), len(office.desks[k].services), -k
            ),
        )
        order.append(best)
        covered |= office.desks[best].services
        left.remove(best)
    return order


def cover_count(office: Office, group: SkillGroup, needed: set[str]) -> int:
    """How many of the group's first desks it takes to offer every service in ``needed`` as their own."""
    if not needed:
        return 0
    got: set[str] = set()
    for n, k in enumerate(group.desks, start=1):
        got |= office.desks[k].services
        if needed <= got:
            return n
    return len(group.desks)


@dataclass(slots=True)
class PlanRow:
    day: str
    hour: int
    desks: int
    arrivals_per_hour: float
    mean_service_min: float
    groups: dict[str, int] | None = None
    erlang_c: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    office: str
    rows: list[PlanRow]
    groups: list[SkillGroup] | None = None

    def desk_hours(self, network: Network) -> float:
        office = network.offices[self.office]
        total = 0.0
        for r in self.rows:
            span = office.hours.by_weekday.get(WEEKDAYS.index(r.day))
            total += r.desks * (hour_overlap(span, r.hour) if span else 1.0)
        return total

    def rows_for(self, weekday: int) -> list[PlanRow]:
        name = WEEKDAYS[weekday]
        return [r for r in self.rows if r.day == name]

    def to_dict(self, network: Network) -> dict[str, Any]:
        office = network.offices[self.office]
        rows: list[dict[str, Any]] = []
        for r in self.rows:
            row: dict[str, Any] = {
                "day": r.day, "hour": r.hour, "desks": r.desks, "arrivals_per_hour": round(r.arrivals_per_hour, 3),
                "mean_service_min": round(r.mean_service_min, 3),
            }
            if r.groups is not None:
                row["groups"] = dict(r.groups)
            if r.erlang_c is not None:
                row["erlang_c"] = r.erlang_c
            row.update(r.extra)
            rows.append(row)
        out: dict[str, Any] = {"office": self.office, "plan": rows, "desk_hours": round(self.desk_hours(network), 3)}
        if self.groups is not None:
            out["groups"] = [
                {"id": g.id, "desks": [office.desks[k].id for k in g.desks], "services": sorted(g.services)}
                for g in self.groups
            ]
        return out

    def schedule(self, network: Network, day: int) -> Schedule | None:
        """Who is on duty on day ``day`` (weekday ``day % 7``): per hour, the first desks of each group."""
        office = network.offices[self.office]
        rows = self.rows_for(day % 7)
        on: dict[int, list[int]] = {}
        fallback = desk_order(office, range(len(office.desks)))
        for r in rows:
            ks: list[int] = []
            if self.groups is not None and r.groups is not None:
                for g in self.groups:
                    ks.extend(g.desks[: r.groups.get(g.id, 0)])
            else:
                ks = fallback[: r.desks]
            on[r.hour] = ks
        return hourly_schedule(office, day, on)


def save_plan(plan: Plan, network: Network, path: str | Path) -> dict[str, Any]:
    data = plan.to_dict(network)
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return data


def plan_from_dict(data: Mapping[str, Any], network: Network, where: str = "plan") -> Plan:
    """Read a plan file, checking it against the network; errors name the row and field."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a JSON object with office, plan and desk_hours")
    office_id = data.get("office")
    if not isinstance(office_id, str) or office_id not in network.offices:
        raise ConfigError(f"{where}: office: unknown office {office_id!r}; known: {', '.join(network.offices)}")
    office = network.offices[office_id]
    index = {dk.id: k for k, dk in enumerate(office.desks)}
    groups: list[SkillGroup] | None = None
    if data.get("groups") is not None:
        groups = []
        for gi, g in enumerate(data["groups"]):
            try:
                desks = tuple(index[d] for d in g["desks"])
                services = frozenset(str(s) for s in g.get("services", ()))
                groups.append(SkillGroup(str(g["id"]), desks, services))
            except KeyError as exc:
                raise ConfigError(f"{where}: groups[{gi}]: unknown desk or missing field {exc.args[0]!r}") from None
    rows_raw = data.get("plan")
    if not isinstance(rows_raw, list):
        raise ConfigError(f"{where}: plan: expected a list of rows {{day, hour, desks, ...}}")
    rows: list[PlanRow] = []
    for i, r in enumerate(rows_raw):
        p = f"{where}: plan[{i}]"
        if not isinstance(r, Mapping):
            raise ConfigError(f"{p}: expected an object")
        day = r.get("day")
        if day not in WEEKDAYS:
            raise ConfigError(f"{p}.day: {day!r}; expected one of {', '.join(WEEKDAYS)}")
        hour, n_desks = r.get("hour"), r.get("desks")
        if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
            raise ConfigError(f"{p}.hour: expected a clock hour 0..23, got {hour!r}")
        if not isinstance(n_desks, int) or isinstance(n_desks, bool) or not 0 <= n_desks <= len(office.desks):
            raise ConfigError(f"{p}.desks: expected 0..{len(office.desks)} (the office's desks), got {n_desks!r}")
        row_groups = r.get("groups")
        if row_groups is not None and groups is not None:
            ids = {g.id for g in groups}
            for gid, n in row_groups.items():
                if gid not in ids or not isinstance(n, int) or n < 0:
                    raise ConfigError(f"{p}.groups.{gid}: unknown group or not a desk count: {n!r}")
        rows.append(
            PlanRow(
                day=str(day), hour=hour, desks=n_desks,
                arrivals_per_hour=float(r.get("arrivals_per_hour", math.nan)),
                mean_service_min=float(r.get("mean_service_min", math.nan)),
                groups=dict(row_groups) if row_groups is not None and groups is not None else None,
                erlang_c=r.get("erlang_c"),
            )
        )
    return Plan(office_id, rows, groups)


def load_plan(path: str | Path, network: Network) -> Plan:
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such plan file; make one with `cherga sim staff --out {file}`") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{file}: not a readable JSON plan: {exc}") from None
    return plan_from_dict(data, network, str(file))
