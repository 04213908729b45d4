"""Staff accounts and sessions (API.md 1.1, issue 14.1): the store and its KDF, ``cherga staff add`` with the password
on standard input, sign-in, lockout, sign-out at once, CSRF, the cookie's flags, password changes, and the staff a
head or the network manages; SQLite and Redis stores alike. Against a real ``cherga serve`` and a real redis-server.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis_server import RedisServer
from server import ServerProcess

from cherga.displays import accounts
from cherga.displays.accounts import RedisStaffStore, StaffStore, hash_password, verify_password
from cherga.engine.loader import load_network
from cherga.errors import BadCredentials, Conflict, InvalidCommand, LockedOut, NotFound

NET = load_network(None)
POLICY = {"order": ["vulnerable", "special", "quick", "seasonal", "acceptance", "issuance", "consultation"],
          "max_wait_min": {}}


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def staff_add(data: Path, login: str, role: str, password: str,
              office: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "cherga", "staff", "add", "--data", str(data), "--login", login, "--role", role]
    if office:
        cmd += ["--office", office]
    return subprocess.run(cmd, input=password + "\n", capture_output=True, text=True, timeout=60)


# ---------------------------------------------------------------------- the store


def test_password_hash_is_scrypt_with_sound_parameters() -> None:
    stored = hash_password("correct horse")
    kind, n, r, p, salt, key = stored.split("$")
    assert (kind, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 1)
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(key)) == 32
    # the key is scrypt's own output for that salt (not a home-made hash)
    want = hashlib.scrypt(b"correct horse", salt=base64.b64decode(salt), n=2**14, r=8, p=1, dklen=32)
    assert base64.b64decode(key) == want
    assert hash_password("correct horse") != stored  # a fresh salt every time
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("correct horse", "garbage")


def test_verify_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(hmac, "compare_digest", spy)  # accounts.py calls hmac.compare_digest
    assert verify_password("pass-word-1", hash_password("pass-word-1"))
    assert not verify_password("pass-word-2", hash_password("pass-word-1"))
    assert len(seen) == 2


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StaffStore]:
    clock = Clock()
    if request.param == "sqlite":
        s = StaffStore(tmp_path / "data", clock)
        assert (tmp_path / "data" / "staff.sqlite3").exists()
        yield s
        s.close()
        return
    server = RedisServer(tmp_path / "redis").start()
    try:
        rs = RedisStaffStore(server.url, clock)
        yield rs
        rs.close()
    finally:
        server.kill()


def test_store_accounts_and_rules(store: StaffStore) -> None:
    a = store.add(NET, "anna", "head", "good-password", office="main")
    assert (a.login, a.role, a.office, a.active) == ("anna", "head", "main", True)
    assert "good-password" not in a.pw and "good-password" not in str(a.json())
    assert "pw" not in a.json()
    with pytest.raises(Conflict, match="already"):
        store.add(NET, "anna", "administrator", "good-password", office="main")
    with pytest.raises(NotFound, match="unknown office"):
        store.add(NET, "bob", "head", "good-password", office="nowhere")
    with pytest.raises(InvalidCommand, match="empty"):
        store.add(NET, "bob", "head", "", office="main")
    with pytest.raises(InvalidCommand, match="too short"):
        store.add(NET, "bob", "head", "short", office="main")
    with pytest.raises(InvalidCommand, match="needs an office"):
        store.add(NET, "bob", "administrator", "good-password")
    with pytest.raises(InvalidCommand, match="whole network"):
        store.add(NET, "bob", "network", "good-password", office="main")
    with pytest.raises(InvalidCommand, match="unknown role"):
        store.add(NET, "bob", "king", "good-password", office="main")
    with pytest.raises(InvalidCommand, match="login"):
        store.add(NET, "bo b", "head", "good-password", office="main")
    assert store.add(NET, "net", "network", "good-password").office is None
    assert store.add(NET, "plan", "planner", "good-password").office is None
    assert [x.login for x in store.all()] == ["anna", "net", "plan"]


def test_store_lockout_and_sessions(store: StaffStore) -> None:
    clock = store._clock
    assert isinstance(clock, Clock)
    store.add(NET, "anna", "head", "good-password", office="main")
    for _ in range(5):
        with pytest.raises(BadCredentials):
            store.check("anna", "wrong-password")
    with pytest.raises(LockedOut) as locked:
        store.check("anna", "good-password")  # the right password, refused while locked
    assert 14 * 60 < locked.value.retry_after <= 15 * 60
    clock.t += 15 * 60 + 1
    assert store.check("anna", "good-password").login == "anna"
    # an unknown login is locked the same way (no answer tells which logins exist)
    for _ in range(5):
        with pytest.raises(BadCredentials):
            store.check("nobody", "x")
    with pytest.raises(LockedOut):
        store.check("nobody", "x")
    # four failures spread over more than 15 minutes do not lock
    for _ in range(4):
        with pytest.raises(BadCredentials):
            store.check("anna", "wrong-password")
        clock.t += 5 * 60
    with pytest.raises(BadCredentials):
        store.check("anna", "wrong-password")
    assert store.locked_for("anna") == 0
    # sessions: ended at once, by sign-out, disabling, removal, expiry
    a = store.check("anna", "good-password")
    cookie, s = store.open_session(a)
    assert store.session(cookie) is not None and store.session(cookie)[0].csrf == s.csrf  # type: ignore[index]
    assert s.key != cookie  # only its hash is kept
    store.end_session(s.key)
    assert store.session(cookie) is None
    cookie, _ = store.open_session(a)
    store.set_active("anna", False)
    assert store.session(cookie) is None
    with pytest.raises(BadCredentials):
        store.check("anna", "good-password")  # a disabled account cannot sign in
    store.set_active("anna", True)
    cookie, _ = store.open_session(store.check("anna", "good-password"))
    clock.t += accounts.SESSION_TTL_S + 1
    assert store.session(cookie) is None
    cookie, _ = store.open_session(store.check("anna", "good-password"))
    store.remove("anna")
    assert store.session(cookie) is None and store.get("anna") is None


# ---------------------------------------------------------------------- cherga staff add


def test_staff_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok = staff_add(data, "anna", "head", "first-head-pass", "main")
    assert (ok.returncode, ok.stdout) == (0, "")
    assert "first-head-pass" not in ok.stderr
    store = StaffStore(data)
    try:
        a = store.get("anna")
        assert a is not None and (a.role, a.office) == ("head", "main")
        assert store.check("anna", "first-head-pass").login == "anna"
        raw = (data / "staff.sqlite3").read_bytes()
        assert b"first-head-pass" not in raw
    finally:
        store.close()
    for args, words in [
        (("anna", "head", "another-pass", "main"), "already an account"),
        (("bob", "head", "another-pass", "nowhere"), "unknown office"),
        (("bob", "head", "", "main"), "empty"),
        (("bob", "head", "short", "main"), "too short"),
    ]:
        r = staff_add(data, *args)
        assert r.returncode == 1 and r.stdout == "", (args, r)
        assert words in r.stderr, (args, r.stderr)
        assert "another-pass" not in r.stderr


# ---------------------------------------------------------------------- over HTTP, a real service


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("accounts") / "data"
    store = StaffStore(data)  # the same store 'cherga staff add' writes (tested above, through the command line)
    for login, role, office in [("anna", "head", "main"), ("olha", "administrator", "main"),
                                ("zoya", "head", "zamostia"), ("net", "network", None), ("lock", "head", "main"),
                                ("petro", "planner", None)]:
        store.add(NET, login, role, f"{login}-password", office)
    store.close()
    p = ServerProcess(data).start()
    yield p
    p.stop()


def sign_in(proc: ServerProcess, login: str, password: str | None = None, **kw: Any) -> httpx.Response:
    return httpx.post(f"{proc.url}/api/v1/session", json={"login": login, "password": password or f"{login}-password"},
                      **kw)


def cookie_of(r: httpx.Response) -> str:
    return r.cookies[accounts.COOKIE]


def test_sign_in_answer_and_cookie_flags(proc: ServerProcess) -> None:
    r = sign_in(proc, "anna")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"login", "role", "office", "csrf"}
    assert (body["login"], body["role"], body["office"]) == ("anna", "head", "main") and len(body["csrf"]) >= 20
    flags = [x.strip().lower() for x in r.headers["set-cookie"].split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http on the LAN: a Secure cookie would never come back
    behind = sign_in(proc, "anna", headers={"X-Forwarded-Proto": "https"})
    assert behind.status_code == 200
    assert "secure" in [x.strip().lower() for x in behind.headers["set-cookie"].split(";")]
    again = httpx.get(f"{proc.url}/api/v1/session", cookies={accounts.COOKIE: cookie_of(r)})
    assert again.json() == body


def test_wrong_password_and_unknown_login_answer_the_same(proc: ServerProcess) -> None:
    wrong = sign_in(proc, "zoya", "not-her-password")
    unknown = sign_in(proc, "no-such-person", "whatever-pass")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "bad_credentials"
    assert accounts.COOKIE not in wrong.cookies


def test_lockout_after_five_failures_even_for_the_right_password(proc: ServerProcess) -> None:
    for i in range(5):
        r = sign_in(proc, "lock", f"wrong-{i}-password")
        assert r.status_code == 401, r.text
    locked = sign_in(proc, "lock")  # the right one
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "locked_out"
    assert 14 * 60 <= int(locked.headers["Retry-After"]) <= 15 * 60
    assert "15 minutes" in locked.json()["error"]["message"]
    assert sign_in(proc, "anna").status_code == 200  # another login is not locked


def test_sign_out_ends_the_session_at_once(proc: ServerProcess) -> None:
    r = sign_in(proc, "anna")
    jar = {accounts.COOKIE: cookie_of(r)}
    csrf = {"X-CSRF-Token": r.json()["csrf"]}
    assert httpx.get(f"{proc.url}/api/v1/offices/main/load", cookies=jar).status_code == 200
    assert httpx.delete(f"{proc.url}/api/v1/session", cookies=jar).status_code == 403  # CSRF here too
    out = httpx.delete(f"{proc.url}/api/v1/session", cookies=jar, headers=csrf)
    assert out.status_code == 204
    assert 'max-age=0' in out.headers["set-cookie"].lower()
    # the very next request with the old cookie is refused
    after = httpx.get(f"{proc.url}/api/v1/offices/main/load", cookies=jar)
    assert after.status_code == 401 and "sign in again" in after.json()["error"]["message"]
    assert httpx.get(f"{proc.url}/api/v1/session", cookies=jar).status_code == 401
    assert httpx.put(f"{proc.url}/api/v1/offices/main/policy", json=POLICY, cookies=jar,
                     headers=csrf).status_code == 401


def test_csrf_on_state_changing_calls_made_with_the_cookie(proc: ServerProcess) -> None:
    r = sign_in(proc, "anna")
    jar = {accounts.COOKIE: cookie_of(r)}
    url = f"{proc.url}/api/v1/offices/main/policy"
    no = httpx.put(url, json=POLICY, cookies=jar)
    assert no.status_code == 403 and no.json()["error"]["code"] == "csrf"
    wrong = httpx.put(url, json=POLICY, cookies=jar, headers={"X-CSRF-Token": "x" + r.json()["csrf"]})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "csrf"
    ok = httpx.put(url, json=POLICY, cookies=jar, headers={"X-CSRF-Token": r.json()["csrf"]})
    assert ok.status_code == 200
    assert httpx.get(f"{proc.url}/api/v1/offices/main/load", cookies=jar).status_code == 200  # GET needs none
    # another session's csrf does not fit this one
    other = sign_in(proc, "anna").json()["csrf"]
    assert httpx.put(url, json=POLICY, cookies=jar, headers={"X-CSRF-Token": other}).status_code == 403
    # a device token needs no CSRF (no cookie: a page on another site cannot send it)
    assert httpx.put(url, json=POLICY, headers=proc.auth("head", "main")).status_code == 200


def test_password_change(proc: ServerProcess) -> None:
    first = sign_in(proc, "petro")
    second = sign_in(proc, "petro")
    jar = {accounts.COOKIE: cookie_of(first)}
    csrf = {"X-CSRF-Token": first.json()["csrf"]}
    url = f"{proc.url}/api/v1/session/password"
    wrong = httpx.put(url, json={"current": "not-it-at-all", "new": "brand-new-pass"}, cookies=jar, headers=csrf)
    assert wrong.status_code == 401 and "current password" in wrong.json()["error"]["message"]
    short = httpx.put(url, json={"current": "petro-password", "new": "short"}, cookies=jar, headers=csrf)
    assert short.status_code == 400
    assert httpx.put(url, json={"current": "petro-password", "new": "brand-new-pass"}, cookies=jar).status_code == 403
    ok = httpx.put(url, json={"current": "petro-password", "new": "brand-new-pass"}, cookies=jar, headers=csrf)
    assert ok.status_code == 204
    assert sign_in(proc, "petro").status_code == 401
    assert sign_in(proc, "petro", "brand-new-pass").status_code == 200
    # this session stays; the account's other sessions end
    assert httpx.get(f"{proc.url}/api/v1/session", cookies=jar).status_code == 200
    assert httpx.get(f"{proc.url}/api/v1/session", cookies={accounts.COOKIE: cookie_of(second)}).status_code == 401
    # a device token cannot change a password (there is nobody's password to change)
    assert httpx.put(url, json={"current": "a" * 8, "new": "b" * 8}, headers=proc.auth("head", "main")).status_code \
        == 403


def session(proc: ServerProcess, login: str, password: str | None = None) -> httpx.Client:
    r = sign_in(proc, login, password)
    assert r.status_code == 200, r.text
    return httpx.Client(base_url=proc.url, cookies={accounts.COOKIE: cookie_of(r)},
                        headers={"X-CSRF-Token": r.json()["csrf"]}, timeout=30)


def test_heads_manage_their_administrators_and_the_network_its_heads(proc: ServerProcess) -> None:
    with session(proc, "anna") as anna, session(proc, "zoya") as zoya, session(proc, "net") as net:
        made = anna.post("/api/v1/offices/main/staff", json={"login": "ivan", "role": "administrator",
                                                              "password": "ivan-first-pw"})
        assert made.status_code == 201, made.text
        assert made.json()["login"] == "ivan" and made.json()["office"] == "main" and "password" not in made.text
        assert anna.post("/api/v1/offices/main/staff", json={"login": "ivan", "role": "planner",
                                                             "password": "ivan-first-pw"}).status_code == 409
        # a head adds no heads, and nobody for another office
        assert anna.post("/api/v1/offices/main/staff", json={"login": "h2", "role": "head",
                                                             "password": "head-two-pw"}).status_code == 403
        assert anna.post("/api/v1/offices/zamostia/staff", json={"login": "z1", "role": "administrator",
                                                                 "password": "zzz-first-pw"}).status_code == 403
        assert {x["login"] for x in anna.get("/api/v1/offices/main/staff").json()} >= {"anna", "olha", "ivan"}
        assert zoya.get("/api/v1/offices/main/staff").status_code == 403
        assert zoya.patch("/api/v1/staff/ivan", json={"active": False}).status_code == 403
        with session(proc, "ivan", "ivan-first-pw") as ivan:
            assert ivan.get("/api/v1/desks/main-05").status_code == 200
            assert anna.put("/api/v1/staff/ivan/password", json={"password": "reset-by-head"}).status_code == 204
            assert ivan.get("/api/v1/desks/main-05").status_code == 401  # a reset ends the person's sessions
        with session(proc, "ivan", "reset-by-head") as ivan:
            off = anna.patch("/api/v1/staff/ivan", json={"active": False})
            assert off.status_code == 200 and off.json()["active"] is False
            assert ivan.get("/api/v1/desks/main-05").status_code == 401
        assert sign_in(proc, "ivan", "reset-by-head").status_code == 401
        assert anna.patch("/api/v1/staff/ivan", json={"active": True}).json()["active"] is True
        assert anna.delete("/api/v1/staff/ivan").status_code == 204
        assert anna.delete("/api/v1/staff/ivan").status_code == 404
        assert anna.delete("/api/v1/staff/anna").status_code == 403  # not oneself
        assert anna.delete("/api/v1/staff/zoya").status_code == 403
        # the network manages heads, not administrators
        h = net.post("/api/v1/offices/zamostia/staff", json={"login": "zoya2", "role": "head",
                                                            "password": "second-head-pw"})
        assert h.status_code == 201
        assert net.post("/api/v1/offices/main/staff", json={"login": "adm9", "role": "administrator",
                                                           "password": "admin-nine-pw"}).status_code == 403
        assert net.put("/api/v1/staff/zoya2/password", json={"password": "new-head-pass"}).status_code == 204
        assert net.patch("/api/v1/staff/olha", json={"active": False}).status_code == 403
        assert net.delete("/api/v1/staff/zoya2").status_code == 204


def test_an_administrator_opens_a_desk_under_their_login(proc: ServerProcess) -> None:
    with session(proc, "olha") as olha:
        opened = olha.post("/api/v1/desks/main-06/open", json={"staff": "free-text-code"})
        assert opened.status_code == 200, opened.text
        assert olha.post("/api/v1/desks/main-06/close").status_code == 200
        assert olha.get("/api/v1/desks/zam-01").status_code in (403, 404)  # another office's desk
        assert olha.get("/api/v1/offices/main/load").status_code == 403  # a desk's role, not a head's
    with session(proc, "anna") as anna:
        rows = anna.get("/api/v1/offices/main/audit", params={"desk": "main-06", "action": "desk.open"}).json()
        assert rows and rows[-1]["who"] == "olha" and rows[-1]["role"] == "administrator"
    # the journal's OpenDesk carries the login, so the report per administrator names the account
    today = dt.date.today()
    report = httpx.get(f"{proc.url}/api/v1/offices/main/report", headers=proc.auth("head", "main"),
                       params={"format": "json", "from": str(today - dt.timedelta(days=1)),
                               "to": str(today + dt.timedelta(days=1))}).json()
    office = next(o for o in report["offices"] if o["id"] == "main")
    assert "olha" in [row["staff"] for row in office["administrators"]]
    assert "free-text-code" not in [row["staff"] for row in office["administrators"]]


def test_a_region_shares_accounts_sessions_lockout_and_the_audit_trail(tmp_path: Path) -> None:
    """With --redis: the account made by 'cherga staff add --redis', a session opened on one process works on
    another, signing out on one is refused on the other at once, and the audit trail is one."""
    redis = RedisServer(tmp_path / "redis").start()
    procs = [ServerProcess(tmp_path / f"p{i}", redis=redis.url) for i in range(2)]
    try:
        add = subprocess.run([sys.executable, "-m", "cherga", "staff", "add", "--redis", redis.url, "--login", "rita",
                              "--role", "head", "--office", "main"], input="rita-region-pw\n", capture_output=True,
                             text=True, timeout=60)
        assert (add.returncode, add.stdout) == (0, ""), add.stderr
        for p in procs:
            p.start()
        a, b = procs
        r = sign_in(a, "rita", "rita-region-pw")
        assert r.status_code == 200
        jar = {accounts.COOKIE: cookie_of(r)}
        csrf = {"X-CSRF-Token": r.json()["csrf"]}
        assert httpx.get(f"{b.url}/api/v1/session", cookies=jar).json()["login"] == "rita"
        assert httpx.put(f"{b.url}/api/v1/offices/main/policy", json=POLICY, cookies=jar, headers=csrf).status_code \
            == 200
        assert httpx.delete(f"{a.url}/api/v1/session", cookies=jar, headers=csrf).status_code == 204
        assert httpx.get(f"{b.url}/api/v1/offices/main/load", cookies=jar).status_code == 401
        for i in range(5):
            assert sign_in(a if i % 2 else b, "rita", f"wrong-{i}-pass").status_code == 401
        assert sign_in(a, "rita", "rita-region-pw").status_code == 429  # failures counted across processes
        trail = httpx.get(f"{b.url}/api/v1/offices/main/audit", headers=a.auth("head", "main")).json()
        actions = [x["action"] for x in trail]
        assert actions[:1] == ["staff.add"] and trail[0]["who"] == "cli"
        assert {"session.signin", "policy.change", "session.signout", "session.signin_failed",
                "session.locked_out"} <= set(actions)
    finally:
        for p in procs:
            p.stop()
        redis.kill()


def test_the_heads_alerts_feed_takes_the_session_cookie(proc: ServerProcess) -> None:
    head = sign_in(proc, "anna")
    admin = sign_in(proc, "olha")
    url = f"{proc.ws_url}/ws/offices/main/alerts"

    async def scenario() -> None:
        async with websockets.connect(url, additional_headers={"Cookie": f"{accounts.COOKIE}={cookie_of(head)}"}) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "alerts" and first["office"] == "main"
        for cookie in (cookie_of(admin), "not-a-session"):  # an administrator's session, or none at all
            with pytest.raises(websockets.exceptions.InvalidStatus):
                async with websockets.connect(url, additional_headers={"Cookie": f"{accounts.COOKIE}={cookie}"}):
                    pass

    asyncio.run(scenario())


def test_a_public_booking_from_a_staff_browser_is_made_as_the_public(proc: ServerProcess) -> None:
    """Booking is public: with a sign-in cookie but no CSRF header the call is the public's (not refused, and not
    made with the session's role); with the header it is the session's, and an administrator may not book."""
    body = {"service": "residence-registration", "start": "2020-01-01T10:00:00+02:00"}  # a past slot: 4xx, not 403
    url = f"{proc.url}/api/v1/offices/main/appointments"
    admin = sign_in(proc, "olha")
    jar = {accounts.COOKIE: cookie_of(admin)}
    public = httpx.post(url, json=body, cookies=jar)
    assert public.status_code not in (401, 403), public.text
    assert public.status_code == httpx.post(url, json=body).status_code
    as_admin = httpx.post(url, json=body, cookies=jar, headers={"X-CSRF-Token": admin.json()["csrf"]})
    assert as_admin.status_code == 403
    assert httpx.post(url, json=body, cookies=jar, headers={"X-CSRF-Token": "forged"}).status_code == 403
