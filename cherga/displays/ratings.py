"""Live ratings: today's and this month's counts of each score, per office and for the network, on the office's
rating scale (``on_scale``) and, for older pages, on three levels (``today``, ``month``).

Follows the durable events like the board hub, and pushes a new summary to the ratings pages the moment someone
rates. A rating counts for the office's local date; it is tied to the desk and the service, never to a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cherga.displays.hub import Connection, dumps
from cherga.engine import events as e
from cherga.engine.commands import SCALES, on_scale
from cherga.engine.model import Network

NETWORK = "network"


def _counts(scores: Counter[str], scale: str) -> dict[str, int]:
    """The counts on ``scale``'s levels, lowest first; a rating given on the other scale (an office that changed
    its scale, the network's mixed offices) counts at its level of this one (``commands.on_scale``)."""
    out = dict.fromkeys(SCALES[scale], 0)
    for score, n in scores.items():
        out[on_scale(score, scale)] += n
    return out


class RatingsBook:
    def __init__(self, network: Network, clock: Callable[[], float]) -> None:
        self.network = network
        self.clock = clock
        self.by_day: dict[tuple[str, str], Counter[str]] = {}
        self.subscribers: dict[str, set[Connection]] = {}

    def reset(self) -> None:
        self.by_day.clear()

    def _day(self, office: str, at: float) -> str:
        return datetime.fromtimestamp(at, ZoneInfo(self.network.offices[office].timezone)).date().isoformat()

    def on_events(self, events: list[e.BaseEvent], replay: bool) -> None:
        changed = set()
        for ev in events:
            if isinstance(ev, e.TicketRated):
                self.by_day.setdefault((ev.office, self._day(ev.office, ev.at)), Counter())[ev.score] += 1
                changed.add(ev.office)
        if replay or not changed:
            return
        for office in (*changed, NETWORK):
            conns = self.subscribers.get(office)
            if conns:
                text = dumps({"type": "rating", **self.summary(office)})
                for conn in list(conns):
                    if not conn.offer(text):
                        conns.discard(conn)

    def summary(self, office: str) -> dict[str, Any]:
        offices = list(self.network.offices) if office == NETWORK else [office]
        today: Counter[str] = Counter()
        month: Counter[str] = Counter()
        now = self.clock()
        for oid in offices:
            day = self._day(oid, now)
            for (o, d), counts in self.by_day.items():
                if o != oid:
                    continue
                if d == day:
                    today.update(counts)
                if d[:7] == day[:7]:
                    month.update(counts)
        scale = self.scale(offices)
        return {
            "office": office,
            "today": _counts(today, "three"),
            "month": _counts(month, "three"),
            "scale": scale,
            "levels": list(SCALES[scale]),
            "on_scale": {"today": _counts(today, scale), "month": _counts(month, scale)},
        }

    def scale(self, offices: list[str]) -> str:
        """The offices' rating scale when they agree; else four, the national monitoring's."""
        scales = {self.network.offices[o].rating_scale for o in offices}
        return scales.pop() if len(scales) == 1 else "four"

    def join(self, office: str) -> Connection:
        conn = Connection()
        conn.restart(dumps({"type": "snapshot", **self.summary(office)}), 0)
        self.subscribers.setdefault(office, set()).add(conn)
        return conn

    def leave(self, office: str, conn: Connection) -> None:
        self.subscribers.get(office, set()).discard(conn)
