"""``cherga report``: every figure of a known day, driven through the real engine and journal.

The day (Tuesday 2025-03-11, Kyiv, UTC+2) is played command by command on :class:`CityEngine` over the demo
network, each command's events appended to a :class:`SqliteJournal`, as the service does. The scenario table below
lists what each ticket lived; the expected report is written out by hand from it (the arithmetic in comments), so a
wrong definition in the code cannot also be the expectation.

    ticket  service (category)                 issued  first call (desk)  then
    T0      residence-certificate (quick)      D-1 23:50  -               cancelled 23:55 (the day before: not counted)
    T1      residence-registration (accept.)   09:00   09:05 main-03 w5   start 09:06, served 09:18; exemplary
    T2      community-register-extract (quick) 09:02   09:20 main-03 w18  served 09:26; good
    T3      residence-certificate (quick)      09:04   09:30 main-03 w26  refused 09:35; bad
    T4      pension-fund-consultation (cons.)  09:10   09:25 main-15 w15  served 09:40
    T5      administrator-consultation (cons.) 09:12   09:20 main-16 w8   served 09:30; exemplary
    T6      results-issuance, vulnerable       09:15   09:16 main-02 w1   no-show 09:20 (not brought back)
    T7      results-issuance (issuance)        09:40   09:45 main-02 w5   no-show 09:47, restored 09:55, served 09:58
    T15     residence-registration, booked     09:50   10:00 main-04 w10  (check-in of booking B1 at 10:00) served 10:12
    T8      residence-deregistration (accept.) 10:00   -                  the visitor leaves 10:30 (waited 30 > 20)
    T9      residence-registration + community 10:05   10:10 main-03 w5   served 10:20, next service called 10:21,
                                                                          served 10:27; good
    T10     land-consultation (cons.)          11:00   11:20 main-16 w20  the visitor leaves 11:25 (after the call)
    T11     residence-certificate, walk-in     12:00   12:00 main-03 w0   served 12:07
    T16     residence-registration             13:00   -                  sent to zamostia 13:05 as T16z
    T16z    residence-registration @zamostia   13:05   13:20 zam.-02 w15  served 13:30
    T17     housing-subsidy (seasonal)         14:00   14:05 main-15 w5   transferred to desk main-10 14:10, called
                                                                          14:12, served 14:30; good (15:05)
    T13     community-register-extract         23:30   23:50 main-03 w20  served 00:05 the next day (counts: issued D)
    T12     administrator-consultation         23:40   -                  cancelled at closing 00:07 (waited 27)
    T14     community-register-extract walk-in D+1 00:10  00:10 main-03   served 00:15 (issued D+1: not counted)

Desks open at 08:00 (main-02, -03, -04, -10, -15, -16; zamostia-02 13:00-13:40); main-03 pauses 12:30-13:00; the day
is closed at 00:07 on D+1. Administrators' codes (``OpenDesk(staff=...)``): K-105 main-02, K-101 main-03, main-04
opened without a code, K-103 main-10, K-102 main-15, K-106 main-16 (all 08:00), K-201 zamostia-02. K-103 closes
main-10 at 12:00; K-101 leaves main-03 at its pause and reopens main-10 at 12:30 (serves T17 there); Ц-7 reopens
main-03 at 13:00 (serves T13); K-103 takes main-10 back at 15:00 without closing it. T1, T3, T5, T9 and T17 are rated
on the desks' tablets (the ticket the desk finished last), T17 after main-10 changed hands; T2 on its own page. On
D+1 main-03 is opened without a code for T14. Bookings made on D-1: B1 10:00 (checked in), B2 11:00 (never came),
B3 15:00 (cancelled 09:00), B4 D+1 10:00 (outside the day).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.engine.network import CityEngine
from cherga.journal.sqlite import SqliteJournal
from cherga.reports.compute import build_report, group_stats
from cherga.reports.extract import Period, ReportError, extract, utc_offsets
from cherga.reports.render import fmt_minutes, fmt_number, fmt_share, parse_csv, render

KYIV = ZoneInfo("Europe/Kyiv")
DAY = date(2025, 3, 11)
NETWORK: Network = load_network()


def at(h: int, m: int, days: int = 0) -> float:
    return datetime.combine(DAY + timedelta(days=days), time(h, m), tzinfo=KYIV).timestamp()


class Scenario:
    """The engine and the journal, as the service keeps them; ``do`` applies a command and journals its events."""

    def __init__(self, data: Path) -> None:
        self.engine = CityEngine(NETWORK)
        self.journal = SqliteJournal(data / "journal.sqlite3")
        self.futures: list[Future[None]] = []
        self.tickets: dict[str, str] = {}
        self.codes: dict[str, str] = {}

    def do(self, cmd: Any, when: float) -> list[e.BaseEvent]:
        events = self.engine.apply(cmd, when)
        self.futures.append(self.journal.append(events))
        return events

    def issue(self, name: str, service: str, when: float, office: str = "main", **kw: Any) -> None:
        self._remember(name, self.do(c.IssueTicket(office=office, service=service, **kw), when))

    def _remember(self, name: str, events: list[e.BaseEvent]) -> None:
        self.tickets[name] = next(ev.ticket for ev in events if isinstance(ev, e.TicketIssued))

    def call(self, desk: str, name: str, when: float) -> None:
        self.do(c.CallTicket(desk=desk, ticket=self.tickets[name]), when)

    def finish(self, desk: str, when: float, outcome: c.Outcome = c.Outcome.SERVED) -> None:
        self.do(c.Finish(desk=desk, outcome=outcome), when)

    def rate(self, name: str, score: c.Score, when: float) -> None:
        self.do(c.Rate(ticket=self.tickets[name], score=score), when)

    def rate_at_desk(self, desk: str, name: str, score: c.Score, when: float) -> None:
        """The desk's rating tablet: it rates the ticket the desk finished last (GET .../last-finished)."""
        last = self.engine.office(self.engine.office_of_desk(desk)).desks[desk].last_finished
        assert last == self.tickets[name], f"{desk}'s tablet offers another ticket than {name}"
        self.do(c.Rate(ticket=last, score=score), when)

    def book(self, name: str, service: str, start: float, when: float) -> None:
        events = self.do(c.Book(office="main", service=service, start=start), when)
        self.codes[name] = next(ev.code for ev in events if isinstance(ev, e.AppointmentBooked))

    def close(self) -> None:
        for f in self.futures:
            f.result(timeout=60)
        self.journal.close()


# who opens each desk at 08:00 (the administrator's code; main-04 is opened without one)
STAFF: dict[str, str | None] = {"main-02": "K-105", "main-03": "K-101", "main-04": None, "main-10": "K-103",
                                "main-15": "K-102", "main-16": "K-106"}


def play(data: Path) -> Scenario:
    s = Scenario(data)
    # the day before: bookings, and a ticket of that day
    s.book("B1", "residence-registration", at(10, 0), at(12, 0, -1))
    s.book("B2", "community-register-extract", at(11, 0), at(12, 0, -1))
    s.book("B3", "residence-registration", at(15, 0), at(12, 0, -1))
    s.book("B4", "residence-registration", at(10, 0, 1), at(12, 0, -1))
    s.issue("T0", "residence-certificate", at(23, 50, -1))
    s.do(c.Cancel(ticket=s.tickets["T0"]), at(23, 55, -1))
    # the day
    for desk, staff in STAFF.items():
        s.do(c.OpenDesk(desk=desk, staff=staff), at(8, 0))
    s.issue("T1", "residence-registration", at(9, 0))
    s.do(c.CancelBooking(office="main", code=s.codes["B3"]), at(9, 0))
    s.issue("T2", "community-register-extract", at(9, 2))
    s.issue("T3", "residence-certificate", at(9, 4))
    s.call("main-03", "T1", at(9, 5))
    s.do(c.Start(desk="main-03"), at(9, 6))
    s.issue("T4", "pension-fund-consultation", at(9, 10))
    s.issue("T5", "administrator-consultation", at(9, 12))
    s.issue("T6", "results-issuance", at(9, 15), vulnerable=True)
    s.call("main-02", "T6", at(9, 16))
    s.finish("main-03", at(9, 18))
    s.rate_at_desk("main-03", "T1", c.Score.EXEMPLARY, at(9, 19))
    s.call("main-03", "T2", at(9, 20))
    s.do(c.NoShow(desk="main-02"), at(9, 20))
    s.call("main-16", "T5", at(9, 20))
    s.call("main-15", "T4", at(9, 25))
    s.finish("main-03", at(9, 26))
    s.rate("T2", c.Score.GOOD, at(9, 27))
    s.call("main-03", "T3", at(9, 30))
    s.finish("main-16", at(9, 30))
    s.rate_at_desk("main-16", "T5", c.Score.EXEMPLARY, at(9, 31))
    s.finish("main-03", at(9, 35), c.Outcome.REFUSED)
    s.rate_at_desk("main-03", "T3", c.Score.BAD, at(9, 36))
    s.issue("T7", "results-issuance", at(9, 40))
    s.finish("main-15", at(9, 40))
    s.call("main-02", "T7", at(9, 45))
    s.do(c.NoShow(desk="main-02"), at(9, 47))
    s._remember("T15", s.do(c.CheckIn(office="main", code=s.codes["B1"]), at(9, 50)))
    s.do(c.Restore(desk="main-02", ticket=s.tickets["T7"]), at(9, 55))
    s.finish("main-02", at(9, 58))
    s.issue("T8", "residence-deregistration", at(10, 0))
    s.call("main-04", "T15", at(10, 0))
    s.issue("T9", "residence-registration", at(10, 5), more_services=("community-register-extract",))
    s.call("main-03", "T9", at(10, 10))
    s.finish("main-04", at(10, 12))
    s.finish("main-03", at(10, 20))
    s.call("main-03", "T9", at(10, 21))
    s.finish("main-03", at(10, 27))
    s.rate_at_desk("main-03", "T9", c.Score.GOOD, at(10, 28))
    s.do(c.Cancel(ticket=s.tickets["T8"]), at(10, 30))
    s.issue("T10", "land-consultation", at(11, 0))
    s.call("main-16", "T10", at(11, 20))
    s.do(c.Cancel(ticket=s.tickets["T10"]), at(11, 25))
    s._remember("T11", s.do(c.ServeWalkIn(desk="main-03", service="residence-certificate"), at(12, 0)))
    s.do(c.CloseDesk(desk="main-10"), at(12, 0))  # K-103 leaves for lunch
    s.finish("main-03", at(12, 7))
    s.do(c.PauseDesk(desk="main-03"), at(12, 30))
    s.do(c.OpenDesk(desk="main-10", staff="K-101"), at(12, 30))  # K-101 moves from main-03 to main-10
    s.do(c.OpenDesk(desk="main-03", staff="Ц-7"), at(13, 0))  # Ц-7 takes main-03 over from its pause
    s.issue("T16", "residence-registration", at(13, 0))
    s.do(c.OpenDesk(desk="zamostia-02", staff="K-201"), at(13, 0))
    events = s.do(c.SendToOffice(ticket=s.tickets["T16"], to_office="zamostia"), at(13, 5))
    s.tickets["T16z"] = next(ev.ticket for ev in events if isinstance(ev, e.TicketIssued))
    s.call("zamostia-02", "T16z", at(13, 20))
    s.finish("zamostia-02", at(13, 30))
    s.do(c.CloseDesk(desk="zamostia-02"), at(13, 40))
    s.issue("T17", "housing-subsidy", at(14, 0))
    s.call("main-15", "T17", at(14, 5))
    s.do(c.Transfer(desk="main-15", to_desk="main-10"), at(14, 10))
    s.call("main-10", "T17", at(14, 12))
    s.finish("main-10", at(14, 30))
    s.do(c.OpenDesk(desk="main-10", staff="K-103"), at(15, 0))  # K-103 is back: the desk changes hands, open
    s.rate_at_desk("main-10", "T17", c.Score.GOOD, at(15, 5))  # still K-101's rating: K-101 finished T17
    s.issue("T13", "community-register-extract", at(23, 30))
    s.issue("T12", "administrator-consultation", at(23, 40))
    s.call("main-03", "T13", at(23, 50))
    # after midnight
    s.finish("main-03", at(0, 5, 1))
    s.do(c.CloseDay(office="main"), at(0, 7, 1))
    s.do(c.OpenDesk(desk="main-03"), at(0, 9, 1))
    s._remember("T14", s.do(c.ServeWalkIn(desk="main-03", service="community-register-extract"), at(0, 10, 1)))
    s.finish("main-03", at(0, 15, 1))
    s.do(c.CloseDesk(desk="main-03"), at(0, 16, 1))
    s.close()
    return s


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("report") / "data"
    play(data)
    yield data


def report_of(data: Path, first: date, last: date, offices: list[str] | None = None) -> dict[str, Any]:
    period = Period(first, last)
    return build_report(extract(data / "journal.sqlite3", period, NETWORK, offices), NETWORK, period, offices)


@pytest.fixture(scope="module")
def report(day: Path) -> dict[str, Any]:
    return report_of(day, DAY, DAY)


# ------------------------------------------------------------------------------------------ expected figures


def ratings(bad: int = 0, good: int = 0, exemplary: int = 0) -> dict[str, int]:
    return {"bad": bad, "good": good, "exemplary": exemplary}


def monitoring(terrible: int = 0, acceptable: int = 0, good: int = 0, excellent: int = 0) -> dict[str, int]:
    """The national monitoring's four levels (docs/reports.md: three levels map погано -> жахливо, зразково ->
    чудово)."""
    return {"terrible": terrible, "acceptable": acceptable, "good": good, "excellent": excellent}


def waits(called: int, mean: float | None, p90: float | None, mx: float | None, w15: float | None,
          w20: float | None) -> dict[str, Any]:
    return {"called": called, "mean_min": mean, "p90_min": p90, "max_min": mx, "share_within_15": w15,
            "share_within_20": w20}


NO_WAITS = waits(0, None, None, None, None, None)


def service(sid: str, served: int, refused: int, mean: float, r: dict[str, int] | None = None) -> dict[str, Any]:
    svc = NETWORK.services[sid]
    return {"service": sid, "name_uk": svc.name_uk, "name_en": svc.name_en, "category": svc.category.value,
            "served": served, "refused": refused, "mean_service_min": mean, "ratings": r or ratings()}


def online(sid: str, tickets: int) -> dict[str, Any]:
    svc = NETWORK.services[sid]
    return {"service": sid, "name_uk": svc.name_uk, "name_en": svc.name_en, "online_url": svc.online_url,
            "tickets": tickets}


def desk(did: str, number: str, served: int = 0, refused: int = 0, marked: int = 0, mean: float | None = None,
         open_min: float = 0.0, paused: float = 0.0, busy: float = 0.0, r: dict[str, int] | None = None
         ) -> dict[str, Any]:
    return {"desk": did, "number": number, "served": served, "refused": refused, "no_show_marked": marked,
            "mean_service_min": mean, "open_min": open_min, "paused_min": paused, "busy_min": busy,
            "idle_min": max(0.0, open_min - busy), "ratings": r or ratings()}


def admin(staff: str | None, desks: list[str], served: int = 0, refused: int = 0, mean: float | None = None,
          p90: float | None = None, r: dict[str, int] | None = None, share: float | None = None) -> dict[str, Any]:
    """A row of the administrators' table; ``desks`` as ids (their numbers follow the configuration)."""
    numbers = {d.id: d.number for o in NETWORK.offices.values() for d in o.desks}
    return {"staff": staff, "served": served, "refused": refused, "mean_service_min": mean, "p90_service_min": p90,
            "ratings": r or ratings(), "share_good_or_exemplary": share,
            "desks": [{"desk": d, "number": numbers[d]} for d in desks]}


def appointments(booked: int = 0, cancelled: int = 0, checked_in: int = 0, late: int = 0, no_show: int = 0,
                 pending: int = 0) -> dict[str, int]:
    return {"booked": booked, "cancelled": cancelled, "checked_in": checked_in, "late": late, "no_show": no_show,
            "pending": pending}


def empty_unit() -> dict[str, Any]:
    return {
        "issued": 0, "served": 0, "refused": 0, "no_show": 0, "consultations": 0, "services_provided": 0,
        "tickets": {"done": 0, "refused": 0, "no_show": 0, "cancelled": 0, "redirected": 0, "not_possible": 0,
                    "not_served": 0, "open": 0},
        "not_possible": 0, "not_served_today": 0, "alerts": {"count": 0, "minutes": 0.0},
        "cancelled": {"before_call": 0, "after_call": 0, "day_closed": 0},
        "channels": {"walk_in": 0, "appointment": 0, "redirected_in": 0},
        "by_service": [], "wait": NO_WAITS, "wait_net_of_alerts": NO_WAITS,
        "deadline": {"limit_min": 20.0, "over_limit": 0, "share_over_limit": None, "left_after_limit": 0},
        "wait_by_category": [], "wait_by_hour": [], "ratings": ratings(),
        "rating_scale": "three", "ratings_monitoring": monitoring(),
        "online": {"tickets": 0, "share_of_issued": None, "by_service": []},
        "appointments": appointments(),
        # tickets from phones (#18.3): none in this journal
        "remote": {"issued": 0, "checked_in": 0, "no_show_unchecked": 0, "wait_from_check_in": NO_WAITS},
    }


def head(oid: str) -> dict[str, Any]:
    o = NETWORK.offices[oid]
    return {"id": oid, "name_uk": o.name_uk, "name_en": o.name_en, "timezone": "Europe/Kyiv"}


def idle_desks(oid: str) -> list[dict[str, Any]]:
    return [desk(d.id, d.number) for d in NETWORK.offices[oid].desks]


MAIN_WAITS = [5, 18, 26, 15, 8, 1, 5, 10, 5, 20, 0, 5, 20]  # T1..T7, T15, T9, T10, T11, T17, T13

EXPECTED_MAIN: dict[str, Any] = {
    **head("main"),
    "issued": 16,  # T1-T13, T15-T17 (T16z is zamostia's; T0 and T14 other days)
    "served": 10,  # T1 T2 T4 T5 T7 T9 T11 T13 T15 T17
    "refused": 1,  # T3
    "no_show": 1,  # T6 (T7 was brought back)
    "consultations": 2,  # T4, T5 (T10 left, T12 never called)
    "services_provided": 11,  # the 10 served tickets, T9 twice
    "tickets": {"done": 10, "refused": 1, "no_show": 1, "cancelled": 3, "redirected": 1, "open": 0},
    "cancelled": {"before_call": 1, "after_call": 1, "day_closed": 1},  # T8, T10, T12
    "channels": {"walk_in": 1, "appointment": 1, "redirected_in": 0},  # T11, T15
    "by_service": [
        service("community-register-extract", 3, 0, 9.0, ratings(good=2)),  # T2 6, T9 6, T13 15 min
        service("residence-registration", 3, 0, 11.333, ratings(exemplary=1)),  # T1 12, T9 10, T15 12
        service("residence-certificate", 1, 1, 6.0, ratings(bad=1)),  # T3 5 (refused), T11 7
        service("administrator-consultation", 1, 0, 10.0, ratings(exemplary=1)),
        service("housing-subsidy", 1, 0, 18.0, ratings(good=1)),
        service("pension-fund-consultation", 1, 0, 15.0),
        service("results-issuance", 1, 0, 3.0),  # T7: restored 09:55, served 09:58
    ],
    # 13 called: sum 138 -> 10.615; sorted 0 1 5 5 5 5 8 10 15 18 20 20 26: p90 at 10.8 -> 20; 9 within 15, 12 within 20
    "wait": waits(13, 10.615, 20.0, 26.0, 0.6923, 0.9231),
    "deadline": {"limit_min": 20.0, "over_limit": 1, "share_over_limit": 0.0769, "left_after_limit": 2},  # T3; T8 T12
    "wait_by_category": [
        {"category": "vulnerable", "issued": 1, **waits(1, 1.0, 1.0, 1.0, 1.0, 1.0), "over_limit": 0},
        # T2 18, T3 26, T11 0, T13 20: sorted 0 18 20 26, p90 at 2.7 -> 20 + 0.7 * 6
        {"category": "quick", "issued": 4, **waits(4, 16.0, 24.2, 26.0, 0.25, 0.75), "over_limit": 1},
        {"category": "seasonal", "issued": 1, **waits(1, 5.0, 5.0, 5.0, 1.0, 1.0), "over_limit": 0},
        # T1 5, T9 5, T15 10 (T8, T16 never called): p90 at 1.8 -> 5 + 0.8 * 5
        {"category": "acceptance", "issued": 5, **waits(3, 6.667, 9.0, 10.0, 1.0, 1.0), "over_limit": 0},
        {"category": "issuance", "issued": 1, **waits(1, 5.0, 5.0, 5.0, 1.0, 1.0), "over_limit": 0},
        # T4 15, T5 8, T10 20 (T12 never called): p90 at 1.8 -> 15 + 0.8 * 5
        {"category": "consultation", "issued": 4, **waits(3, 14.333, 19.0, 20.0, 0.6667, 1.0), "over_limit": 0},
    ],
    "wait_by_hour": [
        # T1 5, T2 18, T3 26, T4 15, T5 8, T6 1, T7 5, T15 10: sum 88; sorted 1 5 5 8 10 15 18 26, p90 at 6.3 -> 20.4
        {"hour": 9, "issued": 8, **waits(8, 11.0, 20.4, 26.0, 0.75, 0.875), "over_limit": 1},
        {"hour": 10, "issued": 2, **waits(1, 5.0, 5.0, 5.0, 1.0, 1.0), "over_limit": 0},
        {"hour": 11, "issued": 1, **waits(1, 20.0, 20.0, 20.0, 0.0, 1.0), "over_limit": 0},
        {"hour": 12, "issued": 1, **waits(1, 0.0, 0.0, 0.0, 1.0, 1.0), "over_limit": 0},
        {"hour": 13, "issued": 1, **NO_WAITS, "over_limit": 0},
        {"hour": 14, "issued": 1, **waits(1, 5.0, 5.0, 5.0, 1.0, 1.0), "over_limit": 0},
        {"hour": 23, "issued": 2, **waits(1, 20.0, 20.0, 20.0, 0.0, 1.0), "over_limit": 0},
    ],
    "ratings": ratings(bad=1, good=3, exemplary=2),
    "rating_scale": "three", "ratings_monitoring": monitoring(terrible=1, good=3, excellent=2),
    "online": {
        "tickets": 8,  # T1 T2 T4 T9 T13 T15 T16 T17
        "share_of_issued": 0.5,
        "by_service": [
            online("residence-registration", 4),  # T1 T9 T15 T16
            online("community-register-extract", 3),  # T2, T9's second service, T13
            online("housing-subsidy", 1),
            online("pension-fund-consultation", 1),
        ],
    },
    # B1 checked in, B2 never came (its 11:00 + 15 min grace passed), B3 cancelled; B4 is the next day's
    "appointments": appointments(booked=3, cancelled=1, checked_in=1, no_show=1),
    "remote": {"issued": 0, "checked_in": 0, "no_show_unchecked": 0, "wait_from_check_in": NO_WAITS},  # #18.3
    "desks": [
        desk("main-01", "1"),
        # T6 09:16-09:20, T7 09:45-09:47 and 09:55-09:58
        desk("main-02", "2", served=1, marked=2, mean=3.0, open_min=960.0, busy=9.0),
        # 13 + 6 + 5 + 10 + 6 + 7 + 10 (T13 from 23:50 to midnight) busy; open 08:00-12:30 and 13:00-24:00
        desk("main-03", "3", served=6, refused=1, mean=8.714, open_min=930.0, paused=30.0, busy=57.0,
             r=ratings(bad=1, good=2, exemplary=1)),  # 61 service minutes / 7
        desk("main-04", "4", served=1, mean=12.0, open_min=960.0, busy=12.0),
        *(desk(f"main-{i:02d}", str(i)) for i in range(5, 10)),
        # closed 12:00-12:30 (K-103 out, K-101 reopens it)
        desk("main-10", "10", served=1, mean=18.0, open_min=930.0, busy=18.0, r=ratings(good=1)),
        *(desk(f"main-{i:02d}", str(i)) for i in range(11, 15)),
        desk("main-15", "15", served=1, mean=15.0, open_min=960.0, busy=20.0),  # T4 15, T17 5 before its transfer
        desk("main-16", "16", served=1, mean=10.0, open_min=960.0, busy=15.0, r=ratings(exemplary=1)),  # T5, T10 5
    ],
    # by the code the desk had when each service finished; sorted by code, the services without one last
    "administrators": [
        # main-03 until its pause at 12:30 (T1 12, T2 6, T3 5 refused, T9 10 + 6, T11 7), then main-10 (T17 18):
        # 64 / 7 = 9.143; sorted 5 6 6 7 10 12 18, p90 at 5.4 -> 12 + 0.4 * 6; rated by the desks' tablets
        # (T17 after K-103 had main-10 back: still K-101's) and T2 on the visitor's page: 4 of 5 good or exemplary
        admin("K-101", ["main-03", "main-10"], served=6, refused=1, mean=9.143, p90=14.4,
              r=ratings(bad=1, good=3, exemplary=1), share=0.8),
        admin("K-102", ["main-15"], served=1, mean=15.0, p90=15.0),  # T4 (T17 only called, then transferred)
        admin("K-103", ["main-10"]),  # opened main-10 at 08:00 and again at 15:00, finished nothing
        admin("K-105", ["main-02"], served=1, mean=3.0, p90=3.0),  # T7 (T6 marked a no-show)
        admin("K-106", ["main-16"], served=1, mean=10.0, p90=10.0, r=ratings(exemplary=1), share=1.0),  # T5
        admin("Ц-7", ["main-03"], served=1, mean=15.0, p90=15.0),  # main-03 from 13:00: T13 (23:50 to 00:05)
        admin(None, ["main-04"], served=1, mean=12.0, p90=12.0),  # main-04, opened without a code: T15
    ],
}

EXPECTED_ZAMOSTIA: dict[str, Any] = {
    **head("zamostia"),
    **empty_unit(),
    "issued": 1, "served": 1, "services_provided": 1,
    "tickets": {"done": 1, "refused": 0, "no_show": 0, "cancelled": 0, "redirected": 0, "open": 0},
    "channels": {"walk_in": 0, "appointment": 0, "redirected_in": 1},
    "by_service": [service("residence-registration", 1, 0, 10.0)],
    "wait": waits(1, 15.0, 15.0, 15.0, 1.0, 1.0),
    "deadline": {"limit_min": 20.0, "over_limit": 0, "share_over_limit": 0.0, "left_after_limit": 0},
    "wait_by_category": [{"category": "acceptance", "issued": 1, **waits(1, 15.0, 15.0, 15.0, 1.0, 1.0),
                          "over_limit": 0}],
    "wait_by_hour": [{"hour": 13, "issued": 1, **waits(1, 15.0, 15.0, 15.0, 1.0, 1.0), "over_limit": 0}],
    "online": {"tickets": 1, "share_of_issued": 1.0, "by_service": [online("residence-registration", 1)]},
    "desks": [desk("zamostia-01", "1"), desk("zamostia-02", "2", served=1, mean=10.0, open_min=40.0, busy=10.0),
              desk("zamostia-03", "3"), desk("zamostia-04", "4")],
    "administrators": [admin("K-201", ["zamostia-02"], served=1, mean=10.0, p90=10.0)],  # T16z
}

EXPECTED_NETWORK: dict[str, Any] = {
    "id": "network", "name_uk": NETWORK.name_uk, "name_en": NETWORK.name_en,
    "offices": ["main", "zamostia", "vyshenka", "khutory"],
    **{k: v for k, v in EXPECTED_MAIN.items()
       if k not in ("id", "name_uk", "name_en", "timezone", "desks", "administrators")},
    "issued": 17, "served": 11, "services_provided": 12,
    "tickets": {"done": 11, "refused": 1, "no_show": 1, "cancelled": 3, "redirected": 1, "open": 0},
    "channels": {"walk_in": 1, "appointment": 1, "redirected_in": 1},
    "by_service": [
        service("residence-registration", 4, 0, 11.0, ratings(exemplary=1)),  # + T16z 10 min
        *EXPECTED_MAIN["by_service"][:1], *EXPECTED_MAIN["by_service"][2:],
    ],
    # main's 13 waits and T16z's 15: sum 153 / 14; sorted ... 15 15 18 20 20 26, p90 at 11.7 -> 20
    "wait": waits(14, 10.929, 20.0, 26.0, 0.7143, 0.9286),
    "deadline": {"limit_min": 20.0, "over_limit": 1, "share_over_limit": 0.0714, "left_after_limit": 2},
    "wait_by_category": [
        *EXPECTED_MAIN["wait_by_category"][:3],
        # T1 5, T9 5, T15 10, T16z 15: p90 at 2.7 -> 10 + 0.7 * 5
        {"category": "acceptance", "issued": 6, **waits(4, 8.75, 13.5, 15.0, 1.0, 1.0), "over_limit": 0},
        *EXPECTED_MAIN["wait_by_category"][4:],
    ],
    "wait_by_hour": [
        *EXPECTED_MAIN["wait_by_hour"][:4],
        {"hour": 13, "issued": 2, **waits(1, 15.0, 15.0, 15.0, 1.0, 1.0), "over_limit": 0},
        *EXPECTED_MAIN["wait_by_hour"][5:],
    ],
    "online": {
        "tickets": 9, "share_of_issued": 0.5294,
        "by_service": [online("residence-registration", 5), *EXPECTED_MAIN["online"]["by_service"][1:]],
    },
}


# ------------------------------------------------------------------------------------------ the JSON report


def _no_alerts(unit: dict[str, Any]) -> None:
    """A day with no air-raid alert: nothing "not possible now" or "not served today", waits net of alerts = waits."""
    unit.update({"not_possible": 0, "not_served_today": 0, "alerts": {"count": 0, "minutes": 0.0},
                 "wait_net_of_alerts": unit["wait"],
                 "tickets": {**unit["tickets"], "not_possible": 0, "not_served": 0}})


for _unit in (EXPECTED_MAIN, EXPECTED_ZAMOSTIA, EXPECTED_NETWORK):
    _no_alerts(_unit)


def test_header(report: dict[str, Any]) -> None:
    assert report["from"] == report["to"] == "2025-03-11"
    assert report["targets"] == {"target_min": 15.0, "limit_min": 20.0}
    assert report["data_until"] == "2025-03-12T00:16:00+02:00"  # the journal's last event: main-03 closing
    assert [o["id"] for o in report["offices"]] == ["main", "zamostia", "vyshenka", "khutory"]


def test_main_office_every_figure(report: dict[str, Any]) -> None:
    main = report["offices"][0]
    assert main.keys() == EXPECTED_MAIN.keys()
    for key, value in EXPECTED_MAIN.items():
        assert main[key] == value, key


def test_other_offices_every_figure(report: dict[str, Any]) -> None:
    assert report["offices"][1] == EXPECTED_ZAMOSTIA
    for office in report["offices"][2:]:
        assert office == {**head(office["id"]), **empty_unit(), "desks": idle_desks(office["id"]),
                          "administrators": []}


def test_network_every_figure(report: dict[str, Any]) -> None:
    net = report["network"]
    assert net.keys() == EXPECTED_NETWORK.keys()
    for key, value in EXPECTED_NETWORK.items():
        assert net[key] == value, key


def test_api_shape(report: dict[str, Any]) -> None:
    """The keys API.md promises."""
    assert {"from", "to", "offices"} <= report.keys()
    for office in report["offices"]:
        assert {"id", "issued", "served", "refused", "no_show", "consultations", "by_service", "wait",
                "ratings"} <= office.keys()
        for row in office["by_service"]:
            assert {"service", "served"} <= row.keys()
        assert {"mean_min", "p90_min", "max_min", "share_within_15", "share_within_20"} <= office["wait"].keys()
        assert set(office["ratings"]) == {"bad", "good", "exemplary"}


def test_figures_add_up(report: dict[str, Any]) -> None:
    for unit in [report["network"], *report["offices"]]:
        assert sum(unit["tickets"].values()) == unit["issued"]
        assert sum(r["served"] for r in unit["by_service"]) == unit["services_provided"]
        assert sum(r["refused"] for r in unit["by_service"]) == unit["refused"]
        assert sum(h["issued"] for h in unit["wait_by_hour"]) == unit["issued"]
        assert sum(h["called"] for h in unit["wait_by_category"]) == unit["wait"]["called"]
        assert sum(unit["cancelled"].values()) == unit["tickets"]["cancelled"]
        for row in unit.get("desks", []):
            assert row["idle_min"] == pytest.approx(max(0.0, row["open_min"] - row["busy_min"]), abs=1e-3)
    main = report["offices"][0]
    assert sum(d["served"] for d in main["desks"]) == main["services_provided"]
    assert {k: sum(d["ratings"][k] for d in main["desks"]) for k in main["ratings"]} == main["ratings"]
    for office in report["offices"]:
        admins = office["administrators"]
        assert sum(a["served"] for a in admins) == office["services_provided"]
        assert sum(a["refused"] for a in admins) == office["refused"]
        assert {k: sum(a["ratings"][k] for a in admins) for k in office["ratings"]} == office["ratings"]
        own = {d["desk"]: d["number"] for d in office["desks"]}
        assert all(own[d["desk"]] == d["number"] for a in admins for d in a["desks"])
        assert [a["staff"] for a in admins if a["staff"] is None] in ([], [None])


# ------------------------------------------------------------------------------------------ the period


def test_period_is_by_local_date_of_issue(day: Path) -> None:
    """T13 at 23:30 local on the last day counts (served after midnight); T14 at 00:10 the next day does not."""
    before = report_of(day, DAY - timedelta(days=1), DAY - timedelta(days=1))["offices"][0]
    assert before["issued"] == 1 and before["tickets"]["cancelled"] == 1  # T0
    assert before["cancelled"] == {"before_call": 1, "after_call": 0, "day_closed": 0}
    assert before["appointments"] == appointments()  # bookings are counted on the day of the visit
    assert before["administrators"] == []  # nothing finished, no desk opened

    after = report_of(day, DAY + timedelta(days=1), DAY + timedelta(days=1))["offices"][0]
    assert after["issued"] == 1 and after["served"] == 1  # T14
    assert after["channels"]["walk_in"] == 1
    assert after["wait"] == waits(1, 0.0, 0.0, 0.0, 1.0, 1.0)
    assert after["wait_by_hour"] == [{"hour": 0, "issued": 1, **waits(1, 0.0, 0.0, 0.0, 1.0, 1.0), "over_limit": 0}]
    assert after["appointments"] == appointments(booked=1, pending=1)  # B4 at 10:00: after the journal's end
    main03 = next(d for d in after["desks"] if d["desk"] == "main-03")
    # desk minutes are time, not tickets: open 00:00-00:07 (until the day was closed) and 00:09-00:16; busy with T13
    # until 00:05 and with T14 00:10-00:15
    assert (main03["open_min"], main03["busy_min"], main03["served"]) == (14.0, 10.0, 1)
    # T14 at main-03, reopened at 00:09 without a code; T13, finished there by Ц-7 at 00:05, is the day before's
    assert after["administrators"] == [admin(None, ["main-03"], served=1, mean=5.0, p90=5.0)]

    nothing = report_of(day, date(2024, 1, 1), date(2024, 12, 31))
    assert nothing["network"] == {**EXPECTED_NETWORK, **empty_unit()}
    assert [o["issued"] for o in nothing["offices"]] == [0, 0, 0, 0]

    three = report_of(day, DAY - timedelta(days=1), DAY + timedelta(days=1))["offices"][0]
    assert three["issued"] == 18
    assert three["appointments"] == appointments(booked=4, cancelled=1, checked_in=1, no_show=1, pending=1)
    # the day's administrators, and T14 (5 min) joins T15 (12) without a code: p90 at 0.9 -> 5 + 0.9 * 7
    assert three["administrators"] == [
        *EXPECTED_MAIN["administrators"][:-1],
        admin(None, ["main-03", "main-04"], served=2, mean=8.5, p90=11.3),
    ]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_chunked_reading_gives_the_same_report(day: Path, report: dict[str, Any], workers: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal read in many small rowid ranges, on threads, makes the very same report."""
    import cherga.reports.extract as extract_module

    monkeypatch.setattr(extract_module, "CHUNK_ROWS", 7)
    period = Period(DAY, DAY)
    data = extract(day / "journal.sqlite3", period, NETWORK, workers=workers)
    assert build_report(data, NETWORK, period) == report


def test_rows_out_of_time_order(day: Path, report: dict[str, Any], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal whose rows are not in the order of events (merged, restored) still makes the same report."""
    import sqlite3

    import cherga.reports.extract as extract_module

    src = sqlite3.connect(day / "journal.sqlite3")
    rows = src.execute("SELECT office, seq, at, type, body FROM events ORDER BY rowid DESC").fetchall()
    src.close()
    copy = SqliteJournal(tmp_path / "journal.sqlite3")
    copy.close()
    dst = sqlite3.connect(tmp_path / "journal.sqlite3")
    dst.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
    dst.commit()
    dst.close()
    monkeypatch.setattr(extract_module, "CHUNK_ROWS", 5)
    assert report_of(tmp_path, DAY, DAY) == report


def test_older_journal_without_codes(day: Path, report: dict[str, Any], tmp_path: Path) -> None:
    """A journal written before administrators' codes (no ``staff`` in any body): every service is "not recorded",
    and nothing else changes."""
    import sqlite3

    src = sqlite3.connect(day / "journal.sqlite3")
    rows = src.execute("SELECT office, seq, at, type, json_remove(body, '$.staff') FROM events ORDER BY rowid")
    rows = rows.fetchall()
    src.close()
    assert not any('"staff"' in r[4] for r in rows)
    copy = SqliteJournal(tmp_path / "journal.sqlite3")
    copy.close()
    dst = sqlite3.connect(tmp_path / "journal.sqlite3")
    dst.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
    dst.commit()
    dst.close()
    old = report_of(tmp_path, DAY, DAY)
    main = old["offices"][0]
    # all 12 services finished: 3 5 6 6 7 10 10 12 12 15 15 18 (sum 119 / 12); p90 at 9.9 -> 15; 5 of 6 ratings
    assert main["administrators"] == [
        admin(None, ["main-02", "main-03", "main-04", "main-10", "main-15", "main-16"], served=11, refused=1,
              mean=9.917, p90=15.0, r=ratings(bad=1, good=3, exemplary=2), share=0.8333),
    ]
    assert old["offices"][1]["administrators"] == [admin(None, ["zamostia-02"], served=1, mean=10.0, p90=10.0)]
    strip = [{k: v for k, v in o.items() if k != "administrators"} for o in old["offices"]]
    assert strip == [{k: v for k, v in o.items() if k != "administrators"} for o in report["offices"]]
    assert old["network"] == report["network"]


def test_group_stats_equal_numpy() -> None:
    """The administrators' mean and 90th percentile, all groups in one sort, equal numpy's per group."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 8))
        groups = rng.integers(0, n, int(rng.integers(0, 40)))
        values = np.round(rng.exponential(9.0, groups.size), 3)
        mean, p90 = group_stats(groups, values, n)
        for g in range(n):
            x = values[groups == g]
            if x.size == 0:
                assert math.isnan(mean[g]) and math.isnan(p90[g])
            else:
                assert mean[g] == pytest.approx(x.mean(), abs=1e-9)
                assert p90[g] == pytest.approx(np.percentile(x, 90), abs=1e-9)


def test_one_office(day: Path, report: dict[str, Any]) -> None:
    only = report_of(day, DAY, DAY, ["main"])
    assert [o["id"] for o in only["offices"]] == ["main"]
    assert only["offices"][0] == report["offices"][0]
    net = {k: v for k, v in only["network"].items() if k not in ("id", "name_uk", "name_en", "offices")}
    assert net == {k: v for k, v in report["offices"][0].items()
                   if k not in ("id", "name_uk", "name_en", "timezone", "desks", "administrators")}
    with pytest.raises(ReportError, match="unknown office 'nowhere'"):
        report_of(day, DAY, DAY, ["nowhere"])


def test_presets() -> None:
    assert Period.month("2024-02") == Period(date(2024, 2, 1), date(2024, 2, 29))
    assert Period.month("2025-12") == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert Period.quarter("2025-Q1") == Period(date(2025, 1, 1), date(2025, 3, 31))
    assert Period.quarter("2025-q4") == Period(date(2025, 10, 1), date(2025, 12, 31))
    assert Period.year("2025") == Period(date(2025, 1, 1), date(2025, 12, 31))
    assert Period.days("2025-03-01", "2025-03-11") == Period(date(2025, 3, 1), date(2025, 3, 11))
    for make, text in ((Period.month, "March"), (Period.quarter, "2025-Q5"), (Period.year, "25")):
        with pytest.raises(ReportError):
            make(text)
    for first, last in (("2025-03-11", "2025-03-01"), ("11.03.2025", "2025-03-12")):
        with pytest.raises(ReportError):
            Period.days(first, last)


def test_local_time_across_daylight_saving() -> None:
    """The vectorised UTC offsets equal zoneinfo's at every instant, including around both changes of 2025."""
    rng = np.random.default_rng(3)
    spring = datetime(2025, 3, 30, 1, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    autumn = datetime(2025, 10, 26, 1, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    instants = np.concatenate([
        rng.uniform(datetime(2024, 12, 1).timestamp(), datetime(2026, 2, 1).timestamp(), 3000),
        spring + np.arange(-5, 5), autumn + np.arange(-5, 5),
    ])
    got = utc_offsets("Europe/Kyiv", instants)
    want = [datetime.fromtimestamp(float(t), KYIV).utcoffset().total_seconds() for t in instants]  # type: ignore[union-attr]
    assert got.tolist() == want


def test_summer_day_counts_by_kyiv_summer_time(tmp_path: Path) -> None:
    """In summer Kyiv is UTC+3: a ticket at 23:30 local is 20:30 UTC of the same day, one at 00:10 is 21:10 UTC."""
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    engine = CityEngine(NETWORK)
    summer = date(2025, 7, 15)
    times = [datetime.combine(summer, time(23, 30), tzinfo=KYIV).timestamp(),
             datetime.combine(summer + timedelta(days=1), time(0, 10), tzinfo=KYIV).timestamp()]
    for t in times:
        journal.append(engine.apply(c.IssueTicket(office="main", service="results-issuance"), t)).result(60)
    journal.close()
    rep = report_of(tmp_path, summer, summer)
    assert rep["offices"][0]["issued"] == 1
    assert rep["offices"][0]["wait_by_hour"][0]["hour"] == 23
    assert rep["offices"][0]["tickets"]["open"] == 1


# ------------------------------------------------------------------------------------------ CSV and HTML


def _num(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def test_csv_parses_and_matches(report: dict[str, Any]) -> None:
    raw = render(report, "csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark that makes Excel read UTF-8
    text = raw.decode("utf-8-sig")
    assert "Видано талонів / issued" in text
    sections = parse_csv(text)
    assert list(sections) == ["summary", "by_service", "wait_by_category", "wait_by_hour", "desks", "administrators",
                              "online"]
    rows = {r["office"]: r for r in sections["summary"]}
    assert list(rows) == ["network", "main", "zamostia", "vyshenka", "khutory"]
    for unit in [report["network"], *report["offices"]]:
        row = rows[unit["id"]]
        assert row["name_uk"] == unit["name_uk"]
        for key in ("issued", "served", "refused", "no_show", "consultations", "services_provided"):
            assert int(row[key]) == unit[key], key
        for key in ("mean_min", "p90_min", "max_min"):
            assert _num(row[f"wait_{key}"]) == unit["wait"][key]
        assert _num(row["share_within_15"]) == unit["wait"]["share_within_15"]
        assert _num(row["share_within_20"]) == unit["wait"]["share_within_20"]
        assert int(row["over_limit"]) == unit["deadline"]["over_limit"]
        assert {k: int(row[f"ratings_{k}"]) for k in ("bad", "good", "exemplary")} == unit["ratings"]
        assert int(row["appointments_no_show"]) == unit["appointments"]["no_show"]
    main_services = [r for r in sections["by_service"] if r["office"] == "main"]
    assert [(r["service"], int(r["served"]), int(r["refused"]), _num(r["mean_service_min"]))
            for r in main_services] == [(s["service"], s["served"], s["refused"], s["mean_service_min"])
                                        for s in EXPECTED_MAIN["by_service"]]
    assert len(sections["desks"]) == 16 + 4 + 4 + 1
    main03 = next(r for r in sections["desks"] if r["desk"] == "main-03")
    assert (_num(main03["open_min"]), _num(main03["busy_min"]), _num(main03["idle_min"])) == (930.0, 57.0, 873.0)
    # the administrators' table, cell by cell as a spreadsheet reads it (no code: an empty cell)
    assert "Код адміністратора / staff" in text
    cols = ["office", "staff", "served", "refused", "mean_service_min", "p90_service_min", "ratings_bad",
            "ratings_good", "ratings_exemplary", "share_good_or_exemplary", "desks", "desk_numbers"]
    assert [list(r) for r in sections["administrators"]] == [cols] * 8
    assert [list(r.values()) for r in sections["administrators"]] == [
        ["main", "K-101", "6", "1", "9.143", "14.4", "1", "3", "1", "0.8", "main-03, main-10", "3, 10"],
        ["main", "K-102", "1", "0", "15.0", "15.0", "0", "0", "0", "", "main-15", "15"],
        ["main", "K-103", "0", "0", "", "", "0", "0", "0", "", "main-10", "10"],
        ["main", "K-105", "1", "0", "3.0", "3.0", "0", "0", "0", "", "main-02", "2"],
        ["main", "K-106", "1", "0", "10.0", "10.0", "0", "0", "1", "1.0", "main-16", "16"],
        ["main", "Ц-7", "1", "0", "15.0", "15.0", "0", "0", "0", "", "main-03", "3"],
        ["main", "", "1", "0", "12.0", "12.0", "0", "0", "0", "", "main-04", "4"],
        ["zamostia", "K-201", "1", "0", "10.0", "10.0", "0", "0", "0", "", "zamostia-02", "2"],
    ]
    hours = [(r["office"], int(r["hour"]), int(r["issued"])) for r in sections["wait_by_hour"]]
    assert ("main", 23, 2) in hours
    # a spreadsheet sees the same table: plain csv reading keeps every row the same width
    table = list(csv.reader(io.StringIO(text)))
    widths = {len(r) for r in table if len(r) > 1}
    assert len(widths) >= 2 and all(w > 1 for w in widths)


class _Checker(HTMLParser):
    """Balanced tags (void elements aside), ids unique, nothing loaded from elsewhere."""

    VOID: ClassVar[set[str]] = {
        "meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source", "line", "rect",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "id" in a and a["id"] is not None:
            self.ids.append(a["id"])
        if tag in ("script", "link", "img", "iframe") or "src" in a:
            self.errors.append(f"external or scripted content: <{tag}>")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "id" in a and a["id"] is not None:
            self.ids.append(a["id"])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_valid_self_contained_and_holds_the_figures(report: dict[str, Any]) -> None:
    html = render(report, "html").decode("utf-8")
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"uk\">")
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    assert len(checker.ids) == len(set(checker.ids))
    assert "@media print" in html and 'lang="en"' in html
    assert html.count("<caption>") >= 5 and 'scope="col"' in html and 'scope="row"' in html
    assert html.count('role="img"') >= 3 * 2  # services, hours and ratings charts for the network and main
    main = html[html.index('id="u-main"'):html.index('id="u-zamostia"')]
    for key, shown in (("issued", "16"), ("served", "10"), ("refused", "1"), ("no_show", "1"),
                       ("consultations", "2"), ("services_provided", "11"), ("wait_mean_min", "10,6"),
                       ("wait_p90_min", "20,0"), ("wait_max_min", "26,0"), ("share_within_15", "69,2\u00a0%"),
                       ("share_within_20", "92,3\u00a0%"), ("ratings_bad", "1"), ("ratings_good", "3"),
                       ("ratings_exemplary", "2"), ("over_limit", "1"), ("online_tickets", "8")):
        assert f'data-key="{key}">{shown}</td>' in main, key
    assert "Реєстрація місця проживання особи" in main  # by service, and its chart
    assert "погано / bad: 1 (16,7\u00a0%)" in main  # the ratings' shares
    network = html[html.index('id="u-network"'):html.index('id="u-main"')]
    assert 'data-key="issued">17</td>' in network


class _TableReader(HTMLParser):
    """One table of the page by its id: the caption's text, the header cells and the body rows, as
    (tag, scope, text) with whitespace collapsed."""

    def __init__(self, ident: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ident = ident
        self.depth = 0  # > 0 inside the table
        self.caption: list[str] = []
        self.head: list[tuple[str, str | None, str]] = []
        self.rows: list[list[tuple[str, str | None, str]]] = []
        self.part = ""
        self.cell: tuple[str, str | None] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and (self.depth or a.get("id") == self.ident):
            self.depth += 1
        if not self.depth:
            return
        if tag in ("caption", "thead", "tbody"):
            self.part = tag
        elif tag == "tr" and self.part == "tbody":
            self.rows.append([])
        elif tag in ("th", "td"):
            self.cell, self.text = (tag, a.get("scope")), []

    def handle_endtag(self, tag: str) -> None:
        if not self.depth:
            return
        if tag == "table":
            self.depth -= 1
        elif tag in ("th", "td") and self.cell is not None:
            cell = (*self.cell, re.sub(r"[ \t\r\n]+", " ", "".join(self.text)).strip())  # no-break spaces kept
            (self.head if self.part == "thead" else self.rows[-1]).append(cell)
            self.cell = None
        elif tag == "caption":
            self.part = ""

    def handle_data(self, data: str) -> None:
        if self.depth and self.part == "caption":
            self.caption.append(data)
        elif self.depth and self.cell is not None:
            self.text.append(data)


def _read_table(html: str, ident: str) -> _TableReader:
    reader = _TableReader(ident)
    reader.feed(html)
    reader.close()
    return reader


def test_html_administrators_table(report: dict[str, Any]) -> None:
    """Every figure of the administrators' table as printed: a caption, column headers in Ukrainian with English,
    each row headed by the code (or "not recorded"); offices only, as the desks."""
    html = render(report, "html").decode("utf-8")
    main = _read_table(html, "u-main-administrators")
    assert " ".join("".join(main.caption).split()) == "Якість роботи адміністраторів Quality of administrators' work"
    assert main.head == [("th", "col", text) for text in (
        "Код адміністратора administrator's code", "Надано послуг services provided", "Відмов refusals",
        "Середній час обслуговування, хв mean service time, min",
        "90-й процентиль часу обслуговування, хв 90th percentile of service time, min",
        "Оцінка «погано» rated bad", "Оцінка «добре» rated good", "Оцінка «зразково» rated exemplary",
        "Частка оцінок «добре» і «зразково» share rated good or exemplary", "Робочі місця (коди) desk ids",
        "Робочі місця (номери) desk numbers",
    )]
    for row in main.rows:
        assert row[0][:2] == ("th", "row") and all(tag == "td" for tag, _, _ in row[1:])
    pct = "\u00a0%"
    assert [[text for _, _, text in row] for row in main.rows] == [
        ["K-101", "6", "1", "9,1", "14,4", "1", "3", "1", f"80,0{pct}", "main-03, main-10", "3, 10"],
        ["K-102", "1", "0", "15,0", "15,0", "0", "0", "0", "–", "main-15", "15"],
        ["K-103", "0", "0", "–", "–", "0", "0", "0", "–", "main-10", "10"],
        ["K-105", "1", "0", "3,0", "3,0", "0", "0", "0", "–", "main-02", "2"],
        ["K-106", "1", "0", "10,0", "10,0", "0", "0", "1", f"100,0{pct}", "main-16", "16"],
        ["Ц-7", "1", "0", "15,0", "15,0", "0", "0", "0", "–", "main-03", "3"],
        ["не зазначено not recorded", "1", "0", "12,0", "12,0", "0", "0", "0", "–", "main-04", "4"],
    ]
    assert 'не зазначено <span class="en" lang="en">not recorded</span>' in html
    zamostia = _read_table(html, "u-zamostia-administrators")
    assert [[text for _, _, text in row] for row in zamostia.rows] == [
        ["K-201", "1", "0", "10,0", "10,0", "0", "0", "0", "–", "zamostia-02", "2"]]
    empty = _read_table(html, "u-vyshenka-administrators")
    assert [[text for _, _, text in row] for row in empty.rows] == [["немає даних no data"]]
    assert 'id="u-network-administrators"' not in html and 'id="u-network-desks"' not in html


def test_number_formats() -> None:
    assert fmt_number(500000) == "500\u00a0000"
    assert fmt_number(None) == "–"
    assert fmt_minutes(10.615) == "10,6"
    assert fmt_share(0.6923) == "69,2\u00a0%"
    assert fmt_share(None) == "–"
    assert fmt_number(math.nan) == "–"


# ------------------------------------------------------------------------------------------ the command


def _cherga(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "cherga", "report", *args], capture_output=True, timeout=120,
                          check=False)


def test_command_end_to_end(day: Path, report: dict[str, Any], tmp_path: Path) -> None:
    done = _cherga("--data", str(day), "--from", "2025-03-11", "--to", "2025-03-11", "--format", "json")
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == report

    out = tmp_path / "march.html"
    done = _cherga("--data", str(day), "--month", "2025-03", "--format", "html", "--out", str(out))
    assert done.returncode == 0, done.stderr.decode()
    page = out.read_text(encoding="utf-8")
    assert "2025-03-01" in page and "2025-03-31" in page and 'data-key="issued">18</td>' in page

    done = _cherga("--data", str(day), "--quarter", "2025-Q1", "--office", "zamostia", "--format", "csv")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.startswith(b"\xef\xbb\xbf")
    summary = parse_csv(done.stdout.decode("utf-8-sig"))["summary"]
    assert [(r["office"], r["issued"]) for r in summary] == [("network", "1"), ("zamostia", "1")]

    done = _cherga("--data", str(day), "--year", "2025", "--format", "json")
    assert json.loads(done.stdout)["offices"][0]["issued"] == 18


def test_command_refuses_what_it_cannot_do(day: Path, tmp_path: Path) -> None:
    for args, message in (
        (("--data", str(day), "--month", "2025-03", "--year", "2025"), "one way only"),
        (("--data", str(day), "--from", "2025-03-01"), "give the period"),
        (("--data", str(day), "--from", "2025-03-02", "--to", "2025-03-01"), "ends"),
        (("--data", str(day), "--quarter", "2025-Q7"), "YYYY-Qn"),
        (("--data", str(tmp_path), "--year", "2025"), "no journal here"),
        (("--data", str(day), "--year", "2025", "--office", "nowhere"), "unknown office"),
    ):
        done = _cherga(*args)
        assert done.returncode == 2, args
        assert message in done.stderr.decode(), (args, done.stderr.decode())
