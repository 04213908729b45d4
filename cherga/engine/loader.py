"""Load and validate a network's configuration: ``services.toml`` and ``network.toml`` in one directory.

:func:`load_network` reads the two files with :mod:`tomllib`, checks every field and returns the frozen
:class:`~cherga.engine.model.Network`. Anything wrong raises :class:`~cherga.errors.ConfigError` whose message
names the file, the field path (counted from 0, as ``network.toml: office[1].desk[3].skills[0]``) and what is
wrong, so the person editing the files can fix it without reading this code. The first mistake found is
reported.

Without a path the bundled demo (``cherga/config/demo/``) is loaded.
"""

from __future__ import annotations

import datetime
import math
import re
import tomllib
import zoneinfo
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from cherga.engine.commands import DEFAULT_SCALE, SCALES
from cherga.engine.model import (
    ALWAYS_OPEN,
    SERVICE_CATEGORIES,
    Category,
    Desk,
    Hours,
    Intent,
    Network,
    Office,
    OfficeKind,
    PolicyConfig,
    Service,
    Targets,
)
from cherga.engine.policy import RULES
from cherga.errors import ConfigError

__all__ = ["DEMO_DIR", "NETWORK_FILE", "SERVICES_FILE", "load_network", "parse_documents"]

SERVICES_FILE = "services.toml"
NETWORK_FILE = "network.toml"
DEMO_DIR = Path(__file__).resolve().parent.parent / "config" / "demo"

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Europe/Kyiv"

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LETTER = re.compile(r"[A-Z]")
_HOURS = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_TIMEZONE = re.compile(r"[A-Za-z_+\-]+(?:/[A-Za-z0-9_+\-]+)*")

# sanity bounds: past these a value is a typo (seconds for minutes, an extra zero), not a plan
MAX_SERVICE_MIN = 480.0
MAX_TRAVEL_MIN = 24 * 60.0
MAX_DESK_NUMBER_LEN = 10

_Table = dict[str, object]


# ------------------------------------------------------------------------------------------------ public


def load_network(path: str | Path | None = None) -> Network:
    """Load the network configured in directory ``path`` (``None``: the bundled demo).

    The directory holds ``services.toml`` (the service catalogue) and ``network.toml`` (targets, policy, skill
    groups, offices with their desks, travel minutes). A path to either file stands for its directory.
    """
    directory = DEMO_DIR if path is None else Path(path)
    if directory.is_file():
        directory = directory.parent
    if not directory.is_dir():
        raise ConfigError(
            f"{directory}: no such directory; expected a directory holding {SERVICES_FILE} and {NETWORK_FILE}"
        )
    return parse_documents(_read_toml(directory, SERVICES_FILE), _read_toml(directory, NETWORK_FILE))


def parse_documents(services_doc: Mapping[str, object], network_doc: Mapping[str, object]) -> Network:
    """The network of the two files' contents as :mod:`tomllib` reads them, checked by every rule above: the same
    as :func:`load_network` gives for files holding them (the head's live changes are checked here too)."""
    services, service_paths = _parse_services(dict(services_doc))
    return _parse_network(dict(network_doc), services, service_paths)


# ------------------------------------------------------------------------------------------------ reading


def _read_toml(directory: Path, name: str) -> _Table:
    file = directory / name
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{name}: file not found in {directory}") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{name}: line {line}: not UTF-8 text; save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: TOML syntax error: {exc}") from None


# ------------------------------------------------------------------------------------------------ helpers


def _fail(file: str, path: str, what: str) -> NoReturn:
    raise ConfigError(f"{file}: {path}: {what}" if path else f"{file}: {what}", file=file, path=path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    """A short rendering of a bad value for a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list):
        text = "an array" if value else "an empty array"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _one_of(names: Iterable[str]) -> str:
    return ", ".join(names)


def _table(file: str, path: str, value: object, what: str = "a table") -> _Table:
    if not isinstance(value, dict):
        _fail(file, path, f"expected {what}, got {_kind_of(value)} {_show(value)}")
    return value


def _fields(file: str, path: str, table: _Table, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """Refuse unknown keys (typos) and missing required ones."""
    allowed = required + optional
    for key in table:
        if key not in allowed:
            _fail(file, _join(path, key), f"unknown field {key!r}; expected one of {_one_of(allowed)}")
    for key in required:
        if key not in table:
            _fail(file, _join(path, key), "missing; this field is required")


def _array_of_tables(file: str, path: str, value: object, *, allow_empty: bool = False) -> list[_Table]:
    if not isinstance(value, list):
        name = path.rsplit(".", 1)[-1]
        _fail(file, path, f"expected an array of tables ([[{name}]]), got {_kind_of(value)} {_show(value)}")
    if not value and not allow_empty:
        _fail(file, path, "is empty; at least one entry is needed")
    return [_table(file, f"{path}[{i}]", item) for i, item in enumerate(value)]


def _str(file: str, path: str, value: object, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        _fail(file, path, f"expected a string, got {_kind_of(value)} {_show(value)}")
    if not empty_ok and not value.strip():
        _fail(file, path, "must not be empty")
    return value


def _ident(file: str, path: str, value: object) -> str:
    text = _str(file, path, value)
    if not _ID.fullmatch(text):
        _fail(
            file,
            path,
            f"{text!r} is not a valid id; use lower-case ASCII letters, digits and single hyphens (e.g. 'main-05')",
        )
    return text


def _number(
    file: str, path: str, value: object, *, low: float, high: float, low_open: bool = False, unit: str = ""
) -> float:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(file, path, f"expected a number, got {_kind_of(value)} {_show(value)}")
    try:
        number = float(value)
    except OverflowError:
        _fail(file, path, f"{_show(value)} is far too large")
    if not math.isfinite(number):
        _fail(file, path, f"must be a finite number, got {_show(value)}")
    suffix = f" {unit}" if unit else ""
    if low_open and number <= low:
        _fail(file, path, f"must be > {low:g}{suffix}, got {number:g}")
    if not low_open and number < low:
        _fail(file, path, f"must be at least {low:g}{suffix}, got {number:g}")
    if number > high:
        _fail(file, path, f"must be at most {high:g}{suffix}, got {number:g}")
    return number


def _str_list(file: str, path: str, value: object, *, allow_empty: bool = True) -> list[str]:
    if not isinstance(value, list):
        _fail(file, path, f"expected an array of strings, got {_kind_of(value)} {_show(value)}")
    if not value and not allow_empty:
        _fail(file, path, "is empty; list at least one entry")
    out: list[str] = []
    for i, item in enumerate(value):
        text = _str(file, f"{path}[{i}]", item)
        if text in out:
            _fail(file, f"{path}[{i}]", f"{text!r} is listed twice")
        out.append(text)
    return out


# ------------------------------------------------------------------------------------------------ services


_SERVICE_REQUIRED = ("id", "name_uk", "name_en", "category", "letter", "mean_service_min")
_SERVICE_OPTIONAL = ("sphere_uk", "sphere_en", "intent", "online_url", "needs_registry", "retired")
_DEFAULT_INTENT = {Category.ISSUANCE: Intent.COLLECT, Category.CONSULTATION: Intent.CONSULT}


def _parse_services(doc: _Table) -> tuple[dict[str, Service], dict[str, str]]:
    """The catalogue, and each service's field path (for messages that point back at it)."""
    f = SERVICES_FILE
    _fields(f, "", doc, ("service",))
    services: dict[str, Service] = {}
    paths: dict[str, str] = {}
    for i, entry in enumerate(_array_of_tables(f, "service", doc["service"])):
        p = f"service[{i}]"
        _fields(f, p, entry, _SERVICE_REQUIRED, _SERVICE_OPTIONAL)
        sid = _ident(f, f"{p}.id", entry["id"])
        if sid in services:
            _fail(f, f"{p}.id", f"duplicate service id {sid!r} (already {paths[sid]})")
        category_name = _str(f, f"{p}.category", entry["category"])
        names = tuple(c.value for c in SERVICE_CATEGORIES)
        if category_name not in names:
            hint = ""
            if category_name == Category.VULNERABLE:
                hint = " ('vulnerable' is a flag on a ticket, not a kind of service)"
            _fail(
                f,
                f"{p}.category",
                f"unknown category {category_name!r}{hint}; expected one of {_one_of(names)}",
            )
        category = Category(category_name)
        letter = _str(f, f"{p}.letter", entry["letter"])
        if not _LETTER.fullmatch(letter):
            _fail(f, f"{p}.letter", f"letter must be one Latin capital letter (A-Z), got {letter!r}")
        mean = _number(
            f,
            f"{p}.mean_service_min",
            entry["mean_service_min"],
            low=0.0,
            high=MAX_SERVICE_MIN,
            low_open=True,
            unit="minutes",
        )
        intent = _DEFAULT_INTENT.get(category, Intent.SUBMIT)
        if "intent" in entry:
            intent_name = _str(f, f"{p}.intent", entry["intent"])
            if intent_name not in {i.value for i in Intent}:
                _fail(f, f"{p}.intent", f"unknown intent {intent_name!r}; expected one of {_one_of(Intent)}")
            intent = Intent(intent_name)
        online_url: str | None = None
        if "online_url" in entry:
            online_url = _str(f, f"{p}.online_url", entry["online_url"])
            parts = urlsplit(online_url)
            if parts.scheme != "https" or not parts.netloc or any(ch.isspace() for ch in online_url):
                _fail(f, f"{p}.online_url", f"expected an https:// address, got {online_url!r}")
        services[sid] = Service(
            id=sid,
            name_uk=_str(f, f"{p}.name_uk", entry["name_uk"]),
            name_en=_str(f, f"{p}.name_en", entry["name_en"]),
            category=category,
            letter=letter,
            mean_service_min=mean,
            sphere_uk=_str(f, f"{p}.sphere_uk", entry.get("sphere_uk", ""), empty_ok=True),
            sphere_en=_str(f, f"{p}.sphere_en", entry.get("sphere_en", ""), empty_ok=True),
            intent=intent,
            online_url=online_url,
            needs_registry=_bool(f, f"{p}.needs_registry", entry.get("needs_registry", False)),
            retired=_bool(f, f"{p}.retired", entry.get("retired", False)),
        )
        paths[sid] = p
    return services, paths


# ------------------------------------------------------------------------------------------------ network


_NETWORK_REQUIRED = ("name_uk", "name_en", "skills", "office")
_NETWORK_OPTIONAL = ("targets", "policy", "travel", "roads", "alternatives")


def _parse_network(doc: _Table, services: Mapping[str, Service], service_paths: Mapping[str, str]) -> Network:
    f = NETWORK_FILE
    _fields(f, "", doc, _NETWORK_REQUIRED, _NETWORK_OPTIONAL)
    name_uk = _str(f, "name_uk", doc["name_uk"])
    name_en = _str(f, "name_en", doc["name_en"])
    targets = _parse_targets(doc.get("targets", {}))
    policy = _parse_policy(doc.get("policy", {}), targets)
    skills = _parse_skills(doc["skills"], services)
    offices = _parse_offices(doc["office"], services, skills)

    served: set[str] = set()
    for office in offices.values():
        for desk in office.desks:
            served |= desk.services
    for sid, svc in services.items():
        if sid not in served and not svc.retired:  # a retired service is no longer issued
            _fail(
                f,
                "office",
                f"no desk serves service {sid!r} ({SERVICES_FILE}: {service_paths[sid]}); "
                "add it to a skill group a desk has, or to a desk's services",
            )

    travel = _parse_travel(doc.get("travel", []), offices)
    roads = _parse_roads(doc.get("roads", {}), doc.get("alternatives", {}))
    return Network(
        offices=offices,
        services=dict(services),
        travel_min=travel,
        targets=targets,
        policy=policy,
        name_uk=name_uk,
        name_en=name_en,
        skills=skills,
        **roads,
    )


def _parse_targets(value: object) -> Targets:
    f, p = NETWORK_FILE, "targets"
    table = _table(f, p, value)
    _fields(f, p, table, (), ("target_min", "limit_min", "share_within_target", "share_over_limit"))
    default = Targets()
    target = _number(
        f,
        f"{p}.target_min",
        table.get("target_min", default.target_min),
        low=0.0,
        high=MAX_SERVICE_MIN,
        low_open=True,
        unit="minutes",
    )
    limit = _number(
        f,
        f"{p}.limit_min",
        table.get("limit_min", default.limit_min),
        low=0.0,
        high=MAX_SERVICE_MIN,
        low_open=True,
        unit="minutes",
    )
    if limit < target:
        _fail(f, f"{p}.limit_min", f"limit_min ({limit:g}) must not be below target_min ({target:g})")
    within = _number(
        f,
        f"{p}.share_within_target",
        table.get("share_within_target", default.share_within_target),
        low=0.0,
        high=1.0,
        low_open=True,
    )
    over = _number(
        f, f"{p}.share_over_limit", table.get("share_over_limit", default.share_over_limit), low=0.0, high=1.0
    )
    if over >= 1.0:
        _fail(f, f"{p}.share_over_limit", f"must be below 1 (a share of visitors), got {over:g}")
    return Targets(target_min=target, limit_min=limit, share_within_target=within, share_over_limit=over)


_POLICY_FIELDS = (
    "order",
    "rule",
    "margin_min",
    "max_calls",
    "no_show_grace_min",
    "aging_min_per_rank",
    "max_wait_min",
    "appointment_share",
    "booked_window_min",
    "booking_grace_min",
    "booking_days_ahead",
)


def _parse_policy(value: object, targets: Targets) -> PolicyConfig:
    f, p = NETWORK_FILE, "policy"
    table = _table(f, p, value)
    _fields(f, p, table, (), _POLICY_FIELDS)
    default = PolicyConfig()
    every = tuple(c.value for c in Category)

    order = default.order
    if "order" in table:
        names = _str_list(f, f"{p}.order", table["order"])
        for i, name in enumerate(names):
            if name not in every:
                _fail(f, f"{p}.order[{i}]", f"unknown category {name!r}; expected one of {_one_of(every)}")
        missing = [c for c in every if c not in names]
        if missing:
            _fail(f, f"{p}.order", f"must name each of the 7 categories once; missing: {_one_of(missing)}")
        order = tuple(Category(n) for n in names)

    rule = default.rule
    if "rule" in table:
        rule = _str(f, f"{p}.rule", table["rule"])
        if rule not in RULES:
            _fail(f, f"{p}.rule", f"unknown priority rule {rule!r}; expected one of {_one_of(RULES)}")

    limit = targets.limit_min
    max_wait: dict[Category, float] = {c: min(default.max_wait_min.get(c, 15.0), limit) for c in Category}
    if "max_wait_min" in table:
        mp = f"{p}.max_wait_min"
        waits = _table(f, mp, table["max_wait_min"])
        for key, minutes in waits.items():
            if key not in every:
                _fail(f, _join(mp, key), f"unknown category {key!r}; expected one of {_one_of(every)}")
            number = _number(f, _join(mp, key), minutes, low=0.0, high=MAX_SERVICE_MIN, low_open=True, unit="minutes")
            if number > limit:
                _fail(
                    f,
                    _join(mp, key),
                    f"max_wait_min {number:g} is above limit_min ({limit:g}, targets.limit_min); "
                    "no category may wait past the limit",
                )
            max_wait[Category(key)] = number

    margin = _number(
        f, f"{p}.margin_min", table.get("margin_min", default.margin_min), low=0.0, high=limit, unit="minutes"
    )
    calls_value = table.get("max_calls", default.max_calls)
    if isinstance(calls_value, bool) or not isinstance(calls_value, int):
        got = f"{_kind_of(calls_value)} {_show(calls_value)}"
        _fail(f, f"{p}.max_calls", f"expected a whole number, got {got}")
    if not 1 <= calls_value <= 20:
        _fail(f, f"{p}.max_calls", f"must be between 1 and 20 calls, got {calls_value}")
    grace = _number(
        f,
        f"{p}.no_show_grace_min",
        table.get("no_show_grace_min", default.no_show_grace_min),
        low=0.0,
        high=MAX_SERVICE_MIN,
        unit="minutes",
    )
    aging = _number(
        f,
        f"{p}.aging_min_per_rank",
        table.get("aging_min_per_rank", default.aging_min_per_rank),
        low=0.0,
        high=MAX_SERVICE_MIN,
        low_open=True,
        unit="minutes",
    )
    share = _number(f, f"{p}.appointment_share", table.get("appointment_share", default.appointment_share),
                    low=0.0, high=1.0)
    window = _number(f, f"{p}.booked_window_min", table.get("booked_window_min", default.booked_window_min),
                     low=0.0, high=MAX_SERVICE_MIN, unit="minutes")
    late = _number(f, f"{p}.booking_grace_min", table.get("booking_grace_min", default.booking_grace_min),
                   low=0.0, high=MAX_SERVICE_MIN, unit="minutes")
    days = table.get("booking_days_ahead", default.booking_days_ahead)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        _fail(f, f"{p}.booking_days_ahead", f"must be a whole number of days from 1 to 366, got {_show(days)}")
    return PolicyConfig(
        appointment_share=share,
        booked_window_min=window,
        booking_grace_min=late,
        booking_days_ahead=days,
        aging_min_per_rank=aging,
        order=order,
        max_wait_min=max_wait,
        rule=rule,
        margin_min=margin,
        max_calls=calls_value,
        no_show_grace_min=grace,
    )


def _parse_skills(value: object, services: Mapping[str, Service]) -> dict[str, frozenset[str]]:
    f, p = NETWORK_FILE, "skills"
    table = _table(f, p, value, "a table of skill groups (name = [service ids])")
    if not table:
        _fail(f, p, "is empty; define at least one skill group")
    skills: dict[str, frozenset[str]] = {}
    for name, ids in table.items():
        gp = _join(p, name)
        if not _ID.fullmatch(name):
            _fail(
                f,
                gp,
                f"{name!r} is not a valid skill group name; use lower-case ASCII letters, digits, hyphens",
            )
        listed = _str_list(f, gp, ids, allow_empty=False)
        for i, sid in enumerate(listed):
            if sid not in services:
                _fail(f, f"{gp}[{i}]", f"unknown service {sid!r}; it is not in {SERVICES_FILE}")
        skills[name] = frozenset(listed)
    return skills


_REMOTE_KEYS = ("remote_join", "remote_hours", "remote_per_hour", "remote_grace_min", "remote_travel_min")
_OFFICE_REQUIRED = ("id", "name_uk", "name_en", "kind", "desk")
_OFFICE_OPTIONAL = ("timezone", "address_uk", "hours", "region", "shelter_address_uk", "shelter_address_en",
                    "notify_ahead", "alert_resume_min", "alert_resume_at_opening_min", "rating_scale", "holidays",
                    "closures", "slot_hold_min", "reminder_hour", *_REMOTE_KEYS)
MAX_ALERT_RESUME_MIN = 240.0  # the longest delay after an all-clear (the dispatcher's MAX_RESUME_MIN)
_DESK_REQUIRED = ("id", "number")
_DESK_OPTIONAL = ("skills", "services", "backup", "backup_services", "special")


def _parse_offices(
    value: object, services: Mapping[str, Service], skills: Mapping[str, frozenset[str]]
) -> dict[str, Office]:
    f = NETWORK_FILE
    offices: dict[str, Office] = {}
    office_paths: dict[str, str] = {}
    desk_paths: dict[str, str] = {}
    for oi, entry in enumerate(_array_of_tables(f, "office", value)):
        p = f"office[{oi}]"
        _fields(f, p, entry, _OFFICE_REQUIRED, _OFFICE_OPTIONAL + _POSITION)
        oid = _ident(f, f"{p}.id", entry["id"])
        if oid in offices:
            _fail(f, f"{p}.id", f"duplicate office id {oid!r} (already {office_paths[oid]})")
        office_paths[oid] = p
        kind_name = _str(f, f"{p}.kind", entry["kind"])
        if kind_name not in {k.value for k in OfficeKind}:
            _fail(f, f"{p}.kind", f"unknown office kind {kind_name!r}; expected one of {_one_of(OfficeKind)}")
        timezone = _parse_timezone(f"{p}.timezone", entry.get("timezone", DEFAULT_TIMEZONE))
        hours = _parse_hours(f"{p}.hours", entry["hours"]) if "hours" in entry else ALWAYS_OPEN

        desks: list[Desk] = []
        numbers: dict[str, str] = {}
        for di, desk_entry in enumerate(_array_of_tables(f, f"{p}.desk", entry["desk"])):
            dp = f"{p}.desk[{di}]"
            desk = _parse_desk(dp, desk_entry, oid, services, skills)
            if desk.id in desk_paths:
                _fail(f, f"{dp}.id", f"duplicate desk id {desk.id!r} (already {desk_paths[desk.id]})")
            if desk.number in numbers:
                _fail(
                    f,
                    f"{dp}.number",
                    f"duplicate desk number {desk.number!r} in office {oid!r} "
                    f"(already {numbers[desk.number]}); boards could not tell the desks apart",
                )
            desk_paths[desk.id] = dp
            numbers[desk.number] = dp
            desks.append(desk)

        offices[oid] = Office(
            id=oid,
            name_uk=_str(f, f"{p}.name_uk", entry["name_uk"]),
            name_en=_str(f, f"{p}.name_en", entry["name_en"]),
            kind=OfficeKind(kind_name),
            desks=tuple(desks),
            timezone=timezone,
            hours=hours,
            address_uk=_str(f, f"{p}.address_uk", entry.get("address_uk", ""), empty_ok=True),
            **_wartime(p, entry),
            **_closed_days(p, entry),
            notify_ahead=_notify_ahead(f"{p}.notify_ahead", entry.get("notify_ahead", DEFAULT_NOTIFY_AHEAD)),
            **_position(p, oid, entry),
            rating_scale=_rating_scale(f"{p}.rating_scale", entry.get("rating_scale", DEFAULT_SCALE)),
            **_slot_alerts(p, entry),
            **_remote(p, entry),
        )
    return offices


def _wartime(p: str, entry: _Table) -> dict[str, Any]:
    """An office's wartime settings: its alert region, its shelter, the delays after an all-clear."""
    f = NETWORK_FILE
    out: dict[str, Any] = {}
    if "region" in entry:
        out["region"] = _ident(f, f"{p}.region", entry["region"])
    for key in ("shelter_address_uk", "shelter_address_en"):
        if key in entry:
            out[key] = _str(f, f"{p}.{key}", entry[key], empty_ok=True)
    for key in ("alert_resume_min", "alert_resume_at_opening_min"):
        if key in entry:
            out[key] = _number(f, f"{p}.{key}", entry[key], low=0.0, high=MAX_ALERT_RESUME_MIN, unit="minutes")
    return out


def _rating_scale(path: str, value: object) -> str:
    """``"three"`` (погано, добре, зразково) or ``"four"`` (жахливо, прийнятно, добре, чудово: the national
    monitoring's levels)."""
    name = _str(NETWORK_FILE, path, value)
    if name not in SCALES:
        _fail(NETWORK_FILE, path, f"unknown rating scale {name!r}; expected \"three\" (bad, good, exemplary: "
              f"погано, добре, зразково) or \"four\" (terrible, acceptable, good, excellent: жахливо, прийнятно, "
              f"добре, чудово, the national monitoring's levels)")
    return name


_POSITION = ("lat", "lon")


def _position(p: str, oid: str, entry: _Table) -> dict[str, Any]:
    """An office's coordinates (degrees, WGS 84), for travel minutes by road: both or neither."""
    f = NETWORK_FILE
    if "lat" not in entry and "lon" not in entry:
        return {}
    for key, other in (("lat", "lon"), ("lon", "lat")):
        if key not in entry:
            _fail(f, f"{p}.{key}", f"missing: office {oid!r} gives {other} = {_show(entry[other])}; "
                  "give both lat and lon (degrees, such as lat = 49.2331, lon = 28.4682) or neither")
    out: dict[str, Any] = {}
    for key, name, limit, example in (("lat", "latitude", 90.0, "49.2331"), ("lon", "longitude", 180.0, "28.4682")):
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            _fail(f, f"{p}.{key}", f"office {oid!r}: expected the {name} in degrees as a number (such as "
                  f"{key} = {example}), got {_kind_of(value)} {_show(value)}")
        if not -limit <= value <= limit:
            _fail(f, f"{p}.{key}", f"office {oid!r}: {name} must be between {-limit:g} and {limit:g} degrees, "
                  f"got {value}" + (" (lat and lon swapped?)" if key == "lat" and abs(value) <= 180.0 else ""))
        out[key] = float(value)
    return out


MAX_ROAD_FACTOR = 5.0  # road over straight-line distance; past this a value is a typo
MAX_SPEED_KMH = 200.0
MAX_NEAREST = 100


def _parse_roads(roads_value: object, alternatives_value: object) -> dict[str, Any]:
    """``[roads]``: how travel minutes follow from coordinates; ``[alternatives]``: which offices a kiosk weighs."""
    f = NETWORK_FILE
    roads = _table(f, "roads", roads_value)
    _fields(f, "roads", roads, (), ("road_factor", "speed_kmh"))
    out: dict[str, Any] = {}
    if "road_factor" in roads:
        out["road_factor"] = _number(f, "roads.road_factor", roads["road_factor"], low=1.0, high=MAX_ROAD_FACTOR)
    if "speed_kmh" in roads:
        out["speed_kmh"] = _number(f, "roads.speed_kmh", roads["speed_kmh"], low=0.0, high=MAX_SPEED_KMH,
                                   low_open=True, unit="km/h")
    alts = _table(f, "alternatives", alternatives_value)
    _fields(f, "alternatives", alts, (), ("reach_min", "nearest"))
    if "reach_min" in alts:
        out["reach_min"] = _number(f, "alternatives.reach_min", alts["reach_min"], low=0.0, high=MAX_TRAVEL_MIN,
                                   unit="minutes")
    if "nearest" in alts:
        nearest = alts["nearest"]
        if isinstance(nearest, bool) or not isinstance(nearest, int) or not 1 <= nearest <= MAX_NEAREST:
            _fail(f, "alternatives.nearest", f"must be a whole number of offices from 1 to {MAX_NEAREST}, "
                  f"got {_show(nearest)}")
        out["nearest"] = nearest
    return out


def _slot_alerts(p: str, entry: _Table) -> dict[str, Any]:
    """"Tell me when a slot frees" (#18.4): the minutes a freed slot is held for the visitor alerted, and the local
    hour of the day before a booking when its reminder goes."""
    f = NETWORK_FILE
    out: dict[str, Any] = {}
    if "slot_hold_min" in entry:
        out["slot_hold_min"] = _number(f, f"{p}.slot_hold_min", entry["slot_hold_min"], low=1.0, high=120.0,
                                       unit="minutes")
    if "reminder_hour" in entry:
        hour = entry["reminder_hour"]
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            _fail(f, f"{p}.reminder_hour", f"expected a whole hour from 0 to 23 (e.g. reminder_hour = 18), "
                  f"got {_kind_of(hour)} {_show(hour)}")
        out["reminder_hour"] = hour
    return out


MAX_REMOTE_PER_HOUR = 1000
MAX_REMOTE_GRACE_MIN = 120.0
_SPAN = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")


def _remote(p: str, entry: _Table) -> dict[str, Any]:
    """Joining from the phone (#18.3): ``remote_join`` (true or false), ``remote_hours`` ("HH:MM-HH:MM", local
    time), ``remote_per_hour`` (remote tickets an hour at most), ``remote_grace_min`` (how long a remote ticket whose
    turn came keeps its place), ``remote_travel_min`` (the way here: joining is open only while the wait is longer)."""
    f = NETWORK_FILE
    out: dict[str, Any] = {}
    if "remote_join" in entry:
        value = entry["remote_join"]
        if not isinstance(value, bool):
            _fail(f, f"{p}.remote_join", f"expected true or false (remote_join = true lets visitors join the queue "
                  f"from their phones), got {_kind_of(value)} {_show(value)}")
        out["remote_join"] = value
    if "remote_hours" in entry:
        text = _str(f, f"{p}.remote_hours", entry["remote_hours"], empty_ok=True)
        m = _SPAN.fullmatch(text)
        if text and (m is None or not (int(m[1]) * 60 + int(m[2]) < int(m[3]) * 60 + int(m[4]) <= 24 * 60
                                       and int(m[2]) < 60 and int(m[4]) < 60)):
            _fail(f, f"{p}.remote_hours", f"expected local hours as \"HH:MM-HH:MM\", the start before the end (such "
                  f"as remote_hours = \"09:00-17:00\"), or \"\" for the office's opening hours; got {_show(text)}")
        out["remote_hours"] = text
    if "remote_per_hour" in entry:
        n = entry["remote_per_hour"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REMOTE_PER_HOUR:
            _fail(f, f"{p}.remote_per_hour", f"expected a whole number of remote tickets an hour from 1 to "
                  f"{MAX_REMOTE_PER_HOUR} (such as remote_per_hour = 20; remote_join = false turns remote joining "
                  f"off), got {_kind_of(n)} {_show(n)}")
        out["remote_per_hour"] = n
    if "remote_grace_min" in entry:
        out["remote_grace_min"] = _number(f, f"{p}.remote_grace_min", entry["remote_grace_min"], low=1.0,
                                          high=MAX_REMOTE_GRACE_MIN, unit="minutes")
    if "remote_travel_min" in entry:
        out["remote_travel_min"] = _number(f, f"{p}.remote_travel_min", entry["remote_travel_min"], low=0.0,
                                           high=MAX_TRAVEL_MIN, unit="minutes")
    return out


DEFAULT_NOTIFY_AHEAD = 3
MAX_NOTIFY_AHEAD = 50


def _notify_ahead(path: str, value: object) -> int:
    """How many tickets ahead of a visitor's their phone is alerted (0: only when theirs is next)."""
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(NETWORK_FILE, path, f"expected a whole number of tickets ahead (e.g. notify_ahead = 3), "
              f"got {_kind_of(value)} {_show(value)}")
    if not 0 <= value <= MAX_NOTIFY_AHEAD:
        _fail(NETWORK_FILE, path, f"must be between 0 and {MAX_NOTIFY_AHEAD} tickets ahead, got {value}")
    return value


_HOLIDAY = re.compile(r"(\d{2})-(\d{2})")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _closed_days(p: str, entry: _Table) -> dict[str, Any]:
    """Days the office is closed all day: ``holidays`` every year ("MM-DD", such as "08-24") and one-off
    ``closures`` ("YYYY-MM-DD"); each kept sorted."""
    f = NETWORK_FILE
    out: dict[str, Any] = {}
    for key, shape, example in (("holidays", _HOLIDAY, "08-24"), ("closures", _DATE, "2026-12-31")):
        if key not in entry:
            continue
        days = _str_list(f, f"{p}.{key}", entry[key])
        for i, day in enumerate(days):
            match = shape.fullmatch(day)
            try:
                ok = match is not None and bool(datetime.date.fromisoformat(
                    day if key == "closures" else f"2024-{day}"))  # 2024: a leap year, so 02-29 is a day
            except ValueError:
                ok = False
            if not ok:
                _fail(f, f"{p}.{key}[{i}]", f"{day!r} is not a date; write it as {example!r}")
        out[key] = tuple(sorted(days))
    return out


def _bool(file: str, path: str, value: object) -> bool:
    if not isinstance(value, bool):
        _fail(file, path, f"expected true or false, got {_kind_of(value)} {_show(value)}")
    return value


def _parse_desk(
    p: str, entry: _Table, office: str, services: Mapping[str, Service], skills: Mapping[str, frozenset[str]]
) -> Desk:
    f = NETWORK_FILE
    _fields(f, p, entry, _DESK_REQUIRED, _DESK_OPTIONAL)
    did = _ident(f, f"{p}.id", entry["id"])
    raw_number = entry["number"]
    if not isinstance(raw_number, str):
        got = f"{_kind_of(raw_number)} {_show(raw_number)}"
        _fail(f, f"{p}.number", f'expected a string as shown on the boards (e.g. number = "5"), got {got}')
    number = _str(f, f"{p}.number", raw_number)
    if len(number) > MAX_DESK_NUMBER_LEN or any(ch.isspace() for ch in number):
        _fail(
            f,
            f"{p}.number",
            f"must be at most {MAX_DESK_NUMBER_LEN} characters without spaces, got {number!r}",
        )

    known_groups = _one_of(skills)
    own: set[str] = set()
    group_of: dict[str, str] = {}
    for i, group in enumerate(_str_list(f, f"{p}.skills", entry.get("skills", []))):
        if group not in skills:
            _fail(f, f"{p}.skills[{i}]", f"unknown skill group {group!r}; expected one of {known_groups}")
        own |= skills[group]
        for sid in skills[group]:
            group_of.setdefault(sid, f"{p}.skills[{i}]")
    for i, sid in enumerate(_str_list(f, f"{p}.services", entry.get("services", []))):
        if sid not in services:
            _fail(f, f"{p}.services[{i}]", f"unknown service {sid!r}; it is not in {SERVICES_FILE}")
        own.add(sid)
        group_of.setdefault(sid, f"{p}.services[{i}]")
    backup: set[str] = set()
    for i, group in enumerate(_str_list(f, f"{p}.backup", entry.get("backup", []))):
        if group not in skills:
            _fail(f, f"{p}.backup[{i}]", f"unknown skill group {group!r}; expected one of {known_groups}")
        backup |= skills[group]
        for sid in skills[group]:
            group_of.setdefault(sid, f"{p}.backup[{i}]")
    for i, sid in enumerate(_str_list(f, f"{p}.backup_services", entry.get("backup_services", []))):
        if sid not in services:
            _fail(f, f"{p}.backup_services[{i}]", f"unknown service {sid!r}; it is not in {SERVICES_FILE}")
        backup.add(sid)
        group_of.setdefault(sid, f"{p}.backup_services[{i}]")
    if not own:
        _fail(f, p, f"desk {did!r} serves nothing; give it skills = [...] or services = [...]")

    special_value = entry.get("special", False)
    if not isinstance(special_value, bool):
        got = f"{_kind_of(special_value)} {_show(special_value)}"
        _fail(f, f"{p}.special", f"expected true or false, got {got}")
    special_services = sorted(s for s in own | backup if services[s].category is Category.SPECIAL)
    if special_services and not special_value:
        _fail(
            f,
            group_of[special_services[0]],
            f"desk {did!r} would serve special-category service {special_services[0]!r}, which is accepted "
            "only at the specially equipped workplace; set special = true or remove it",
        )
    if special_value and not special_services:
        _fail(f, f"{p}.special", f"desk {did!r} is special = true but serves no special-category service")
    return Desk(
        id=did,
        office=office,
        number=number,
        services=frozenset(own),
        backup=frozenset(backup - own),
        special=special_value,
    )


def _parse_timezone(path: str, value: object) -> str:
    f = NETWORK_FILE
    name = _str(f, path, value)
    if not _TIMEZONE.fullmatch(name):
        _fail(f, path, f"{name!r} is not a time zone name such as 'Europe/Kyiv'")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if zoneinfo.available_timezones():  # with no tz database at all, the name's shape is all we can check
            _fail(f, path, f"unknown time zone {name!r}; expected an IANA name such as 'Europe/Kyiv'")
    return name


def _parse_hours(path: str, value: object) -> Hours:
    f = NETWORK_FILE
    table = _table(f, path, value, 'a table of weekdays (mon = "08:00-20:00")')
    if not table:
        _fail(
            f,
            path,
            "no open day; list at least one of mon..sun, or leave out [office.hours] to be always open",
        )
    by_weekday: dict[int, tuple[int, int]] = {}
    for day, span in table.items():
        dp = _join(path, day)
        if day not in WEEKDAYS:
            _fail(f, dp, f"unknown day {day!r}; expected one of {_one_of(WEEKDAYS)}")
        text = span.strip() if isinstance(span, str) else ""
        match = _HOURS.fullmatch(text)
        if match is None:
            _fail(f, dp, f'hours must be "HH:MM-HH:MM" such as "08:00-20:00", got {_show(span)}')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        for h, m in ((h1, m1), (h2, m2)):
            if h > 24 or m > 59 or (h == 24 and m != 0):
                _fail(f, dp, f"{h:02d}:{m:02d} is not a time of day (00:00 to 24:00) in {text!r}")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start >= end:
            _fail(f, dp, f"opening {text.split('-')[0]} must be before closing {text.split('-')[1]}")
        by_weekday[WEEKDAYS.index(day)] = (start, end)
    return Hours(dict(sorted(by_weekday.items())))


def _parse_travel(value: object, offices: Mapping[str, Office]) -> dict[tuple[str, str], float]:
    f = NETWORK_FILE
    travel: dict[tuple[str, str], float] = {}
    seen: dict[frozenset[str], str] = {}
    for i, entry in enumerate(_array_of_tables(f, "travel", value, allow_empty=True)):
        p = f"travel[{i}]"
        _fields(f, p, entry, ("from", "to", "minutes"))
        ends: list[str] = []
        for key in ("from", "to"):
            oid = _str(f, f"{p}.{key}", entry[key])
            if oid not in offices:
                _fail(
                    f,
                    f"{p}.{key}",
                    f"travel to an unknown office {oid!r}; expected one of {_one_of(offices)}",
                )
            ends.append(oid)
        a, b = ends
        if a == b:
            _fail(f, p, f"from and to are the same office {a!r}")
        pair = frozenset((a, b))
        if pair in seen:
            _fail(
                f,
                p,
                f"travel between {a!r} and {b!r} is given twice (already {seen[pair]}); one entry a pair",
            )
        seen[pair] = p
        minutes = _number(
            f, f"{p}.minutes", entry["minutes"], low=0.0, high=MAX_TRAVEL_MIN, low_open=True, unit="minutes"
        )
        travel[(a, b)] = minutes
        travel[(b, a)] = minutes
    return travel
