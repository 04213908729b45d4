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
from test_push import Browser, Receiver

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


def book(proc: ServerProcess, start_iso: str, hold: str | None = None, head: bool = False) -> httpx.Response:
    body: dict[str, Any] = {"service": SERVICE, "start": start_iso}
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


def test_a_freed_slot_is_held_for_the_subscribers_in_turn(tmp_path: Path, receiver: Receiver) -> None:
    monday = next_monday(8)
    tuesday = (monday + timedelta(days=1)).date().isoformat()
    wednesday = (monday + timedelta(days=2)).date().isoformat()
    data = tmp_path / "data"
    proc = start(data, monday, receiver)
    try:
        ten = next(s for s in listed(proc, tuesday) if "T10:00" in s)
        code = book(proc, ten, head=True).json()["code"]  # the 10:00 slot is full now
        assert ten not in listed(proc, tuesday)
        first, second, other = receiver.browser("first"), receiver.browser("second"), receiver.browser("other")
        a = subscribe(proc, first, receiver.origin, tuesday, wednesday)
        b = subscribe(proc, second, receiver.origin, tuesday, tuesday)
        subscribe(proc, other, receiver.origin, wednesday, wednesday)  # its range does not cover Tuesday
        assert (a["place"], b["place"], a["hold_min"], a["hold"]) == (1, 2, 10.0, None)
        assert (a["from"], a["to"], a["service"]) == (tuesday, wednesday, SERVICE)
        time.sleep(0.5)
        assert not first.messages, "free slots that were free already alert nobody"

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
    finally:
        proc.stop()

    # eleven minutes on (a restart with the clock moved): the hold lapsed; the second subscriber has it now
    proc = start(data, monday + timedelta(minutes=11), receiver)
    try:
        msg2 = wait_for("the second subscriber's alert", lambda: second.messages)[0]
        assert not receiver.errors, receiver.errors
        assert msg2["start"] == ten and len(first.messages) == 1
        hold2 = token_of(msg2)
        assert hold2 != hold1
        assert httpx.get(f"{proc.url}/api/v1/slot-holds/{hold1}").status_code == 404
        assert book(proc, ten, hold=hold1).status_code == 409, "a lapsed hold books nothing"
        assert ten not in listed(proc, tuesday)
        assert httpx.get(f"{proc.url}/api/v1/slot-holds/{hold2}").json()["start"] == ten
        # the holder books with the token and leaves the list
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
        time.sleep(0.3)
        assert (len(first.messages), len(second.messages), len(other.messages)) == (1, 1, 0)
        assert book(proc, ten).status_code == 201
        # stopping: DELETE, then it is gone
        assert httpx.delete(f"{proc.url}/api/v1/slot-alerts/{a['id']}").status_code == 204
        assert httpx.delete(f"{proc.url}/api/v1/slot-alerts/{a['id']}").status_code == 404
    finally:
        proc.stop()
    with sqlite3.connect(data / "slot_alerts.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM hold").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM watch").fetchone() == (1,)  # the Wednesday one waits on


def test_new_hours_release_slots_and_a_stopped_holder_passes_it_on(tmp_path: Path, receiver: Receiver) -> None:
    """The head opens the office on a Sunday: its slots freed. The subscriber who stops while holding one hands
    it to the next at once."""
    monday = next_monday(8)
    sunday = (monday + timedelta(days=6)).date().isoformat()
    proc = start(tmp_path / "data", monday, receiver)
    try:
        assert listed(proc, sunday) == []  # closed on Sundays
        first, second = receiver.browser("first"), receiver.browser("second")
        a = subscribe(proc, first, receiver.origin, sunday, sunday)
        subscribe(proc, second, receiver.origin, sunday, sunday)
        hours = {d: "08:00-20:00" for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": "08:00-16:00",
                                                                                   "sun": "10:00-11:00"}
        r = httpx.put(f"{proc.url}/api/v1/offices/{OFFICE}/hours", json=hours, headers=proc.auth("head", OFFICE))
        assert r.status_code == 200, r.text
        got = wait_for("the alert for the new hours", lambda: first.messages)
        assert "T10:00" in got[0]["start"] and got[0]["start"].startswith(sunday)
        # each subscriber holds one slot at a time: the second gets the next slot the new hours made
        second_got = wait_for("the second's alert", lambda: second.messages)
        assert second_got[0]["start"] != got[0]["start"] and second_got[0]["start"].startswith(sunday)
        assert not receiver.errors, receiver.errors
        public = listed(proc, sunday)
        assert got[0]["start"] not in public and second_got[0]["start"] not in public
        # the first stops waiting: their slot has nobody left in the list, so it is public at once
        assert httpx.delete(f"{proc.url}/api/v1/slot-alerts/{a['id']}").status_code == 204
        assert got[0]["start"] in listed(proc, sunday)
        # bad requests are refused with what was wrong
        def refused(body: dict[str, Any]) -> tuple[int, str]:
            r = httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/slot-alerts",
                           json={"service": SERVICE, "from": sunday, "to": sunday,
                                 "subscription": first.subscription(receiver.origin), **body})
            return r.status_code, r.json()["error"]["message"]
        assert refused({"to": monday.date().isoformat()})[0] == 400
        assert refused({"to": (monday + timedelta(days=60)).date().isoformat()})[0] == 400
        code, words = refused({"service": "no-such"})
        assert code == 404 and "not offered" in words
    finally:
        proc.stop()


def test_the_reminder_goes_once_the_day_before(tmp_path: Path, receiver: Receiver) -> None:
    monday = next_monday(8)
    tuesday = (monday + timedelta(days=1)).date().isoformat()
    data = tmp_path / "data"
    proc = start(data, monday, receiver)
    phone, gone = receiver.browser("phone"), receiver.browser("cancelled")
    try:
        free = listed(proc, tuesday)
        ten, eleven = (next(s for s in free if f"T{h}:00" in s) for h in ("10", "11"))
        code = book(proc, ten).json()["code"]
        other = book(proc, eleven).json()["code"]
        r = httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments/{code}/reminder",
                       json={"subscription": phone.subscription(receiver.origin)})
        assert r.status_code == 201, r.text
        assert r.json() == {"office": OFFICE, "code": code, "remind_at": f"{monday.date().isoformat()}T18:00:00+02:00"}
        assert httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments/{other}/reminder",
                          json={"subscription": gone.subscription(receiver.origin)}).status_code == 201
        # the second booking is cancelled: its reminder goes with it
        assert httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments/{other}/cancel").status_code == 200
        time.sleep(1.5)
        assert not phone.messages, "not before 18:00"
    finally:
        proc.stop()
    proc = start(data, monday.replace(hour=18, minute=0, second=2), receiver)
    try:
        msg = wait_for("the reminder", lambda: phone.messages)[0]
        assert not receiver.errors, receiver.errors
        assert msg["kind"] == "reminder" and msg["code"] == code and msg["start"] == ten
        assert msg["title"] == "Нагадування: завтра о 10:00 / Reminder: tomorrow at 10:00"
        assert code in msg["body"] and msg["url"] == f"/book/{OFFICE}?code={code}"
        time.sleep(1.5)
        assert len(phone.messages) == 1 and gone.posts == 0
    finally:
        proc.stop()
    with sqlite3.connect(data / "slot_alerts.sqlite3") as db:
        assert db.execute("SELECT code, sent FROM reminder").fetchall() == [(code, 1)]
    proc = start(data, monday.replace(hour=18, minute=5), receiver)  # a restart after it was sent
    try:
        time.sleep(2.5)  # two ticks and more
        assert len(phone.messages) == 1, "the reminder was sent again after a restart"
        late = httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments/{code}/reminder",
                          json={"subscription": gone.subscription(receiver.origin)})
        assert late.status_code == 409 and "18:00 the day before" in late.json()["error"]["message"]
    finally:
        proc.stop()
