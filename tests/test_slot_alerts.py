""""Tell me when a slot frees" and the reminder the day before a booking (#18.4), end to end: a real ``cherga
serve`` (its clock set with ``--time-offset``, restarted later on the same data to move time on) posts Web Push to
the push-service receiver of ``test_push`` (VAPID checked, each message decrypted per RFC 8291 with the browser keys
made there; pywebpush is the service's, not replaced).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from server import ServerProcess
from test_push import Browser, Receiver, _network_with

from cherga.engine.loader import load_network
from cherga.errors import ConfigError

KYIV = ZoneInfo("Europe/Kyiv")
OFFICE = "main"
SERVICE = "passport-id-card"  # one desk serves it at main: a slot takes one booking
SLOT_KEYS = {"kind", "office", "start", "until", "url", "title", "body", "tag"}


def next_monday(hour: int, minute: int = 0) -> datetime:
    today = datetime.now(KYIV).date()
    day = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=KYIV)


def at(when: datetime) -> list[str]:
    """``cherga serve`` options that run its clock at ``when`` (from now on)."""
    return ["--time-offset", f"{when.timestamp() - time.time():.3f}"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    before = os.environ.get("CHERGA_PUSH_ALLOW_HTTP")
    os.environ["CHERGA_PUSH_ALLOW_HTTP"] = r.origin
    try:
        yield r
    finally:
        r.close()
        if before is None:
            os.environ.pop("CHERGA_PUSH_ALLOW_HTTP", None)
        else:
            os.environ["CHERGA_PUSH_ALLOW_HTTP"] = before


def start(data: Path, when: datetime, receiver: Receiver) -> ServerProcess:
    proc = ServerProcess(data, extra=at(when)).start(timeout=60)
    receiver.server_key = httpx.get(f"{proc.url}/api/v1/push/key").json()["public_key"]
    return proc


def wait_for(what: str, check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def subscribe(proc: ServerProcess, b: Browser, origin: str, first: str, last: str) -> dict[str, Any]:
    r = httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/slot-alerts",
                   json={"service": SERVICE, "from": first, "to": last, "subscription": b.subscription(origin)})
    assert r.status_code == 201, r.text
    return dict(r.json())


def book(proc: ServerProcess, start_iso: str, hold: str | None = None, head: bool = False,
         service: str = SERVICE) -> httpx.Response:
    body: dict[str, Any] = {"service": service, "start": start_iso}
    if hold is not None:
        body["hold"] = hold
    return httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments", json=body,
                      headers=proc.auth("head", OFFICE) if head else None)


def listed(proc: ServerProcess, day: str) -> list[str]:
    r = httpx.get(f"{proc.url}/api/v1/offices/{OFFICE}/slots", params={"service": SERVICE, "date": day})
    assert r.status_code == 200, r.text
    return [s["start"] for s in r.json()]


def token_of(msg: dict[str, Any]) -> str:
    return str(parse_qs(urlsplit(msg["url"]).query)["hold"][0])


def test_freed_slots_held_in_turn_and_the_reminder_once(tmp_path: Path, receiver: Receiver) -> None:
    """One office's Monday, in three runs of the same data (the clock moved on each time): 08:00 subscribing, a
    cancellation held for the first subscriber, new Sunday hours; 18:00 the hold passed on, the reminder; 18:05 the
    hold still there, booked with its token, then public; the reminder not sent again."""
    monday = next_monday(8)
    tuesday = (monday + timedelta(days=1)).date().isoformat()
    wednesday = (monday + timedelta(days=2)).date().isoformat()
    sunday = (monday + timedelta(days=6)).date().isoformat()
    data = tmp_path / "data"
    first, second, other = receiver.browser("first"), receiver.browser("second"), receiver.browser("other")
    sun_gone, sun1 = receiver.browser("sun-gone"), receiver.browser("sun1")
    sun_gone.status = 410  # a browser that has since unsubscribed: its push service answers 410 Gone
    phone, cancelled = receiver.browser("phone"), receiver.browser("cancelled")

    proc = start(data, monday, receiver)  # ------------------------------------------------ Monday 08:00
    try:
        free = listed(proc, tuesday)
        ten, eleven = (next(s for s in free if f"T{h}:00" in s) for h in ("10", "11"))
        code = book(proc, ten, head=True).json()["code"]  # the 10:00 slot is full now
        assert ten not in listed(proc, tuesday)
        a = subscribe(proc, first, receiver.origin, tuesday, wednesday)
        b = subscribe(proc, second, receiver.origin, tuesday, tuesday)
        subscribe(proc, other, receiver.origin, wednesday, wednesday)  # its range does not cover Tuesday
        assert (a["place"], b["place"], a["hold_min"], a["hold"]) == (1, 2, 10.0, None)
        assert (a["from"], a["to"], a["service"]) == (tuesday, wednesday, SERVICE)
        refusals(proc, first.subscription(receiver.origin), monday)

        # the reminder the day before: asked for two bookings, one of them then cancelled (another service's:
        # its slot frees for nobody here)
        mine = book(proc, eleven).json()["code"]
        gone = book(proc, f"{tuesday}T12:00:00+02:00", service="residence-certificate").json()["code"]
        r = remind(proc, mine, phone, receiver.origin)
        assert r.status_code == 201, r.text
        assert r.json() == {"office": OFFICE, "code": mine, "remind_at": f"{monday.date().isoformat()}T18:00:00+02:00"}
        assert remind(proc, gone, cancelled, receiver.origin).status_code == 201
        assert httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments/{gone}/cancel").status_code == 200
        time.sleep(0.5)
        assert not first.messages, "free slots that were free already, and bookings, alert nobody"

        # a booking is cancelled: the first subscriber is told, and the slot is held for them
        assert httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments/{code}/cancel").status_code == 200
        msg = wait_for("the first subscriber's alert", lambda: first.messages)[0]
        assert not receiver.errors, receiver.errors
        assert set(msg) - {"_urgency", "_claims"} == SLOT_KEYS and msg["kind"] == "slot"
        assert msg["start"] == ten
        until = datetime.fromisoformat(msg["until"])
        assert timedelta(minutes=10) <= until - monday <= timedelta(minutes=11), (until, monday)  # 10 min hold
        day_month = datetime.fromisoformat(ten).strftime("%d.%m")
        assert msg["title"] == f"Звільнився час: {day_month} 10:00 / A slot is free: {day_month} 10:00"
        assert f"тримаємо для вас до {until:%H:%M}" in msg["body"]
        assert f"held for you until {until:%H:%M}" in msg["body"]
        hold1 = token_of(msg)
        assert msg["url"] == f"/book/{OFFICE}?hold={hold1}"
        time.sleep(0.3)
        assert not second.messages and not other.messages

        # held: the public listing leaves it out, another visitor cannot book it, the holder's link sees it
        assert ten not in listed(proc, tuesday)
        refused = book(proc, ten)
        assert refused.status_code == 409, refused.text
        assert "held until" in refused.json()["error"]["message"]
        assert book(proc, ten, head=True).status_code == 409, "the head's booking is refused too"
        hold = httpx.get(f"{proc.url}/api/v1/slot-holds/{hold1}").json()
        assert (hold["start"], hold["until"], hold["url"]) == (ten, msg["until"], msg["url"])
        assert 570 <= hold["seconds_left"] <= 600
        assert httpx.get(f"{proc.url}/api/v1/slot-alerts/{a['id']}").json()["hold"]["token"] == hold1

        # the head opens on Sundays (10:00-11:00, three slots): they freed. The first in the Sunday list is a
        # browser gone (410): it is dropped and its slot passes on; each subscriber holds one slot at a time
        gone = subscribe(proc, sun_gone, receiver.origin, sunday, sunday)
        s1 = subscribe(proc, sun1, receiver.origin, sunday, sunday)
        assert listed(proc, sunday) == []  # closed on Sundays
        hours = {d: "08:00-20:00" for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": "08:00-16:00",
                                                                                   "sun": "10:00-11:00"}
        r = httpx.put(f"{proc.url}/api/v1/offices/{OFFICE}/hours", json=hours, headers=proc.auth("head", OFFICE))
        assert r.status_code == 200, r.text
        got1 = wait_for("the alert for the new hours", lambda: sun1.messages)[0]
        assert got1["start"] == f"{sunday}T10:20:00+02:00", "10:00 went to the first in the list"
        wait_for("the gone browser dropped", lambda: httpx.get(
            f"{proc.url}/api/v1/slot-alerts/{gone['id']}").status_code == 404)
        assert sun_gone.posts == 1 and not receiver.errors, receiver.errors
        # 10:00 passed on to nobody (sun1 holds 10:20 already): public, with 10:40
        assert listed(proc, sunday) == [f"{sunday}T10:00:00+02:00", f"{sunday}T10:40:00+02:00"]
        # sun1 stops waiting: nobody left in the list may have their slot, so it is public at once
        assert httpx.delete(f"{proc.url}/api/v1/slot-alerts/{s1['id']}").status_code == 204
        assert httpx.delete(f"{proc.url}/api/v1/slot-alerts/{s1['id']}").status_code == 404
        assert got1["start"] in listed(proc, sunday) and len(sun1.messages) == 1
        assert not phone.messages, "no reminder before 18:00"
    finally:
        proc.stop()

    proc = start(data, monday.replace(hour=18, minute=0, second=2), receiver)  # ----------- Monday 18:00
    try:
        # the hold lapsed: the second subscriber has it now
        msg2 = wait_for("the second subscriber's alert", lambda: second.messages)[0]
        assert not receiver.errors, receiver.errors
        assert msg2["start"] == ten and len(first.messages) == 1
        hold2 = token_of(msg2)
        assert hold2 != hold1
        assert httpx.get(f"{proc.url}/api/v1/slot-holds/{hold1}").status_code == 404
        assert book(proc, ten, hold=hold1).status_code == 409, "a lapsed hold books nothing"
        assert ten not in listed(proc, tuesday)
        # and the reminder the day before, once
        msg = wait_for("the reminder", lambda: phone.messages)[0]
        assert not receiver.errors, receiver.errors
        assert msg["kind"] == "reminder" and msg["code"] == mine and msg["start"] == eleven
        assert msg["title"] == "Нагадування: завтра о 11:00 / Reminder: tomorrow at 11:00"
        assert mine in msg["body"] and msg["url"] == f"/book/{OFFICE}?code={mine}"
        time.sleep(1.2)
        assert len(phone.messages) == 1 and cancelled.posts == 0
    finally:
        proc.stop()
    with sqlite3.connect(data / "slot_alerts.sqlite3") as db:
        assert db.execute("SELECT code, sent FROM reminder").fetchall() == [(mine, 1)]
        assert db.execute("SELECT token FROM hold").fetchall() == [(hold2,)]

    proc = start(data, monday.replace(hour=18, minute=5), receiver)  # ------------------- a restart after it
    try:
        # the hold made at 18:00 stands across the restart; the holder books with the token and leaves the list
        assert httpx.get(f"{proc.url}/api/v1/slot-holds/{hold2}").json()["start"] == ten
        ok = book(proc, ten, hold=hold2)
        assert ok.status_code == 201, ok.text
        assert httpx.get(f"{proc.url}/api/v1/slot-alerts/{b['id']}").status_code == 404
        assert httpx.get(f"{proc.url}/api/v1/slot-holds/{hold2}").status_code == 404
        assert httpx.get(f"{proc.url}/api/v1/slot-alerts/{a['id']}").json()["hold"] is None
        # it frees again: the first subscriber was offered it once already, the second is gone, the third
        # watches another day: after the list, the slot is public
        again = ok.json()["code"]
        assert httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments/{again}/cancel").status_code == 200
        wait_for("the slot public again", lambda: ten in listed(proc, tuesday))
        assert book(proc, ten).status_code == 201
        late = remind(proc, mine, cancelled, receiver.origin)
        assert late.status_code == 409 and "18:00 the day before" in late.json()["error"]["message"]
        time.sleep(1.5)  # the ticks since the start: the reminder sent before the restart is not sent again
        assert len(phone.messages) == 1, "the reminder was sent again after a restart"
        assert (len(first.messages), len(second.messages), len(other.messages)) == (1, 1, 0)
    finally:
        proc.stop()
    with sqlite3.connect(data / "slot_alerts.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM hold").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM watch").fetchone() == (2,)  # first, other

def remind(proc: ServerProcess, code: str, b: Browser, origin: str) -> httpx.Response:
    return httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments/{code}/reminder",
                      json={"subscription": b.subscription(origin)})


def refusals(proc: ServerProcess, sub: dict[str, Any], monday: datetime) -> None:
    """Bad requests are refused with what was wrong (and use none of the address's quota)."""
    day = (monday + timedelta(days=1)).date().isoformat()

    def refused(body: dict[str, Any]) -> tuple[int, str]:
        r = httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/slot-alerts",
                       json={"service": SERVICE, "from": day, "to": day, "subscription": sub, **body})
        return r.status_code, r.json()["error"]["message"]

    code, words = refused({"to": monday.date().isoformat()})
    assert code == 400 and "before" in words
    code, words = refused({"to": (monday + timedelta(days=60)).date().isoformat()})
    assert code == 400 and "31 days" in words
    code, words = refused({"service": "no-such"})
    assert code == 404 and "not offered" in words
    code, words = refused({"subscription": {**sub, "endpoint": "http://10.0.0.9/x"}})
    assert code == 400 and "https" in words
    assert refused({"from": "07.12.2026"})[0] == 400


def test_the_hold_and_the_reminder_hour_are_set_per_office_and_checked(tmp_path: Path) -> None:
    assert {(o.slot_hold_min, o.reminder_hour) for o in load_network(None).offices.values()} == {(10.0, 18)}
    net = load_network(_network_with(tmp_path, "slot_hold_min = 5\nreminder_hour = 9"))
    assert (net.offices["main"].slot_hold_min, net.offices["main"].reminder_hour) == (5.0, 9)
    assert net.offices["zamostia"].slot_hold_min == 10.0
    for bad, where, words in (("slot_hold_min = 0", "slot_hold_min", "at least 1 minutes"),
                              ("slot_hold_min = 121", "slot_hold_min", "at most 120"),
                              ('slot_hold_min = "10"', "slot_hold_min", "expected a number"),
                              ("reminder_hour = 24", "reminder_hour", "0 to 23"),
                              ("reminder_hour = 18.5", "reminder_hour", "whole hour")):
        with pytest.raises(ConfigError) as err:
            load_network(_network_with(tmp_path, bad))
        assert f"office[0].{where}" in err.value.message and words in err.value.message, err.value.message
