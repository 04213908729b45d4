"""Pairing a screen by a code the head approves, the office's devices, revoking one (API.md 1.1, issue 14.2, 14.6).

Against real ``cherga serve`` processes (SQLite, and two over a real redis-server), with real websocket clients.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis_server import RedisServer
from server import ServerProcess

from cherga.displays.audit import AuditStore
from cherga.displays.auth import PAIRING_ALPHABET, REVOKED_CLOSE, TokenStore, device_id
from cherga.engine.loader import load_network
from cherga.errors import Conflict, InvalidCommand, NotFound

OFFICE = "main"
OTHER = "zamostia"
SERVICE = "residence-certificate"


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    p = ServerProcess(tmp_path_factory.mktemp("pairing") / "data").start()
    yield p
    p.stop()


def client(p: ServerProcess, addr: str = "127.0.0.1") -> httpx.Client:
    """A client from one loopback address (a screen is known by its address)."""
    return httpx.Client(base_url=p.url, timeout=15, transport=httpx.HTTPTransport(local_address=addr))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pair(http: httpx.Client, head: dict[str, str], role: str, desk: str | None = None,
         office: str = OFFICE) -> tuple[str, dict[str, Any]]:
    """A screen asks, the head approves, the screen collects: (token, the approve answer)."""
    code = http.post("/api/v1/pairings", json={"office": office}).json()["code"]
    body: dict[str, Any] = {"role": role} | ({"desk": desk} if desk else {})
    r = http.post(f"/api/v1/pairings/{code}/approve", json=body, headers=head)
    assert r.status_code == 200, r.text
    got = http.get(f"/api/v1/pairings/{code}").json()
    assert got["status"] == "approved"
    return got["token"], r.json()


def test_pairing_flow_token_exactly_once(proc: ServerProcess) -> None:
    head = proc.auth("head", OFFICE)
    with client(proc) as http:
        r = http.post("/api/v1/pairings", json={"office": OFFICE})
        assert r.status_code == 201, r.text
        code, expires = r.json()["code"], dt.datetime.fromisoformat(r.json()["expires_at"])
        assert len(code) == 6 and set(code) <= set(PAIRING_ALPHABET) and not set(code) & set("0O1IL")
        left = (expires - dt.datetime.now(dt.UTC)).total_seconds()
        assert 500 < left <= 601, left
        assert http.get(f"/api/v1/pairings/{code}").json() == {"status": "waiting"}
        assert http.post("/api/v1/pairings", json={"office": "nowhere"}).status_code == 404

        url = f"/api/v1/pairings/{code}/approve"
        assert http.post(url, json={"role": "kiosk"}).status_code == 401
        assert http.post(url, json={"role": "kiosk"}, headers=proc.auth("kiosk", OFFICE)).status_code == 403
        wrong_head = http.post(url, json={"role": "kiosk"}, headers=proc.auth("head", OTHER))
        assert wrong_head.status_code == 403 and wrong_head.json()["error"]["message"]
        for bad in ({"role": "head"}, {"role": "planner"}, {"role": "nonsense"}, {"role": "desk"},
                    {"role": "desk", "desk": "zamostia-01"}, {"role": "desk", "desk": "main-99"},
                    {"role": "kiosk", "desk": "main-03"}, {"role": "board", "desk": "main-03"},
                    {"role": "rating", "desk": "zamostia-01"}, {"role": "kiosk", "extra": 1}):
            r = http.post(url, json=bad, headers=head)
            assert r.status_code == 400, (bad, r.text)
            assert r.json()["error"]["message"]
        assert http.post("/api/v1/pairings/ZZZZZZ/approve", json={"role": "kiosk"}, headers=head).status_code == 404
        assert http.get(f"/api/v1/pairings/{code}").json() == {"status": "waiting"}  # nothing half-approved

        r = http.post(url, json={"role": "desk", "desk": "main-03"}, headers=head)
        assert r.status_code == 200, r.text
        device = r.json()
        assert device["role"] == "desk" and device["desk"] == "main-03" and device["last_seen"] is None
        assert http.post(url, json={"role": "kiosk"}, headers=head).status_code == 409

        got = http.get(f"/api/v1/pairings/{code}").json()
        assert got["status"] == "approved" and got["device"] == device["id"] and got["role"] == "desk"
        token = got["token"]
        assert http.get(f"/api/v1/pairings/{code}").status_code == 404  # handed out once
        assert http.get(f"/api/v1/pairings/{code.lower()}").status_code == 404
        # the token is the desk's: it opens its desk and no other
        assert http.get("/api/v1/desks/main-03", headers=bearer(token)).status_code == 200
        assert http.get("/api/v1/desks/main-04", headers=bearer(token)).status_code == 403

        listed = http.get(f"/api/v1/offices/{OFFICE}/devices", headers=head)
        assert listed.status_code == 200
        mine = [d for d in listed.json() if d["id"] == device["id"]]
        assert mine and mine[0]["desk"] == "main-03" and mine[0]["last_seen"] is not None
        assert set(mine[0]) == {"id", "role", "desk", "paired_at", "last_seen"}
        # tokens minted with 'cherga token issue' are devices too
        assert any(d["role"] == "head" for d in listed.json())
        assert http.get(f"/api/v1/offices/{OFFICE}/devices").status_code == 401
        assert http.get(f"/api/v1/offices/{OFFICE}/devices", headers=proc.auth("head", OTHER)).status_code == 403
        assert http.get(f"/api/v1/offices/{OFFICE}/devices", headers=bearer(token)).status_code == 403

    audit = AuditStore(proc.data, time.time)
    try:
        actions = [(r.action, r.who, r.target) for r in audit.query(OFFICE)]
    finally:
        audit.close()
    assert ("pairing", "screen at 127.0.0.1", code) in actions
    assert any(a == "pairing_approved" and t and t.startswith(device["id"]) for a, _, t in actions)


def test_a_code_is_collected_only_from_the_screens_address(proc: ServerProcess) -> None:
    head = proc.auth("head", OFFICE)
    with client(proc, "127.0.0.1") as screen, client(proc, "127.0.0.2") as stranger:
        code = screen.post("/api/v1/pairings", json={"office": OFFICE}).json()["code"]
        assert stranger.get(f"/api/v1/pairings/{code}").status_code == 404
        assert screen.post(f"/api/v1/pairings/{code}/approve", json={"role": "board"}, headers=head).status_code == 200
        assert stranger.get(f"/api/v1/pairings/{code}").status_code == 404  # read off the screen, still no token
        assert screen.get(f"/api/v1/pairings/{code}").json()["status"] == "approved"


def test_a_stranger_cannot_flood_codes(proc: ServerProcess) -> None:
    with client(proc, "127.0.0.3") as flood, client(proc, "127.0.0.4") as other:
        answers = [flood.post("/api/v1/pairings", json={"office": OFFICE}) for _ in range(14)]
        codes = [r for r in answers if r.status_code == 201]
        limited = [r for r in answers if r.status_code == 429]
        assert 5 <= len(codes) <= 11, [r.status_code for r in answers]
        assert limited and int(limited[0].headers["Retry-After"]) >= 1
        assert other.post("/api/v1/pairings", json={"office": OFFICE}).status_code == 201  # another screen asks fine
        # guessing codes is limited too
        misses = [flood.get(f"/api/v1/pairings/AAAAA{c}").status_code for c in "ABCDEFGHJKMNPQRSTUVWXYZ23456789AB"]
        assert misses.count(404) >= 20 and 429 in misses


def test_store_expiry_and_an_approved_code_never_collected() -> None:
    """The store's rules at chosen instants: expiry, one approval, a token nobody collected is revoked."""
    import tempfile

    net = load_network(None)
    with tempfile.TemporaryDirectory() as d:
        store = TokenStore(Path(d))
        try:
            p = store.pair(OFFICE, "10.0.0.5", now=1000.0, ttl=600.0)
            assert store.pairing(p.code, 1599.0) is not None and store.pairing(p.code, 1600.0) is None
            with pytest.raises(NotFound):
                store.approve(net, p.code, "kiosk", None, now=1600.0)
            q = store.pair(OFFICE, "10.0.0.5", now=2000.0, ttl=600.0)
            with pytest.raises(InvalidCommand):
                store.approve(net, q.code, "desk", None, now=2001.0)
            dev = store.approve(net, q.code, "rating", "main-03", now=2001.0, ttl=60.0)
            with pytest.raises(Conflict):
                store.approve(net, q.code, "kiosk", None, now=2002.0)
            assert store.device(dev.id) is not None
            assert store.collect(q.code, "10.0.0.6", 2002.0) is None  # another address
            store.sweep(2062.0)  # the screen never came for it: nobody holds the token, so it is revoked
            assert store.device(dev.id) is None
            assert store.collect(q.code, "10.0.0.5", 2062.0) is None
        finally:
            store.close()


async def _first(ws: Any) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]


async def _closed_within(ws: Any, seconds: float) -> tuple[int | None, str | None, float]:
    t0 = time.monotonic()
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), seconds)
    return ws.close_code, ws.close_reason, time.monotonic() - t0


def test_revocation_refuses_the_token_at_once_and_closes_its_websockets(proc: ServerProcess) -> None:
    head = proc.auth("head", OFFICE)
    with client(proc) as http:
        kiosk, kiosk_dev = pair(http, head, "kiosk")
        board, board_dev = pair(http, head, "board")
        issue = {"service": SERVICE}
        assert http.post(f"/api/v1/offices/{OFFICE}/tickets", json=issue, headers=bearer(kiosk)).status_code == 201
        kiosk_id = kiosk_dev["id"]

        async def scenario() -> tuple[Any, ...]:
            url = f"{proc.ws_url}/ws/offices/{OFFICE}/board"
            async with websockets.connect(f"{url}?token={board}") as paired, websockets.connect(url) as public:
                assert (await _first(paired))["type"] == "snapshot"
                assert (await _first(public))["type"] == "snapshot"
                r = await asyncio.to_thread(http.delete, f"/api/v1/devices/{board_dev['id']}", headers=head)
                assert r.status_code == 204
                closed = await _closed_within(paired, 5)
                # the public board stays
                await public.send(json.dumps({"type": "snapshot"}))
                assert (await _first(public))["type"] == "snapshot"
            # the revoked token is refused at the handshake too, with the same code
            async with websockets.connect(f"{url}?token={board}") as again:
                late = await _closed_within(again, 5)
            return closed, late

        (code, reason, took), (late_code, _, _) = asyncio.run(scenario())
        assert code == REVOKED_CLOSE and reason and "revoked" in reason and took < 1.0
        assert late_code == REVOKED_CLOSE

        assert http.delete(f"/api/v1/devices/{kiosk_id}", headers=proc.auth("head", OTHER)).status_code == 403
        assert http.delete(f"/api/v1/devices/{kiosk_id}").status_code == 401
        t0 = time.monotonic()
        assert http.delete(f"/api/v1/devices/{kiosk_id}", headers=head).status_code == 204
        r = http.post(f"/api/v1/offices/{OFFICE}/tickets", json=issue, headers=bearer(kiosk))  # was cached
        assert r.status_code == 401 and "revoked" in r.json()["error"]["message"], r.text
        assert time.monotonic() - t0 < 1.0
        assert http.delete(f"/api/v1/devices/{kiosk_id}", headers=head).status_code == 404
        assert http.delete("/api/v1/devices/not-a-device", headers=head).status_code == 404
        ids = {d["id"] for d in http.get(f"/api/v1/offices/{OFFICE}/devices", headers=head).json()}
        assert kiosk_id not in ids and board_dev["id"] not in ids

    audit = AuditStore(proc.data, time.time)
    try:
        revoked = [r.target or "" for r in audit.query(OFFICE) if r.action == "device_revoked"]
    finally:
        audit.close()
    assert any(t.startswith(kiosk_id) for t in revoked) and any(t.startswith(board_dev["id"]) for t in revoked)


def test_the_heads_alert_feed_closes_when_the_head_token_is_revoked(proc: ServerProcess) -> None:
    token = proc.token("head", "vyshenka")
    with client(proc) as http:
        ident = device_id(hashlib.sha256(token.encode()).hexdigest())  # a minted token's id, as the list names it
        assert ident in {d["id"] for d in http.get("/api/v1/offices/vyshenka/devices", headers=bearer(token)).json()}

        async def scenario() -> tuple[int | None, str | None, float]:
            async with websockets.connect(f"{proc.ws_url}/ws/offices/vyshenka/alerts?token={token}") as ws:
                await _first(ws)
                r = await asyncio.to_thread(http.delete, f"/api/v1/devices/{ident}", headers=bearer(token))
                assert r.status_code == 204  # a head may cut off a head token (a lost tablet), their own too
                return await _closed_within(ws, 5)

        code, _, took = asyncio.run(scenario())
        assert code == REVOKED_CLOSE and took < 1.0
        assert http.get("/api/v1/offices/vyshenka/devices", headers=bearer(token)).status_code == 401


def test_last_seen_moves_with_use(proc: ServerProcess) -> None:
    head = proc.auth("head", OFFICE)
    with client(proc) as http:
        token, dev = pair(http, head, "rating")

        def seen() -> dt.datetime | None:
            d = next(x for x in http.get(f"/api/v1/offices/{OFFICE}/devices", headers=head).json()
                     if x["id"] == dev["id"])
            return None if d["last_seen"] is None else dt.datetime.fromisoformat(d["last_seen"])

        assert seen() is None
        rating = {"number": "Z999", "score": "good"}
        assert http.post(f"/api/v1/offices/{OFFICE}/ratings", json=rating, headers=bearer(token)).status_code == 404
        first = seen()
        assert first is not None
        time.sleep(1.1)
        assert seen() == first  # the head's own calls do not move the tablet's contact
        http.post(f"/api/v1/offices/{OFFICE}/ratings", json=rating, headers=bearer(token))
        second = seen()
        assert second is not None and second > first


# ---------------------------------------------------------------------- a region over Redis


REGION_TTL_S = 6.0  # the region's codes live 6 s, so the test sees one expire


@pytest.fixture
def region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ServerProcess]]:
    monkeypatch.setenv("CHERGA_PAIRING_TTL_S", str(REGION_TTL_S))
    redis = RedisServer(tmp_path / "redis").start()
    procs = [ServerProcess(tmp_path / f"p{i}", redis=redis.url) for i in range(2)]
    try:
        for p in procs:
            p.start()
        yield procs
    finally:
        for p in procs:
            p.stop()
        redis.kill()


def test_pairing_and_revocation_across_a_redis_region(region: list[ServerProcess]) -> None:
    a, b = region
    head = a.auth("head", OFFICE)
    with client(a) as at_a, client(b) as at_b:
        code = at_a.post("/api/v1/pairings", json={"office": OFFICE}).json()["code"]
        assert at_b.get(f"/api/v1/pairings/{code}").json() == {"status": "waiting"}
        assert at_b.post(f"/api/v1/pairings/{code}/approve", json={"role": "kiosk"}, headers=head).status_code == 200
        assert at_a.post(f"/api/v1/pairings/{code}/approve", json={"role": "kiosk"}, headers=head).status_code == 409
        kiosk = at_a.get(f"/api/v1/pairings/{code}").json()["token"]
        assert at_b.get(f"/api/v1/pairings/{code}").status_code == 404  # once, region-wide
        board, board_dev = pair(at_a, head, "board")
        issue = {"service": SERVICE}
        for http in (at_a, at_b):  # both processes have the kiosk in their caches
            r = http.post(f"/api/v1/offices/{OFFICE}/tickets", json=issue, headers=bearer(kiosk))
            assert r.status_code == 201, r.text
        devices = at_b.get(f"/api/v1/offices/{OFFICE}/devices", headers=head).json()
        kiosk_id = next(d["id"] for d in devices if d["role"] == "kiosk")
        assert any(d["id"] == board_dev["id"] for d in devices)

        async def scenario() -> tuple[int | None, str | None, float]:
            async with websockets.connect(f"{b.ws_url}/ws/offices/{OFFICE}/board?token={board}") as ws:
                assert (await _first(ws))["type"] == "snapshot"
                r = await asyncio.to_thread(at_a.delete, f"/api/v1/devices/{board_dev['id']}", headers=head)
                assert r.status_code == 204
                return await _closed_within(ws, 5)  # the socket is on the other process

        code_, _, took = asyncio.run(scenario())
        assert code_ == REVOKED_CLOSE and took < 2.5, took

        assert at_a.delete(f"/api/v1/devices/{kiosk_id}", headers=head).status_code == 204
        for http in (at_b, at_a):  # the other process refuses it at its very next request
            r = http.post(f"/api/v1/offices/{OFFICE}/tickets", json=issue, headers=bearer(kiosk))
            assert r.status_code == 401, r.text

        # a code nobody approves expires, at every process
        stale = at_a.post("/api/v1/pairings", json={"office": OFFICE}).json()["code"]
        assert at_b.get(f"/api/v1/pairings/{stale}").json() == {"status": "waiting"}
        time.sleep(REGION_TTL_S + 0.3)
        assert at_b.get(f"/api/v1/pairings/{stale}").status_code == 404
        r = at_a.post(f"/api/v1/pairings/{stale}/approve", json={"role": "kiosk"}, headers=head)
        assert r.status_code == 404 and "new one" in r.json()["error"]["message"]


def test_first_start_says_how_to_make_the_first_head_and_prints_no_token(proc: ServerProcess) -> None:
    log = (proc.data.parent / f"serve-{proc.port}.log").read_text(encoding="utf-8")
    assert f"cherga staff add --data {proc.data} --login LOGIN --role head --office main" in log
    assert "/signin" in log and "Пристрої / Devices" in log and f"{proc.url}/kiosk/main" in log
    assert "token" not in log.split("first start")[0].lower()  # the pages' list names no token
    assert "head token" not in log
