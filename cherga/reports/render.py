"""The report's three forms: JSON (the data as computed), CSV (one section per table, for spreadsheets) and HTML (a
printable, self-contained page: Ukrainian first with English labels in smaller type, tables with captions and
header cells, charts as inline SVG with a text alternative).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

__all__ = ["CATEGORY_NAMES", "SCORE_NAMES", "fmt_minutes", "fmt_number", "fmt_share", "render", "tables"]

CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "vulnerable": ("Особи з інвалідністю, з малими дітьми", "People with disabilities, with small children"),
    "special": ("Особливе робоче місце", "Specially equipped workplace"),
    "quick": ("Швидкі послуги", "Quick services"),
    "seasonal": ("Сезонні послуги", "Seasonal services"),
    "acceptance": ("Прийом документів", "Acceptance of documents"),
    "issuance": ("Видача результатів", "Issuance of results"),
    "consultation": ("Консультації", "Consultations"),
}
SCORE_NAMES: dict[str, tuple[str, str]] = {
    "bad": ("погано", "bad"),
    "good": ("добре", "good"),
    "exemplary": ("зразково", "exemplary"),
    "terrible": ("жахливо", "terrible"),
    "acceptable": ("прийнятно", "acceptable"),
    "excellent": ("чудово", "excellent"),
}
NOT_RECORDED = ("не зазначено", "not recorded")  # the administrators' row of services finished without a code
SCORE_COLOURS = {"bad": "#a50021", "good": "#00528a", "exemplary": "#1b5e20", "terrible": "#a50021",
                 "acceptable": "#8a5a00", "excellent": "#1b5e20"}
THREE = ("bad", "good", "exemplary")

# ------------------------------------------------------------------------------------------------ numbers


def fmt_number(x: float | int | None, digits: int = 0) -> str:
    """Ukrainian style: a comma before decimals, a no-break space between thousands; an en dash for no value."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    text = f"{x:,.{digits}f}" if digits else f"{round(x):,d}"
    return text.replace(",", "\u00a0").replace(".", ",")


def fmt_minutes(x: float | None) -> str:
    return fmt_number(x, 1)


def fmt_share(x: float | None) -> str:
    return "–" if x is None else fmt_number(100.0 * x, 1) + "\u00a0%"


# ------------------------------------------------------------------------------------------------ tables


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    uk: str
    en: str
    get: Callable[[dict[str, Any]], Any]
    kind: str = "int"  # int, min, share, text


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    uk: str
    en: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]


def _c(key: str, uk: str, en: str, kind: str = "int", get: Callable[[dict[str, Any]], Any] | None = None) -> Column:
    return Column(key, uk, en, get if get is not None else _path(key), kind)


def _path(*keys: str) -> Callable[[dict[str, Any]], Any]:
    def get(row: dict[str, Any]) -> Any:
        cur: Any = row
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
        return cur

    return get


def _joined(key: str) -> Callable[[dict[str, Any]], str]:
    """An administrator's desks in one cell: their ids or numbers, joined by commas."""
    def get(row: dict[str, Any]) -> str:
        return ", ".join(str(d[key]) for d in row.get("desks", []))

    return get


def _wait_cols() -> tuple[Column, ...]:
    return (
        _c("called", "Викликано", "called"),
        _c("mean_min", "Середнє очікування, хв", "mean wait, min", "min"),
        _c("p90_min", "90-й процентиль, хв", "90th percentile, min", "min"),
        _c("max_min", "Найдовше, хв", "longest, min", "min"),
        _c("share_within_15", "Частка ≤ 15 хв", "share within 15 min", "share"),
        _c("share_within_20", "Частка ≤ 20 хв", "share within 20 min", "share"),
        _c("over_limit", "Понад граничний час", "over the limit"),
    )


def _ratings_cols(levels: Sequence[str] = THREE) -> tuple[Column, ...]:
    """A column per level; with levels of both scales, the rows' ``rating_scale`` says which a row is on (the
    other scale's cells are empty)."""
    cols = tuple(_c(f"ratings_{s}", f"Оцінка «{SCORE_NAMES[s][0]}»", f"rated {SCORE_NAMES[s][1]}",
                    get=_path("ratings", s)) for s in levels)
    if tuple(levels) == THREE:  # the report of offices on three levels only, as before the four-level scale
        return cols
    return (_c("rating_scale", "Шкала оцінок", "rating scale", "text", _scale_of_row), *cols)


def _scale_of_row(row: dict[str, Any]) -> str | None:
    ratings = row.get("ratings")
    if not isinstance(ratings, dict):
        return None
    return "four" if "terrible" in ratings else "three"


def report_levels(report: dict[str, Any]) -> tuple[str, ...]:
    """The rating levels the report's tables show: the three, the four, or (offices on both scales) all six."""
    scales = {u.get("rating_scale", "three") for u in [report["network"], *report["offices"]]}
    levels: list[str] = []
    for scale, names in (("three", THREE), ("four", ("terrible", "acceptable", "good", "excellent"))):
        if scale in scales:
            levels += [x for x in names if x not in levels]
    return tuple(levels) or THREE


def _summary_columns(levels: Sequence[str] = THREE) -> tuple[Column, ...]:
    return tuple(c for col in SUMMARY_COLUMNS for c in (_ratings_cols(levels) if col.key == "ratings_bad"
                                                         else () if col.key.startswith("ratings_") else (col,)))


SUMMARY_COLUMNS: tuple[Column, ...] = (
    _c("office", "Підрозділ", "office", "text", _path("id")),
    _c("name_uk", "Назва", "name", "text"),
    _c("issued", "Видано талонів", "tickets issued"),
    _c("served", "Обслуговано", "served"),
    _c("services_provided", "Надано послуг", "services provided"),
    _c("consultations", "Консультацій", "consultations"),
    _c("refused", "Відмов", "refusals"),
    _c("no_show", "Не з'явилися", "no-shows"),
    _c("not_possible", "Неможливо зараз (реєстри недоступні)", "not possible now (registries down)"),
    _c("not_served_today", "Не обслуговані через тривогу", "not served today (closed under an alert)"),
    _c("cancelled_before_call", "Пішли до виклику", "left before the call", get=_path("cancelled", "before_call")),
    _c("cancelled_after_call", "Пішли після виклику", "left after the call", get=_path("cancelled", "after_call")),
    _c("cancelled_day_closed", "Не прийняті до закриття", "still waiting at closing",
       get=_path("cancelled", "day_closed")),
    _c("redirected", "Направлено до іншого ЦНАП", "sent to another office", get=_path("tickets", "redirected")),
    _c("open", "Не завершено", "not finished", get=_path("tickets", "open")),
    _c("walk_in", "Без талона (з живої черги)", "walk-ins", get=_path("channels", "walk_in")),
    _c("appointment", "За попереднім записом", "by appointment", get=_path("channels", "appointment")),
    _c("redirected_in", "Прийнято з іншого ЦНАП", "received from another office",
       get=_path("channels", "redirected_in")),
    _c("wait_called", "Викликано", "called", get=_path("wait", "called")),
    _c("wait_mean_min", "Середнє очікування, хв", "mean wait, min", "min", _path("wait", "mean_min")),
    _c("wait_p90_min", "90-й процентиль, хв", "90th percentile, min", "min", _path("wait", "p90_min")),
    _c("wait_max_min", "Найдовше очікування, хв", "longest wait, min", "min", _path("wait", "max_min")),
    _c("share_within_15", "Частка ≤ 15 хв", "share within 15 min", "share", _path("wait", "share_within_15")),
    _c("share_within_20", "Частка ≤ 20 хв", "share within 20 min", "share", _path("wait", "share_within_20")),
    _c("alerts_count", "Повітряних тривог", "air-raid alerts", get=_path("alerts", "count")),
    _c("alerts_minutes", "Під тривогою, хв", "under alert, min", "min", _path("alerts", "minutes")),
    _c("net_wait_mean_min", "Середнє очікування без тривог, хв", "mean wait net of alerts, min", "min",
       _path("wait_net_of_alerts", "mean_min")),
    _c("net_wait_max_min", "Найдовше очікування без тривог, хв", "longest wait net of alerts, min", "min",
       _path("wait_net_of_alerts", "max_min")),
    _c("net_share_within_15", "Частка ≤ 15 хв без тривог", "share within 15 min net of alerts", "share",
       _path("wait_net_of_alerts", "share_within_15")),
    _c("net_share_within_20", "Частка ≤ 20 хв без тривог", "share within 20 min net of alerts", "share",
       _path("wait_net_of_alerts", "share_within_20")),
    _c("over_limit", "Порушення граничного часу", "waits over the limit", get=_path("deadline", "over_limit")),
    _c("share_over_limit", "Частка порушень", "share over the limit", "share",
       _path("deadline", "share_over_limit")),
    _c("left_after_limit", "Пішли, чекавши понад граничний час", "left after waiting past the limit",
       get=_path("deadline", "left_after_limit")),
    *_ratings_cols(),
    _c("online_tickets", "Прийшли по послугу, доступну онлайн", "came for a service available online",
       get=_path("online", "tickets")),
    _c("online_share", "Частка таких", "their share", "share", _path("online", "share_of_issued")),
    _c("appointments_booked", "Записано на прийом", "visits booked", get=_path("appointments", "booked")),
    _c("appointments_checked_in", "Прийшли за записом", "booked visitors who came",
       get=_path("appointments", "checked_in")),
    _c("appointments_late", "З них запізнилися", "of them late", get=_path("appointments", "late")),
    _c("appointments_cancelled", "Запис скасовано", "bookings cancelled", get=_path("appointments", "cancelled")),
    _c("appointments_no_show", "Не прийшли за записом", "booked visitors who did not come",
       get=_path("appointments", "no_show")),
    _c("appointments_pending", "Запис ще попереду", "bookings still to come", get=_path("appointments", "pending")),
)


def tables(report: dict[str, Any]) -> list[Table]:
    """Every table of the report, rows of all offices together (the network's summary row first)."""
    units = [report["network"], *report["offices"]]
    levels = report_levels(report)
    out = [Table("summary", "Підсумок за період", "Summary", _summary_columns(levels), units)]

    def rows(key: str, units: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"office": u["id"], **r} for u in units for r in u[key]]

    office = _c("office", "Підрозділ", "office", "text")
    out.append(Table("by_service", "Надані послуги за видами", "Services provided, by type", (
        office,
        _c("service", "Послуга (код)", "service id", "text"),
        _c("name_uk", "Послуга", "service", "text"),
        _c("category", "Категорія", "category", "text"),
        _c("served", "Надано", "provided"),
        _c("refused", "Відмов", "refused"),
        _c("mean_service_min", "Середній час обслуговування, хв", "mean service time, min", "min"),
        *_ratings_cols(levels),
    ), rows("by_service", units)))
    out.append(Table("wait_by_category", "Очікування за категоріями відвідувачів", "Waits by category", (
        office,
        _c("category", "Категорія", "category", "text"),
        _c("issued", "Видано талонів", "issued"),
        *_wait_cols(),
    ), rows("wait_by_category", units)))
    out.append(Table("wait_by_hour", "Очікування за годиною видачі талона", "Waits by hour of issue", (
        office,
        _c("hour", "Година", "hour"),
        _c("issued", "Видано талонів", "issued"),
        *_wait_cols(),
    ), rows("wait_by_hour", units)))
    out.append(Table("desks", "Робота адміністраторів (робочі місця)", "Administrators' work, by desk", (
        office,
        _c("desk", "Робоче місце (код)", "desk id", "text"),
        _c("number", "Номер", "number", "text"),
        _c("served", "Надано послуг", "services provided"),
        _c("refused", "Відмов", "refusals"),
        _c("no_show_marked", "Позначено «не з'явився»", "marked no-show"),
        _c("mean_service_min", "Середній час обслуговування, хв", "mean service time, min", "min"),
        _c("open_min", "Відкрите, хв", "open, min", "min"),
        _c("paused_min", "Перерва, хв", "paused, min", "min"),
        _c("busy_min", "Зайняте, хв", "busy, min", "min"),
        _c("idle_min", "Простій, хв", "idle, min", "min"),
        *_ratings_cols(levels),
    ), rows("desks", report["offices"])))
    out.append(Table("administrators", "Якість роботи адміністраторів", "Quality of administrators' work", (
        office,
        _c("staff", "Код адміністратора", "administrator's code", "text"),
        _c("served", "Надано послуг", "services provided"),
        _c("refused", "Відмов", "refusals"),
        _c("mean_service_min", "Середній час обслуговування, хв", "mean service time, min", "min"),
        _c("p90_service_min", "90-й процентиль часу обслуговування, хв", "90th percentile of service time, min",
           "min"),
        *_ratings_cols(levels),
        _c("share_good_or_exemplary", "Частка оцінок «добре» і «зразково»", "share rated good or exemplary", "share")
        if levels == THREE else
        _c("share_good_or_exemplary", "Частка оцінок «добре» і вищих", "share rated good or better", "share"),
        _c("desks", "Робочі місця (коди)", "desk ids", "text", _joined("desk")),
        _c("desk_numbers", "Робочі місця (номери)", "desk numbers", "text", _joined("number")),
    ), rows("administrators", report["offices"])))
    out.append(Table("online", "Послуги, доступні онлайн, по які прийшли особисто",
                     "Services available online but asked for in person", (
        office,
        _c("service", "Послуга (код)", "service id", "text"),
        _c("name_uk", "Послуга", "service", "text"),
        _c("online_url", "Де отримати онлайн", "where online", "text"),
        _c("tickets", "Талонів", "tickets"),
    ), [{"office": u["id"], **r} for u in units for r in u["online"]["by_service"]]))
    return out


# ------------------------------------------------------------------------------------------------ JSON, CSV


def render(report: dict[str, Any], fmt: str) -> bytes:
    """The report as ``json``, ``csv`` (UTF-8 with a byte-order mark) or ``html`` (UTF-8), as bytes to write."""
    if fmt == "json":
        return (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "csv":
        return to_csv(report).encode("utf-8-sig")
    if fmt == "html":
        return to_html(report).encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}; expected json, csv or html")


def _csv_value(value: Any) -> Any:
    return "" if value is None else value


def to_csv(report: dict[str, Any]) -> str:
    """One section per table: a title line ``# Українська / English``, the header, the rows, a blank line.

    A header cell is ``Українська / key``: the part after the last `` / `` is the JSON key. Numbers are plain
    (a dot before decimals), an empty cell is no value.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([f"# Звіт ЦНАП / Report: {report['from']} — {report['to']}"])
    w.writerow([])
    for table in tables(report):
        w.writerow([f"# {table.uk} / {table.key}"])
        w.writerow([f"{c.uk} / {c.key}" for c in table.columns])
        for row in table.rows:
            w.writerow([_csv_value(c.get(row)) for c in table.columns])
        w.writerow([])
    return buf.getvalue()


def parse_csv(text: str) -> dict[str, list[dict[str, str]]]:
    """Read back what :func:`to_csv` wrote: ``{table key: [{column key: cell}]}`` (for tests and scripts)."""
    out: dict[str, list[dict[str, str]]] = {}
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line) == 1 and line[0].startswith("# ") and " / " in line[0] and i + 1 < len(lines) and lines[i + 1]:
            key = line[0].rsplit(" / ", 1)[1]
            header = [cell.rsplit(" / ", 1)[-1] for cell in lines[i + 1]]
            rows = []
            i += 2
            while i < len(lines) and lines[i]:
                rows.append(dict(zip(header, lines[i], strict=True)))
                i += 1
            out[key] = rows
        i += 1
    return out


# ------------------------------------------------------------------------------------------------ HTML

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif; color: #000; background: #fff;
       margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem 3rem; line-height: 1.4; font-size: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.35rem; margin: 2rem 0 .5rem; border-bottom: 3px solid #000; padding-bottom: .2rem; }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .4rem; }
.en { font-size: .78em; color: #333; font-weight: normal; }
.en::before { content: " / "; }
h1 .en, h2 .en, h3 .en, caption .en, th .en { display: block; }
h1 .en::before, h2 .en::before, h3 .en::before, caption .en::before, th .en::before { content: none; }
table { border-collapse: collapse; margin: .4rem 0 1.2rem; font-size: .9rem; }
caption { text-align: left; font-weight: bold; padding: .3rem 0; font-size: 1rem; }
th, td { border: 1px solid #000; padding: .25rem .45rem; vertical-align: top; }
thead th { background: #e8e8e8; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody th { text-align: left; font-weight: normal; background: #f4f4f4; }
.wide { overflow-x: auto; }
.figures td.num { font-weight: bold; font-size: 1.05rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: .5rem 0; }
figcaption { font-weight: bold; margin-bottom: .3rem; }
svg { max-width: 100%; height: auto; }
svg text { font-family: inherit; fill: #000; }
.note { font-size: .85rem; }
a { color: #00387a; }
a:focus { outline: 3px solid #000; outline-offset: 2px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  table { font-size: 8pt; }
  th, td { padding: .15rem .25rem; }
  section.office { break-before: page; }
  table, figure { break-inside: avoid; }
  thead { display: table-header-group; }
  .wide { overflow: visible; }
  a { color: #000; text-decoration: none; }
}
"""


def _bi(uk: str, en: str) -> str:
    return f'{escape(uk)} <span class="en" lang="en">{escape(en)}</span>'


def _cell(col: Column, row: dict[str, Any]) -> str:
    value = col.get(row)
    if col.key == "category" and isinstance(value, str) and value in CATEGORY_NAMES:
        uk, en = CATEGORY_NAMES[value]
        return f"<td>{_bi(uk, en)}</td>"
    if col.key == "staff" and value is None:  # services finished at a desk opened without a code
        return f"<td>{_bi(*NOT_RECORDED)}</td>"
    if col.kind == "text":
        text = "–" if value is None else str(value)
        if col.key == "online_url" and value:
            return f'<td><a href="{escape(text)}">{escape(text)}</a></td>'
        return f"<td>{escape(text)}</td>"
    if col.kind == "min":
        shown = fmt_minutes(value)
    elif col.kind == "share":
        shown = fmt_share(value)
    else:
        shown = fmt_number(value)
    return f'<td class="num" data-key="{escape(col.key)}">{shown}</td>'


def _table(table: Table, columns: Sequence[Column], rows: Sequence[dict[str, Any]], ident: str) -> str:
    head = "".join(f'<th scope="col">{_bi(c.uk, c.en)}</th>' for c in columns)
    body = []
    for row in rows:
        cells = [_cell(c, row) for c in columns]
        cells[0] = cells[0].replace("<td", '<th scope="row"', 1).removesuffix("</td>") + "</th>"
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(columns)}">немає даних <span class="en" lang="en">no data</span></td></tr>')
    return (
        # a table wider than the screen scrolls: focusable and named, so a keyboard can scroll it too
        f'<div class="wide" tabindex="0" aria-labelledby="{escape(ident)}-caption">'
        f'<table id="{escape(ident)}"><caption id="{escape(ident)}-caption">{_bi(table.uk, table.en)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _figures(unit: dict[str, Any]) -> str:
    """The unit's summary as a two-column table (label, value)."""
    rows = []
    levels = tuple(unit["ratings"]) if isinstance(unit.get("ratings"), dict) and unit["ratings"] else THREE
    for col in _summary_columns(levels)[2:]:
        rows.append(f'<tr><th scope="row">{_bi(col.uk, col.en)}</th>{_cell(col, unit)}</tr>')
    return (
        '<table class="figures"><caption>Основні показники <span class="en" lang="en">Key figures</span></caption>'
        '<thead><tr><th scope="col">Показник <span class="en" lang="en">figure</span></th>'
        '<th scope="col">Значення <span class="en" lang="en">value</span></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


# ---------------------------------------------------------------------------- charts (inline SVG)


def _svg_text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{weight}>'
            f"{escape(text)}</text>")


def _chart_services(unit: dict[str, Any], ident: str) -> str:
    items = [(r["name_uk"], int(r["served"])) for r in unit["by_service"] if r["served"]]
    top = 15
    if len(items) > top:
        rest = sum(n for _, n in items[top:])
        items = [*items[:top], ("Інші послуги", rest)]
    if not items:
        return ""
    label_w, bar_w, row_h = 330, 300, 22
    height = row_h * len(items) + 10
    biggest = max(n for _, n in items) or 1
    parts = []
    for i, (name, n) in enumerate(items):
        y = 5 + i * row_h
        short = name if len(name) <= 52 else name[:50] + "…"
        w = bar_w * n / biggest
        parts.append(_svg_text(label_w - 6, y + 15, short, anchor="end"))
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="#00387a"/>')
        parts.append(_svg_text(label_w + w + 5, y + 15, fmt_number(n), bold=True))
    total = label_w + bar_w + 70
    desc = "; ".join(f"{name}: {n}" for name, n in items)
    return (
        f'<figure><figcaption id="{ident}-c">Надані послуги за видами '
        '<span class="en" lang="en">Services provided, by type</span></figcaption>'
        f'<svg role="img" aria-labelledby="{ident}-t {ident}-d" width="{total}" height="{height}" '
        f'viewBox="0 0 {total} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">Надані послуги за видами</title><desc id="{ident}-d">{escape(desc)}</desc>'
        f"{''.join(parts)}</svg></figure>"
    )


def _chart_hours(unit: dict[str, Any], ident: str, limit: float, target: float) -> str:
    rows = [r for r in unit["wait_by_hour"] if r["mean_min"] is not None]
    if not rows:
        return ""
    hours = list(range(min(r["hour"] for r in rows), max(r["hour"] for r in rows) + 1))
    by_hour = {r["hour"]: r for r in rows}
    left, top, plot_h, col_w = 40, 10, 160, 26
    width = left + col_w * len(hours) + 20
    height = top + plot_h + 40
    scale_max = max(limit * 1.2, max(r["mean_min"] for r in rows) * 1.1)
    parts = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#000"/>']
    for level, dash, name in ((target, "6 4", f"{target:g}"), (limit, "", f"{limit:g}")):
        y = top + plot_h - plot_h * level / scale_max
        stroke = ' stroke-dasharray="' + dash + '"' if dash else ""
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#a50021" '
                     f'stroke-width="2"{stroke}/>')
        parts.append(_svg_text(left - 4, y + 4, name, anchor="end", size=11))
    for i, h in enumerate(hours):
        x = left + i * col_w
        r = by_hour.get(h)
        if r is not None:
            bh = plot_h * r["mean_min"] / scale_max
            parts.append(f'<rect x="{x + 4}" y="{top + plot_h - bh:.1f}" width="{col_w - 8}" height="{bh:.1f}" '
                         'fill="#00387a"/>')
        parts.append(_svg_text(x + col_w / 2, top + plot_h + 15, f"{h:02d}", anchor="middle", size=11))
    parts.append(_svg_text(left, height - 5, "година видачі талона / hour of issue; лінії: 15 і 20 хв", size=11))
    desc = "; ".join(f"{r['hour']:02d}: {fmt_minutes(r['mean_min'])} хв" for r in rows)
    return (
        f'<figure><figcaption>Середнє очікування за годиною, хв '
        '<span class="en" lang="en">Mean wait by hour of issue, min</span></figcaption>'
        f'<svg role="img" aria-labelledby="{ident}-t {ident}-d" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">Середнє очікування за годиною видачі талона</title>'
        f'<desc id="{ident}-d">{escape(desc)}</desc>{"".join(parts)}</svg></figure>'
    )


def _chart_ratings(unit: dict[str, Any], ident: str) -> str:
    ratings = unit["ratings"]
    total = sum(ratings.values())
    if not total:
        return ""
    width, bar_h = 420, 30
    parts = []
    x = 0.0
    for s in ratings:
        w = width * ratings[s] / total
        if w > 0:
            parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{bar_h}" fill="{SCORE_COLOURS[s]}"/>')
        x += w
    legend = []
    for i, s in enumerate(ratings):
        uk, en = SCORE_NAMES[s]
        y = bar_h + 22 + i * 20
        legend.append(f'<rect x="0" y="{y - 11}" width="14" height="14" fill="{SCORE_COLOURS[s]}"/>')
        legend.append(_svg_text(20, y, f"{uk} / {en}: {fmt_number(ratings[s])} "
                                       f"({fmt_share(ratings[s] / total)})"))
    height = bar_h + 22 + len(ratings) * 20
    desc = "; ".join(f"{SCORE_NAMES[s][0]}: {ratings[s]}" for s in ratings)
    return (
        f'<figure><figcaption>Оцінки відвідувачів '
        '<span class="en" lang="en">Visitors\' ratings</span></figcaption>'
        f'<svg role="img" aria-labelledby="{ident}-t {ident}-d" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">Оцінки відвідувачів, частки</title><desc id="{ident}-d">{escape(desc)}</desc>'
        f'{"".join(parts)}{"".join(legend)}</svg></figure>'
    )


def _section(unit: dict[str, Any], report: dict[str, Any], all_tables: list[Table], office: bool) -> str:
    ident = f"u-{unit['id']}"
    limit = float(report["targets"]["limit_min"])
    target = float(report["targets"]["target_min"])
    out = [
        f'<section class="{"office" if office else "network"}" id="{escape(ident)}" '
        f'aria-labelledby="{escape(ident)}-h">',
        f'<h2 id="{escape(ident)}-h">{_bi(unit["name_uk"], unit["name_en"])}</h2>',
        _figures(unit),
        '<div class="charts">',
        _chart_services(unit, f"{ident}-svc"),
        _chart_hours(unit, f"{ident}-hrs", limit, target),
        _chart_ratings(unit, f"{ident}-rat"),
        "</div>",
    ]
    for table in all_tables[1:]:
        if table.key in ("desks", "administrators") and not office:
            continue
        rows = [r for r in table.rows if r["office"] == unit["id"]]
        out.append(_table(table, table.columns[1:], rows, f"{ident}-{table.key}"))
    out.append("</section>")
    return "\n".join(out)


DEFINITIONS_UK = (
    "Звіт охоплює талони, видані за період (за місцевою датою видачі), і все, що з ними сталося потім. "
    "Очікування — від видачі талона до першого виклику, для кожного викликаного талона. "
    "Обслуговано — талони, остання послуга яких завершилася наданням; надано послуг — кожна надана послуга "
    "(талон може мати кілька); відмови — кожна послуга, завершена відмовою. Не з'явилися — талони, "
    "позначені «не з'явився» й не повернені. Граничний час очікування — {limit:g} хв (цілі мережі). "
    "Простій робочого місця — відкритий час мінус зайнятий (від виклику до завершення). "
    "Адміністратор — код, вказаний під час відкриття робочого місця: йому зараховано послуги, завершені, поки "
    "робоче місце було відкрите під його кодом, і оцінки цих талонів; «не зазначено» — послуги, завершені на "
    "робочому місці, відкритому без коду."
)
DEFINITIONS_EN = (
    "The report covers the tickets issued in the period (by the office's local date of issue) and everything that "
    "happened to them later. Waits run from issue to the first call, for every ticket called. Served: tickets "
    "whose last service ended as provided; services provided: every service provided (a ticket may have several); "
    "refusals: every service that ended in a refusal. No-shows: tickets marked so and not brought back. The wait "
    "limit is {limit:g} min (the network's targets). A desk's idle time is its open time less its busy time (call "
    "to finish). An administrator is the code given when the desk was opened: they are credited with the services "
    "finished while the desk was open under their code, and with those tickets' ratings; \"not recorded\" are the "
    "services finished at a desk opened without a code."
)


def to_html(report: dict[str, Any]) -> str:
    all_tables = tables(report)
    limit = float(report["targets"]["limit_min"])
    title_uk = f"Звіт про роботу ЦНАП за {report['from']} — {report['to']}"
    title_en = f"Report of the administrative service centres, {report['from']} to {report['to']}"
    sections = [_section(report["network"], report, all_tables, office=False)]
    sections += [_section(u, report, all_tables, office=True) for u in report["offices"]]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="uk">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title_uk)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_bi(title_uk, title_en)}</h1>",
        f'<p>Період <span class="en" lang="en">period</span>: <time datetime="{report["from"]}">{report["from"]}'
        f'</time> — <time datetime="{report["to"]}">{report["to"]}</time>. '
        f'Дані до <span class="en" lang="en">data until</span>: {escape(report["data_until"])}.</p>',
        '<nav aria-label="Зміст"><ul>'
        + "".join(f'<li><a href="#u-{escape(u["id"])}">{escape(u["name_uk"])}</a></li>'
                  for u in [report["network"], *report["offices"]])
        + "</ul></nav>",
        "</header>",
        "<main>",
        *sections,
        "</main>",
        '<footer class="note">',
        f"<p>{escape(DEFINITIONS_UK.format(limit=limit))}</p>",
        f'<p lang="en">{escape(DEFINITIONS_EN.format(limit=limit))}</p>',
        "</footer>",
        "</body>",
        "</html>",
        "",
    ])
