"""The service's desk schedule: staffing plans written by ``cherga sim staff`` (API.md's plan file)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cherga.engine.model import Network
from cherga.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Schedule:
    office: str
    desks: dict[tuple[int, int], int]  # (weekday, hour) -> desks planned

    def desks_at(self, now: float, timezone: str) -> int | None:
        local = datetime.fromtimestamp(now, ZoneInfo(timezone))
        return self.desks.get((local.weekday(), local.hour))


def load_plan(network: Network, path: Path) -> Schedule:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        office = data["office"]
        rows = data["plan"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a staffing plan from 'cherga sim staff' ({exc})") from None
    if office not in network.offices:
        raise ConfigError(f"{path}: office {office!r} is not in the network; known: {', '.join(network.offices)}")
    desks: dict[tuple[int, int], int] = {}
    for i, row in enumerate(rows):
        try:
            day, hour, n = DAYS.index(row["day"]), int(row["hour"]), int(row["desks"])
        except (KeyError, ValueError, TypeError):
            raise ConfigError(f"{path}: plan[{i}] needs day (mon..sun), hour and desks; got {row!r}") from None
        if not (0 <= hour < 24 and n >= 0):
            raise ConfigError(f"{path}: plan[{i}] has hour {hour} or desks {n} out of range")
        desks[(day, hour)] = n
    return Schedule(office=office, desks=desks)


def load_plans(network: Network, paths: list[Path]) -> dict[str, Schedule]:
    plans = [load_plan(network, p) for p in paths]
    return {p.office: p for p in plans}
