"""The HTTP surface moved into routers (#17.2) without changing what it publishes.

``fixtures/openapi.json`` is ``/openapi.json`` as the one-function ``create_app`` produced it (generated from the
commit before the move). The app must publish the same (path, method) pairs, the same operation of each (operation
id, parameters, request body, responses, tags, summary, description) and the same schemas, which may only grow
by optional fields (API.md: add freely); a route renamed, a parameter dropped or a model changed fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cherga.displays.app import ServiceConfig, create_app
from cherga.engine.loader import load_network

BEFORE = Path(__file__).parent / "fixtures" / "openapi.json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# added since the fixture, by API.md 1.1 (wartime): new operations and their new schemas; nothing else may be new
ADDED_OPERATIONS = {("/api/v1/offices/{office}/alert", "post"), ("/api/v1/regions/{region}/alert", "post"),
                    ("/api/v1/offices/{office}/registries", "post"), ("/api/v1/offices/{office}/close-day", "post")}
ADDED_SCHEMAS = {"AlertBody", "AlertAnswer", "AlertState", "RegistriesBody", "RegistriesState"}
# API 1.1 "The visitor away from the hall": Web Push to the visitor's phone (#18.2)
ADDED_OPERATIONS |= {("/api/v1/push/key", "get"), ("/api/v1/tickets/{ticket}/push", "post"),
                     ("/api/v1/tickets/{ticket}/push", "delete")}
ADDED_SCHEMAS |= {"PushKey", "PushBody", "PushSubscriptionIn", "PushKeys", "PushSubscribed", "PushStop"}
# API.md 1.1, staff: signing in and out, one's own password, staff management, the audit trail (docs/api.md)
ADDED_OPERATIONS |= {("/api/v1/session", "post"), ("/api/v1/session", "get"), ("/api/v1/session", "delete"),
                     ("/api/v1/session/password", "put"), ("/api/v1/offices/{office}/staff", "get"),
                     ("/api/v1/offices/{office}/staff", "post"), ("/api/v1/staff/{login}", "patch"),
                     ("/api/v1/staff/{login}", "delete"), ("/api/v1/staff/{login}/password", "put"),
                     ("/api/v1/offices/{office}/audit", "get")}
ADDED_SCHEMAS |= {"SignInBody", "SessionAnswer", "PasswordBody", "StaffBody", "StaffActive", "StaffPassword",
                  "StaffAccount", "AuditEntry"}
# API.md 1.1, devices: pairing a screen by a code the head approves, the office's devices, revoking one
ADDED_OPERATIONS |= {("/api/v1/pairings", "post"), ("/api/v1/pairings/{code}", "get"),
                     ("/api/v1/pairings/{code}/approve", "post"), ("/api/v1/offices/{office}/devices", "get"),
                     ("/api/v1/devices/{ident}", "delete")}
ADDED_SCHEMAS |= {"PairingBody", "PairingCreated", "ApproveBody", "PairingStatus", "DeviceOut"}
# API.md 1.1, the national rating scale: the period's ratings for the monitoring, as CSV on its four levels
ADDED_OPERATIONS |= {("/api/v1/offices/{office}/ratings/monitoring", "get")}
# API.md 1.1, configuration in the browser, live (#14.3): the services, retiring one, desks, skill groups, hours,
# closed days, targets, the office's configuration, its TOML export and the kiosk's wait for a change
ADDED_OPERATIONS |= {("/api/v1/offices/{office}/services/{service}", "put"),
                     ("/api/v1/offices/{office}/services/{service}/retire", "post"), ("/api/v1/desks/{desk}", "put"),
                     ("/api/v1/offices/{office}/skills/{name}", "put"), ("/api/v1/offices/{office}/hours", "put"),
                     ("/api/v1/offices/{office}/closed-days", "put"), ("/api/v1/offices/{office}/targets", "put"),
                     ("/api/v1/offices/{office}/config", "get"), ("/api/v1/offices/{office}/config.toml", "get"),
                     ("/api/v1/offices/{office}/config/version", "get")}
ADDED_SCHEMAS |= {"ServiceBody", "DeskBody", "SkillBody", "HoursBody", "ClosedDaysBody", "TargetsBody"}
# API 1.1 "The visitor away from the hall": "tell me when a slot frees" and the reminder the day before (#18.4)
ADDED_OPERATIONS |= {("/api/v1/offices/{office}/slot-alerts", "post"), ("/api/v1/slot-alerts/{ident}", "get"),
                     ("/api/v1/slot-alerts/{ident}", "delete"), ("/api/v1/slot-holds/{token}", "get"),
                     ("/api/v1/offices/{office}/appointments/{code}/reminder", "post"),
                     ("/api/v1/offices/{office}/appointments/{code}/reminder", "delete")}
ADDED_SCHEMAS |= {"SlotAlertBody", "SlotAlert", "SlotHold", "ReminderBody", "ReminderSet"}
# API 1.1 "The visitor away from the hall": join from the phone (#18.3), the kiosk's entrance QR code and the check-in
# by it; check-in takes a remote ticket's id instead of a booking's code (so code is no longer required)
ADDED_OPERATIONS |= {("/api/v1/offices/{office}/entrance", "get"), ("/api/v1/offices/{office}/entrance", "post")}
ADDED_SCHEMAS |= {"EntranceBody", "Entrance"}
LOOSENED = {"CheckInBody": {"required", "properties.code"}}  # API 1.1: {"code"} or {"ticket"}, code now optional


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    # openapi() needs no lifespan: nothing is opened, the routes and models alone make the document
    app = create_app(ServiceConfig(network=load_network(None), data_dir=tmp_path_factory.mktemp("data")))
    now = json.loads(json.dumps(app.openapi()))  # as served: tuples become lists
    return json.loads(BEFORE.read_text(encoding="utf-8")), now


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(path, method): op for path, item in doc["paths"].items() for method, op in item.items()
            if method in METHODS}


def test_the_same_paths_and_methods(docs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, now = docs
    assert len(operations(before)) > 25  # the fixture is the real document, not an empty one
    assert set(operations(now)) - ADDED_OPERATIONS == set(operations(before))
    assert set(operations(now)) >= ADDED_OPERATIONS


def test_every_operation_is_the_same(docs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, now = (operations(d) for d in docs)
    changed = sorted(f"{method.upper()} {path}" for (path, method), op in before.items()
                     if now.get((path, method)) != op)
    assert not changed, f"these operations changed: {changed}"
    ids = [op["operationId"] for op in now.values()]
    assert len(set(ids)) == len(ids)


def grown(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What ``now`` changed of the schema ``before``, beyond adding optional properties (API.md: add freely, change
    only in a new version; schemas.py belongs to every area, so a field added there must not fail this test)."""
    out = [k for k in before.keys() | now.keys() if k not in ("properties", "required") and before.get(k) != now.get(k)]
    if before.get("required", []) != now.get("required", []):
        out.append("required")
    props, new_props = before.get("properties", {}), now.get("properties", {})
    out += [f"properties.{name}" for name, prop in props.items()
            if new_props.get(name) != prop and not _enum_grown(prop, new_props.get(name))]
    return out


def _enum_grown(before: dict[str, Any], now: dict[str, Any] | None) -> bool:
    """A field whose allowed values only grew (API 1.1: a ticket's new statuses, finish's not_possible), its
    description aside: what old clients sent is still accepted, and they ignore values they do not know."""
    if now is None or "enum" not in before or not set(before["enum"]) <= set(now.get("enum", ())):
        return False
    rest = {k: v for k, v in before.items() if k not in ("enum", "description")}
    return rest == {k: v for k, v in now.items() if k not in ("enum", "description")}


def test_the_same_schemas_and_document(docs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, now = docs
    assert now["components"].keys() == before["components"].keys()
    assert now["components"]["schemas"].keys() - ADDED_SCHEMAS == before["components"]["schemas"].keys()
    changed = {name: grown(schema, now["components"]["schemas"][name])
               for name, schema in before["components"]["schemas"].items()}
    changed = {k: [x for x in v if x not in LOOSENED.get(k, set())] for k, v in changed.items()}
    assert not {k: v for k, v in changed.items() if v}, "schemas changed, not only added to"
    added_paths = {path for path, _ in ADDED_OPERATIONS} - before["paths"].keys()  # PUT desks/{desk} joins a GET
    now_paths = {p: item for p, item in now["paths"].items() if p not in added_paths}
    assert {k: v for k, v in now.items() if k not in ("components", "paths")} == {
        k: v for k, v in before.items() if k not in ("components", "paths")}
    assert now_paths.keys() == before["paths"].keys()


def test_the_check_sees_a_change(docs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """The comparisons are not vacuous: a dropped parameter or a changed field is seen, an optional field added is
    not a change."""
    before, _ = docs
    slots = before["paths"]["/api/v1/offices/{office}/slots"]["get"]
    assert {**slots, "parameters": slots["parameters"][:-1]} != slots
    ticket = before["components"]["schemas"]["Ticket"]
    assert grown(ticket, {**ticket, "properties": {**ticket["properties"], "extra": {"type": "string"}}}) == []
    assert grown(ticket, {**ticket, "properties": {**ticket["properties"], "number": {"type": "integer"}}}) == [
        "properties.number"]
    assert grown(ticket, {**ticket, "required": [*ticket.get("required", []), "extra"]}) == ["required"]
