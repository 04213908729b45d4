"""The visitor's side over the real service: booking → check-in → called at the slot; ratings from the desk
tablet, the exit tablet and the phone; the administrator's code reaching the ratings but no public screen."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from server import ServerProcess

KYIV = ZoneInfo("Europe/Kyiv")


def offset_to(target: datetime) -> float:
    return target.timestamp() - time.time()


def next_monday(hour: int, minute: int) -> datetime:
    today = datetime.now(KYIV).date()
    day = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=KYIV)


def test_booked_visitor_is_called_at_the_slot_ahead_of_walk_ins(tmp_path: Path) -> None:
    data = tmp_path / "data"
    nine_fifty = next_monday(9, 50)
    proc = ServerProcess(data, extra=["--time-offset", str(offset_to(nine_fifty))]).start()
    service = "residence-registration"
    try:
        u = proc.url
        slots = httpx.get(f"{u}/api/v1/offices/main/slots", params={"service": service}).json()
        ten = next(s for s in slots if s["start"].startswith(nine_fifty.date().isoformat() + "T10:00"))
        code = httpx.post(f"{u}/api/v1/offices/main/appointments",
                          json={"service": service, "start": ten["start"]}).json()["code"]
        # the slot is taken now: the same start is refused
        taken = httpx.post(f"{u}/api/v1/offices/main/appointments", json={"service": service, "start": ten["start"]})
        assert taken.status_code in (201, 409)  # capacity may allow a second booking; never a third beyond it
        kiosk = proc.auth("kiosk", "main")
        walk_ins = [httpx.post(f"{u}/api/v1/offices/main/tickets", json={"service": service}, headers=kiosk).json()
                    for _ in range(3)]
        booked = httpx.post(f"{u}/api/v1/offices/main/check-in", json={"code": code}, headers=kiosk)
        assert booked.status_code == 201, booked.text
        booked_ticket = booked.json()
        head = proc.auth("head", "main")
        desk = next(d["id"] for d in httpx.get(f"{u}/api/v1/offices").json()[0]["desks"] if service in d["services"])
        httpx.post(f"{u}/api/v1/desks/{desk}/open", headers=head)
        first = httpx.post(f"{u}/api/v1/desks/{desk}/call-next", headers=head).json()
        assert first["id"] == walk_ins[0]["id"]  # before its slot the booked visitor waits like anyone
        httpx.post(f"{u}/api/v1/desks/{desk}/finish", headers=head)
    finally:
        proc.stop()
    # ten o'clock: the same service restarted on the same journal with its clock at 10:01
    proc = ServerProcess(data, extra=["--time-offset", str(offset_to(nine_fifty + timedelta(minutes=11)))]).start()
    try:
        head = proc.auth("head", "main")
        called = httpx.post(f"{proc.url}/api/v1/desks/{desk}/call-next", headers=head).json()
        assert called["id"] == booked_ticket["id"], "the booked visitor goes first at the slot time"
        again = httpx.post(f"{proc.url}/api/v1/offices/main/check-in", json={"code": code}, headers=head)
        assert again.status_code == 409 and "already" in again.json()["error"]["message"]
    finally:
        proc.stop()


def test_ratings_from_desk_tablet_exit_tablet_and_phone(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        u = proc.url
        desk = proc.auth("desk", "main", "main-13")
        kiosk = proc.auth("kiosk", "main")
        exit_tablet = proc.auth("kiosk", "main")
        r = httpx.post(f"{u}/api/v1/desks/main-13/open", json={"staff": "adm-042"}, headers=desk)
        assert r.status_code == 200
        assert httpx.get(f"{u}/api/v1/desks/main-13/last-finished", headers=desk).status_code == 204
        tickets = []
        for _ in range(3):
            t = httpx.post(f"{u}/api/v1/offices/main/tickets", json={"service": "vehicle-registration"},
                           headers=kiosk).json()
            httpx.post(f"{u}/api/v1/desks/main-13/call-next", headers=desk)
            httpx.post(f"{u}/api/v1/desks/main-13/finish", json={"outcome": "served"}, headers=desk)
            tickets.append(t)
        # the desk tablet rates the ticket the desk finished last
        last = httpx.get(f"{u}/api/v1/desks/main-13/last-finished", headers=desk).json()
        assert last["id"] == tickets[-1]["id"] and last["can_rate"]
        assert httpx.post(f"{u}/api/v1/tickets/{last['id']}/rating", json={"score": "good"}).status_code == 201
        # the exit tablet: by today's number
        r = httpx.post(f"{u}/api/v1/offices/main/ratings", json={"number": tickets[0]["number"], "score": "bad"},
                       headers=exit_tablet)
        assert r.status_code == 201, r.text
        again = httpx.post(f"{u}/api/v1/offices/main/ratings",
                           json={"number": tickets[0]["number"], "score": "good"}, headers=exit_tablet)
        assert again.status_code == 409
        assert httpx.post(f"{u}/api/v1/offices/main/ratings", json={"number": "Z999", "score": "good"},
                          headers=exit_tablet).status_code == 404
        assert httpx.post(f"{u}/api/v1/offices/main/ratings", json={"number": tickets[1]["number"],
                                                                     "score": "good"}).status_code == 401
        # the phone: by the ticket's secret id
        assert httpx.post(f"{u}/api/v1/tickets/{tickets[1]['id']}/rating",
                          json={"score": "exemplary"}).status_code == 201
        summary = httpx.get(f"{u}/api/v1/offices/main/ratings").json()["today"]
        assert summary == {"bad": 1, "good": 1, "exemplary": 1}
        # the administrator's code reaches the journal for the reports, and no public answer
        assert "adm-042" not in httpx.get(f"{u}/api/v1/offices/main/state").text
        assert "adm-042" not in httpx.get(f"{u}/api/v1/tickets/{tickets[0]['id']}").text
    finally:
        proc.stop()
    conn = sqlite3.connect(tmp_path / "data" / "journal.sqlite3")
    rated = [row[0] for row in conn.execute("SELECT body FROM events WHERE type = 'TicketRated'")]
    assert len(rated) == 3 and all('"staff":"adm-042"' in body for body in rated)
