"""Join from the phone (#18.3) against a real ``cherga serve``: remote issue with no token, 409 remote_closed, one
live remote ticket per browser, 429 per address, check-in restoring the place (the kiosk's and the entrance QR
code's), the grace ending a passed-over ticket as a no-show (the server restarted with its clock moved on, so the
journal carries the ticket across), and the report counting remote tickets apart."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from server import ServerProcess

import cherga.config

DEMO = Path(cherga.config.__file__).parent / "demo"
OFFICE = "main"


def remote_config(tmp: Path) -> Path:
    """The demo network, its main office taking remote tickets: no way there (any wait will do), a grace of one
    minute, six an hour."""
    out = tmp / "config"
    shutil.copytree(DEMO, out)
    net = out / "network.toml"
    text = net.read_text(encoding="utf-8")
    text, n = re.subn(r'(id = "main"\n)', r'\1remote_join = true\nremote_travel_min = 0.0\nremote_grace_min = 1.0\n'
                      r'remote_per_hour = 6\n', text, count=1)
    assert n == 1
    net.write_text(text, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("remote")
    cfg = remote_config(tmp)
    srv = ServerProcess(tmp / "data", extra=["--config", str(cfg)]).start()
    srv.cfg = cfg  # type: ignore[attr-defined]
    yield srv
    srv.kill()


def _err(r: httpx.Response, status: int, code: str | None = None) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()["error"]
    if code is not None:
        assert body["code"] == code, body
    assert body["message"]
    return str(body["message"])


def test_join_from_the_phone_check_in_grace_and_report(server: ServerProcess, tmp_path: Path) -> None:
    u = server.url
    offices = {o["id"]: o for o in httpx.get(f"{u}/api/v1/offices").json()}
    desk = offices[OFFICE]["desks"][0]
    service = sorted(desk["services"])[0]
    # the head's token does what the kiosk's and the desk's do here (one token to mint: the test stays quick); the
    # kiosk's own check-in is driven from its page in tests/test_pages_remote.py
    head = server.auth("head", OFFICE)
    kiosk = desk_auth = head
    for d in offices[OFFICE]["desks"]:  # only this desk serves: the order is easy to read
        httpx.post(f"{u}/api/v1/desks/{d['id']}/close", headers=head)
    assert httpx.post(f"{u}/api/v1/desks/{desk['id']}/open", headers=desk_auth).status_code == 200

    def kiosk_ticket() -> dict[str, Any]:
        r = httpx.post(f"{u}/api/v1/offices/{OFFICE}/tickets", json={"service": service}, headers=kiosk)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    k1 = kiosk_ticket()
    assert httpx.post(f"{u}/api/v1/desks/{desk['id']}/call-next", headers=desk_auth).json()["id"] == k1["id"]

    phone_a, phone_b = httpx.Client(base_url=u), httpx.Client(base_url=u)  # two browsers, each its cookie jar
    remote = {"service": service, "remote": True}
    r = phone_a.post(f"/api/v1/offices/{OFFICE}/tickets", json=remote)
    assert r.status_code == 201, r.text
    r1 = r.json()
    assert r1["status"] == "remote" and r1["remote"] is True and r1["passed"] is False
    assert r1["position"] == 1 and r1["eta_min"] is not None and r1["check_in_by"]
    assert "cherga_browser" in phone_a.cookies
    # one live remote ticket per browser; a kiosk's ticket needs its token, a remote one none
    msg = _err(phone_a.post(f"/api/v1/offices/{OFFICE}/tickets", json=remote), 409, "remote_live")
    assert r1["number"] in msg
    _err(httpx.post(f"{u}/api/v1/offices/{OFFICE}/tickets", json={"service": service}), 401)
    # an office that takes no tickets from phones
    other = next(o for o in offices.values() if o["id"] != OFFICE)
    _err(httpx.post(f"{u}/api/v1/offices/{other['id']}/tickets",
                    json={"service": other["services"][0]["id"], "remote": True}), 409, "remote_closed")

    k2 = kiosk_ticket()
    r2 = phone_b.post(f"/api/v1/offices/{OFFICE}/tickets", json=remote).json()
    assert r2["status"] == "remote" and r2["position"] == 2  # K2 is in the hall ahead of it, R1 is not counted
    k3 = kiosk_ticket()
    assert k3["position"] == 2  # the hall only: K2, then K3 (the remote tickets are not in the hall)

    # the kiosk checks R2 in: it waits in the place it had, after K2 and before K3, who joined after it
    r = httpx.post(f"{u}/api/v1/offices/{OFFICE}/check-in", json={"ticket": r2["id"]}, headers=kiosk)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "waiting" and r.json()["position"] == 2
    assert httpx.get(f"{u}/api/v1/tickets/{k3['id']}").json()["position"] == 3
    again = httpx.post(f"{u}/api/v1/offices/{OFFICE}/check-in", json={"ticket": r2["id"]}, headers=kiosk)
    assert again.status_code == 200 and again.json()["position"] == 2  # a second scan changes nothing
    _err(httpx.post(f"{u}/api/v1/offices/{OFFICE}/check-in", json={"ticket": r2["id"]}), 401)
    _err(httpx.post(f"{u}/api/v1/offices/{OFFICE}/check-in", json={"ticket": k3["id"]}, headers=kiosk), 409)
    _err(httpx.post(f"{u}/api/v1/offices/{OFFICE}/check-in", json={}, headers=kiosk), 400)

    # K2's turn: it joined after R1, which is away; R1 is passed over (never called) and its place is held
    assert httpx.post(f"{u}/api/v1/desks/{desk['id']}/finish", headers=desk_auth).status_code == 200
    called = httpx.post(f"{u}/api/v1/desks/{desk['id']}/call-next", headers=desk_auth).json()
    assert called["id"] == k2["id"]
    held = httpx.get(f"{u}/api/v1/tickets/{r1['id']}").json()
    assert held["status"] == "remote" and held["passed"] is True and held["position"] == 1
    by = datetime.fromisoformat(held["check_in_by"])
    assert 0 < (by - datetime.now(ZoneInfo("Europe/Kyiv"))).total_seconds() <= 61

    # a limit per address: new browsers (no cookie) from one address get 429 with Retry-After
    statuses = []
    for _ in range(8):
        r = httpx.post(f"{u}/api/v1/offices/{OFFICE}/tickets", json=remote)
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) <= {201, 409}, statuses

    # the grace runs out: the server, killed and restarted with its clock 90 s on, ends R1 a no-show by itself
    server.kill()
    moved = ServerProcess(server.data, port=server.port,
                          extra=["--config", str(server.cfg), "--time-offset", "90"]).start()  # type: ignore[attr-defined]
    try:
        for _ in range(50):
            gone = httpx.get(f"{u}/api/v1/tickets/{r1['id']}").json()
            if gone["status"] != "remote":
                break
            time.sleep(0.1)
        assert gone["status"] == "no_show", gone
        msg = _err(httpx.post(f"{u}/api/v1/offices/{OFFICE}/check-in", json={"ticket": r1["id"]},
                              headers=kiosk), 409)
        assert "new ticket" in msg

        # the entrance QR code: the kiosk shows a code; the phone that holds a remote ticket checks in with it
        phone_c = httpx.Client(base_url=u)
        r3 = phone_c.post(f"/api/v1/offices/{OFFICE}/tickets", json=remote)
        assert r3.status_code == 201, r3.text
        _err(phone_c.get(f"/api/v1/offices/{OFFICE}/entrance"), 401)
        code = httpx.get(f"{u}/api/v1/offices/{OFFICE}/entrance", headers=kiosk).json()
        assert code["url"] == f"/in/{OFFICE}?k={code['token']}" and 0 < code["valid_s"] <= 120
        _err(phone_c.post(f"/api/v1/offices/{OFFICE}/entrance", json={"token": "WRONGCODE1"}), 403)
        _err(httpx.post(f"{u}/api/v1/offices/{OFFICE}/entrance", json={"token": code["token"]}), 404)  # none held
        r = phone_c.post(f"/api/v1/offices/{OFFICE}/entrance", json={"token": code["token"]})
        assert r.status_code == 200 and r.json()["id"] == r3.json()["id"] and r.json()["status"] == "waiting"
        assert httpx.get(f"{server.url}/in/{OFFICE}?k={code['token']}").status_code == 200

        # the report counts remote tickets apart
        today = datetime.now(ZoneInfo("Europe/Kyiv")).date().isoformat()
        rep = httpx.get(f"{u}/api/v1/offices/{OFFICE}/report", params={"from": today, "to": today},
                        headers=head)
        assert rep.status_code == 200, rep.text
        office = next(o for o in rep.json()["offices"] if o["id"] == OFFICE)
        issued_remote = 2 + statuses.count(201) + 1
        assert office["remote"]["issued"] == issued_remote
        assert office["remote"]["checked_in"] == 2 and office["remote"]["no_show_unchecked"] == 1
        assert office["no_show"] >= 1
    finally:
        moved.kill()
