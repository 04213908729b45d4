"""Hypothesis against the websockets of one real ``cherga serve`` (issue #8): what clients may send, and what boards
then receive.

* **Frames** on every endpoint (``/ws/offices/{office}/board``, ``/ws/tickets/{id}``, ``/ws/offices/{office}/ratings``,
  ``/ws/offices/{office}/alerts?token=``): random text and unicode, JSON values of every kind, plausible messages with
  wrong types (``{"type": "resync", "since": "x"}``), JSON nested deeper than the parser's recursion limit, empty
  frames, binary frames, text frames that are not UTF-8, fragmented messages, large frames just under the limits and
  frames over them. Each frame has one documented outcome, computed here beside the server's rules:

  - a binary frame (empty or not) is closed with 1003, as is text that is not a JSON object;
  - a text message over 4,096 characters is closed with 1009 by the app, and any frame or message over 64 KiB with
    1009 by the websocket layer (``ws_max_size``) before the app reads it;
  - text that is not UTF-8 is closed with 1007 by the websocket layer;
  - a JSON object is ignored, except ``{"type": "snapshot" | "resync", ...}`` on a board, which is answered with one
    snapshot (whatever else the object carries).

  An "ignored" frame is proven ignored, not just unanswered: on a board a probe ``{"type": "snapshot"}`` sent behind
  it must get exactly one snapshot and nothing more; on the other endpoints (which never answer) a terminator sent
  behind it (a text of 4,097 characters) must be what closes the connection (1009, "message too big"), so the frame
  before it was read and did nothing. After every example the server process is alive and ``/healthz`` answers 200;
  no connection is ever closed with 1011, nor without a close frame (1006) — except where a client is still writing
  a message over 64 KiB: uvicorn writes its 1009 and closes the TCP connection at once, and the reset can reach the
  client before it reads the close frame.
* **Handshakes**: random office ids, ticket ids, tokens and ``Origin`` headers are admitted exactly when API.md says,
  and refused with 403 otherwise, never with a server error.
* **Commands**: random sequences of issue, call-next, recall, start, finish, no-show, transfer, cancel (and open,
  pause, resume, close) with hypothesis-chosen services, desks, bodies and tokens, valid and not. No answer is a 5xx,
  every status is one API.md lists for the call, and a board that watches the office throughout gets only messages
  that fit the privacy schema (``board_schema.py``), numbered one after another with no gap, including a ``called``
  for every answered call-next and a ``recalled`` for every answered recall.
* At the end, that board is still connected and a new board gets a snapshot and the next call.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets
from board_schema import check_board_message, check_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server import ServerProcess
from websockets.asyncio.client import ClientConnection

from cherga.displays.app import WS_MAX_MESSAGE

FRAME_LIMIT = 65536  # uvicorn's ws_max_size in cherga/displays/cli.py: bytes of one message, fragments included
WATCHED = "main"  # the office the command sequences drive and the long-lived board watches
IDLE = "khutory"  # an office nobody changes in this module: its snapshot stays the same
RATED = "zamostia"
TICKET_OFFICE = "vyshenka"



def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ------------------------------------------------------------------------------------------ the rig


@dataclass
class Watcher:
    """A well-behaved board on the watched office, reading for the whole module."""

    ws: ClientConnection
    msgs: list[dict[str, Any]] = field(default_factory=list)
    closed: BaseException | None = None
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        try:
            async for text in self.ws:
                msg = json.loads(text)
                check_board_message(msg)
                self.msgs.append(msg)
        except Exception as exc:  # kept to report: a closed connection, or a message that breaks the schema
            self.closed = exc

    @property
    def seq(self) -> int:
        return int(self.msgs[-1]["seq"]) if self.msgs else -1

    async def until(self, seq: int, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while self.seq < seq:
                assert self.closed is None, f"the watching board stopped: {self.closed!r}"
                await asyncio.sleep(0.005)


@dataclass
class Rig:
    serve: ServerProcess
    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient
    watcher: Watcher
    ticket_id: str
    head_token: str  # head of RATED, for its alerts
    offices: dict[str, dict[str, Any]]
    board_conn: ClientConnection | None = None  # reused between frame examples while it stays open
    board_snapshot: dict[str, Any] | None = None

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def healthy(self) -> None:
        assert self.serve.proc is not None and self.serve.proc.poll() is None, "cherga serve died"
        r = await self.http.get("/healthz")
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    serve = ServerProcess(tmp_path_factory.mktemp("wsfuzz") / "data").start()
    loop = asyncio.new_event_loop()
    try:
        head = serve.auth("head", TICKET_OFFICE)
        rated_head = serve.token("head", RATED)
        main_head = serve.auth("head", WATCHED)

        async def setup() -> Rig:
            http = httpx.AsyncClient(base_url=serve.url, timeout=30)
            offices = {o["id"]: o for o in (await http.get("/api/v1/offices")).json()}
            service = offices[TICKET_OFFICE]["services"][0]["id"]
            r = await http.post(f"/api/v1/offices/{TICKET_OFFICE}/tickets", json={"service": service}, headers=head)
            assert r.status_code == 201, r.text
            for d in offices[WATCHED]["desks"]:
                assert (await http.post(f"/api/v1/desks/{d['id']}/open", headers=main_head)).status_code == 200
            ws = await websockets.connect(f"{serve.ws_url}/ws/offices/{WATCHED}/board", ping_interval=None)
            watcher = Watcher(ws)
            watcher.task = asyncio.get_running_loop().create_task(watcher.read())
            return Rig(serve, loop, http, watcher, r.json()["id"], rated_head, offices)

        r = loop.run_until_complete(setup())
        yield r
        loop.run_until_complete(r.http.aclose())
        if r.board_conn is not None:
            loop.run_until_complete(r.board_conn.close())
        loop.run_until_complete(r.watcher.ws.close())
    finally:
        loop.close()
        serve.stop()


# ------------------------------------------------------------------------------------------ frames and their outcome


@dataclass(frozen=True)
class Frame:
    kind: str  # "text" | "binary" | "raw" (bytes sent with the text opcode) | "fragments" (one text in pieces)
    data: str | bytes | tuple[str, ...]

    def size(self) -> int:
        """Bytes on the wire (payload)."""
        if isinstance(self.data, bytes):
            return len(self.data)
        return len("".join(self.data).encode()) if isinstance(self.data, tuple) else len(self.data.encode())

    def __repr__(self) -> str:
        shown = repr(self.data)
        return f"Frame({self.kind}, {self.size()} bytes: {shown[:120]}{'...' if len(shown) > 120 else ''})"


ANSWER, IGNORE = "answer", "ignore"


def outcome(frame: Frame, board: bool) -> str | int:
    """What the server must do with ``frame``: answer it (a board's snapshot), ignore it, or close with a code."""
    if frame.kind == "binary":
        assert isinstance(frame.data, bytes)
        return 1009 if len(frame.data) > FRAME_LIMIT else 1003
    if frame.kind == "raw":
        assert isinstance(frame.data, bytes)
        if len(frame.data) > FRAME_LIMIT:
            return 1009
        try:
            text = frame.data.decode()
        except UnicodeDecodeError:
            return 1007
    else:
        text = "".join(frame.data) if isinstance(frame.data, tuple) else str(frame.data)
        if len(text.encode()) > FRAME_LIMIT:
            return 1009
    if len(text) > WS_MAX_MESSAGE:
        return 1009
    if _depth(text) >= 1000:  # the parser's recursion limit: the server gives up on it, as on any non-JSON
        return 1003
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        return 1003
    if not isinstance(msg, dict):
        return 1003
    return ANSWER if board and msg.get("type") in ("snapshot", "resync") else IGNORE


def _depth(text: str) -> int:
    """How deep brackets nest outside strings (JSON's own nesting when the text is JSON)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def accepted(frame: Frame, code: int) -> set[int]:
    """The close codes that fit: over 64 KiB, uvicorn writes its 1009 and closes the TCP connection at once, so a
    client still writing the rest of its message may be reset before it reads the close frame (seen as 1006)."""
    return {code, 1006} if code == 1009 and frame.size() > FRAME_LIMIT else {code}


async def send(ws: ClientConnection, frame: Frame) -> None:
    try:
        if frame.kind == "raw":
            assert isinstance(frame.data, bytes)
            await ws.send(frame.data, text=True)
        elif frame.kind == "fragments":
            assert isinstance(frame.data, tuple)
            await ws.send(list(frame.data))
        else:
            assert isinstance(frame.data, str | bytes)
            await ws.send(frame.data)
    except websockets.exceptions.ConnectionClosed:
        pass  # the server closed while a large frame was still going out: the close code tells why


async def close_code(ws: ClientConnection, check: Any, timeout: float = 15.0) -> tuple[int, str]:
    """Read until the server closes; every message before the close must pass ``check``."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                check(json.loads(await ws.recv()))
    except websockets.exceptions.ConnectionClosed as exc:
        return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd is not None else (1006, "no close frame")
    raise AssertionError("unreachable")


def any_object(msg: Any) -> None:
    assert isinstance(msg, dict) and isinstance(msg.get("type"), str), msg


json_leaf = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
             | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
message_type = st.sampled_from(["snapshot", "resync", "ping", "called", "queue", "ticket", "rating", "", "SNAPSHOT",
                                "snapshot "]) | json_value
plausible = st.builds(
    lambda extra, known: {**extra, **known},
    st.dictionaries(st.text(max_size=8), json_value, max_size=3),
    st.fixed_dictionaries({"type": message_type}, optional={
        "since": json_value, "seq": json_value, "office": json_value, "ticket": json_value, "desk": json_value}),
)
json_text = st.one_of(
    st.builds(json.dumps, plausible),
    st.builds(json.dumps, json_value),
    st.builds(lambda v, sep: json.dumps(v, ensure_ascii=False, separators=sep, indent=None), plausible,
              st.sampled_from([(",", ":"), (" , ", " : ")])),
)
near_json = st.sampled_from([
    "{", "}", '{"type":', '{"type": "snapshot"', "null", '"snapshot"', "[]", "[{}]", "1", "-0", "1e999", "NaN",
    "Infinity", '{"type":"resync"}{}', ' {"type":"snapshot"} ', "\ufeff{\"type\":\"snapshot\"}", '{"type":NaN}',
    '{"type":"resync","type":"x"}', '{"type":"x","type":"resync"}', "{'type': 'snapshot'}", '{"type":"\\ud800"}',
    '{"type":"snapshot"}\n', "\x00", "   ",
])


def _padded(n: int, char: str, resync: bool) -> str:
    """A JSON object of exactly ``n`` characters (n >= 40) padded with ``char``."""
    head = '{"type":"resync","pad":"' if resync else '{"type":"other","pad":"'
    return head + char * (n - len(head) - 2) + '"}'


# Past the recursion limit (1,000 frames, less the caller's stack: a few dozen frames in the server, more here) the
# parser gives up. Depths near it would depend on the stack of the process, so they are left out.
depth = st.integers(1, 700) | st.integers(1100, 2000)
nested = st.one_of(
    depth.map(lambda d: "[" * d + "]" * d),
    st.integers(1, 700).map(lambda d: '{"":' * d + "1" + "}" * d),
    depth.map(lambda d: '{"type":"resync","x":' + "[" * d + "]" * d + "}"),
)
sizes = st.one_of(
    st.builds(_padded, st.integers(3000, WS_MAX_MESSAGE), st.sampled_from(["x", "є", "😀"]), st.booleans()),
    st.builds(_padded, st.integers(WS_MAX_MESSAGE + 1, FRAME_LIMIT), st.just("x"), st.booleans()),
    st.builds(_padded, st.integers(FRAME_LIMIT + 1, 3 * FRAME_LIMIT), st.just("x"), st.booleans()),
    st.integers(WS_MAX_MESSAGE + 1, 3 * FRAME_LIMIT).map(lambda n: "x" * n),
)
frames = st.one_of(
    st.builds(Frame, st.just("text"), st.text(max_size=200)),
    st.builds(Frame, st.just("text"), json_text),
    st.builds(Frame, st.just("text"), near_json),
    st.builds(Frame, st.just("text"), nested),
    st.builds(Frame, st.just("text"), sizes),
    st.builds(Frame, st.just("text"), st.just("")),
    st.builds(Frame, st.just("binary"), st.binary(max_size=64)),
    st.builds(Frame, st.just("binary"), st.builds(lambda v: json.dumps(v).encode(), plausible)),
    st.builds(Frame, st.just("binary"), st.integers(FRAME_LIMIT - 10, FRAME_LIMIT + 10).map(lambda n: b"{" * n)),
    st.builds(Frame, st.just("raw"), st.binary(max_size=40).map(lambda b: b + b"\xff")),  # never valid UTF-8
    st.builds(Frame, st.just("raw"), st.builds(lambda v: json.dumps(v).encode(), plausible)),
    st.builds(Frame, st.just("fragments"), st.lists(json_text | st.text(max_size=30), min_size=2, max_size=4)
              .map(lambda parts: tuple(list(parts)))),
    st.builds(Frame, st.just("fragments"), st.tuples(st.just('{"type":'), st.just('"resync"}'))),
    st.builds(Frame, st.just("fragments"), st.integers(2, 4).map(lambda k: ("x" * 40000,) * k)),  # over 64 KiB
)


# ------------------------------------------------------------------------------------------ frames on a board


async def _board(rig: Rig) -> tuple[ClientConnection, dict[str, Any]]:
    if rig.board_conn is None or rig.board_conn.close_code is not None:
        ws = await websockets.connect(f"{rig.serve.ws_url}/ws/offices/{IDLE}/board", ping_interval=None)
        snap = json.loads(await asyncio.wait_for(ws.recv(), 10))
        check_board_message(snap)
        assert snap["type"] == "snapshot"
        if rig.board_snapshot is not None:
            assert snap == rig.board_snapshot, "nothing changes the idle office: its snapshot must not change"
        rig.board_conn, rig.board_snapshot = ws, snap
    assert rig.board_snapshot is not None
    return rig.board_conn, rig.board_snapshot


@fuzz(200)
@given(frame=frames)
def test_a_board_answers_or_ignores_or_closes_with_the_documented_code(rig: Rig, frame: Frame) -> None:
    expect = outcome(frame, board=True)

    async def example() -> None:
        ws, snap = await _board(rig)

        def same_snapshot(msg: Any) -> None:
            check_board_message(msg)
            assert msg == snap, msg

        await send(ws, frame)
        if isinstance(expect, int):
            code, reason = await close_code(ws, same_snapshot)
            assert code in accepted(frame, expect), f"{frame!r}: closed with {code} ({reason}), expected {expect}"
            rig.board_conn = None
        else:
            await ws.send(json.dumps({"type": "snapshot"}))  # the probe
            for _ in range(2 if expect == ANSWER else 1):
                try:
                    same_snapshot(json.loads(await asyncio.wait_for(ws.recv(), 10)))
                except websockets.exceptions.ConnectionClosed as exc:
                    raise AssertionError(f"{frame!r} ({expect}) closed the board: {exc.rcvd}") from None
            with pytest.raises(TimeoutError):  # and nothing more: an ignored frame earns no snapshot
                extra = await asyncio.wait_for(ws.recv(), 0.02)
                raise AssertionError(f"{frame!r} ({expect}): one message too many: {extra!r}")
        await rig.healthy()

    rig.run(example())


# ------------------------------------------------------------------------------------------ frames on the others


def _quiet_url(rig: Rig, endpoint: str) -> str:
    return {
        "ticket": f"{rig.serve.ws_url}/ws/tickets/{rig.ticket_id}",
        "ratings": f"{rig.serve.ws_url}/ws/offices/{RATED}/ratings",
        "network-ratings": f"{rig.serve.ws_url}/ws/offices/network/ratings",
        "alerts": f"{rig.serve.ws_url}/ws/offices/{RATED}/alerts?token={rig.head_token}",
    }[endpoint]


@fuzz(150)
@given(endpoint=st.sampled_from(["ticket", "ratings", "network-ratings", "alerts"]), frame=frames)
def test_the_other_endpoints_ignore_objects_and_close_the_rest_with_the_documented_code(
        rig: Rig, endpoint: str, frame: Frame) -> None:
    expect = outcome(frame, board=False)
    terminator = "x" * (WS_MAX_MESSAGE + 1)

    async def example() -> None:
        async with websockets.connect(_quiet_url(rig, endpoint), ping_interval=None) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            any_object(first)
            await send(ws, frame)
            if expect == IGNORE:
                await send(ws, Frame("text", terminator))  # what must close it: proof the frame was read and ignored
            code, reason = await close_code(ws, any_object)
        if expect == IGNORE:
            assert (code, reason) == (1009, "message too big"), \
                f"{endpoint}: {frame!r} should have been ignored; the connection closed with {code} ({reason})"
        else:
            assert isinstance(expect, int), expect  # the others never answer
            assert code in accepted(frame, expect), \
                f"{endpoint}: {frame!r}: closed with {code} ({reason}), expected {expect}"
        await rig.healthy()

    rig.run(example())


# ------------------------------------------------------------------------------------------ handshakes


@fuzz(100)
@given(
    endpoint=st.sampled_from(["board", "ratings", "alerts", "ticket"]),
    key=st.one_of(st.sampled_from(["main", "khutory", "network", "MAIN", "main ", "", "..", "main/board"]),
                  st.text(min_size=1, max_size=30)),
    token=st.one_of(st.none(), st.just("head"), st.just("other-head"), st.text(max_size=40)),
    origin=st.one_of(st.none(), st.just("self"), st.sampled_from(["http://evil.example", "null", "file://"]),
                     st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)),
)
def test_handshakes_are_admitted_exactly_when_the_api_says(rig: Rig, endpoint: str, key: str, token: str | None,
                                                         origin: str | None) -> None:
    offices = set(rig.offices)
    if endpoint == "ticket":
        key = rig.ticket_id if key == "main" else key
        path = f"/ws/tickets/{urllib.parse.quote(key, safe='')}"
        known = key == rig.ticket_id
    else:
        path = f"/ws/offices/{urllib.parse.quote(key, safe='')}/{endpoint}"
        known = key in offices or (endpoint == "ratings" and key == "network")
    if endpoint == "alerts":
        value = {"head": rig.head_token, "other-head": rig.serve.token("head", "main")}.get(token or "", token)
        if value is not None:
            path += "?" + urllib.parse.urlencode({"token": value})
        # a head's token opens its own office's alerts: RATED's head for RATED, main's ("other-head") for main
        known = known and ((key == RATED and token == "head") or (key == "main" and token == "other-head"))
    origin_header = rig.serve.url if origin == "self" else origin
    admitted = known and origin_header in (None, rig.serve.url)

    async def example() -> None:
        url = rig.serve.ws_url + path
        try:
            async with websockets.connect(url, origin=origin_header, ping_interval=None) as ws:  # type: ignore[arg-type]
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                any_object(first)
                if endpoint == "board":
                    check_board_message(first)
            assert admitted, f"{url} (origin {origin_header!r}) was admitted"
        except websockets.exceptions.InvalidStatus as exc:
            status = exc.response.status_code
            assert status == 403, f"{url}: refused with {status}"
            assert not admitted, f"{url} (origin {origin_header!r}) was refused"
        await rig.healthy()

    rig.run(example())


# ------------------------------------------------------------------------------------------ command sequences


@dataclass
class Seen:
    """Answers that must show on the watching board."""

    calls: list[tuple[str, str]] = field(default_factory=list)  # (ticket number, desk number) per answered call
    recalls: list[tuple[str, str]] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)  # ids issued in the watched office


SEEN = Seen()
ALLOWED = {  # the statuses API.md lists for each call with the office's head token (403: another office's desk)
    "issue": {201, 400, 404, 409},
    "cancel": {200, 400, 404, 409},
    "call-next": {200, 204, 400, 403, 404, 409},
    "recall": {200, 204, 400, 403, 404, 409},
    "start": {200, 204, 400, 403, 404, 409},
    "no-show": {200, 204, 400, 403, 404, 409},
    "finish": {200, 204, 400, 403, 404, 409},
    "transfer": {200, 204, 400, 403, 404, 409},
    "open": {200, 400, 403, 404, 409},
    "close": {200, 400, 403, 404, 409},
    "pause": {200, 400, 403, 404, 409},
    "resume": {200, 400, 403, 404, 409},
}
OTHER_TOKENS = {401, 403, 429}  # no token or an unknown one; a desk token on another desk; a kiosk past its limit
WHO = st.sampled_from(["head", "head", "head", "head", "desk", "kiosk", "none", "unknown"])

strange = st.one_of(st.sampled_from(["", "nope", "main-99", "MAIN-01", "main-01 ", "../main-01", "%2e%2e"]),
                    st.text(min_size=1, max_size=12))


def _commands(offices: dict[str, dict[str, Any]]) -> st.SearchStrategy[list[tuple[str, Any, Any, str]]]:
    main = offices[WATCHED]
    desks = [d["id"] for d in main["desks"]]
    services = [s["id"] for s in main["services"]]
    desk = st.sampled_from(desks) | st.sampled_from(["zamostia-01", "khutory-01"]) | strange
    service = st.sampled_from(services) | strange | st.just(None) | st.integers()
    transfer_body = st.one_of(
        st.fixed_dictionaries({"service": service}, optional={"position": st.sampled_from(["head", "end", "middle"])}),
        st.fixed_dictionaries({"desk": st.sampled_from(desks) | strange},
                              optional={"position": st.sampled_from(["head", "end"])}),
        st.fixed_dictionaries({"office": st.sampled_from(list(offices)) | strange}),
        st.just({}),
        st.fixed_dictionaries({"service": st.sampled_from(services), "desk": st.sampled_from(desks)}),
    )
    finish_body = st.one_of(st.none(), st.fixed_dictionaries({"outcome": st.sampled_from(["served", "refused"])}),
                            st.fixed_dictionaries({"outcome": st.text(max_size=8) | st.integers()}))
    ticket = st.integers(0, 10_000) | strange  # an index into the tickets issued so far, or a made-up id
    desk_cmd = st.sampled_from(["call-next", "call-next", "call-next", "recall", "start", "no-show", "open", "pause",
                                "resume", "close"])
    return st.lists(st.one_of(
        st.tuples(st.just("issue"), service, st.one_of(st.booleans(), st.just("yes")), WHO),
        st.tuples(st.just("issue"), st.sampled_from(services), st.booleans(), WHO),
        st.tuples(desk_cmd, desk, st.none(), WHO),
        st.tuples(st.just("finish"), desk, finish_body, WHO),
        st.tuples(st.just("transfer"), desk, transfer_body, WHO),
        st.tuples(st.just("cancel"), ticket, st.none(), st.just("none")),
    ), min_size=1, max_size=25)


@fuzz(50)
@given(data=st.data())
def test_random_command_sequences_give_the_board_schema_messages_without_a_gap(rig: Rig, data: st.DataObject) -> None:
    commands = data.draw(_commands(rig.offices))
    tokens = {"head": rig.serve.auth("head", WATCHED), "desk": rig.serve.auth("desk", WATCHED, "main-03"),
              "kiosk": rig.serve.auth("kiosk", WATCHED), "none": {},
              "unknown": {"Authorization": "Bearer not-a-token"}}
    numbers = {d["id"]: d["number"] for d in rig.offices[WATCHED]["desks"]}

    async def example() -> None:
        http = rig.http
        for action, arg, body, who in commands:
            head = tokens[who]
            if action == "issue":
                r = await http.post(f"/api/v1/offices/{WATCHED}/tickets", json={"service": arg, "vulnerable": body},
                                    headers=head)
                if r.status_code == 201:
                    SEEN.tickets.append(r.json()["id"])
            elif action == "cancel":
                tid = SEEN.tickets[arg % len(SEEN.tickets)] if isinstance(arg, int) and SEEN.tickets else str(arg)
                r = await http.post(f"/api/v1/tickets/{urllib.parse.quote(tid, safe='')}/cancel")
            else:
                path = f"/api/v1/desks/{urllib.parse.quote(str(arg), safe='')}/{action}"
                r = await (http.post(path, json=body, headers=head) if body is not None
                           else http.post(path, headers=head))
                if r.status_code == 200 and action in ("call-next", "recall"):
                    t = r.json()
                    assert t["status"] == "called" and t["desk"] == arg, t
                    (SEEN.calls if action == "call-next" else SEEN.recalls).append((t["number"], numbers[arg]))
            what = f"{action} {arg!r} {body!r} ({who}): {r.status_code} {r.text}"
            assert r.status_code < 500, what
            assert r.status_code in ALLOWED[action] | (OTHER_TOKENS if who != "head" else set()), what
            if who in ("none", "unknown") and action != "cancel":
                assert r.status_code in (400, 401, 404), what  # never done without a valid token
            if r.status_code >= 400:
                err = r.json()["error"]
                assert isinstance(err["code"], str) and isinstance(err["message"], str) and err["message"], err
        seq = int((await http.get(f"/api/v1/offices/{WATCHED}/state")).json()["seq"])
        await rig.watcher.until(seq)
        msgs = rig.watcher.msgs
        assert rig.watcher.seq == seq, (rig.watcher.seq, seq)
        check_stream(msgs)
        called = [(m["ticket"], m["desk"]) for m in msgs if m["type"] == "called"]
        recalled = [(m["ticket"], m["desk"]) for m in msgs if m["type"] == "recalled"]
        assert called == SEEN.calls, "every answered call-next shows on the board, in order, and nothing else"
        assert recalled == SEEN.recalls
        await rig.healthy()

    rig.run(example())


# ------------------------------------------------------------------------------------------ and afterwards


def test_after_the_fuzzing_boards_still_get_valid_messages(rig: Rig) -> None:
    head = rig.serve.auth("head", WATCHED)

    async def scenario() -> None:
        assert rig.watcher.closed is None, f"the watching board was closed: {rig.watcher.closed!r}"
        http = rig.http
        service = "community-register-extract"
        desk = next(d for d in rig.offices[WATCHED]["desks"] if service in d["services"])
        # free the desk of whatever the sequences left it with, then a fresh board sees one whole call
        for path, body in ((f"/api/v1/desks/{desk['id']}/open", None),
                           (f"/api/v1/desks/{desk['id']}/resume", None),
                           (f"/api/v1/desks/{desk['id']}/finish", {"outcome": "served"})):
            await http.post(path, json=body, headers=head)
        async with websockets.connect(f"{rig.serve.ws_url}/ws/offices/{WATCHED}/board") as ws:
            snap = json.loads(await asyncio.wait_for(ws.recv(), 10))
            check_board_message(snap)
            assert snap["type"] == "snapshot"
            r = await http.post(f"/api/v1/offices/{WATCHED}/tickets", json={"service": service, "vulnerable": True},
                                headers=head)
            assert r.status_code == 201, r.text
            r = await http.post(f"/api/v1/desks/{desk['id']}/call-next", headers=head)
            assert r.status_code == 200, r.text
            called = r.json()
            got = [snap]
            while not (got[-1]["type"] == "called" and got[-1]["ticket"] == called["number"]):
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
                check_board_message(got[-1])
            check_stream(got)
            assert got[-1]["desk"] == desk["number"]
        seq = int((await http.get(f"/api/v1/offices/{WATCHED}/state")).json()["seq"])
        await rig.watcher.until(seq)
        check_stream(rig.watcher.msgs)
        assert rig.watcher.closed is None
        await rig.healthy()

    rig.run(scenario())


def test_the_module_used_one_server_process(rig: Rig) -> None:
    """The examples above ran against the same process throughout: a restart would have hidden a crash."""
    assert rig.serve.proc is not None and rig.serve.proc.poll() is None
    log = rig.serve.data.parent / f"serve-{rig.serve.port}.log"
    text = log.read_text(errors="replace")
    assert "Exception in ASGI application" not in text, text[-4000:]
