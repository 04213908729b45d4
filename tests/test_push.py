"""Web Push to the visitor's phone (#18.2), end to end: a real ``cherga serve`` posts to a push-service receiver
that runs in this test process, and the receiver does what a browser's push service and the browser do together:
it checks the VAPID ``Authorization`` (RFC 8292: the JWT's ES256 signature with the key in ``k``, which must be the
service's ``GET /api/v1/push/key``; its ``aud`` and ``exp``) and decrypts each message per RFC 8291 (the
``aes128gcm`` content coding of RFC 8188) with the subscription's private key and auth secret made here. The
decryption is written below with ``cryptography`` alone (ECDH, HKDF, AES-128-GCM), not with pywebpush or http_ece,
and is itself checked against RFC 8291's Appendix A example.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from server import ServerProcess

from cherga.engine.loader import DEMO_DIR, load_network
from cherga.errors import ConfigError

OFFICE = "main"
DESK = "main-01"  # desk number "1"
SERVICE = "passport-id-card"
N = 3  # the demo offices' notify_ahead (the default)
MESSAGE_KEYS = {"kind", "ticket", "desk", "ahead", "url", "title", "body", "tag"}


# ------------------------------------------------------------------------------------------ RFC 8291 / 8188


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def decrypt(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """RFC 8188's header (salt, record size, key id = the sender's ephemeral public key), RFC 8291 §3.3-3.4's keys
    (ECDH, then HKDF with the auth secret and "WebPush: info"), then each record AES-128-GCM with the nonce XOR its
    sequence number, the padding delimiter 2 on the last record and 1 on the others."""
    salt, rs, idlen = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
    as_public = body[21:21 + idlen]
    assert idlen == 65 and as_public[0] == 4, "the key id must be the sender's uncompressed P-256 key"
    assert rs >= 18
    secret = ua_private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public))
    ikm = hkdf(auth_secret, secret, b"WebPush: info\x00" + raw_public(ua_private) + as_public, 32)
    cek = hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = int.from_bytes(hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12), "big")
    data = body[21 + idlen:]
    records = [data[i:i + rs] for i in range(0, len(data), rs)]
    out = b""
    for i, record in enumerate(records):
        plain = AESGCM(cek).decrypt((nonce ^ i).to_bytes(12, "big"), record, None).rstrip(b"\x00")
        assert plain[-1:] == (b"\x02" if i == len(records) - 1 else b"\x01"), "bad padding delimiter"
        out += plain[:-1]
    return out


def test_the_decryption_reads_rfc_8291_appendix_a() -> None:
    """The receiver's decryption is right before it judges the service's messages: the RFC's own example."""
    message = unb64("DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6Tlz"
                    "AC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")
    ua = ec.derive_private_key(int.from_bytes(unb64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"), "big"),
                               ec.SECP256R1())
    assert b64(raw_public(ua)) == ("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpk"
                                   "NtoIAiw4")
    assert decrypt(message, ua, unb64("BTBZMqHH6r4Tts7J_aSIgg")) == b"When I grow up, I want to be a watermelon"
    tampered = message[:-1] + bytes([message[-1] ^ 1])
    with pytest.raises(Exception):  # noqa: B017 - AES-GCM's tag refuses any change
        decrypt(tampered, ua, unb64("BTBZMqHH6r4Tts7J_aSIgg"))


def verify_vapid(authorization: str, audience: str, server_key: str) -> dict[str, Any]:
    """RFC 8292 §3: ``vapid t=<JWT>, k=<public key>``; the JWT is ES256 over header.claims, signed by ``k``."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == server_key, "signed with another key than GET /api/v1/push/key gives"
    head_b64, claims_b64, sig_b64 = parts["t"].split(".")
    header = json.loads(unb64(head_b64))
    assert header["alg"] == "ES256" and header.get("typ", "JWT") == "JWT", header
    sig = unb64(sig_b64)
    assert len(sig) == 64, "ES256 signs with r || s, 32 bytes each"
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(parts["k"]))
    try:
        public.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")),
                      f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        pytest.fail("the VAPID JWT's signature does not verify")
    claims: dict[str, Any] = json.loads(unb64(claims_b64))
    assert claims["aud"] == audience
    now = time.time()
    assert now < claims["exp"] <= now + 24 * 3600 + 60, claims  # RFC 8292 §2: no more than 24 hours ahead
    assert str(claims["sub"]).startswith(("mailto:", "https:"))
    return claims


# ------------------------------------------------------------------------------------------ the receiver


@dataclass
class Browser:
    """One subscribing browser: its keys (made here) and what its push service delivered to it."""

    name: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))
    status: int = 201  # what the push service answers (410: the subscription is gone)
    delay_s: float = 0.0  # how long the push service takes to answer
    messages: list[dict[str, Any]] = field(default_factory=list)
    posts: int = 0

    def subscription(self, origin: str) -> dict[str, Any]:
        return {"endpoint": f"{origin}/push/{self.name}", "expirationTime": None,
                "keys": {"p256dh": b64(raw_public(self.key)), "auth": b64(self.auth)}}


class Receiver:
    """A push service on 127.0.0.1 that checks and decrypts what it is given (RFC 8030 §5: POST, 201)."""

    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.server_key = ""
        self.errors: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def browser(self, name: str) -> Browser:
        self.browsers[name] = Browser(name)
        return self.browsers[name]

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length", "0")))
        b = self.browsers.get(req.path.rsplit("/", 1)[-1])
        if b is None:
            req.send_response(404)
            req.end_headers()
            return
        time.sleep(b.delay_s)
        try:
            assert req.headers["Content-Encoding"] == "aes128gcm"
            assert int(req.headers["TTL"]) > 0, "a TTL of 0 drops the alert when the phone is briefly offline"
            claims = verify_vapid(req.headers["Authorization"], self.origin, self.server_key)
            msg = json.loads(decrypt(body, b.key, b.auth))
            msg["_urgency"] = req.headers.get("Urgency")
            msg["_claims"] = claims
        except Exception as exc:  # the test fails on it below, with what was wrong
            with self.lock:
                self.errors.append(f"{b.name}: {exc!r}")
            req.send_response(400)
            req.end_headers()
            return
        with self.lock:
            b.posts += 1
            if b.status < 300:
                b.messages.append(msg)
        req.send_response(b.status)
        req.send_header("Content-Length", "0")
        req.end_headers()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[ServerProcess]:
    """One ``cherga serve`` for the module (the tests use tickets of their own); the receiver is plain http, so
    it is allowed by CHERGA_PUSH_ALLOW_HTTP, as only a test would."""
    before = os.environ.get("CHERGA_PUSH_ALLOW_HTTP")
    os.environ["CHERGA_PUSH_ALLOW_HTTP"] = receiver.origin
    proc = ServerProcess(tmp_path_factory.mktemp("push") / "data")
    try:
        yield proc.start()
    finally:
        proc.stop()
        if before is None:
            os.environ.pop("CHERGA_PUSH_ALLOW_HTTP", None)
        else:
            os.environ["CHERGA_PUSH_ALLOW_HTTP"] = before


# ------------------------------------------------------------------------------------------ helpers


def wait_for(what: str, check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def stored(data: Path, ticket: str) -> list[str]:
    with sqlite3.connect(data / "push.sqlite3") as db:
        return [r[0] for r in db.execute("SELECT endpoint FROM subscription WHERE ticket = ?", (ticket,))]


class Office:
    def __init__(self, server: ServerProcess) -> None:
        self.s = server
        self.head = server.auth("head", OFFICE)

    def issue(self) -> dict[str, Any]:
        r = httpx.post(f"{self.s.url}/api/v1/offices/{OFFICE}/tickets", json={"service": SERVICE},
                       headers=self.head)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def desk(self, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = httpx.post(f"{self.s.url}/api/v1/desks/{DESK}/{action}", json=body, headers=self.head, timeout=10)
        assert r.status_code == 200, (action, r.status_code, r.text)
        return dict(r.json())

    def call(self, expect: str) -> None:
        called = self.desk("call-next")
        assert called["number"] == expect, called

    def subscribe(self, ticket: str, sub: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.s.url}/api/v1/tickets/{ticket}/push", json={"subscription": sub})


# ------------------------------------------------------------------------------------------ end to end


def test_near_then_called_then_dropped_over_real_web_push(served: ServerProcess, receiver: Receiver) -> None:
    r = httpx.get(f"{served.url}/api/v1/push/key")
    assert r.status_code == 200
    receiver.server_key = r.json()["public_key"]
    key = unb64(receiver.server_key)
    assert len(key) == 65 and key[0] == 4
    assert (served.data / "vapid-private.pem").stat().st_mode & 0o777 == 0o600, "the private key is the owner's alone"
    office = Office(served)
    tickets = [office.issue() for _ in range(5)]
    mine = tickets[4]  # four ahead: one more than N
    phone, gone = receiver.browser("phone"), receiver.browser("gone")
    gone.status = 410  # a browser that has since unsubscribed: its push service answers 410 Gone
    answer = office.subscribe(mine["id"], phone.subscription(receiver.origin))
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"ticket": mine["id"], "subscriptions": 1, "notify_ahead": N}
    assert office.subscribe(mine["id"], gone.subscription(receiver.origin)).json()["subscriptions"] == 2
    assert sorted(stored(served.data, mine["id"])) == sorted(f"{receiver.origin}/push/{n}" for n in ("phone", "gone"))

    office.desk("open")
    phone.delay_s = gone.delay_s = 2.0  # a slow push service must not hold the desk's answer
    t0 = time.monotonic()
    office.call(tickets[0]["number"])  # now three ahead of mine: N
    took = time.monotonic() - t0
    assert took < 1.0, f"call-next took {took:.2f} s: the push was sent on the loop"
    near = wait_for("the near alert", lambda: phone.messages)[0]
    assert not receiver.errors, receiver.errors
    assert set(near) - {"_urgency", "_claims"} == MESSAGE_KEYS
    assert (near["kind"], near["ticket"], near["ahead"], near["desk"]) == ("near", mine["number"], N, None)
    assert near["url"] == f"/t/{mine['id']}" and mine["number"] in near["title"] and near["_urgency"] == "normal"
    # the gone browser was tried once and dropped; the phone stays
    only_phone = [f"{receiver.origin}/push/phone"]
    wait_for("the 410 subscription dropped", lambda: stored(served.data, mine["id"]) == only_phone)
    assert gone.posts == 1
    phone.delay_s = gone.delay_s = 0.0

    for nxt in tickets[1:4]:  # two, one, none ahead: no second near alert
        office.desk("finish", {"outcome": "served"})
        office.call(nxt["number"])
    time.sleep(0.5)
    assert len(phone.messages) == 1, [m["kind"] for m in phone.messages]

    # a restart: the subscription and the VAPID key are kept in the data directory
    served.stop()
    served.start()
    assert httpx.get(f"{served.url}/api/v1/push/key").json()["public_key"] == receiver.server_key
    assert stored(served.data, mine["id"]) == only_phone

    office.desk("finish", {"outcome": "served"})
    office.call(mine["number"])
    called = wait_for("the called alert", lambda: phone.messages[1:])[0]
    assert not receiver.errors, receiver.errors
    assert (called["kind"], called["ticket"], called["desk"]) == ("called", mine["number"], "1")
    assert "1" in called["title"] and mine["number"] in called["title"] and called["_urgency"] == "high"
    office.desk("recall")  # a recall is a call: the phone is told again
    wait_for("the recall's alert", lambda: len(phone.messages) == 3)
    assert phone.messages[2]["kind"] == "called"

    office.desk("start")
    office.desk("finish", {"outcome": "served"})  # the ticket ends: its subscriptions go
    wait_for("the ended ticket's subscriptions dropped", lambda: stored(served.data, mine["id"]) == [])
    after = office.issue()
    office.call(after["number"])
    time.sleep(0.5)
    assert len(phone.messages) == 3 and gone.posts == 1
    assert not receiver.errors, receiver.errors
    ended = office.subscribe(mine["id"], phone.subscription(receiver.origin))
    assert ended.status_code == 409 and "ended" in ended.json()["error"]["message"]
    for m in phone.messages:  # the number and the desk; nothing else of the visitor's
        text = json.dumps({k: v for k, v in m.items() if not k.startswith("_")}, ensure_ascii=False)
        assert mine["id"] not in text.replace(m["url"], ""), "the ticket's secret only in its own link"


def test_subscriptions_are_checked(served: ServerProcess, receiver: Receiver) -> None:
    office = Office(served)
    tk = office.issue()
    good = receiver.browser("a").subscription(receiver.origin)

    def status(sub: dict[str, Any], ticket: str = tk["id"]) -> tuple[int, str]:
        r = office.subscribe(ticket, sub)
        return r.status_code, r.json()["error"]["message"] if r.status_code >= 400 else ""

    assert status(good, "no-such-ticket")[0] == 404
    code, msg = status({**good, "endpoint": "http://10.0.0.5/push/a"})
    assert code == 400 and "https" in msg  # plain http only for the configured test receiver
    code, msg = status({**good, "endpoint": "https://intranet.local/push"})
    assert code == 400 and "not a known push service" in msg
    code, msg = status({**good, "keys": {"p256dh": b64(b"\x04" + b"\x01" * 64), "auth": good["keys"]["auth"]}})
    assert code == 400 and "P-256" in msg
    code, msg = status({**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": b64(b"short")}})
    assert code == 400 and "16 bytes" in msg
    assert status({"endpoint": good["endpoint"]})[0] == 400  # no keys
    for i in range(3):
        assert status(receiver.browser(f"b{i}").subscription(receiver.origin))[0] == 201
    assert status(receiver.browser("b0").subscription(receiver.origin))[0] == 201  # the same browser again: replaced
    code, msg = status(receiver.browser("b3").subscription(receiver.origin))
    assert code == 409 and "3 browsers" in msg
    # "stop notifying me": one browser leaves, another may take its place
    gone = httpx.request("DELETE", f"{served.url}/api/v1/tickets/{tk['id']}/push",
                         json={"endpoint": f"{receiver.origin}/push/b1"})
    assert gone.status_code == 204
    assert status(receiver.browsers["b3"].subscription(receiver.origin))[0] == 201
    assert sorted(stored(served.data, tk["id"])) == sorted(f"{receiver.origin}/push/b{i}" for i in (0, 2, 3))
    # cancelling the ticket drops them all
    assert httpx.post(f"{served.url}/api/v1/tickets/{tk['id']}/cancel").status_code == 200
    wait_for("the cancelled ticket's subscriptions dropped", lambda: stored(served.data, tk["id"]) == [])


def test_a_redirected_ticket_keeps_its_alerts(served: ServerProcess, receiver: Receiver) -> None:
    """The head sends a waiting visitor to another office: the browser that followed the old ticket is alerted
    for the new one (its number, the new office's desk), and the old ticket's subscription goes."""
    receiver.server_key = httpx.get(f"{served.url}/api/v1/push/key").json()["public_key"]
    office = Office(served)
    tk = office.issue()
    moved = receiver.browser("moved")
    assert office.subscribe(tk["id"], moved.subscription(receiver.origin)).status_code == 201
    r = httpx.post(f"{served.url}/api/v1/offices/{OFFICE}/redirects", json={"ticket": tk["id"], "office": "zamostia"},
                   headers=office.head)
    assert r.status_code == 200, r.text
    new = r.json()["new_ticket"]
    new_id = new["id"] if isinstance(new, dict) else new
    endpoint = [f"{receiver.origin}/push/moved"]
    wait_for("the subscription handed to the new ticket", lambda: stored(served.data, new_id) == endpoint)
    wait_for("the old ticket's subscription dropped", lambda: stored(served.data, tk["id"]) == [])
    there = served.auth("head", "zamostia")
    for action in ("open", "call-next"):
        r = httpx.post(f"{served.url}/api/v1/desks/zamostia-01/{action}", headers=there)
        assert r.status_code == 200, r.text
    number = r.json()["number"]
    assert r.json()["id"] == new_id
    called = wait_for("the called alert at the new office", lambda: moved.messages)[0]
    assert not receiver.errors, receiver.errors
    assert (called["kind"], called["ticket"], called["desk"]) == ("called", number, "1")
    assert called["url"] == f"/t/{new_id}" and len(moved.messages) == 1  # no "near" for where it already stood
    httpx.post(f"{served.url}/api/v1/desks/zamostia-01/finish", json={"outcome": "served"}, headers=there)


# ------------------------------------------------------------------------------------------ configuration


def _network_with(tmp_path: Path, line: str) -> Path:
    conf = tmp_path / "conf"
    shutil.copytree(DEMO_DIR, conf, dirs_exist_ok=True)
    net = conf / "network.toml"
    text = net.read_text(encoding="utf-8")
    net.write_text(text.replace('id = "main"\n', f'id = "main"\n{line}\n', 1), encoding="utf-8")
    return conf


def test_notify_ahead_is_configured_per_office_and_checked(tmp_path: Path) -> None:
    assert {o.notify_ahead for o in load_network(None).offices.values()} == {N}
    net = load_network(_network_with(tmp_path, "notify_ahead = 5"))
    assert net.offices["main"].notify_ahead == 5 and net.offices["zamostia"].notify_ahead == N
    for bad, words in (('"3"', "whole number"), ("2.5", "whole number"), ("-1", "between 0 and 50"),
                       ("51", "between 0 and 50"), ("true", "whole number")):
        with pytest.raises(ConfigError) as err:
            load_network(_network_with(tmp_path, f"notify_ahead = {bad}"))
        assert "office[0].notify_ahead" in err.value.message and words in err.value.message, err.value.message
