"""The audit trail (API.md 1.1, issue 14.4 and 14.6): every sign-in, failed sign-in, sign-out, password and staff
change, policy change, alert and registries switch, and desk command is recorded with who, which role, from which
device, and when; the head filters it by person, desk, kind and time and exports CSV; nothing in it names a visitor;
the API cannot write or erase it. Against a real ``cherga serve``; the store itself on SQLite and a real Redis.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis_server import RedisServer
from server import ServerProcess

from cherga.displays.accounts import COOKIE, StaffStore
from cherga.displays.audit import AuditStore, RedisAuditStore
from cherga.engine.loader import load_network
from cherga.errors import JournalError

POLICY = {"order": ["vulnerable", "special", "quick", "seasonal", "acceptance", "issuance", "consultation"],
          "max_wait_min": {}}
PASSWORDS = {"anna": "anna-head-secret", "olha": "olha-admin-secret", "zoya": "zoya-head-secret"}


@pytest.fixture(params=["sqlite", "redis"])
def trail(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    if request.param == "sqlite":
        a = AuditStore(tmp_path / "data")
        yield a
        a.close()
        return
    server = RedisServer(tmp_path / "redis").start()
    try:
        r = RedisAuditStore(server.url)
        yield r
        r.close()
    finally:
        server.kill()


def test_store_appends_filters_and_keeps_time_order(trail: AuditStore) -> None:
    trail.record("main", "anna", "head", None, "session.signin", None, at=100.0)
    trail.record("main", "d3", "desk", "d3", "desk.call_next", "T1", at=200.0, desk="main-03")
    trail.record("main", "olha", "administrator", None, "desk.open", "main-04", at=150.0, desk="main-04")
    trail.record("zamostia", "zoya", "head", None, "session.signin", None, at=120.0)
    trail.record(None, "ghost", "unknown", None, "session.signin_failed", None, at=130.0)
    assert [r.at for r in trail.query("main")] == [100.0, 150.0, 200.0]
    assert [r.who for r in trail.query("main", 120.0, 200.0)] == ["olha"]  # from inclusive, to exclusive
    assert [r.who for r in trail.query("main", action="desk")] == ["olha", "d3"]  # a kind: the prefix
    assert [r.who for r in trail.query("main", action="desk.open")] == ["olha"]
    assert [r.who for r in trail.query("main", desk="main-03")] == ["d3"]
    assert [r.who for r in trail.query("main", who="anna")] == ["anna"]
    assert [r.who for r in trail.query(None)] == ["ghost"]
    row = trail.query("main", desk="main-03")[0]
    assert (row.office, row.role, row.device, row.target) == ("main", "desk", "d3", "T1")


def test_the_sqlite_file_itself_refuses_to_change_or_lose_a_row(tmp_path: Path) -> None:
    a = AuditStore(tmp_path / "data")
    a.record("main", "anna", "head", None, "session.signin", None)
    a.close()
    conn = sqlite3.connect(tmp_path / "data" / "audit.sqlite3")
    for sql in ("DELETE FROM audit", "UPDATE audit SET who = 'someone else'"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    assert conn.execute("SELECT who FROM audit").fetchall() == [("anna",)]


# ---------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("audit") / "data"
    store = StaffStore(data)
    net = load_network(None)
    store.add(net, "anna", "head", PASSWORDS["anna"], "main")
    store.add(net, "olha", "administrator", PASSWORDS["olha"], "main")
    store.add(net, "zoya", "head", PASSWORDS["zoya"], "zamostia")
    store.close()
    p = ServerProcess(data).start()
    yield p
    p.stop()


def session(proc: ServerProcess, login: str) -> httpx.Client:
    r = httpx.post(f"{proc.url}/api/v1/session", json={"login": login, "password": PASSWORDS[login]})
    assert r.status_code == 200, r.text
    return httpx.Client(base_url=proc.url, cookies={COOKIE: r.cookies[COOKIE]},
                        headers={"X-CSRF-Token": r.json()["csrf"]}, timeout=30)


def ok(r: httpx.Response, *codes: int) -> httpx.Response:
    assert r.status_code in (codes or (200,)), f"{r.request.method} {r.request.url} -> {r.status_code} {r.text}"
    return r


@pytest.fixture(scope="module")
def day(proc: ServerProcess) -> dict[str, Any]:
    """A short day: sign-ins (one failed), desk work by a device token and by an administrator signed in, the
    head's policy, alert, registries and staff changes, a password change and a sign-out."""
    u = proc.url
    head = proc.auth("head", "main")
    desk = proc.auth("desk", "main", "main-03")
    t0 = time.time()
    failed = httpx.post(f"{u}/api/v1/session", json={"login": "anna", "password": "not-her-secret"})
    assert failed.status_code == 401
    httpx.post(f"{u}/api/v1/session", json={"login": "nobody-here", "password": "whatever-it-is"})
    tickets: list[str] = []

    def issue() -> str:
        t = str(ok(httpx.post(f"{u}/api/v1/offices/main/tickets", json={"service": "residence-certificate"},
                              headers=head), 201).json()["id"])
        tickets.append(t)
        return t

    d = f"{u}/api/v1/desks/main-03"
    ok(httpx.post(f"{d}/open", headers=desk))
    issue()
    ok(httpx.post(f"{d}/call-next", headers=desk))
    ok(httpx.post(f"{d}/recall", headers=desk))
    ok(httpx.post(f"{d}/start", headers=desk))
    ok(httpx.post(f"{d}/finish", json={"outcome": "served"}, headers=desk))
    issue()
    ok(httpx.post(f"{d}/call-next", headers=desk))
    ok(httpx.post(f"{d}/no-show", headers=desk))
    issue()
    ok(httpx.post(f"{d}/call-next", headers=desk))
    ok(httpx.post(f"{d}/transfer", json={"service": "residence-certificate", "position": "end"}, headers=desk))
    ok(httpx.post(f"{d}/pause", headers=desk))
    ok(httpx.post(f"{d}/resume", headers=desk))
    ok(httpx.post(f"{d}/close", headers=desk))
    with session(proc, "olha") as olha:
        ok(olha.post("/api/v1/desks/main-04/open"))
        ok(olha.post("/api/v1/desks/main-04/call-next"), 200, 204)
        ok(olha.post("/api/v1/desks/main-04/close"), 200, 409)
    with session(proc, "anna") as anna:
        ok(anna.put("/api/v1/offices/main/policy", json=POLICY))
        ok(anna.post("/api/v1/offices/main/alert", json={"active": True}))
        ok(anna.post("/api/v1/offices/main/alert", json={"active": False, "resume_after_min": 0}))
        ok(anna.post("/api/v1/offices/main/registries", json={"available": False}))
        ok(anna.post("/api/v1/offices/main/registries", json={"available": True}))
        ok(anna.post("/api/v1/offices/main/staff", json={"login": "ivan", "role": "administrator",
                                                          "password": "ivan-start-pass"}), 201)
        ok(anna.patch("/api/v1/staff/ivan", json={"active": False}))
        ok(anna.put("/api/v1/staff/ivan/password", json={"password": "ivan-reset-pass"}), 204)
        ok(anna.delete("/api/v1/staff/ivan"), 204)
        ok(anna.put("/api/v1/session/password", json={"current": PASSWORDS["anna"], "new": "anna-new-secret"}), 204)
        ok(anna.delete("/api/v1/session"), 204)
    PASSWORDS["anna"] = "anna-new-secret"
    return {"t0": t0, "t1": time.time(), "tickets": tickets, "desk_key": proc.token("desk", "main", "main-03")}


def rows(proc: ServerProcess, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{proc.url}/api/v1/offices/main/audit", params=params, headers=proc.auth("head", "main"))
    assert r.status_code == 200, r.text
    return list(r.json())


def test_every_kind_is_recorded_with_who_role_device_and_when(proc: ServerProcess, day: dict[str, Any]) -> None:
    got = rows(proc)
    actions = [r["action"] for r in got]
    for kind in ("session.signin", "session.signin_failed", "session.signout", "staff.password_change",
                 "staff.add", "staff.disable", "staff.password_reset", "staff.remove", "policy.change",
                 "alert.on", "alert.off", "registries.unavailable", "registries.available",
                 "desk.open", "desk.call_next", "desk.recall", "desk.start", "desk.finish_served", "desk.no_show",
                 "desk.transfer", "desk.pause", "desk.resume", "desk.close"):
        assert kind in actions, f"{kind} is not in the trail: {sorted(set(actions))}"
    for r in got:
        assert set(r) >= {"at", "who", "role", "action", "target"}
        at = datetime.fromisoformat(r["at"]).timestamp()
        assert day["t0"] - 1 <= at <= time.time() + 1, r  # when
    failed = next(r for r in got if r["action"] == "session.signin_failed")
    assert (failed["who"], failed["role"], failed["device"]) == ("anna", "head", None)
    # a desk command by a device token: the device, its role and the ticket it moved
    call = next(r for r in got if r["action"] == "desk.call_next" and r["desk"] == "main-03")
    assert call["role"] == "desk" and call["device"] and call["who"] == call["device"]
    assert call["target"] == day["tickets"][0]
    assert next(r for r in got if r["action"] == "desk.open" and r["desk"] == "main-03")["target"] == "main-03"
    # ... and by an administrator signed in: their login and role, no device
    mine = [r for r in got if r["who"] == "olha"]
    assert {r["action"] for r in mine} >= {"session.signin", "desk.open"}
    assert all(r["role"] == "administrator" and r["device"] is None for r in mine)
    policy = next(r for r in got if r["action"] == "policy.change")
    assert (policy["who"], policy["role"]) == ("anna", "head")
    assert [r["at"] for r in got] == sorted(r["at"] for r in got)


def test_nothing_in_it_names_a_visitor_or_holds_a_password(proc: ServerProcess, day: dict[str, Any]) -> None:
    text = httpx.get(f"{proc.url}/api/v1/offices/main/audit?format=csv", headers=proc.auth("head", "main")).text
    text += str(rows(proc))
    for secret in ("not-her-secret", "anna-head-secret", "anna-new-secret", "ivan-start-pass", "ivan-reset-pass",
                   "olha-admin-secret", "whatever-it-is"):
        assert secret not in text
    # no ticket number ("A017") either: what a visitor was called by is not a record of staff work
    for r in rows(proc):
        assert set(r) <= {"at", "who", "role", "action", "target", "device", "office", "desk"}
    # an unknown login's failure belongs to no office: this office's head does not see strangers' guesses
    assert "nobody-here" not in text


def test_filters_by_person_desk_kind_and_time(proc: ServerProcess, day: dict[str, Any]) -> None:
    assert {r["who"] for r in rows(proc, who="olha")} == {"olha"}
    desk3 = rows(proc, desk="main-03")
    assert desk3 and {r["desk"] for r in desk3} == {"main-03"}
    assert {r["action"] for r in rows(proc, action="session")} >= {"session.signin", "session.signout"}
    assert {r["action"] for r in rows(proc, action="desk.no_show")} == {"desk.no_show"}
    both = rows(proc, who="olha", action="desk")
    assert both and all(r["who"] == "olha" and r["action"].startswith("desk.") for r in both)
    everything = rows(proc)
    middle = everything[len(everything) // 2]["at"]
    later = rows(proc, **{"from": middle})
    assert later and all(r["at"] >= middle for r in later) and len(later) < len(everything)
    earlier = rows(proc, to=middle)
    assert all(r["at"] < middle for r in earlier)
    assert len(earlier) + len(later) == len(everything)
    assert rows(proc, **{"from": "2001-01-01", "to": "2001-01-02"}) == []
    today = datetime.fromisoformat(middle).date().isoformat()
    assert len(rows(proc, **{"from": today, "to": today})) == len(everything)  # a bare date: the whole day
    bad = httpx.get(f"{proc.url}/api/v1/offices/main/audit", params={"from": "yesterday"},
                    headers=proc.auth("head", "main"))
    assert bad.status_code == 400 and "ISO" in bad.json()["error"]["message"]


def test_csv_export(proc: ServerProcess, day: dict[str, Any]) -> None:
    head = proc.auth("head", "main")
    r = httpx.get(f"{proc.url}/api/v1/offices/main/audit", params={"format": "csv", "desk": "main-03"}, headers=head)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert table and list(table[0]) == ["at", "office", "who", "role", "device", "action", "target", "desk"]
    assert [x["action"] for x in table] == [x["action"] for x in rows(proc, desk="main-03")]
    by_accept = httpx.get(f"{proc.url}/api/v1/offices/main/audit", headers={**head, "Accept": "text/csv"})
    assert by_accept.text.startswith("at,office,who")


def test_only_the_office_head_reads_it(proc: ServerProcess, day: dict[str, Any]) -> None:
    url = f"{proc.url}/api/v1/offices/main/audit"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=proc.auth("head", "zamostia")).status_code == 403
    assert httpx.get(url, headers=proc.auth("desk", "main", "main-03")).status_code == 403
    with session(proc, "olha") as olha:
        assert olha.get("/api/v1/offices/main/audit").status_code == 403
    with session(proc, "zoya") as zoya:
        assert zoya.get("/api/v1/offices/main/audit").status_code == 403
        assert zoya.get("/api/v1/offices/zamostia/audit").status_code == 200
    with session(proc, "anna") as anna:  # a head signed in reads it as a head token does
        assert len(anna.get("/api/v1/offices/main/audit").json()) >= len(rows(proc)) - 1


def test_the_api_cannot_write_or_erase_it(proc: ServerProcess, day: dict[str, Any]) -> None:
    before = rows(proc)
    url = f"{proc.url}/api/v1/offices/main/audit"
    head = proc.auth("head", "main")
    with session(proc, "anna") as anna:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            for client, headers in ((httpx, head), (anna, {})):
                r = client.request(method, url, json={"who": "anna", "action": "nothing"}, headers=headers)
                assert r.status_code == 405, (method, r.status_code, r.text)
                assert "GET" in r.headers.get("allow", "")
        paths = [p for p in httpx.get(f"{proc.url}/openapi.json").json()["paths"] if "audit" in p]
        assert paths == ["/api/v1/offices/{office}/audit"]
        assert set(httpx.get(f"{proc.url}/openapi.json").json()["paths"][paths[0]]) == {"get"}
    after = rows(proc)
    assert after[:len(before)] == before  # the rows stay, unchanged (the sign-in just now is added after them)


def test_redis_trail_away_neither_fails_nor_loses_a_row(tmp_path: Path) -> None:
    """A desk's command is durable before its row is recorded: while Redis is away, recording must not raise (the
    desk would see a 500 for a call that happened); the rows wait and are written in order once Redis is back."""
    server = RedisServer(tmp_path / "redis").start()
    trail = RedisAuditStore(server.url)
    try:
        trail.record("main", "anna", "head", None, "session.signin", None, at=100.0)
        assert trail.flush(5.0)
        server.kill()
        for k in range(30):
            trail.record("main", "d3", "desk", "d3", "desk.call_next", f"A{k:03d}", at=200.0 + k, desk="main-03")
        assert not trail.flush(0.5), "Redis is away: the rows cannot have been written"
        with pytest.raises(JournalError, match="does not answer"):
            trail.query("main")
        server.start()
        assert trail.flush(15.0), "the rows were not written after Redis came back"
        rows = trail.query("main")
        assert [r.target for r in rows] == [None, *(f"A{k:03d}" for k in range(30))]
        assert trail.dropped == 0
        fresh = RedisAuditStore(server.url)  # another process of the region reads the same trail
        try:
            assert len(fresh.query("main", action="desk")) == 30
        finally:
            fresh.close()
    finally:
        trail.close()
        server.kill()
