"""The configuration back as the loader's two files: a :class:`~cherga.engine.model.Network` as ``services.toml``
and ``network.toml``.

:func:`documents` gives the two files' contents as :mod:`tomllib` would read them (plain dicts, lists, strings,
numbers, booleans), :func:`dumps` writes such a document as TOML, and :func:`export` does both. Loading the export
(:func:`cherga.engine.loader.parse_documents`, or :func:`~cherga.engine.loader.load_network` on the files) gives
back an equal network: ``tests/test_config_roundtrip.py`` checks it over generated configurations. Every value is
written, defaults included, so nothing depends on the loader's defaults staying as they are.

The head's live changes (:mod:`cherga.engine.configure`) edit these documents and check them with the loader.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from cherga.engine import loader
from cherga.engine.model import ALWAYS_OPEN, Category, Desk, Hours, Network, Office, PolicyConfig, Service

__all__ = ["documents", "dumps", "export", "hours_text"]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Doc = dict[str, Any]


# ------------------------------------------------------------------------------------------------ documents


def documents(network: Network) -> tuple[Doc, Doc]:
    """``(services.toml, network.toml)`` as :mod:`tomllib` reads them."""
    services = {"service": [service_entry(s) for s in network.services.values()]}
    doc: Doc = {
        "name_uk": network.name_uk,
        "name_en": network.name_en,
        "targets": {
            "target_min": network.targets.target_min,
            "limit_min": network.targets.limit_min,
            "share_within_target": network.targets.share_within_target,
            "share_over_limit": network.targets.share_over_limit,
        },
        "policy": policy_table(network.policy),
        "skills": {name: sorted(ids) for name, ids in network.skills.items()},
        "office": [office_entry(o) for o in network.offices.values()],
    }
    travel = []
    seen: set[frozenset[str]] = set()
    for (a, b), minutes in network.travel_min.items():
        if frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            travel.append({"from": a, "to": b, "minutes": minutes})
    if travel:
        doc["travel"] = travel
    for table, keys in (("roads", ("road_factor", "speed_kmh")), ("alternatives", ("reach_min", "nearest"))):
        if table in getattr(loader, "_NETWORK_OPTIONAL", ()) and all(hasattr(network, k) for k in keys):
            doc[table] = {k: getattr(network, k) for k in keys}
    return services, doc


def service_entry(s: Service) -> Doc:
    entry: Doc = {
        "id": s.id, "name_uk": s.name_uk, "name_en": s.name_en, "category": s.category.value, "letter": s.letter,
        "mean_service_min": s.mean_service_min, "sphere_uk": s.sphere_uk, "sphere_en": s.sphere_en,
        "intent": s.intent.value, "needs_registry": s.needs_registry,
    }
    if s.online_url is not None:
        entry["online_url"] = s.online_url
    if s.retired:
        entry["retired"] = True
    return _rest(s, entry, loader._SERVICE_OPTIONAL)


def policy_table(p: PolicyConfig) -> Doc:
    return {
        "order": [c.value for c in p.order], "rule": p.rule, "margin_min": p.margin_min, "max_calls": p.max_calls,
        "no_show_grace_min": p.no_show_grace_min, "aging_min_per_rank": p.aging_min_per_rank,
        "appointment_share": p.appointment_share, "booked_window_min": p.booked_window_min,
        "booking_grace_min": p.booking_grace_min, "booking_days_ahead": p.booking_days_ahead,
        "max_wait_min": {c.value: p.max_wait_min[c] for c in Category if c in p.max_wait_min},
    }


def hours_text(span: tuple[int, int]) -> str:
    """``(480, 1200)`` -> ``"08:00-20:00"``."""
    (h1, m1), (h2, m2) = divmod(span[0], 60), divmod(span[1], 60)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def hours_table(hours: Hours) -> dict[str, str]:
    return {WEEKDAYS[day]: hours_text(span) for day, span in sorted(hours.by_weekday.items())}


def office_entry(o: Office) -> Doc:
    entry: Doc = {
        "id": o.id, "name_uk": o.name_uk, "name_en": o.name_en, "kind": o.kind.value, "timezone": o.timezone,
        "address_uk": o.address_uk, "shelter_address_uk": o.shelter_address_uk,
        "shelter_address_en": o.shelter_address_en, "alert_resume_min": o.alert_resume_min,
        "alert_resume_at_opening_min": o.alert_resume_at_opening_min, "notify_ahead": o.notify_ahead,
        "slot_hold_min": o.slot_hold_min, "reminder_hour": o.reminder_hour,
    }
    if o.region:
        entry["region"] = o.region
    if o.hours != ALWAYS_OPEN:
        entry["hours"] = hours_table(o.hours)
    if o.holidays:
        entry["holidays"] = list(o.holidays)
    if o.closures:
        entry["closures"] = list(o.closures)
    _rest(o, entry, (*loader._OFFICE_OPTIONAL, *getattr(loader, "_POSITION", ())))
    entry["desk"] = [desk_entry(d) for d in o.desks]
    return entry


def desk_entry(d: Desk) -> Doc:
    entry: Doc = {"id": d.id, "number": d.number, "services": sorted(d.services)}
    if d.backup:
        entry["backup_services"] = sorted(d.backup)
    entry["special"] = d.special
    return _rest(d, entry, loader._DESK_OPTIONAL)


def _rest(obj: Any, entry: Doc, optional: tuple[str, ...]) -> Doc:
    """Any other field the loader reads under the model's own name (a field added since this was written, such as
    an office's position or rating scale), when it holds a plain value other than its default."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name in optional and f.name not in entry and value is not None and value != f.default \
                and isinstance(value, str | int | float | bool | tuple | list):
            entry[f.name] = list(value) if isinstance(value, tuple) else value
    return entry


# ------------------------------------------------------------------------------------------------ TOML


def export(network: Network) -> dict[str, str]:
    """``{"services.toml": text, "network.toml": text}``: files the loader accepts, giving back ``network``."""
    services, doc = documents(network)
    return {"services.toml": dumps(services), "network.toml": dumps(doc)}


def dumps(doc: Mapping[str, Any]) -> str:
    """A document of tables, arrays of tables and plain values as TOML (what these two files hold)."""
    lines: list[str] = []
    _table(lines, (), doc)
    return "\n".join(lines).strip() + "\n"


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    subtables: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, Mapping) or (isinstance(value, list) and value
                                          and all(isinstance(v, Mapping) for v in value)):
            subtables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in subtables:
        sub = (*path, key)
        name = ".".join(_key(k) for k in sub)
        if isinstance(value, Mapping):
            lines.extend(("", f"[{name}]"))
            _table(lines, sub, value)
        else:
            for item in value:
                lines.extend(("", f"[[{name}]]"))
                _table(lines, sub, item)


def _key(key: str) -> str:
    if key and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in key):
        return key
    return _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML here holds finite numbers only, got {value!r}")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, the rest (Cyrillic) as is."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
