"""The push listener and remote tickets (#18.3): the near alert counts only those waiting in the hall (a remote
ticket that has not come is nobody ahead), and a remote ticket is told when its turn nears: within the office's
``notify_ahead``, when the wait is no longer than the way there, or when its turn has come.

The real :class:`cherga.displays.push.PushNotifier` follows the engine's real events; only the last step, the HTTP
post to the push service, is its ``send`` hook here (the encryption and the protocol are tested end to end against a
decrypting receiver in tests/test_push.py)."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

from conftest import T0, small_network
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cherga.displays import views
from cherga.displays.push import PushConfig, PushNotifier, Subscription
from cherga.engine import commands as c
from cherga.engine.network import CityEngine

SVC = "residence"
ENDPOINT = "http://127.0.0.1:9/push/"


def keys() -> tuple[str, str]:
    pub = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64(pub), _b64(b"0123456789abcdef")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Phone:
    """The engine, the notifier following it, and what each ticket was sent."""

    def __init__(self, tmp: Path, **office: Any) -> None:
        net = small_network()
        main = dataclasses.replace(net.offices["main"], remote_join=True, notify_ahead=1, remote_grace_min=10.0,
                                   **office)
        self.engine = CityEngine(dataclasses.replace(net, offices={**net.offices, "main": main}))
        self.now = T0
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.push = PushNotifier(tmp, lambda: self.engine, PushConfig(allow_http=frozenset({"http://127.0.0.1:9"})),
                                 clock=lambda: self.now, send=self._send)
        self.apply(c.OpenDesk(desk="m2"))

    def _send(self, sub: Subscription, msg: dict[str, Any]) -> int:
        self.sent.append((sub.ticket, msg))
        return 201

    def apply(self, cmd: Any) -> list[Any]:
        evs = self.engine.apply(cmd, self.now)
        self.push.on_events(evs, replay=False)
        self.push.flush()
        return evs

    def issue(self, remote: bool = False) -> str:
        cmd = c.IssueTicket(office="main", service=SVC, channel="remote" if remote else "kiosk", remote=remote)
        return str(next(x.ticket for x in self.apply(cmd) if hasattr(x, "number") and hasattr(x, "ticket")))

    def subscribe(self, ticket: str) -> None:
        d = self.engine.offices["main"]
        p256dh, auth = keys()
        self.push.subscribe(ticket, views.ticket_json(d, d.tickets[ticket], self.now), ENDPOINT, p256dh, auth)

    def near(self, ticket: str) -> list[dict[str, Any]]:
        return [m for t, m in self.sent if t == ticket and m["kind"] == "near"]

    def next_call(self) -> None:
        d = self.engine.offices["main"]
        if d.desks["m2"].ticket is not None:
            self.apply(c.Finish(desk="m2"))
        self.apply(c.CallNext(desk="m2"))


def test_remote_tickets_ahead_are_not_counted_and_a_remote_ticket_is_told(tmp_path: Path) -> None:
    p = Phone(tmp_path, remote_travel_min=1.0)
    first = p.issue()
    p.next_call()  # the desk is busy with the first visitor
    hall = [p.issue() for _ in range(2)]
    away = [p.issue(remote=True) for _ in range(3)]  # joined, not in the hall
    mine = p.issue()  # in the hall: two ahead there, three remote tickets between
    p.subscribe(mine)
    p.subscribe(away[0])
    p.next_call()  # hall[0] called: one in the hall ahead of mine, within notify_ahead = 1
    assert first and hall
    near = p.near(mine)
    assert len(near) == 1 and near[0]["ahead"] == 1, p.sent  # the remote tickets were not counted as ahead
    # the remote ticket: one in the hall ahead of it too, within notify_ahead: told, once
    assert [m["ahead"] for m in p.near(away[0])] == [1]
    p.next_call()
    assert len(p.near(away[0])) == 1 and len(p.near(mine)) == 1


def test_a_remote_ticket_is_told_when_the_wait_is_the_way_there(tmp_path: Path) -> None:
    p = Phone(tmp_path, remote_travel_min=30.0)
    p.issue()
    p.next_call()
    for _ in range(5):
        p.issue()
    r = p.issue(remote=True)  # five ahead in the hall: past notify_ahead
    p.subscribe(r)
    d = p.engine.offices["main"]
    eta = views.ticket_json(d, d.tickets[r], p.now)["eta_min"]
    assert eta is not None and eta > 30.0 and not p.near(r)
    while not p.near(r):
        p.now += 60
        p.next_call()
        assert d.tickets[r].status.value == "remote"
    # told once, with more than notify_ahead = 1 ahead: the way takes as long as the wait from then on
    assert len(p.near(r)) == 1 and p.near(r)[0]["ahead"] > 1
    assert views.ticket_json(d, d.tickets[r], p.now)["eta_min"] <= 30.0
