"""Alerts as they arise: what the head must look at, pushed to the dashboard the moment it changes.

A queue whose newcomer would wait past the target, a ticket waiting past its limit, a desk idle while a queue it
can serve is long (from :func:`cherga.displays.views.alerts`), and an administrator whose ratings are falling.
Alerts are recomputed off the hot path: events only mark their office, and a once-a-second tick refreshes the
marked offices that a dashboard watches (and all watched ones every few seconds: waiting past a limit happens
with no event at all).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from cherga.displays import views
from cherga.displays.hub import Connection, dumps
from cherga.engine import events as e
from cherga.engine.commands import LEVEL_UK, SCALES, TO_THREE
from cherga.engine.network import CityEngine

# an administrator's day is flagged when at least this many ratings are in and this share of them is "bad" (the
# lowest level: погано, or жахливо on four levels)
MIN_RATINGS = 5
BAD_SHARE = 0.3


class AlertWatcher:
    def __init__(self, engine: Callable[[], CityEngine], clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock
        self.current: dict[str, list[dict[str, str]]] = {}
        self.subscribers: dict[str, set[Connection]] = {}
        self.staff_scores: dict[tuple[str, str, str], Counter[str]] = {}  # (office, staff, day) -> scores
        self.dirty: set[str] = set()
        self._ticks = 0

    def reset(self) -> None:
        self.current.clear()
        self.staff_scores.clear()

    def on_events(self, events: list[e.BaseEvent], replay: bool) -> None:
        offices = set()
        for ev in events:
            offices.add(ev.office)
            if isinstance(ev, e.TicketRated) and ev.staff:
                tz = self._engine().network.offices[ev.office].timezone
                day = datetime.fromtimestamp(ev.at, ZoneInfo(tz)).date().isoformat()
                # the lowest level of either scale (погано, жахливо) counts as "bad"
                self.staff_scores.setdefault((ev.office, ev.staff, day), Counter())[TO_THREE[ev.score]] += 1
        if not replay:
            self.dirty |= offices

    def ratings_alerts(self, office: str) -> list[dict[str, str]]:
        engine = self._engine()
        tz = engine.network.offices[office].timezone
        today = datetime.fromtimestamp(self._clock(), ZoneInfo(tz)).date().isoformat()
        out = []
        for (o, staff, day), scores in sorted(self.staff_scores.items()):
            total = sum(scores.values())
            if o == office and day == today and total >= MIN_RATINGS and scores["bad"] / total >= BAD_SHARE:
                share = round(100 * scores["bad"] / total)
                low = SCALES[engine.network.offices[office].rating_scale][0]
                out.append({
                    "kind": "ratings_falling",
                    "message_uk": f"Адміністратор {staff}: {share}% оцінок «{LEVEL_UK[low]}» сьогодні ({total} оцінок)",
                    "message_en": f"Administrator {staff}: {share}% of today's {total} ratings are '{low}'",
                })
        return out

    def compute(self, office: str) -> list[dict[str, str]]:
        engine = self._engine()
        if office not in engine.offices:
            return []
        d = engine.offices[office]
        return views.alerts(engine, d, self._clock()) + self.ratings_alerts(office)

    def refresh(self, office: str) -> None:
        """Recompute the office's alerts; push them to its dashboards if they changed."""
        alerts = self.compute(office)
        if alerts == self.current.get(office):
            return
        self.current[office] = alerts
        conns = self.subscribers.get(office)
        if conns:
            text = dumps({"type": "alerts", "office": office, "alerts": alerts})
            for conn in list(conns):
                if not conn.offer(text):
                    conns.discard(conn)

    def tick(self) -> None:
        """Once a second: refresh what changed; every fifth, everything watched (limits pass without events)."""
        self._ticks += 1
        every = self._ticks % 5 == 0
        for office in list(self.subscribers):
            if self.subscribers[office] and (every or office in self.dirty):
                self.refresh(office)
        self.dirty.clear()

    def join(self, office: str) -> Connection:
        conn = Connection()
        alerts = self.compute(office)
        self.current[office] = alerts
        conn.restart(dumps({"type": "alerts", "office": office, "alerts": alerts}), 0)
        self.subscribers.setdefault(office, set()).add(conn)
        return conn

    def leave(self, office: str, conn: Connection) -> None:
        self.subscribers.get(office, set()).discard(conn)
