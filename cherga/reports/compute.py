"""The figures of the standard's report (section II.IV), computed with numpy from :mod:`cherga.reports.extract`.

Every figure is defined in the docstring of :mod:`cherga.reports`. In short: a report covers the tickets
*issued* in the period, by the local date of issue at their office (the cohort); everything that later happened
to those tickets counts, whenever it happened. Desks' open, paused and busy minutes are time spans clipped to the
period instead (a desk's day is not a ticket's). Minutes are rounded to 3 decimals, shares to 4; a figure over
nothing (the mean wait of no ticket called) is ``null``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from cherga.engine.commands import DEFAULT_SCALE, SCALES, on_scale
from cherga.engine.lifecycle import TRANSITIONS, Action
from cherga.engine.model import Category, Network
from cherga.reports.extract import (
    DEFAULT_TIMEZONE,
    DESK_STATUSES,
    SCORES,
    BoolArray,
    Columns,
    Extract,
    FloatArray,
    IntArray,
    Period,
    ReportError,
    utc_offsets,
)

__all__ = ["STATUSES", "WITHIN_MIN", "build_report", "group_stats"]

WITHIN_MIN = (15.0, 20.0)  # the standard's 15–20 minutes: share_within_15, share_within_20
# A ticket's bucket is where the ticket's table takes it by the last step the journal shows (the report reads the
# events of these steps, in this order), or "open" while it is still live (waiting, called or serving).
_BUCKET_STEPS = (Action.FINISH_SERVED, Action.FINISH_REFUSED, Action.NO_SHOW, Action.CANCEL, Action.REDIRECT,
                 Action.FINISH_NOT_POSSIBLE, Action.CLOSE_EARLY)


def _reached(action: Action) -> str:
    """The status every step ``action`` of the ticket's table leads to."""
    (to,) = {dst for (_, a), dst in TRANSITIONS.items() if a is action}
    return to.value


STATUSES = (*(_reached(a) for a in _BUCKET_STEPS), "open")
DONE, REFUSED, NO_SHOW, CANCELLED, REDIRECTED, NOT_POSSIBLE, NOT_SERVED, OPEN = range(len(STATUSES))
CATEGORY_ORDER = tuple(c.value for c in Category)
_EPOCH = date(1970, 1, 1)


def _r(x: float, digits: int) -> float | None:
    return round(float(x), digits) if np.isfinite(x) else None


def _min(x: float) -> float | None:
    return _r(x, 3)


def _share(num: int | np.integer[Any], den: int | np.integer[Any]) -> float | None:
    return round(float(num) / float(den), 4) if den else None


def wait_stats(w: FloatArray) -> dict[str, Any]:
    """Waits (minutes) of tickets called: count, mean, 90th percentile (linear, as numpy), max, shares within."""
    out: dict[str, Any] = {"called": int(w.size)}
    if w.size == 0:
        out.update({"mean_min": None, "p90_min": None, "max_min": None})
        out.update({f"share_within_{m:g}": None for m in WITHIN_MIN})
        return out
    out.update({
        "mean_min": _min(float(w.mean())),
        "p90_min": _min(float(np.percentile(w, 90))),
        "max_min": _min(float(w.max())),
    })
    out.update({f"share_within_{m:g}": _share(int((w <= m).sum()), w.size) for m in WITHIN_MIN})
    return out


def group_stats(groups: IntArray, values: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """Mean and 90th percentile (linear interpolation, as numpy's default) of ``values`` per group ``0..n-1``.

    No loop over groups: the values sorted, then stably by group (a radix sort of small integers), put each
    group's values in order in one run, where its percentile lies at ``0.9 * (count - 1)``. NaN for a group without
    values.
    """
    count = np.bincount(groups, minlength=n)[:n]
    total = np.bincount(groups, weights=values, minlength=n)[:n]
    mean = np.full(n, np.nan)
    has = count > 0
    mean[has] = total[has] / count[has]
    by_value = np.argsort(values)
    g = groups[by_value]
    if n <= np.iinfo(np.int16).max:
        g = g.astype(np.int16)  # a stable sort of 16-bit integers is a radix sort, 4 times faster than lexsort
    v = values[by_value[np.argsort(g, kind="stable")]]
    start = np.cumsum(count) - count
    pos = 0.9 * (count - 1)
    below = np.floor(pos).astype(np.int64)
    i = (start + below)[has]
    j = (start + np.minimum(below + 1, count - 1))[has]
    frac = (pos - below)[has]
    p90 = np.full(n, np.nan)
    p90[has] = v[i] + (v[j] - v[i]) * frac
    return mean, p90


def _scores(codes: IntArray, scale: str) -> dict[str, int]:
    return on_levels(np.bincount(codes[codes >= 0], minlength=len(SCORES)), scale)


def on_levels(counts: IntArray, scale: str) -> dict[str, int]:
    """Counts per code of :data:`SCORES` as counts of ``scale``'s levels, lowest first: a rating given on the
    other scale (an office that changed its scale; the network's offices on different scales) counts at its level
    of this one (:func:`cherga.engine.commands.on_scale`: three levels in four, погано as жахливо, добре as добре,
    зразково as чудово; four in three, прийнятно as добре)."""
    out = dict.fromkeys(SCALES[scale], 0)
    for i, s in enumerate(SCORES):
        out[on_scale(s, scale)] += int(counts[i])
    return out


def scale_of(network: Network | None, offices: Sequence[str]) -> str:
    """The offices' rating scale when they agree (three for an office the configuration no longer has); else
    four, the national monitoring's."""
    found = {network.offices[o].rating_scale if network is not None and o in network.offices else DEFAULT_SCALE
             for o in offices}
    return found.pop() if len(found) == 1 else "four"


@dataclass(slots=True)
class _Tickets:
    """Per issued ticket (index as in ``Extract.issued``): what became of it."""

    local_day: IntArray  # days since 1970-01-01, local to the ticket's office
    local_hour: IntArray
    first_call: FloatArray  # epoch seconds, inf when never called
    called: BoolArray
    wait_min: FloatArray  # nan when never called
    wait_net_min: FloatArray  # the same, the time its office was under an air-raid alert taken out
    status: IntArray  # index into STATUSES
    day_closed: BoolArray  # cancelled at closing time
    left_at: FloatArray  # when a ticket never called was cancelled or redirected (nan otherwise)
    online: BoolArray  # asked in person for a service (or one of its services) available online


def _valid(col: Columns) -> BoolArray:
    return col.ticket >= 0


def _lookup(table: BoolArray, codes: IntArray) -> BoolArray:
    """``table[codes]``, False where a code is -1 (no value)."""
    if table.size == 0:
        return np.zeros(codes.size, dtype=bool)
    return np.where(codes >= 0, table[np.maximum(codes, 0)], False)


def _tickets(data: Extract, zones: dict[int, str], online_codes: BoolArray) -> _Tickets:
    iss = data.issued
    n = iss.n
    offset = np.zeros(n, dtype=np.float64)
    for code in np.unique(iss.office):
        mask = iss.office == code
        offset[mask] = utc_offsets(zones.get(int(code), DEFAULT_TIMEZONE), iss.at[mask])
    local = iss.at + offset
    local_day = np.floor(local / 86_400.0).astype(np.int64)
    local_hour = (np.floor(local / 3600.0).astype(np.int64)) % 24

    first_call = np.full(n, np.inf)
    c = data.called
    ok = _valid(c)
    np.minimum.at(first_call, c.ticket[ok], c.at[ok])
    r = data.restored  # a restore is a call too (after a no-show), but never the first
    called = np.isfinite(first_call)
    wait_min = np.full(n, np.nan)
    # rounded to the microminute so that a wait of exactly 15 minutes is within 15 whatever the float noise
    wait_min[called] = np.round((first_call[called] - iss.at[called]) / 60.0, 6)
    wait_net_min = wait_min.copy()
    for code, spans in alert_spans(data).items():
        sel = called & (iss.office == code)
        if sel.any() and spans:
            taken = alerted_s(spans, first_call[sel]) - alerted_s(spans, iss.at[sel])
            wait_net_min[sel] = np.round((first_call[sel] - iss.at[sel] - taken) / 60.0, 6)

    status = np.full(n, OPEN, dtype=np.int64)
    f = data.finished
    fin = _valid(f) & f.extra["final"]
    status[f.ticket[fin & f.extra["served"]]] = DONE
    status[f.ticket[fin & f.extra["refused"]]] = REFUSED
    status[f.ticket[fin & f.extra["not_possible"]]] = NOT_POSSIBLE
    ns = np.bincount(data.no_show.ticket[_valid(data.no_show)], minlength=n)
    ns += np.bincount(data.remote_expired.ticket[_valid(data.remote_expired)], minlength=n)
    rs = np.bincount(r.ticket[_valid(r)], minlength=n)
    status[(ns > rs) & (status == OPEN)] = NO_SHOW
    left_at = np.full(n, np.nan)
    k = data.cancelled
    ok = _valid(k)
    status[k.ticket[ok]] = CANCELLED
    left_at[k.ticket[ok]] = k.at[ok]
    day_closed = np.zeros(n, dtype=bool)
    day_closed[k.ticket[ok & k.extra["day_closed"]]] = True
    d = data.redirected
    ok = _valid(d)
    status[d.ticket[ok]] = REDIRECTED
    left_at[d.ticket[ok]] = d.at[ok]
    ns_ = data.not_served
    ok = _valid(ns_)
    status[ns_.ticket[ok]] = NOT_SERVED
    left_at[called] = np.nan

    online = _lookup(online_codes, iss.service)
    svc_index = data.services.index
    for i, more in iss.extra["more"].items():
        if not online[i] and any(online_codes[svc_index[s]] for s in more if s in svc_index):
            online[i] = True
    return _Tickets(local_day, local_hour, first_call, called, wait_min, wait_net_min, status, day_closed, left_at,
                    online)


def alert_spans(data: Extract) -> dict[int, list[tuple[float, float]]]:
    """Per office code, the spans it was under an air-raid alert: from the alert until service resumed after the
    all-clear (a new alert during the countdown starts a new span; one still on runs to the journal's end)."""
    a = data.alerts
    out: dict[int, list[tuple[float, float]]] = {}
    order = np.lexsort((a.seq, a.office))
    start: dict[int, float] = {}
    until: dict[int, float] = {}
    for i in order.tolist():
        code = int(a.office[i])
        at = float(a.at[i])
        spans = out.setdefault(code, [])
        if bool(a.extra["active"][i]):
            if code in start:
                end = min(at, until.get(code, at))
                if end > start[code]:
                    spans.append((start[code], end))
            start[code] = at
            until.pop(code, None)
        elif code in start:
            until[code] = float(a.extra["resumes_at"][i])
    for code, s in start.items():
        end = until.get(code, max(data.now, s))
        if end > s:
            out[code].append((s, end))
    return out


def alerted_s(spans: list[tuple[float, float]], at: FloatArray) -> FloatArray:
    """Seconds under alert before each time of ``at`` (spans sorted and apart). O((n + spans) log spans)."""
    xs = np.array([x for span in spans for x in span], dtype=np.float64)
    lengths = np.array([e - s for s, e in spans], dtype=np.float64)
    ys = np.repeat(np.concatenate([[0.0], np.cumsum(lengths)]), 2)[1:-1]
    return np.asarray(np.interp(at, xs, ys, left=0.0, right=float(lengths.sum())), dtype=np.float64)


def _service_info(data: Extract, network: Network | None) -> tuple[list[str], BoolArray, list[str | None]]:
    """Per service code: its category, whether it is offered online, its online address."""
    names = data.services.names
    cats: list[str] = []
    urls: list[str | None] = []
    iss = data.issued
    vulnerable = data.categories.index.get(Category.VULNERABLE.value, -2)
    for code, sid in enumerate(names):
        svc = network.services.get(sid) if network is not None else None
        if svc is not None:
            cats.append(svc.category.value)
            urls.append(svc.online_url)
            continue
        # not in the configuration (any more): the category it was issued under, if any ticket says
        hit = np.flatnonzero((iss.service == code) & (iss.extra["category"] != vulnerable))
        cats.append(data.categories.names[int(iss.extra["category"][hit[0]])] if hit.size else "")
        urls.append(None)
    online = np.array([u is not None for u in urls], dtype=bool)
    return cats, online, urls


def build_report(
    data: Extract, network: Network | None, period: Period, offices: Sequence[str] | None = None
) -> dict[str, Any]:
    """The report as plain JSON data: ``{"from", "to", ..., "network": {...}, "offices": [{...}]}``."""
    ids: list[str] = list(offices) if offices is not None else []
    if offices is None:
        if network is not None:
            ids.extend(network.offices)
        ids.extend(o for o in data.offices.names if o not in ids)
    for oid in ids:
        if (network is None or oid not in network.offices) and oid not in data.offices.index:
            known = list(network.offices) if network is not None else data.offices.names
            raise ReportError(f"unknown office {oid!r}; known: {', '.join(known) or 'none'}")
    codes = [data.offices.code(oid) for oid in ids]
    zones = _zones(data, network, ids, codes)
    categories, online_codes, urls = _service_info(data, network)
    t = _tickets(data, zones, online_codes)
    in_period = _in_period(t, period)
    limit = network.targets.limit_min if network is not None else 20.0
    grace = network.policy.booking_grace_min if network is not None else 15.0
    ctx = _Context(data, network, period, t, categories, urls, limit, grace)

    office_reports = []
    cohort_all = np.zeros(data.issued.n, dtype=bool)
    for oid, code in zip(ids, codes, strict=True):
        cohort = in_period & (data.issued.office == code)
        cohort_all |= cohort
        office = network.offices.get(oid) if network is not None else None
        head: dict[str, Any] = {
            "id": oid,
            "name_uk": office.name_uk if office is not None else oid,
            "name_en": office.name_en if office is not None else oid,
            "timezone": zones[code],
        }
        body = ctx.figures(cohort, [code], scale_of(network, [oid]))
        body["desks"] = ctx.desks(code, oid, cohort)
        body["administrators"] = ctx.administrators(code, oid, cohort)
        office_reports.append({**head, **body})
    net_head: dict[str, Any] = {
        "id": "network",
        "name_uk": network.name_uk if network is not None and network.name_uk else "Мережа",
        "name_en": network.name_en if network is not None and network.name_en else "Network",
        "offices": ids,
    }
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "data_until": _iso(data.now, DEFAULT_TIMEZONE),
        "targets": {"target_min": network.targets.target_min if network is not None else 15.0, "limit_min": limit},
        "network": {**net_head, **ctx.figures(cohort_all, codes, scale_of(network, ids))},
        "offices": office_reports,
    }


def _zones(data: Extract, network: Network | None, ids: Sequence[str], codes: Sequence[int]) -> dict[int, str]:
    """Each office's time zone by its code: the reported offices' and every other office in the journal's (their
    tickets still need a local day)."""
    zones: dict[int, str] = {}
    for oid, code in zip(ids, codes, strict=True):
        office = network.offices.get(oid) if network is not None else None
        zones[code] = office.timezone if office is not None else DEFAULT_TIMEZONE
    for oid in data.offices.names:
        office = network.offices.get(oid) if network is not None else None
        zones.setdefault(data.offices.index[oid], office.timezone if office is not None else DEFAULT_TIMEZONE)
    return zones


def _in_period(t: _Tickets, period: Period) -> BoolArray:
    return (t.local_day >= (period.first - _EPOCH).days) & (t.local_day <= (period.last - _EPOCH).days)


def rated_in_cohort(data: Extract, network: Network | None, period: Period,
                    offices: Sequence[str]) -> tuple[BoolArray, dict[int, str]]:
    """Which rows of ``data.rated`` rate a ticket of the report's cohort (issued in the period at one of
    ``offices``: what the report's ``ratings`` count), and each office's time zone by its code."""
    codes = [data.offices.code(oid) for oid in offices]
    zones = _zones(data, network, offices, codes)
    t = _tickets(data, zones, _service_info(data, network)[1])
    cohort = _in_period(t, period) & np.isin(data.issued.office, codes)
    q = data.rated
    qm = _valid(q)
    qm[qm] = cohort[q.ticket[qm]]
    return qm & (q.extra["score"] >= 0), zones


def _iso(ts: float, timezone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(timezone)).isoformat(timespec="seconds")


@dataclass(slots=True)
class _Context:
    data: Extract
    network: Network | None
    period: Period
    t: _Tickets
    categories: list[str]
    urls: list[str | None]
    limit: float
    grace: float
    bookings: tuple[dict[tuple[int, str], bool], set[tuple[int, str]]] | None = None

    # -------------------------------------------------------------------------------------------- per cohort

    def figures(self, cohort: BoolArray, office_codes: list[int], scale: str) -> dict[str, Any]:
        data, t = self.data, self.t
        iss = data.issued
        status = t.status[cohort]
        counts = np.bincount(status, minlength=len(STATUSES))
        f = data.finished
        fm = _valid(f)
        fm[fm] = cohort[f.ticket[fm]]
        served_f = fm & f.extra["served"]
        refused_f = fm & f.extra["refused"]
        not_possible_f = fm & f.extra["not_possible"]
        consult = np.array([c == Category.CONSULTATION.value for c in self.categories], dtype=bool)
        q = data.rated
        qm = _valid(q)
        qm[qm] = cohort[q.ticket[qm]]

        called = cohort & t.called
        waits = t.wait_min[called]
        net_waits = t.wait_net_min[called]
        cancelled = cohort & (t.status == CANCELLED)
        channel = iss.extra["channel"]

        def channel_count(name: str) -> int:
            code = data.channels.index.get(name)
            return 0 if code is None else int((cohort & (channel == code)).sum())

        left = cohort & ~t.called & np.isfinite(t.left_at)
        left_wait = (t.left_at[left] - iss.at[left]) / 60.0
        over = int((net_waits > self.limit).sum())  # the wait limit leaves out the time under alert

        out: dict[str, Any] = {
            "issued": int(cohort.sum()),
            "served": int(counts[DONE]),
            "refused": int(refused_f.sum()),
            # wartime, apart from refusals: finished as "not possible now"; ended "not served today" (closed early)
            "not_possible": int(not_possible_f.sum()),
            "not_served_today": int(counts[NOT_SERVED]),
            "no_show": int(counts[NO_SHOW]),
            "consultations": int((served_f & _lookup(consult, f.service)).sum()),
            "services_provided": int(served_f.sum()),
            "tickets": {s: int(counts[i]) for i, s in enumerate(STATUSES)},
            "cancelled": {
                "before_call": int((cancelled & ~t.called & ~t.day_closed).sum()),
                "after_call": int((cancelled & t.called & ~t.day_closed).sum()),
                "day_closed": int((cancelled & t.day_closed).sum()),
            },
            "channels": {
                "walk_in": channel_count("walk-in"),
                "appointment": channel_count("appointment"),
                "redirected_in": channel_count("redirect"),
            },
            "by_service": self._by_service(served_f, refused_f, qm, scale),
            "wait": wait_stats(waits),
            "wait_net_of_alerts": wait_stats(net_waits),
            "alerts": self._alerts(office_codes),
            "deadline": {
                "limit_min": self.limit,
                "over_limit": over,
                "share_over_limit": _share(over, waits.size),
                "left_after_limit": int((left_wait > self.limit).sum()),
            },
            "wait_by_category": self._by_category(cohort),
            "wait_by_hour": self._by_hour(cohort),
            "rating_scale": scale,
            "ratings": _scores(q.extra["score"][qm], scale),
            "ratings_monitoring": _scores(q.extra["score"][qm], "four"),
            "online": self._online(cohort),
            "appointments": self._appointments(office_codes),
            "remote": self._remote(cohort, channel_count("remote")),
        }
        return out

    def _remote(self, cohort: BoolArray, issued: int) -> dict[str, Any]:
        """Tickets joined from the phone (#18.3), apart: issued, checked in, ended no-show without checking in, and
        their wait in the hall (check-in to first call; ``wait`` above counts them from issue, as for everyone)."""
        data, t = self.data, self.t
        ci = data.remote_checked_in
        ok = _valid(ci)
        ok[ok] = cohort[ci.ticket[ok]]
        checked_at = np.full(data.issued.n, np.nan)
        checked_at[ci.ticket[ok]] = ci.at[ok]
        ex = data.remote_expired
        xm = _valid(ex)
        xm[xm] = cohort[ex.ticket[xm]]
        hall = cohort & t.called & np.isfinite(checked_at)
        waits = np.round((t.first_call[hall] - checked_at[hall]) / 60.0, 6)
        return {"issued": issued, "checked_in": int(ok.sum()), "no_show_unchecked": int(xm.sum()),
                "wait_from_check_in": wait_stats(np.maximum(waits, 0.0))}

    def _alerts(self, office_codes: list[int]) -> dict[str, Any]:
        """Air-raid alerts at these offices in the period: how many sounded, and the minutes under alert (until
        service resumed), clipped to the period (each office's local days)."""
        count = 0
        seconds = 0.0
        a = self.data.alerts
        spans = alert_spans(self.data)
        for code in office_codes:
            tz = DEFAULT_TIMEZONE
            if self.network is not None:
                oid = self.data.offices.names[code] if 0 <= code < len(self.data.offices.names) else None
                office = self.network.offices.get(oid) if oid is not None else None
                tz = office.timezone if office is not None else tz
            lo, hi = self.period.bounds(tz)
            on = (a.office == code) & a.extra["active"] & (a.at >= lo) & (a.at < hi)
            count += int(on.sum())
            for s, e in spans.get(code, []):
                seconds += max(0.0, min(e, hi) - max(s, lo))
        return {"count": count, "minutes": round(seconds / 60.0, 3)}

    def _by_service(self, served_f: BoolArray, refused_f: BoolArray, qm: BoolArray,
                    scale: str) -> list[dict[str, Any]]:
        data = self.data
        f, q = data.finished, data.rated
        m = len(data.services.names)
        done = served_f | refused_f
        svc = np.maximum(f.service, 0)
        n_served = np.bincount(svc[served_f & (f.service >= 0)], minlength=m)
        n_refused = np.bincount(svc[refused_f & (f.service >= 0)], minlength=m)
        minutes = f.extra["minutes"]
        ok = done & (f.service >= 0) & np.isfinite(minutes)
        n_min = np.bincount(svc[ok], minlength=m)
        sum_min = np.bincount(svc[ok], weights=minutes[ok], minlength=m)
        qok = qm & (q.service >= 0)
        score = q.extra["score"]
        qok &= score >= 0
        rated = np.zeros((m, len(SCORES)), dtype=np.int64)
        np.add.at(rated, (q.service[qok], score[qok]), 1)
        rows: list[dict[str, Any]] = []
        for code in np.flatnonzero((n_served + n_refused) > 0):
            sid = data.services.names[code]
            svc_cfg = self.network.services.get(sid) if self.network is not None else None
            rows.append({
                "service": sid,
                "name_uk": svc_cfg.name_uk if svc_cfg is not None else sid,
                "name_en": svc_cfg.name_en if svc_cfg is not None else sid,
                "category": self.categories[code],
                "served": int(n_served[code]),
                "refused": int(n_refused[code]),
                "mean_service_min": _min(sum_min[code] / n_min[code]) if n_min[code] else None,
                "ratings": on_levels(rated[code], scale),
            })
        rows.sort(key=lambda r: (-r["served"], -r["refused"], r["service"]))
        return rows

    def _by_category(self, cohort: BoolArray) -> list[dict[str, Any]]:
        data, t = self.data, self.t
        cat = data.issued.extra["category"]
        names = data.categories.names
        order = [c for c in CATEGORY_ORDER if c in data.categories.index] + sorted(
            c for c in names if c not in CATEGORY_ORDER
        )
        rows = []
        for name in order:
            sel = cohort & (cat == data.categories.index[name])
            if not sel.any():
                continue
            waits = t.wait_min[sel & t.called]
            stats = wait_stats(waits)
            rows.append({"category": name, "issued": int(sel.sum()), **stats,
                         "over_limit": int((waits > self.limit).sum())})
        return rows

    def _by_hour(self, cohort: BoolArray) -> list[dict[str, Any]]:
        t = self.t
        rows = []
        hours = t.local_hour[cohort]
        issued = np.bincount(hours, minlength=24)
        for h in np.flatnonzero(issued):
            sel = cohort & (t.local_hour == h)
            waits = t.wait_min[sel & t.called]
            rows.append({"hour": int(h), "issued": int(issued[h]), **wait_stats(waits),
                         "over_limit": int((waits > self.limit).sum())})
        return rows

    def _online(self, cohort: BoolArray) -> dict[str, Any]:
        data, t = self.data, self.t
        iss = data.issued
        m = len(data.services.names)
        online_codes = np.array([u is not None for u in self.urls], dtype=bool)
        per = np.bincount(iss.service[cohort & _lookup(online_codes, iss.service)], minlength=m).astype(np.int64)
        index = data.services.index
        for i, more in iss.extra["more"].items():
            if cohort[i]:
                seen = {data.services.names[iss.service[i]]}
                for s in more:
                    more_code = int(index.get(s, -1))
                    if more_code >= 0 and online_codes[more_code] and s not in seen:
                        per[more_code] += 1
                        seen.add(s)
        tickets = int((cohort & t.online).sum())
        rows: list[dict[str, Any]] = []
        for code in np.flatnonzero(per):
            sid = data.services.names[code]
            svc = self.network.services.get(sid) if self.network is not None else None
            rows.append({
                "service": sid,
                "name_uk": svc.name_uk if svc is not None else sid,
                "name_en": svc.name_en if svc is not None else sid,
                "online_url": self.urls[code],
                "tickets": int(per[code]),
            })
        rows.sort(key=lambda r: (-r["tickets"], r["service"]))
        return {"tickets": tickets, "share_of_issued": _share(tickets, int(cohort.sum())), "by_service": rows}

    def _booking_outcomes(self) -> tuple[dict[tuple[int, str], bool], set[tuple[int, str]]]:
        """(office, code) of bookings checked in (-> late or not) and of those cancelled; computed once."""
        if self.bookings is None:
            data = self.data
            checked = {
                (int(o), code): bool(late)
                for o, code, late in zip(data.checked_in.office.tolist(), data.checked_in.extra["code"],
                                         data.checked_in.extra["late"].tolist(), strict=True)
            }
            cancelled = set(zip(data.booking_cancelled.office.tolist(), data.booking_cancelled.extra["code"],
                                strict=True))
            self.bookings = (checked, cancelled)
        return self.bookings

    def _appointments(self, office_codes: list[int]) -> dict[str, Any]:
        data = self.data
        b = data.booked
        out = {"booked": 0, "cancelled": 0, "checked_in": 0, "late": 0, "no_show": 0, "pending": 0}
        if b.n == 0:
            return out
        checked, cancelled = self._booking_outcomes()
        start = b.extra["start"]
        for code in office_codes:
            oid = data.offices.names[code]
            office = self.network.offices.get(oid) if self.network is not None else None
            lo, hi = self.period.bounds(office.timezone if office is not None else DEFAULT_TIMEZONE)
            for i in np.flatnonzero((b.office == code) & (start >= lo) & (start < hi)):
                key = (code, b.extra["code"][i])
                out["booked"] += 1
                if key in checked:
                    out["checked_in"] += 1
                    out["late"] += int(checked[key])
                elif key in cancelled:
                    out["cancelled"] += 1
                elif start[i] + self.grace * 60.0 <= data.now:
                    out["no_show"] += 1
                else:
                    out["pending"] += 1
        return out

    # -------------------------------------------------------------------------------------------- desks

    def desks(self, office_code: int, oid: str, cohort: BoolArray) -> list[dict[str, Any]]:
        data = self.data
        office = self.network.offices.get(oid) if self.network is not None else None
        lo, hi = self.period.bounds(office.timezone if office is not None else DEFAULT_TIMEZONE)
        end = min(hi, max(data.now, lo))
        m = len(data.desks.names)

        # open and paused minutes, from the desks' status changes
        g = data.desk_changes
        sel = np.flatnonzero(g.office == office_code)
        desk, seq, at, st = g.desk[sel], g.seq[sel], g.at[sel], g.extra["status"][sel]
        order = np.lexsort((seq, desk))
        desk, seq, at, st = desk[order], seq[order], at[order], st[order]
        if desk.size:
            first = np.ones(desk.size, dtype=bool)
            first[1:] = desk[1:] != desk[:-1]
            # a desk first seen closing or pausing was open before: it has been open since the rows began
            guess = first & (st != DESK_STATUSES.index("open"))
            desk = np.concatenate([desk[guess], desk])
            seq = np.concatenate([seq[guess] - 1, seq])
            at = np.concatenate([np.full(int(guess.sum()), lo), at])
            st = np.concatenate([np.full(int(guess.sum()), DESK_STATUSES.index("open")), st])
            order = np.lexsort((seq, desk))
            desk, at, st = desk[order], at[order], st[order]
        nxt = np.full(desk.size, end)
        same = np.zeros(desk.size, dtype=bool)
        if desk.size > 1:
            same[:-1] = desk[:-1] == desk[1:]
            nxt[:-1] = np.where(same[:-1], at[1:], end)
        span = np.clip(nxt, lo, end) - np.clip(at, lo, end)
        span = np.maximum(span, 0.0) / 60.0
        is_open, is_paused = st == DESK_STATUSES.index("open"), st == DESK_STATUSES.index("paused")
        open_min = np.bincount(desk[is_open], weights=span[is_open], minlength=m)
        paused_min = np.bincount(desk[is_paused], weights=span[is_paused], minlength=m)

        # busy minutes: from a call (or a restore) to what ends it at the desk
        starts = [data.called, data.restored]
        ends = [data.finished, data.no_show, data.transferred, data.redirected, data.cancelled]
        parts = [(c, True) for c in starts] + [(c, False) for c in ends]
        tk = np.concatenate([c.ticket[(c.office == office_code) & _valid(c)] for c, _ in parts])
        sq = np.concatenate([c.seq[(c.office == office_code) & _valid(c)] for c, _ in parts])
        ta = np.concatenate([c.at[(c.office == office_code) & _valid(c)] for c, _ in parts])
        dk = np.concatenate([c.desk[(c.office == office_code) & _valid(c)] for c, _ in parts])
        is_start = np.concatenate([
            np.full(int(((c.office == office_code) & _valid(c)).sum()), s, dtype=bool) for c, s in parts
        ])
        order = np.lexsort((sq, tk))
        tk, ta, dk, is_start = tk[order], ta[order], dk[order], is_start[order]
        stop = np.full(tk.size, end)
        if tk.size > 1:
            stop[:-1] = np.where(tk[:-1] == tk[1:], ta[1:], end)
        busy_span = np.maximum(np.clip(stop, lo, end) - np.clip(ta, lo, end), 0.0) / 60.0
        ok = is_start & (dk >= 0)
        busy_min = np.bincount(dk[ok], weights=busy_span[ok], minlength=m)

        # what the cohort's tickets got at each desk
        f = data.finished
        fm = _valid(f)
        fm[fm] = cohort[f.ticket[fm]]
        fm &= f.desk >= 0
        served = np.bincount(f.desk[fm & f.extra["served"]], minlength=m)
        refused = np.bincount(f.desk[fm & f.extra["refused"]], minlength=m)
        minutes = f.extra["minutes"]
        mm = fm & np.isfinite(minutes)
        n_min = np.bincount(f.desk[mm], minlength=m)
        sum_min = np.bincount(f.desk[mm], weights=minutes[mm], minlength=m)
        ns = data.no_show
        nm = _valid(ns)
        nm[nm] = cohort[ns.ticket[nm]]
        nm &= ns.desk >= 0
        no_show = np.bincount(ns.desk[nm], minlength=m)
        q = data.rated
        qm = _valid(q)
        qm[qm] = cohort[q.ticket[qm]]
        qm &= (q.desk >= 0) & (q.extra["score"] >= 0)
        rated = np.zeros((m, len(SCORES)), dtype=np.int64)
        np.add.at(rated, (q.desk[qm], q.extra["score"][qm]), 1)
        calls = data.called
        cm = (calls.office == office_code) & (calls.desk >= 0)
        seen_calls = np.bincount(calls.desk[cm], minlength=m)
        seen_changes = np.bincount(desk, minlength=m) if desk.size else np.zeros(m, dtype=np.int64)

        configured = [d.id for d in office.desks] if office is not None else []
        numbers = {d.id: d.number for d in office.desks} if office is not None else {}
        extra_desks = sorted(
            name for code, name in enumerate(data.desks.names)
            if name not in numbers and (seen_calls[code] or seen_changes[code] or served[code] or refused[code])
        )
        rows = []
        for name in configured + extra_desks:
            code = data.desks.index[name]
            idle = max(0.0, float(open_min[code] - busy_min[code]))
            rows.append({
                "desk": name,
                "number": numbers.get(name, name),
                "served": int(served[code]),
                "refused": int(refused[code]),
                "no_show_marked": int(no_show[code]),
                "mean_service_min": _min(sum_min[code] / n_min[code]) if n_min[code] else None,
                "open_min": _min(float(open_min[code])),
                "paused_min": _min(float(paused_min[code])),
                "busy_min": _min(float(busy_min[code])),
                "idle_min": _min(idle),
                "ratings": on_levels(rated[code], scale_of(self.network, [oid])),
            })
        return rows

    # -------------------------------------------------------------------------------------------- administrators

    def administrators(self, office_code: int, oid: str, cohort: BoolArray) -> list[dict[str, Any]]:
        """Per administrator's code seen in the office: services finished for the cohort (by the code the desk had
        at the finish), ratings naming them, and their desks; a last row (``staff`` null) for services finished
        without a code."""
        data = self.data
        office = self.network.offices.get(oid) if self.network is not None else None
        lo, hi = self.period.bounds(office.timezone if office is not None else DEFAULT_TIMEZONE)
        k = len(data.staff.names)
        groups = k + 1  # every code, and one more for "not recorded" (-1)
        m = len(data.desks.names)
        n_scores = len(SCORES)
        scale = scale_of(self.network, [oid])

        def group(codes: IntArray) -> IntArray:
            return np.where(codes >= 0, codes, k)

        f = data.finished
        fm = _valid(f)
        fm[fm] = cohort[f.ticket[fm]]
        fg = group(f.extra["staff"])
        served = np.bincount(fg[fm & f.extra["served"]], minlength=groups)
        refused = np.bincount(fg[fm & f.extra["refused"]], minlength=groups)
        minutes = f.extra["minutes"]
        mm = fm & np.isfinite(minutes)
        mean, p90 = group_stats(fg[mm], minutes[mm], groups)

        q = data.rated
        qm = _valid(q)
        qm[qm] = cohort[q.ticket[qm]]
        score = q.extra["score"]
        qm &= score >= 0
        rated = np.bincount(group(q.extra["staff"])[qm] * n_scores + score[qm],
                            minlength=groups * n_scores).reshape(groups, n_scores)

        # their desks: where they finished a service for the cohort, and where their code opened a desk in the period
        g = data.desk_changes
        staff = g.extra["staff"]
        gm = (g.office == office_code) & (staff >= 0) & (g.desk >= 0) & (g.at >= lo) & (g.at < hi)
        fd = fm & (f.desk >= 0)
        pairs = np.flatnonzero(np.bincount(np.concatenate([fg[fd] * m + f.desk[fd], staff[gm] * m + g.desk[gm]]),
                                           minlength=groups * m))
        configured = [d.id for d in office.desks] if office is not None else []
        numbers = {d.id: d.number for d in office.desks} if office is not None else {}
        rank = {name: i for i, name in enumerate(configured)}
        desks_of: dict[int, list[str]] = {}
        for pair in pairs.tolist():  # one per administrator and desk
            desks_of.setdefault(pair // m, []).append(data.desks.names[pair % m])

        seen = set(desks_of) | set(np.flatnonzero(served + refused + rated.sum(axis=1)).tolist())
        order = sorted((code for code in seen if code < k), key=lambda code: data.staff.names[code])
        if k in seen:
            order.append(k)
        rows = []
        for code in order:
            names = sorted(desks_of.get(code, []), key=lambda name: (rank.get(name, len(rank)), name))
            r = on_levels(rated[code], scale)
            rows.append({
                "staff": data.staff.names[code] if code < k else None,
                "served": int(served[code]),
                "refused": int(refused[code]),
                "mean_service_min": _min(float(mean[code])),
                "p90_service_min": _min(float(p90[code])),
                "ratings": r,
                # добре or better: good and the top level (exemplary, or excellent on four levels)
                "share_good_or_exemplary": _share(r["good"] + r[SCALES[scale][-1]], sum(r.values())),
                "desks": [{"desk": name, "number": numbers.get(name, name)} for name in names],
            })
        return rows
