"""Calibration: an office's model made from its own past, read from the service's journal.

From the events of one office (``SqliteJournal(DIR/journal.sqlite3).read(office)``) it fits:

* arrivals per clock hour and weekday: tickets issued in that hour (local time) divided by the number of such
  weekdays the office was open (a day counts when it has events);
* the service mix (the first service of each ticket), the share of vulnerable tickets, of second services and
  which, of booked visits and how early they come;
* service times per service: a lognormal by maximum likelihood on the minutes of ``ServiceFinished``
  (``μ̂`` and ``σ̂`` the mean and standard deviation of the logs; mean ``exp(μ̂ + σ̂²/2)``, CV ``√(exp σ̂² − 1)``);
  with fewer than :data:`MIN_SAMPLES` the catalogue's mean and the default CV stand;
* the no-show share (no-shows over tickets called) and the recall interval (median minutes from a call to its
  recall);
* patience: exponential, by maximum likelihood with censoring: ``θ̂ = abandonments / Σ minutes at risk``, where
  every ticket is at risk from issue until its first call, its cancellation by the visitor, or the day's close.

* air-raid alerts (:func:`cherga.sim.alerts.fit_alerts`): from the journal's ``AlertChanged`` events (an alert
  from the switch on to the all-clear; hours observed: every day from the first to the last, 24 hours each), or
  from a list of alerts given (:func:`read_alert_list`): the rate per hour and a lognormal duration.

The result is a :class:`cherga.sim.profile.Profile` for ``--profile FILE``. Seasonal multipliers are dropped:
the observed period already has its season in it.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cherga.engine import events as e
from cherga.engine.model import Network
from cherga.errors import ConfigError
from cherga.journal.sqlite import SqliteJournal
from cherga.sim import defaults
from cherga.sim.alerts import AlertFit, fit_alerts
from cherga.sim.profile import WEEKDAYS, Profile, ServiceTime

MIN_SAMPLES = 10
JOURNAL_FILE = "journal.sqlite3"


@dataclass(frozen=True, slots=True)
class ServiceFit:
    service: str
    samples: int
    mean_min: float
    cv: float
    fitted: bool  # False: too few samples, the catalogue's mean stands


@dataclass(slots=True)
class Calibration:
    profile: Profile
    tickets: int
    days_by_weekday: dict[str, int]
    first_day: str | None
    last_day: str | None
    fits: list[ServiceFit] = field(default_factory=list)
    abandonments: int = 0
    no_shows: int = 0
    alerts: AlertFit | None = None

    def report(self) -> dict[str, Any]:
        extra = {} if self.alerts is None else {"alerts": self.alerts.report()}
        return {
            "office": self.profile.office,
            "tickets": self.tickets,
            "from": self.first_day,
            "to": self.last_day,
            "days_by_weekday": self.days_by_weekday,
            "abandonments": self.abandonments,
            "no_shows": self.no_shows,
            "patience_mean_min": self.profile.patience_mean_min,
            "no_show_share": round(self.profile.no_show_share, 4),
            "services": [
                {"service": f.service, "samples": f.samples, "mean_min": round(f.mean_min, 3), "cv": round(f.cv, 3),
                 "fitted": f.fitted}
                for f in self.fits
            ],
            **extra,
        }


def lognormal_fit(minutes: Iterable[float]) -> tuple[float, float, int]:
    """Maximum-likelihood lognormal: ``(mean, cv, n)`` of the positive values."""
    logs = [math.log(x) for x in minutes if x > 0]
    n = len(logs)
    if n == 0:
        return math.nan, math.nan, 0
    mu = math.fsum(logs) / n
    s2 = math.fsum((x - mu) ** 2 for x in logs) / n
    return math.exp(mu + s2 / 2.0), math.sqrt(math.expm1(s2)), n


def _hourly(n_days: Counter[int], counts: Mapping[tuple[date, int], int]) -> dict[str, tuple[float, ...]]:
    """Arrivals per clock hour of each weekday, averaged over the days of that weekday observed."""
    hourly: dict[str, tuple[float, ...]] = {}
    for wd, name in enumerate(WEEKDAYS):
        row = [0.0] * 24
        if n_days[wd]:
            for (d, h), n in counts.items():
                if d.weekday() == wd:
                    row[h] += n / n_days[wd]
        hourly[name] = tuple(row)
    return hourly


def _service_times(network: Network, mix: Mapping[str, int], minutes: Mapping[str, list[float]]
                   ) -> tuple[list[ServiceFit], dict[str, ServiceTime]]:
    """Each service's fitted time, or its configured mean where too few were observed."""
    fits: list[ServiceFit] = []
    times: dict[str, ServiceTime] = {}
    for sid in sorted(mix):
        mean, cv, n = lognormal_fit(minutes.get(sid, ()))
        if n >= MIN_SAMPLES and math.isfinite(mean) and mean > 0:
            st = ServiceTime(mean, cv)
            fits.append(ServiceFit(sid, n, mean, cv, True))
        else:
            st = ServiceTime(network.services[sid].mean_service_min, defaults.SERVICE_CV)
            fits.append(ServiceFit(sid, n, st.mean_min, st.cv, False))
        times[sid] = st
    return fits, times


def _alert_fit(alert_list: tuple[Sequence[tuple[float, float]], float] | None, seen: list[tuple[float, float]],
               days: set[date], empirical: bool, source: str) -> AlertFit | None:
    """The alerts' fit: from the given list, else from the journal's alerts over the days it covers."""
    if alert_list is not None:
        return fit_alerts(alert_list[0], alert_list[1], empirical=empirical, source="alert list")
    if seen and days:
        hours = ((max(days) - min(days)).days + 1) * 24.0
        return fit_alerts(seen, hours, empirical=empirical, source=source)
    return None


def calibrate(
    network: Network, office_id: str, events: Iterable[e.BaseEvent], *,
    alert_list: tuple[Sequence[tuple[float, float]], float] | None = None, empirical: bool = False,
) -> Calibration:
    """Fit the office's profile to its events (any order of offices; only ``office_id``'s are read).

    Alerts: from ``alert_list`` (``(start, end)`` minutes and the hours observed, :func:`read_alert_list`) when
    given, else from the journal's alert events; with ``empirical`` their own durations are kept."""
    if office_id not in network.offices:
        raise ConfigError(f"unknown office {office_id!r}; known: {', '.join(network.offices)}")
    office = network.offices[office_id]
    tz = ZoneInfo(office.timezone)
    days: set[date] = set()
    counts: dict[tuple[date, int], int] = Counter()
    mix: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    vulnerable = booked = 0
    early: list[float] = []
    minutes: dict[str, list[float]] = defaultdict(list)
    issued_at: dict[str, float] = {}
    first_call: dict[str, float] = {}
    called: set[str] = set()
    last_call: dict[str, float] = {}
    recall_gaps: list[float] = []
    no_shows = 0
    abandoned: dict[str, float] = {}
    closed_at: dict[str, float] = {}
    day_of: dict[str, date] = {}
    close_by_day: dict[date, float] = {}
    alert_on: float | None = None
    alerts_seen: list[tuple[float, float]] = []
    for ev in events:
        if ev.office != office_id:
            continue
        if isinstance(ev, e.AlertChanged):
            if ev.active:
                alert_on = ev.at if alert_on is None else alert_on
            elif alert_on is not None:
                alerts_seen.append((alert_on / 60.0, ev.at / 60.0))
                alert_on = None
        local = datetime.fromtimestamp(ev.at, tz)
        d = local.date()
        days.add(d)
        if isinstance(ev, e.TicketIssued):
            issued_at[ev.ticket] = ev.at
            day_of[ev.ticket] = d
            counts[(d, local.hour)] += 1
            mix[ev.service] += 1
            vulnerable += ev.vulnerable
            if ev.more_services:
                seconds[ev.more_services[0]] += 1
            if ev.due_at is not None:
                booked += 1
                early.append(max(0.0, (ev.due_at - ev.at) / 60.0))
        elif isinstance(ev, e.TicketCalled):
            first_call.setdefault(ev.ticket, ev.at)
            called.add(ev.ticket)
            last_call[ev.ticket] = ev.at
        elif isinstance(ev, e.TicketRecalled):
            prev = last_call.get(ev.ticket)
            if prev is not None:
                recall_gaps.append((ev.at - prev) / 60.0)
            last_call[ev.ticket] = ev.at
        elif isinstance(ev, e.ServiceFinished):
            minutes[ev.service].append(ev.service_min)
        elif isinstance(ev, e.TicketNoShow):
            no_shows += 1
        elif isinstance(ev, e.TicketCancelled):
            if ev.ticket not in first_call:
                if ev.reason == "visitor":
                    abandoned[ev.ticket] = ev.at
                else:
                    closed_at[ev.ticket] = ev.at
        elif isinstance(ev, e.DayClosed):
            close_by_day[d] = ev.at
    tickets = sum(mix.values())
    if tickets == 0:
        raise ConfigError(f"the journal has no tickets issued at office {office_id!r}; nothing to calibrate from")
    n_days = Counter(d.weekday() for d in days)
    hourly = _hourly(n_days, counts)
    fits, times = _service_times(network, mix, minutes)
    # patience: every ticket is at risk from issue until called, abandoned, or the day closes
    at_risk = 0.0
    for tid, t0 in issued_at.items():
        end = first_call.get(tid) or abandoned.get(tid) or closed_at.get(tid) or close_by_day.get(day_of[tid])
        if end is not None and end > t0:
            at_risk += (end - t0) / 60.0
    patience = at_risk / len(abandoned) if abandoned else None
    first, last = (min(days).isoformat(), max(days).isoformat()) if days else (None, None)
    profile = Profile(
        office=office_id,
        hourly=hourly,
        mix={s: n / tickets for s, n in mix.items()},
        service_time=times,
        distribution="lognormal",
        seasonal={},
        month=None,
        vulnerable_share=vulnerable / tickets,
        patience_mean_min=patience,
        no_show_share=no_shows / len(called) if called else 0.0,
        recall_interval_min=statistics.median(recall_gaps) if recall_gaps else defaults.RECALL_INTERVAL_MIN,
        second_service_share=sum(seconds.values()) / tickets,
        second_services={s: n / max(sum(seconds.values()), 1) for s, n in seconds.items()},
        booked_share=booked / tickets,
        booked_early_min=(
            (_quantile(early, 0.1), _quantile(early, 0.9)) if len(early) >= 2 else defaults.BOOKED_EARLY_MIN
        ),
        source=f"journal {first}..{last}",
    )
    fit = _alert_fit(alert_list, alerts_seen, days, empirical, f"journal {first}..{last}")
    if fit is not None:
        profile = replace(profile, alerts=fit.alerts)
    return Calibration(
        profile, tickets, {WEEKDAYS[wd]: n_days[wd] for wd in range(7)}, first, last, fits, len(abandoned),
        no_shows, fit,
    )


def read_alert_list(path: str | Path, timezone: str) -> tuple[list[tuple[float, float]], float]:
    """A list of alerts: ``{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "alerts": [{"start": ISO, "end": ISO}]}``
    (times without a zone are the office's local time; ``from``/``to``, whole days, default to the first and last
    alert's days). Returns the alerts as ``(start, end)`` minutes since the epoch and the hours observed."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such alert list") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{file}: not a readable JSON alert list: {exc}") from None
    if isinstance(data, list):
        data = {"alerts": data}
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise ConfigError(f'{file}: expected {{"from", "to", "alerts": [{{"start", "end"}}, ...]}}')
    tz = ZoneInfo(timezone)

    def when(where: str, text: object) -> datetime:
        try:
            t = datetime.fromisoformat(str(text))
        except ValueError:
            raise ConfigError(f"{file}: {where}: not an ISO date and time: {text!r}") from None
        return t if t.tzinfo is not None else t.replace(tzinfo=tz)

    out: list[tuple[float, float]] = []
    for i, a in enumerate(data["alerts"]):
        if not isinstance(a, dict) or "start" not in a or "end" not in a:
            raise ConfigError(f"{file}: alerts[{i}]: expected {{\"start\": ISO, \"end\": ISO}}")
        s, t = when(f"alerts[{i}].start", a["start"]), when(f"alerts[{i}].end", a["end"])
        if t <= s:
            raise ConfigError(f"{file}: alerts[{i}]: the end {a['end']} is not after the start {a['start']}")
        out.append((s.timestamp() / 60.0, t.timestamp() / 60.0))
    local = [datetime.fromtimestamp(s * 60.0, tz).date() for s, _ in out]

    def day(key: str, default: date | None) -> date:
        raw = data.get(key)
        if raw is None:
            if default is None:
                raise ConfigError(f"{file}: no alerts, so {key!r} must say which days were observed")
            return default
        try:
            return date.fromisoformat(str(raw))
        except ValueError:
            raise ConfigError(f"{file}: {key}: not a date (YYYY-MM-DD): {raw!r}") from None

    lo = day("from", min(local) if local else None)
    hi = day("to", max(local) if local else None)
    if hi < lo:
        raise ConfigError(f"{file}: 'to' {hi} is before 'from' {lo}")
    start = datetime.combine(lo, time(0), tz)
    end = datetime.combine(hi + timedelta(days=1), time(0), tz)
    return out, (end - start).total_seconds() / 3600.0


def _quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def read_journal(data_dir: str | Path, office_id: str) -> list[e.BaseEvent]:
    """The office's events from the service's journal in ``data_dir``."""
    path = Path(data_dir) / JOURNAL_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: no journal here; --data must be the service's data directory")
    journal = SqliteJournal(path)
    try:
        return list(journal.read(office_id))
    finally:
        journal.close()
