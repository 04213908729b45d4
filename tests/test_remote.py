"""Join from the phone (#18.3) in the engine: when the office takes remote tickets, the ticket held in the line and
passed over, the check-in back in its place, the grace ending as a no-show, the forecast's honest count of remote
tickets ahead, the configuration keys (the loader's errors, the TOML export's round trip), and replay."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import T0, small_network

from cherga.engine import commands as c
from cherga.engine import config_toml, forecast
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import Status
from cherga.engine.loader import load_network, parse_documents
from cherga.engine.model import Network
from cherga.errors import ConfigError, Conflict, RemoteClosed, RemoteLive

SVC = "residence"  # served by desk m2 only (m3 helps)


def office_net(**remote: Any) -> Network:
    net = small_network()
    settings: dict[str, Any] = {"remote_join": True, "remote_travel_min": 5.0, "remote_grace_min": 10.0,
                                "remote_per_hour": 20}
    settings.update(remote)
    return dataclasses.replace(net, offices={**net.offices, "main": dataclasses.replace(net.offices["main"],
                                                                                         **settings)})


def busy(**remote: Any) -> tuple[Dispatcher, list[e.BaseEvent], float]:
    """The main office with desk m2 open and busy with a visitor, and two in the hall: a wait of about 24 min."""
    d = Dispatcher(office_net(**remote), "main")
    log: list[e.BaseEvent] = []
    now = T0
    log += d.apply(c.OpenDesk(desk="m2"), now)
    for _ in range(3):
        log += d.apply(c.IssueTicket(office="main", service=SVC), now)
    log += d.apply(c.CallNext(desk="m2"), now)
    return d, log, now


def remote(d: Dispatcher, now: float, browser: str | None = None, log: list[e.BaseEvent] | None = None) -> str:
    evs = d.apply(c.IssueTicket(office="main", service=SVC, channel="remote", remote=True, browser=browser), now)
    if log is not None:
        log += evs
    issued = next(x for x in evs if isinstance(x, e.TicketIssued))
    assert issued.remote and d.tickets[issued.ticket].status is Status.REMOTE
    return issued.ticket


def test_remote_ticket_is_held_passed_over_and_checked_in_at_its_place() -> None:
    d, log, now = busy()
    r = remote(d, now + 1, "b1", log)
    t = d.tickets[r]
    assert t.queue is None and forecast.position(d, t) == 3  # two in the hall ahead of it
    log += d.apply(c.IssueTicket(office="main", service=SVC), now + 2)  # joins after the remote ticket
    behind = log[-1]
    assert isinstance(behind, e.TicketIssued) and behind.position == 3  # the hall only: R is not counted
    # the desk calls the two who were ahead: R's turn has not come
    for _ in range(2):
        log += d.apply(c.Finish(desk="m2"), now + 60)
        called = d.apply(c.CallNext(desk="m2"), now + 60)
        log += called
        assert called[0].ticket != r  # type: ignore[attr-defined]
        assert t.passed_at is None
    # the next called joined after R: R is passed over, never called, and its grace starts
    log += d.apply(c.Finish(desk="m2"), now + 120)
    called = d.apply(c.CallNext(desk="m2"), now + 120)
    log += called
    assert called[0].ticket == behind.ticket  # type: ignore[attr-defined]
    assert t.status is Status.REMOTE and t.passed_at == now + 120 and forecast.position(d, t) == 1
    # someone joins the hall, then R checks in: R is first, the newcomer after it
    log += d.apply(c.IssueTicket(office="main", service=SVC), now + 130)
    later = log[-1]
    assert isinstance(later, e.TicketIssued)
    evs = d.apply(c.CheckInRemote(office="main", ticket=r), now + 140)
    log += evs
    assert [type(x) for x in evs] == [e.RemoteCheckedIn] and getattr(evs[0], "passed", None) is True
    assert t.status.value == "waiting" and forecast.position(d, t) == 1
    assert forecast.position(d, d.tickets[later.ticket]) == 2
    assert d.apply(c.CheckInRemote(office="main", ticket=r), now + 150) == []  # a second scan: nothing
    log += d.apply(c.Finish(desk="m2"), now + 200)
    called = d.apply(c.CallNext(desk="m2"), now + 200)
    log += called
    assert called[0].ticket == r  # type: ignore[attr-defined]
    d._check()
    fresh = Dispatcher(office_net(), "main")
    fresh.replay(e.decode(e.encode(x)) for x in log)
    assert fresh.digest() == d.digest()


def test_grace_ends_a_passed_remote_ticket_as_a_no_show_and_only_then() -> None:
    d, log, now = busy(remote_grace_min=10.0)
    r = remote(d, now + 1, log=log)
    log += d.apply(c.IssueTicket(office="main", service=SVC), now + 2)
    for k in range(3):
        log += d.apply(c.Finish(desk="m2"), now + 60 * (k + 1))
        log += d.apply(c.CallNext(desk="m2"), now + 60 * (k + 1))
    passed = d.tickets[r].passed_at
    assert passed == now + 180
    assert d.next_remote_expiry() == passed + 600
    assert d.apply(c.ExpireRemote(office="main"), passed + 599) == []
    evs = d.apply(c.ExpireRemote(office="main"), passed + 600)
    log += evs
    assert [type(x) for x in evs] == [e.RemoteExpired] and d.tickets[r].status is Status.NO_SHOW
    assert d.remote_expired == 1 and d.next_remote_expiry() is None
    with pytest.raises(Conflict, match=r"kept its place until .*new ticket"):
        d.apply(c.CheckInRemote(office="main", ticket=r), passed + 700)
    fresh = Dispatcher(office_net(), "main")
    fresh.replay(log)
    assert fresh.digest() == d.digest()


def test_the_grace_stands_still_under_an_air_raid_alert() -> None:
    d, log, now = busy(remote_grace_min=10.0)
    r = remote(d, now + 1, log=log)
    log += d.apply(c.IssueTicket(office="main", service=SVC), now + 2)
    for k in range(3):
        log += d.apply(c.Finish(desk="m2"), now + 60 * (k + 1))
        log += d.apply(c.CallNext(desk="m2"), now + 60 * (k + 1))
    t = d.tickets[r]
    passed = t.passed_at
    assert passed is not None and d.remote_deadline(t) == passed + 600
    log += d.apply(c.SetAlert(office="main", active=True), passed + 300)  # 5 min of the grace used
    assert d.remote_deadline(t) == float("inf") and d.next_remote_expiry() == float("inf")
    assert d.apply(c.ExpireRemote(office="main"), passed + 3600) == []  # in the shelter: the place is kept
    log += d.apply(c.SetAlert(office="main", active=False, resume_after_min=0.0), passed + 3600)
    assert d.remote_deadline(t) == passed + 3600 + 300  # the 5 min left, after the all-clear
    assert d.apply(c.ExpireRemote(office="main"), passed + 3899) == []
    evs = d.apply(c.ExpireRemote(office="main"), passed + 3900)
    log += evs
    assert [type(x) for x in evs] == [e.RemoteExpired]
    fresh = Dispatcher(office_net(), "main")
    fresh.replay(log)
    assert fresh.digest() == d.digest()


def test_when_remote_joining_is_open() -> None:
    d, _, now = busy(remote_join=False)
    with pytest.raises(RemoteClosed, match="does not take tickets from phones"):
        remote(d, now)
    # the wait must be longer than the way here
    d, _, now = busy(remote_travel_min=60.0)
    with pytest.raises(RemoteClosed, match="no longer than the 60 min"):
        remote(d, now)
    # no open desk serves it: no place can be held
    d = Dispatcher(office_net(), "main")
    with pytest.raises(RemoteClosed, match="no desk"):
        remote(d, T0)
    # outside the remote hours (the office's local time)
    hour = datetime.fromtimestamp(T0, ZoneInfo("Europe/Kyiv")).hour
    span = f"{(hour + 2) % 22:02d}:00-{(hour + 2) % 22 + 1:02d}:00"
    d, _, now = busy(remote_hours=span)
    with pytest.raises(RemoteClosed, match=f"{span} only"):
        remote(d, now)
    # the cap per hour: then open again an hour after the first
    d, _, now = busy(remote_per_hour=2)
    remote(d, now)
    remote(d, now + 10)
    before = d.digest()
    with pytest.raises(RemoteClosed, match="its 2 tickets from phones for this hour"):
        remote(d, now + 20)
    assert d.digest() == before
    remote(d, now + 3601)
    # one live remote ticket per browser, until it ends
    d, _, now = busy()
    first = remote(d, now, "phone")
    with pytest.raises(RemoteLive, match=d.tickets[first].number):
        remote(d, now + 1, "phone")
    remote(d, now + 1, "another")
    d.apply(c.Cancel(ticket=first), now + 2)
    assert d.tickets[first].status is Status.CANCELLED
    remote(d, now + 3, "phone")
    d._check()


def test_a_kiosk_ticket_is_not_checked_in_and_the_day_close_ends_remote_tickets() -> None:
    d, _, now = busy()
    hall = next(t for t in d.tickets.values() if t.status is Status.WAITING)
    with pytest.raises(Conflict, match="taken in the hall"):
        d.apply(c.CheckInRemote(office="main", ticket=hall.id), now)
    r = remote(d, now + 1)
    d.apply(c.Finish(desk="m2"), now + 2)
    evs = d.apply(c.CloseDay(office="main"), now + 3)
    assert any(isinstance(x, e.TicketCancelled) and x.ticket == r for x in evs)
    assert d.tickets[r].status is Status.CANCELLED
    d._check()


def test_the_forecast_counts_remote_tickets_ahead_as_the_share_who_come() -> None:
    d, _, now = busy()
    q = d.queues[(SVC, False)]
    base, _ = forecast.new_ticket_eta(d, q, now)
    for k in range(4):
        remote(d, now + k, f"b{k}")
    share = forecast.remote_show_share(d)
    assert share == pytest.approx(0.8)  # the prior, before the day says otherwise
    with_remote, position = forecast.new_ticket_eta(d, q, now + 5)
    mean = forecast.mean_service_min(d, SVC)
    assert position == 3  # the hall: two waiting
    assert base is not None and with_remote is not None
    assert with_remote - base == pytest.approx(4 * share * mean, rel=0.05)  # neither 4 people nor none
    # the state's figure is the new ticket's figure (one forecast)
    line = next(x for x in forecast.queues(d, now + 5) if x.service == SVC)
    assert line.eta_min == forecast.rounded(with_remote)
    # the day's remote visitors who did not come lower the share
    d.remote_expired = 10
    assert forecast.remote_show_share(d) == pytest.approx(4.0 / 15.0)


def test_the_loader_checks_the_remote_keys_and_the_export_keeps_them() -> None:
    net = load_network()
    services, doc = config_toml.documents(net)
    office = doc["office"][0]
    for key, value, words in (
        ("remote_join", "yes", "true or false"),
        ("remote_hours", "9-17", "HH:MM-HH:MM"),
        ("remote_hours", "17:00-09:00", "the start before the end"),
        ("remote_per_hour", 0, "from 1 to 1000"),
        ("remote_per_hour", 2.5, "whole number"),
        ("remote_grace_min", 0.0, "remote_grace_min"),
        ("remote_travel_min", -5, "remote_travel_min"),
    ):
        bad = {**office, key: value}
        with pytest.raises(ConfigError, match=words) as info:
            parse_documents(services, {**doc, "office": [bad, *doc["office"][1:]]})
        assert f"office[0].{key}" in str(info.value)
    office.update(remote_join=True, remote_hours="09:00-17:00", remote_per_hour=12, remote_grace_min=7.5,
                  remote_travel_min=20.0)
    loaded = parse_documents(services, doc)
    o = loaded.offices[office["id"]]
    assert (o.remote_join, o.remote_hours, o.remote_per_hour, o.remote_grace_min, o.remote_travel_min) == (
        True, "09:00-17:00", 12, 7.5, 20.0)
    files = config_toml.export(loaded)
    back = parse_documents(tomllib.loads(files["services.toml"]), tomllib.loads(files["network.toml"]))
    assert back == loaded
