"""Wartime over HTTP against a real ``cherga serve`` (API.md 1.1 "Wartime"): the three calls, idempotency, the 409s,
state's ``alert``, the board's ``alert`` message, the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from typing import Any

import httpx
import pytest
from board_schema import check_board_message, check_stream
from server import ServerProcess
from websockets.sync.client import connect


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Any:
    p = ServerProcess(tmp_path_factory.mktemp("wartime") / "data").start()
    yield p
    p.stop()


def test_alert_calls_state_board_and_409s(proc: ServerProcess) -> None:
    u, head, alerts = proc.url, proc.auth("head", "zamostia"), proc.auth("alerts")
    o = f"{u}/api/v1/offices/zamostia"
    office = next(x for x in httpx.get(f"{u}/api/v1/offices").json() if x["id"] == "zamostia")
    desk_id = next(d["id"] for d in office["desks"] if "residence-certificate" in d["services"])
    httpx.post(f"{u}/api/v1/desks/{desk_id}/open", headers=head).raise_for_status()
    waiting = [httpx.post(f"{o}/tickets", json={"service": "residence-certificate"}, headers=head).json()
               for _ in range(3)]
    with connect(f"{proc.ws_url}/ws/offices/zamostia/board") as ws:
        snap = json.loads(ws.recv(timeout=10))
        assert snap["alert"] == {"active": False, "since": None, "resumes_at": None}
        r = httpx.post(f"{o}/alert", json={"active": True}, headers=alerts)
        assert r.status_code == 200, r.text
        on = r.json()
        assert on["office"] == "zamostia" and on["active"] is True and on["resumes_at"] is None
        assert httpx.post(f"{o}/alert", json={"active": True}, headers=alerts).json() == on  # twice: no change
        msg = json.loads(ws.recv(timeout=10))
        check_board_message(msg)
        seen = [snap, msg]
        assert msg == {"type": "alert", "seq": snap["seq"] + 1, "active": True, "resumes_at": None}
        state = httpx.get(f"{o}/state").json()
        assert state["alert"] == {"active": True, "since": on["since"], "resumes_at": None}
        assert state["seq"] == msg["seq"]  # the second call added no event
        for r in (httpx.post(f"{o}/tickets", json={"service": "residence-certificate"}, headers=head),
                  httpx.post(f"{u}/api/v1/desks/{desk_id}/call-next", headers=head)):
            assert r.status_code == 409 and r.json()["error"]["code"] == "alert", r.text
            assert "shelter" in r.json()["error"]["message"]
        desk = httpx.get(f"{u}/api/v1/desks/{desk_id}", headers=head).json()
        assert "call_next" not in desk["actions"] and "close" in desk["actions"]
        off = httpx.post(f"{o}/alert", json={"active": False, "resume_after_min": 12}, headers=alerts).json()
        since, resumes = datetime.fromisoformat(off["since"]), datetime.fromisoformat(off["resumes_at"])
        assert off["active"] is False and since == datetime.fromisoformat(on["since"])
        msg = json.loads(ws.recv(timeout=10))
        check_board_message(msg)
        seen.append(msg)
        assert msg["type"] == "alert" and msg["active"] is False and msg["resumes_at"] == off["resumes_at"]
        assert (resumes - datetime.now(resumes.tzinfo)).total_seconds() == pytest.approx(12 * 60, abs=5)
        r = httpx.post(f"{u}/api/v1/desks/{desk_id}/call-next", headers=head)
        assert r.status_code == 409 and "resumes at" in r.json()["error"]["message"]
        # resume at once: the first waiting ticket is called, nobody lost or renumbered
        httpx.post(f"{o}/alert", json={"active": True}, headers=head).raise_for_status()
        httpx.post(f"{o}/alert", json={"active": False, "resume_after_min": 0}, headers=head).raise_for_status()
        called = httpx.post(f"{u}/api/v1/desks/{desk_id}/call-next", headers=head).json()
        assert (called["id"], called["number"]) == (waiting[0]["id"], waiting[0]["number"])
        seen += [json.loads(ws.recv(timeout=10)) for _ in range(3)]  # on, off, the call
        for m in seen:
            check_board_message(m)
        check_stream(seen)
        assert [m["type"] for m in seen] == ["snapshot", "alert", "alert", "alert", "alert", "called"]


def test_bad_bodies_are_400_and_change_nothing(proc: ServerProcess) -> None:
    o, head = f"{proc.url}/api/v1/offices/vyshenka", proc.auth("head", "vyshenka")
    seq = httpx.get(f"{o}/state").json()["seq"]
    for body in ({"active": "yes"}, {"active": False, "resume_after_min": -3}, {"active": True, "extra": 1}, {}):
        r = httpx.post(f"{o}/alert", json=body, headers=head)
        assert r.status_code == 400 and r.json()["error"]["message"], (body, r.text)
    assert httpx.post(f"{proc.url}/api/v1/offices/nowhere/alert", json={"active": True},
                      headers=head).status_code == 404
    assert httpx.post(f"{proc.url}/api/v1/regions/nowhere/alert", json={"active": True},
                      headers=proc.auth("network")).status_code == 404
    assert httpx.get(f"{o}/state").json()["seq"] == seq


def test_registries_and_region(proc: ServerProcess) -> None:
    u, net = proc.url, proc.auth("network")
    o = f"{u}/api/v1/offices/main"
    head = proc.auth("head", "main")
    assert httpx.post(f"{o}/registries", json={"available": False}, headers=net).json() == {"available": False}
    assert httpx.get(f"{o}/state").json()["registries"] == {"available": False}
    main = next(x for x in httpx.get(f"{u}/api/v1/offices").json() if x["id"] == "main")
    svc = {s["id"]: s for s in main["services"]}
    assert svc["passport-foreign"]["available"] is False and svc["residence-certificate"]["available"] is True
    r = httpx.post(f"{o}/tickets", json={"service": "passport-foreign"}, headers=head)
    assert r.status_code == 409 and r.json()["error"]["code"] == "registry_unavailable"
    assert httpx.post(f"{o}/tickets", json={"service": "residence-certificate"}, headers=head).status_code == 201
    httpx.post(f"{o}/registries", json={"available": True}, headers=head).raise_for_status()
    assert httpx.post(f"{o}/tickets", json={"service": "passport-foreign"}, headers=head).status_code == 201
    # a region: every office whose region it is, one answer each
    answers = httpx.post(f"{u}/api/v1/regions/vinnytsia/alert", json={"active": True}, headers=net).json()
    assert sorted(a["office"] for a in answers) == ["khutory", "main", "vyshenka", "zamostia"]
    assert all(a["active"] for a in answers)
    # an alerts token minted for one office cannot switch a region, nor another office
    one = proc.auth("alerts", "main")
    assert httpx.post(f"{u}/api/v1/regions/vinnytsia/alert", json={"active": False}, headers=one).status_code == 403
    assert httpx.post(f"{u}/api/v1/offices/zamostia/alert", json={"active": False}, headers=one).status_code == 403
    # the command line, through the running service
    cli = subprocess.run([sys.executable, "-m", "cherga", "alert", "off", "--region", "vinnytsia", "--data",
                          str(proc.data), "--url", u, "--resume-after-min", "0"], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert "main: all-clear" in cli.stdout
    assert not any(httpx.get(f"{u}/api/v1/offices/{x}/state").json()["alert"]["active"]
                   for x in ("main", "zamostia", "vyshenka", "khutory"))
    bad = subprocess.run([sys.executable, "-m", "cherga", "alert", "on", "--office", "nowhere", "--data",
                          str(proc.data), "--url", u], capture_output=True, text=True)
    assert bad.returncode == 1 and "nowhere" in bad.stderr
