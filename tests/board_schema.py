"""What a hall board may receive (API.md, "Websockets"; DESIGN.md rule 4), as a strict schema that has no room for a
person's data: ticket and desk numbers, categories, counts and waits only. Shared by the hub tests, the websocket
fuzzing and the load test (``bench/loadtest.py`` imports it too)."""

from __future__ import annotations

import re
from typing import Any

TICKET = re.compile(r"^[A-Z]\d{3,4}$")
DESK_NUMBER = re.compile(r"^\d+$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
CATEGORIES = {"vulnerable", "special", "quick", "seasonal", "acceptance", "issuance", "consultation"}


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def check_board_message(msg: Any) -> None:
    """A board message as API.md has it, and nothing else: no field could carry a person's data."""
    assert isinstance(msg, dict), msg
    kind = msg.get("type")
    expected = {
        # API 1.1: the snapshot also says whether an air-raid alert is on and whether the registries are
        "snapshot": {"type", "seq", "calls", "queues", "alert", "registries", "day"},
        "alert": {"type", "seq", "active", "resumes_at"},  # an air-raid alert, or the all-clear with its resumption
        "registries": {"type", "seq", "available"},  # the services that need the registries pause or come back
        "called": {"type", "seq", "ticket", "desk", "queues"},
        "recalled": {"type", "seq", "ticket", "desk", "queues"},
        "queue": {"type", "seq", "queues"},
        # the day opened or closed; closed under an alert, how many tickets ended "not served today" (a count)
        "day": {"type", "seq", "closed", "not_served", "queues"},
        "ended": {"type", "seq", "ticket", "desk", "queues"},  # the call is over: the visitor came, or the ticket left
        "journal": {"type", "available", "since"},  # the journal stopped or resumed taking writes: no seq
    }
    assert kind in expected, f"unknown board message type: {msg}"
    assert set(msg) == expected[kind], f"keys of a {kind} message: {sorted(msg)}"
    if kind == "journal":
        assert isinstance(msg["available"], bool), msg
        assert msg["since"] is None or (_is_number(msg["since"]) and not msg["available"]), msg
        return
    assert _is_int(msg["seq"]) and msg["seq"] >= 0, msg
    if kind in ("called", "recalled", "ended"):
        _check_call(msg["ticket"], msg["desk"])
    if kind == "alert":
        assert isinstance(msg["active"], bool), msg
        assert msg["resumes_at"] is None if msg["active"] else _is_iso(msg["resumes_at"]), msg
    if kind == "registries":
        assert isinstance(msg["available"], bool), msg
    if kind in ("day", "snapshot"):
        day = msg if kind == "day" else msg["day"]
        assert kind == "day" or (isinstance(day, dict) and set(day) == {"closed", "not_served"}), msg
        assert isinstance(day["closed"], bool) and _is_int(day["not_served"]) and day["not_served"] >= 0, msg
    if kind == "snapshot":
        alert = msg["alert"]
        assert isinstance(alert, dict) and set(alert) == {"active", "since", "resumes_at"}, alert
        assert isinstance(alert["active"], bool), alert
        assert all(alert[k] is None or _is_iso(alert[k]) for k in ("since", "resumes_at")), alert
        assert isinstance(msg["registries"], dict) and set(msg["registries"]) == {"available"}, msg
        assert isinstance(msg["registries"]["available"], bool), msg
        assert isinstance(msg["calls"], list), msg
        for call in msg["calls"]:
            # API.md leaves a call's fields to the board; the hub adds "at" (when, a number), which board.js sorts by,
            # and "pending" (whether the hall still expects this call: the latest call of a ticket not yet at a desk)
            assert isinstance(call, dict), call
            assert {"ticket", "desk"} <= set(call) <= {"ticket", "desk", "at", "pending"}, call
            _check_call(call["ticket"], call["desk"])
            assert "at" not in call or _is_number(call["at"]), call
            assert "pending" not in call or isinstance(call["pending"], bool), call
    if kind in ("snapshot", "queue", "called", "recalled", "ended", "day"):
        _check_queues(msg["queues"])


def _check_queues(queues: object) -> None:
    """One line per category: counts and waits only."""
    assert isinstance(queues, list), queues
    for q in queues:
        assert isinstance(q, dict) and set(q) == {"category", "waiting", "eta_min", "eta_reason"}, q
        assert q["category"] in CATEGORIES, q
        assert _is_int(q["waiting"]) and q["waiting"] >= 0, q
        if q["eta_min"] is None:  # API 1.1: an unknown wait says why
            assert q["eta_reason"] == "no_open_desk", q
        else:
            assert _is_number(q["eta_min"]) and q["eta_min"] >= 0 and q["eta_reason"] is None, q
    assert len({q["category"] for q in queues}) == len(queues), queues


def _is_iso(x: object) -> bool:
    """An ISO time with its offset, such as 2026-03-01T10:15:00+02:00."""
    return isinstance(x, str) and ISO.fullmatch(x) is not None


def _check_call(ticket: object, desk: object) -> None:
    assert isinstance(ticket, str) and TICKET.fullmatch(ticket), ticket
    assert isinstance(desk, str) and DESK_NUMBER.fullmatch(desk), desk


def check_stream(msgs: list[dict[str, Any]]) -> None:
    """A snapshot, then messages numbered one after another (journal notices, which carry no number, aside)."""
    msgs = [m for m in msgs if m.get("type") != "journal"]
    assert msgs and msgs[0]["type"] == "snapshot", msgs[:1]
    seqs = [m["seq"] for m in msgs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    assert all(m["type"] != "snapshot" for m in msgs[1:])
