"""The head's configuration, live: a change command becomes an event, and an event a new configuration, checked by
the loader's own rules.

There is one set of rules, the loader's (:mod:`cherga.engine.loader`). A change is made on the configuration's two
files as :mod:`cherga.engine.config_toml` writes them (the office's current configuration, its policy included),
and the edited files are loaded by :func:`~cherga.engine.loader.parse_documents`: what the loader would refuse in a
file is refused live, with its message, and :class:`~cherga.errors.InvalidConfig` names the field of the change
(``letter``, ``services``, ``hours.mon``) so the head's page can show it next to that field. Replaying the event
runs the same edit on the same configuration, so it gives the same configuration again.

Pure: no I/O; the dispatcher calls :func:`event_fields` to decide and :func:`configured` to evolve.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.config_toml import Doc, documents
from cherga.engine.loader import SERVICES_FILE, parse_documents
from cherga.engine.model import Category, Network, PolicyConfig
from cherga.errors import ConfigError, InvalidConfig, NotFound

__all__ = ["configured", "event_fields"]


# ------------------------------------------------------------------------------------------------ deciding


def event_fields(network: Network, office: str, cmd: c.Command) -> tuple[type[e.BaseEvent], dict[str, Any]]:
    """The event a change command makes, with everything the command left to the current configuration resolved
    (so the event alone says what the configuration became). Checks what the loader cannot (desks and services
    named that do not exist); :func:`configured` checks the rest."""
    o = network.offices.get(office)
    if o is None:
        raise NotFound(f"unknown office {office!r}")
    desk_ids = [d.id for d in o.desks]
    if isinstance(cmd, c.PutService):
        if cmd.desks is None:
            desks = tuple(d.id for d in o.desks if cmd.service in d.services)
        else:
            unknown = [x for x in cmd.desks if x not in desk_ids]
            if unknown:
                raise InvalidConfig(f"desks: no desk {unknown[0]!r} at {o.name_en}; its desks: "
                                    f"{', '.join(desk_ids)}", "desks")
            desks = tuple(dict.fromkeys(cmd.desks))
        old = network.services.get(cmd.service)
        retired = cmd.retired if cmd.retired is not None else (old.retired if old is not None else False)
        return e.ServiceConfigured, {
            "service": cmd.service, "name_uk": cmd.name_uk, "name_en": cmd.name_en, "category": cmd.category,
            "letter": cmd.letter, "mean_service_min": cmd.mean_service_min, "sphere_uk": cmd.sphere_uk,
            "sphere_en": cmd.sphere_en, "intent": cmd.intent, "online_url": cmd.online_url,
            "needs_registry": cmd.needs_registry, "desks": desks, "retired": retired,
        }
    if isinstance(cmd, c.RetireService):
        if cmd.service not in network.services:
            raise NotFound(f"unknown service {cmd.service!r}")
        return e.ServiceRetired, {"service": cmd.service}
    if isinstance(cmd, c.PutDesk):
        if cmd.desk not in desk_ids:
            raise NotFound(f"unknown desk {cmd.desk!r} in office {office}")
        services, backup = tuple(cmd.services), tuple(cmd.backup)
        special = cmd.special
        if special is None:
            special = any(network.services[s].category is Category.SPECIAL
                          for s in (*services, *backup) if s in network.services)
        return e.DeskConfigured, {"desk": cmd.desk, "number": cmd.number, "services": services, "backup": backup,
                                  "special": special}
    if isinstance(cmd, c.SetSkillGroup):
        return e.SkillGroupSet, {"name": cmd.name, "services": tuple(cmd.services)}
    if isinstance(cmd, c.SetHours):
        return e.HoursSet, {"hours": tuple((str(d), str(span)) for d, span in cmd.hours)}
    if isinstance(cmd, c.SetClosedDays):
        return e.ClosedDaysSet, {"holidays": tuple(cmd.holidays), "closures": tuple(cmd.closures)}
    if isinstance(cmd, c.SetTargets):
        return e.TargetsSet, {"target_min": cmd.target_min, "limit_min": cmd.limit_min,
                              "share_within_target": cmd.share_within_target,
                              "share_over_limit": cmd.share_over_limit}
    raise TypeError(f"not a configuration command: {type(cmd).__name__}")


# ------------------------------------------------------------------------------------------------ evolving


def configured(network: Network, policy: PolicyConfig, ev: e.BaseEvent) -> Network:
    """The configuration after ``ev``, loaded by the loader's rules from the edited files, or
    :class:`InvalidConfig` naming the field of the change that is wrong. ``policy`` is the office's policy now
    (its limits are checked against new targets); the network keeps its own."""
    services_doc, doc = documents(dataclasses.replace(network, policy=policy))
    edit, fields = _EDITS[type(ev)]
    where = edit(services_doc, doc, ev)
    try:
        out = parse_documents(services_doc, doc)
    except ConfigError as exc:
        field = _field(exc, where, fields)
        lead = f"{exc.file}: {exc.path}: " if exc.path else f"{exc.file}: "
        what = exc.message[len(lead):] if exc.message.startswith(lead) else exc.message
        raise InvalidConfig(f"{field}: {what}" if field else what, field) from None
    return dataclasses.replace(out, policy=network.policy)


def _office(doc: Doc, office: str) -> Doc:
    for entry in doc["office"]:
        if entry["id"] == office:
            assert isinstance(entry, dict)
            return entry
    raise NotFound(f"unknown office {office!r}")


def _office_path(doc: Doc, office: str) -> str:
    return f"office[{[x['id'] for x in doc['office']].index(office)}]"


def _edit_service(services_doc: Doc, doc: Doc, ev: e.BaseEvent) -> tuple[str, str]:
    assert isinstance(ev, e.ServiceConfigured)
    entry: Doc = {
        "id": ev.service, "name_uk": ev.name_uk, "name_en": ev.name_en, "category": ev.category,
        "letter": ev.letter, "mean_service_min": ev.mean_service_min, "sphere_uk": ev.sphere_uk,
        "sphere_en": ev.sphere_en, "needs_registry": ev.needs_registry, "retired": ev.retired,
    }
    if ev.intent is not None:
        entry["intent"] = ev.intent
    if ev.online_url is not None:
        entry["online_url"] = ev.online_url
    listed = services_doc["service"]
    ids = [x["id"] for x in listed]
    if ev.service in ids:
        i = ids.index(ev.service)
        listed[i] = entry
    else:
        i = len(listed)
        listed.append(entry)
    for desk in _office(doc, ev.office)["desk"]:
        own = [s for s in desk["services"] if s != ev.service]
        if desk["id"] in ev.desks:
            own.append(ev.service)
        desk["services"] = sorted(own)
    return f"service[{i}]", _office_path(doc, ev.office)


def _edit_retired(services_doc: Doc, doc: Doc, ev: e.BaseEvent) -> tuple[str, str]:
    assert isinstance(ev, e.ServiceRetired)
    listed = services_doc["service"]
    i = [x["id"] for x in listed].index(ev.service)
    listed[i]["retired"] = True
    return f"service[{i}]", _office_path(doc, ev.office)


def _edit_desk(services_doc: Doc, doc: Doc, ev: e.BaseEvent) -> tuple[str, str]:
    assert isinstance(ev, e.DeskConfigured)
    desks = _office(doc, ev.office)["desk"]
    i = [x["id"] for x in desks].index(ev.desk)
    entry: Doc = {"id": ev.desk, "number": ev.number, "services": list(ev.services), "special": ev.special}
    if ev.backup:
        entry["backup_services"] = list(ev.backup)
    desks[i] = entry
    return "", f"{_office_path(doc, ev.office)}.desk[{i}]"


def _edit_skill(services_doc: Doc, doc: Doc, ev: e.BaseEvent) -> tuple[str, str]:
    assert isinstance(ev, e.SkillGroupSet)
    skills = doc["skills"]
    if ev.services:
        skills[ev.name] = list(ev.services)
    else:
        skills.pop(ev.name, None)
    return "", "skills"


def _edit_hours(services_doc: Doc, doc: Doc, ev: e.BaseEvent) -> tuple[str, str]:
    assert isinstance(ev, e.HoursSet)
    entry = _office(doc, ev.office)
    if ev.hours:
        entry["hours"] = dict(ev.hours)
    else:
        entry.pop("hours", None)
    return "", _office_path(doc, ev.office)


def _edit_closed(services_doc: Doc, doc: Doc, ev: e.BaseEvent) -> tuple[str, str]:
    assert isinstance(ev, e.ClosedDaysSet)
    entry = _office(doc, ev.office)
    entry["holidays"] = list(ev.holidays)
    entry["closures"] = list(ev.closures)
    return "", _office_path(doc, ev.office)


def _edit_targets(services_doc: Doc, doc: Doc, ev: e.BaseEvent) -> tuple[str, str]:
    assert isinstance(ev, e.TargetsSet)
    doc["targets"] = {"target_min": ev.target_min, "limit_min": ev.limit_min,
                      "share_within_target": ev.share_within_target, "share_over_limit": ev.share_over_limit}
    return "", "targets"


# per event: the edit (it returns where the change sits in each file), and how a loader path under it reads as the
# change's field; "*" stands for any path elsewhere in that file (a rule that looks across the files)
_Edit = Callable[[Doc, Doc, e.BaseEvent], tuple[str, str]]
_EDITS: dict[type[e.BaseEvent], tuple[_Edit, dict[str, str]]] = {
    e.ServiceConfigured: (_edit_service, {"net:*": "desks"}),
    e.ServiceRetired: (_edit_retired, {"net:*": "service"}),
    e.DeskConfigured: (_edit_desk, {"backup_services": "backup", "": "services", "number": "number",
                                    "net:*": "services"}),
    e.SkillGroupSet: (_edit_skill, {"": "name", "net:*": "services"}),
    e.HoursSet: (_edit_hours, {"": "hours", "net:*": "hours"}),
    e.ClosedDaysSet: (_edit_closed, {"": "holidays", "net:*": "closures"}),
    e.TargetsSet: (_edit_targets, {"": "target_min", "net:*": "limit_min"}),
}
_INDEX = re.compile(r"\[\d+\]")


def _field(exc: ConfigError, where: tuple[str, str], names: dict[str, str]) -> str:
    """The change's field a loader error is about: its path under where the change sits (``service[3].letter`` ->
    ``letter``, ``office[0].hours.mon`` -> ``hours.mon``, ``skills.quick[2]`` -> ``services``); a rule that looks
    across the files (no desk serves a service, a limit above the targets) names the field the change can fix."""
    prefix = where[0] if exc.file == SERVICES_FILE else where[1]
    path = exc.path
    if prefix == "skills" and path.startswith("skills."):
        return "services" if "[" in path else "name"  # skills.<name>[i]: one of its services; skills.<name>
    if prefix and (path == prefix or path.startswith(prefix + ".")):
        rest = _INDEX.sub("", path[len(prefix):].lstrip("."))
        if rest.startswith("hours"):
            return rest
        head = rest.split(".")[0]
        return names.get(head, head)
    if path.endswith(".number") and "number" in names.values():  # a desk number another desk has already
        return "number"
    return names.get("net:*", "")
