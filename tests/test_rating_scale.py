"""The national rating scale (issue 18.5, API.md 1.1 "The visitor away from the hall"): an office rates on three
levels (``bad``, ``good``, ``exemplary``: the default) or on the monitoring's four (``terrible``, ``acceptable``,
``good``, ``excellent``).

* The configuration: ``rating_scale`` is read per office, "three" by default, anything else refused naming the file,
  the field and the two scales.
* The engine takes only the office's levels: another is refused (InvalidCommand, HTTP 400) with a message naming
  the scale and its values, and nothing changes.
* Over HTTP against a real ``cherga serve``: the offices list says each office's scale; the phone's and the exit
  tablet's ratings are refused off the scale (400) and land on it (201); the live ratings count on the scale.
* Reports count by the office's scale; the monitoring's CSV gives every rating on four levels, three mapped
  (погано -> жахливо, добре -> добре, зразково -> чудово), through the functions, ``cherga report --format
  ratings-csv`` and ``GET .../ratings/monitoring``.
* Replay: old journals (three levels) replay unchanged, also after the office moved to four levels, and a replayed
  engine is the live one.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from server import ServerProcess

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.loader import DEMO_DIR, load_network
from cherga.engine.model import Network
from cherga.engine.network import CityEngine
from cherga.errors import ConfigError, InvalidCommand
from cherga.journal.sqlite import SqliteJournal
from cherga.reports.compute import build_report
from cherga.reports.extract import Period, extract
from cherga.reports.monitoring import COLUMNS, monitoring_csv
from cherga.reports.render import parse_csv, render

KYIV = ZoneInfo("Europe/Kyiv")
DAY = date(2025, 3, 11)
FOUR = ("terrible", "acceptable", "good", "excellent")
THREE = ("bad", "good", "exemplary")


def at(h: int, m: int) -> float:
    return datetime.combine(DAY, time(h, m), tzinfo=KYIV).timestamp()


def config(tmp: Path, scales: dict[str, str]) -> Path:
    """The demo network with ``rating_scale`` set for the offices given."""
    out = tmp / "config"
    shutil.copytree(DEMO_DIR, out)
    path = out / "network.toml"
    text = path.read_text(encoding="utf-8")
    for office, scale in scales.items():
        line = f'id = "{office}"\n'
        assert text.count(line) == 1
        text = text.replace(line, f'{line}rating_scale = "{scale}"\n')
    path.write_text(text, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def four_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return config(tmp_path_factory.mktemp("four"), {"zamostia": "four"})


@pytest.fixture(scope="module")
def net4(four_dir: Path) -> Network:
    return load_network(four_dir)


# ------------------------------------------------------------------------------------------------ configuration


def test_the_scale_is_read_per_office_three_by_default(net4: Network) -> None:
    assert net4.offices["zamostia"].rating_scale == "four"
    assert {o.rating_scale for oid, o in net4.offices.items() if oid != "zamostia"} == {"three"}
    assert {o.rating_scale for o in load_network().offices.values()} == {"three"}


@pytest.mark.parametrize("value, said", [('"five"', "unknown rating scale 'five'"), ("4", "expected a string"),
                                         ('""', "must not be empty")])
def test_a_wrong_scale_is_refused_naming_the_field_and_the_scales(tmp_path: Path, value: str, said: str) -> None:
    d = config(tmp_path, {"vyshenka": "four"})
    path = d / "network.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('rating_scale = "four"', f"rating_scale = {value}"),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_network(d)
    msg = str(err.value)
    assert "network.toml" in msg and "rating_scale" in msg and said in msg
    if "unknown" in said:
        assert '"three"' in msg and '"four"' in msg and "terrible, acceptable, good, excellent" in msg


# ------------------------------------------------------------------------------------------------ the engine


class Office:
    """One office of the engine with a desk open: ``finished()`` is a ticket served there, ready to be rated."""

    def __init__(self, engine: CityEngine, office: str, now: float = at(9, 0), open_desk: bool = True) -> None:
        self.engine = engine
        self.office = office
        self.desk = engine.network.offices[office].desks[0]
        self.service = sorted(self.desk.services)[0]
        self.now = now
        self.log: list[e.BaseEvent] = []
        if open_desk:
            self.step(c.OpenDesk(desk=self.desk.id))

    def step(self, cmd: Any) -> list[e.BaseEvent]:
        self.now += 60.0
        evs = self.engine.apply(cmd, self.now)
        self.log.extend(evs)
        return evs

    def finished(self) -> str:
        issued = self.step(c.IssueTicket(office=self.office, service=self.service))
        ticket = next(ev.ticket for ev in issued if isinstance(ev, e.TicketIssued))
        self.step(c.CallNext(desk=self.desk.id))
        self.step(c.Finish(desk=self.desk.id, outcome=c.Outcome.SERVED))
        return ticket


@pytest.mark.parametrize("office, scale, levels, others", [
    ("main", "three", THREE, ("terrible", "acceptable", "excellent")),
    ("zamostia", "four", FOUR, ("bad", "exemplary")),
])
def test_the_engine_takes_only_the_offices_levels(net4: Network, office: str, scale: str, levels: tuple[str, ...],
                                                  others: tuple[str, ...]) -> None:
    o = Office(CityEngine(net4), office)
    d = o.engine.office(office)
    assert list(d.ratings) == list(levels)  # the counts start at the scale's levels, lowest first
    for other in others:
        ticket = o.finished()
        before = d.digest()
        with pytest.raises(InvalidCommand) as err:
            o.step(c.Rate(ticket=ticket, score=c.Score(other)))
        assert d.digest() == before, "a refused rating changed the state"
        msg = err.value.message
        assert f"rates on {scale} levels: {', '.join(levels)}" in msg and repr(other) in msg, msg
        assert net4.offices[office].name_en in msg
    for level in levels:
        ticket = o.finished()
        (ev,) = o.step(c.Rate(ticket=ticket, score=c.Score(level)))
        assert isinstance(ev, e.TicketRated) and ev.score == level
    assert d.ratings == dict.fromkeys(levels, 1)


def test_the_refusal_names_the_levels_in_ukrainian_too(net4: Network) -> None:
    o = Office(CityEngine(net4), "zamostia")
    with pytest.raises(InvalidCommand) as err:
        o.step(c.Rate(ticket=o.finished(), score=c.Score.BAD))
    assert "(жахливо, прийнятно, добре, чудово)" in err.value.message


def test_replay_rebuilds_the_live_state_on_either_scale(net4: Network) -> None:
    live = CityEngine(net4)
    log: list[e.BaseEvent] = []
    for office, levels in (("main", THREE), ("zamostia", FOUR)):
        o = Office(live, office)
        for level in (*levels, levels[0]):
            o.step(c.Rate(ticket=o.finished(), score=c.Score(level)))
        log += o.log
    again = CityEngine(net4)
    again.replay(sorted(log, key=lambda ev: (ev.office, ev.seq)))
    for oid in ("main", "zamostia"):
        assert again.office(oid).digest() == live.office(oid).digest()
    assert again.office("zamostia").ratings == {"terrible": 2, "acceptable": 1, "good": 1, "excellent": 1}


def test_an_old_journal_on_three_levels_replays_after_the_office_moved_to_four(net4: Network) -> None:
    """Events are facts: a rating journalled on three levels replays as it was, whatever the office's scale now."""
    o = Office(CityEngine(load_network()), "zamostia")
    for level in ("bad", "exemplary", "good"):
        o.step(c.Rate(ticket=o.finished(), score=c.Score(level)))
    now = CityEngine(net4)
    now.replay(o.log)
    d = now.office("zamostia")
    assert {t.rating for t in d.tickets.values()} == {"bad", "exemplary", "good"}
    assert d.ratings == {"terrible": 0, "acceptable": 0, "good": 1, "excellent": 0, "bad": 1, "exemplary": 1}


def test_the_heads_alert_of_falling_ratings_counts_the_lowest_level_of_the_scale(net4: Network) -> None:
    """An administrator's day is flagged at 30 % of the lowest level: жахливо on four levels, as погано on three."""
    from cherga.displays.alerts import AlertWatcher

    engine = CityEngine(net4)
    o = Office(engine, "zamostia", open_desk=False)
    o.step(c.OpenDesk(desk=o.desk.id, staff="K-401"))
    for level in ("terrible", "terrible", "acceptable", "good", "excellent"):
        o.step(c.Rate(ticket=o.finished(), score=c.Score(level)))
    watcher = AlertWatcher(lambda: engine, lambda: o.now)
    watcher.on_events(o.log, replay=False)
    (alert,) = watcher.ratings_alerts("zamostia")
    assert alert["kind"] == "ratings_falling" and "K-401" in alert["message_en"]
    assert "40% of today's 5 ratings are 'terrible'" in alert["message_en"]
    assert "оцінок «жахливо»" in alert["message_uk"]


def test_the_mappings_keep_the_pass_line() -> None:
    assert c.TO_FOUR == {"bad": "terrible", "good": "good", "exemplary": "excellent", "terrible": "terrible",
                         "acceptable": "acceptable", "excellent": "excellent"}
    assert "acceptable" not in {c.TO_FOUR[s] for s in THREE}  # прийнятно never comes from three levels
    assert c.TO_THREE["acceptable"] == "good" and c.TO_THREE["terrible"] == "bad"
    for s in THREE:  # three -> four -> three is the same button
        assert c.TO_THREE[c.TO_FOUR[s]] == s
    assert set(c.SCALES) == {"three", "four"} and {str(s) for s in c.Score} == set(THREE) | set(FOUR)


# ------------------------------------------------------------------------------------------------ reports


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory, net4: Network) -> Path:
    """A day: main (three levels) gets bad, good, good, exemplary; zamostia (four) terrible, acceptable, good,
    excellent, excellent; plus, journalled before zamostia moved to four levels, one 'bad' there."""
    data = tmp_path_factory.mktemp("journal")
    j = SqliteJournal(data / "journal.sqlite3")
    futures = []
    old = Office(CityEngine(load_network()), "zamostia", now=at(8, 0))
    old.step(c.Rate(ticket=old.finished(), score=c.Score.BAD))  # 08:0x, on the old scale
    futures.append(j.append(old.log))
    live = CityEngine(net4)
    live.replay(old.log)
    for office, scores in (("main", ("bad", "good", "good", "exemplary")),
                           ("zamostia", ("terrible", "acceptable", "good", "excellent", "excellent"))):
        o = Office(live, office, now=at(10, 0), open_desk=office == "main")  # zamostia's desk: open since 08:00
        for s in scores:
            o.step(c.Rate(ticket=o.finished(), score=c.Score(s)))
        futures.append(j.append(o.log))
    for f in futures:
        f.result(timeout=60)
    j.close()
    return data


def _report(data: Path, net: Network) -> dict[str, Any]:
    period = Period.days(DAY.isoformat(), DAY.isoformat())
    return build_report(extract(data / "journal.sqlite3", period, net, None), net, period, None)


def test_reports_count_by_the_offices_scale(journal: Path, net4: Network) -> None:
    report = _report(journal, net4)
    main, zam = report["offices"][0], report["offices"][1]
    assert (main["rating_scale"], zam["rating_scale"]) == ("three", "four")
    assert main["ratings"] == {"bad": 1, "good": 2, "exemplary": 1}
    # the old 'bad' counts at its level of four: жахливо
    assert zam["ratings"] == {"terrible": 2, "acceptable": 1, "good": 1, "excellent": 2}
    assert zam["ratings_monitoring"] == zam["ratings"]
    assert main["ratings_monitoring"] == {"terrible": 1, "acceptable": 0, "good": 2, "excellent": 1}
    net = report["network"]
    assert net["rating_scale"] == "four"  # offices on different scales: the monitoring's
    assert net["ratings"] == {"terrible": 3, "acceptable": 1, "good": 3, "excellent": 3}
    # per desk, per service and per administrator, on the office's scale, adding up to the office's counts
    for unit in (main, zam):
        levels = list(unit["ratings"])
        for key in ("desks", "administrators", "by_service"):
            rows = unit[key]
            assert all(list(r["ratings"]) == levels for r in rows), key
            assert {k: sum(r["ratings"][k] for r in rows) for k in levels} == unit["ratings"], key
    (admin,) = [a for a in zam["administrators"] if sum(a["ratings"].values())]  # the desk opened without a code
    assert admin["staff"] is None and admin["share_good_or_exemplary"] == 0.5  # добре or better: (1 + 2) / 6


def test_the_report_csv_and_html_show_the_offices_scale(journal: Path, net4: Network) -> None:
    report = _report(journal, net4)
    tables = parse_csv(render(report, "csv").decode("utf-8-sig"))
    rows = {r["office"]: r for r in tables["summary"]}
    assert rows["zamostia"]["rating_scale"] == "four" and rows["main"]["rating_scale"] == "three"
    assert [rows["zamostia"][f"ratings_{k}"] for k in FOUR] == ["2", "1", "1", "2"]
    assert [rows["main"][f"ratings_{k}"] for k in THREE] == ["1", "2", "1"]
    assert rows["main"]["ratings_terrible"] == "" and rows["zamostia"]["ratings_bad"] == ""
    html = render(report, "html").decode("utf-8")
    assert "жахливо / terrible: 2" in html and "погано / bad: 1" in html


def test_a_report_of_three_level_offices_keeps_its_columns(tmp_path: Path) -> None:
    net = load_network()
    j = SqliteJournal(tmp_path / "journal.sqlite3")
    o = Office(CityEngine(net), "main")
    o.step(c.Rate(ticket=o.finished(), score=c.Score.GOOD))
    j.append(o.log).result(timeout=60)
    j.close()
    tables = parse_csv(render(_report(tmp_path, net), "csv").decode("utf-8-sig"))
    assert [k for k in tables["summary"][0] if k.startswith("rating")] == [
        "ratings_bad", "ratings_good", "ratings_exemplary"]


def _read_monitoring(payload: bytes) -> tuple[list[str], list[dict[str, str]]]:
    text = payload.decode("utf-8")
    assert text.startswith("\ufeff# ")
    lines = text.removeprefix("\ufeff").split("\r\n")
    notes = [x for x in lines if x.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\r\n".join(x for x in lines if not x.startswith("#")))))
    return notes, rows


def test_the_monitoring_csv_is_on_four_levels_with_the_mapping(journal: Path, net4: Network) -> None:
    period = Period.days(DAY.isoformat(), DAY.isoformat())
    payload = monitoring_csv(extract(journal / "journal.sqlite3", period, net4, None), net4, period)
    notes, rows = _read_monitoring(payload)
    assert len(notes) == 2 and all("," not in n and '"' not in n for n in notes)  # one cell each
    assert "погано->жахливо" in notes[1] and "зразково->чудово" in notes[1] and "bad->terrible" in notes[1]
    assert "жахливо; прийнятно; добре; чудово" in notes[0]
    assert list(rows[0]) == list(COLUMNS)
    assert {r["level"] for r in rows} <= set(FOUR)
    main = [r for r in rows if r["office"] == "main"]
    assert [(r["scale"], r["score"], r["level"], r["level_uk"]) for r in main] == [
        ("three", "bad", "terrible", "жахливо"), ("three", "good", "good", "добре"),
        ("three", "good", "good", "добре"), ("three", "exemplary", "excellent", "чудово")]
    zam = [r for r in rows if r["office"] == "zamostia"]
    assert [(r["scale"], r["score"], r["level"]) for r in zam] == [
        ("three", "bad", "terrible"), ("four", "terrible", "terrible"), ("four", "acceptable", "acceptable"),
        ("four", "good", "good"), ("four", "excellent", "excellent"), ("four", "excellent", "excellent")]
    assert [r["time"] for r in zam] == sorted(r["time"] for r in zam) and zam[0]["time"] < "09:00"
    assert {r["date"] for r in rows} == {DAY.isoformat()}
    desk = net4.offices["zamostia"].desks[0]
    assert {r["desk_number"] for r in zam} == {desk.number}
    assert {r["service_name_uk"] for r in zam} == {net4.services[sorted(desk.services)[0]].name_uk}
    # the same ratings as the report counts, level by level
    report = _report(journal, net4)
    for unit in report["offices"]:
        got = {k: sum(1 for r in rows if r["office"] == unit["id"] and r["level"] == k) for k in FOUR}
        assert got == unit["ratings_monitoring"]
    # nothing names a person or a ticket: no ticket id
    j = SqliteJournal(journal / "journal.sqlite3")
    ids = {ev.ticket for ev in j.read() if isinstance(ev, e.TicketRated)}
    j.close()
    assert len(ids) == 10 and not any(i in payload.decode("utf-8") for i in ids)


def test_cherga_report_writes_the_monitoring_csv(journal: Path, four_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ratings.csv"
    subprocess.run([sys.executable, "-m", "cherga", "report", "--data", str(journal), "--config", str(four_dir),
                    "--from", DAY.isoformat(), "--to", DAY.isoformat(), "--office", "zamostia",
                    "--format", "ratings-csv", "--out", str(out)], check=True, capture_output=True, timeout=120)
    _, rows = _read_monitoring(out.read_bytes())
    assert [r["level"] for r in rows] == ["terrible", "terrible", "acceptable", "good", "excellent", "excellent"]
    assert {r["office"] for r in rows} == {"zamostia"}


# ------------------------------------------------------------------------------------------------ over HTTP


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, four_dir: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("srv") / "data", extra=["--config", str(four_dir)]).start()
    try:
        yield srv
    finally:
        srv.stop()


def _served(srv: ServerProcess, office: str, net: Network) -> dict[str, Any]:
    """A ticket issued at the kiosk, called and served at the office's first desk: ready to be rated."""
    desk = net.offices[office].desks[0]
    head = srv.auth("head", office=office)
    httpx.post(f"{srv.url}/api/v1/desks/{desk.id}/open", headers=head, timeout=10)
    r = httpx.post(f"{srv.url}/api/v1/offices/{office}/tickets", json={"service": sorted(desk.services)[0]},
                   headers=srv.auth("kiosk", office=office), timeout=10)
    assert r.status_code == 201, r.text
    tk: dict[str, Any] = r.json()
    assert httpx.post(f"{srv.url}/api/v1/desks/{desk.id}/call-next", headers=head, timeout=10).json()["id"] == tk["id"]
    assert httpx.post(f"{srv.url}/api/v1/desks/{desk.id}/finish", json={"outcome": "served"}, headers=head,
                      timeout=10).status_code == 200
    return tk


def test_the_offices_list_says_each_offices_scale(server: ServerProcess) -> None:
    offices = {o["id"]: o for o in httpx.get(f"{server.url}/api/v1/offices", timeout=10).json()}
    assert offices["zamostia"]["rating_scale"] == "four"
    assert offices["zamostia"]["rating_levels"] == list(FOUR)
    assert offices["main"]["rating_scale"] == "three" and offices["main"]["rating_levels"] == list(THREE)


@pytest.mark.parametrize("office, wrong, right", [("zamostia", "bad", "excellent"), ("main", "terrible", "good")])
def test_a_rating_off_the_scale_is_400_naming_it_and_one_on_it_lands(server: ServerProcess, net4: Network,
                                                                     office: str, wrong: str, right: str) -> None:
    tk = _served(server, office, net4)
    url = f"{server.url}/api/v1/tickets/{tk['id']}/rating"
    r = httpx.post(url, json={"score": wrong}, timeout=10)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    scale = net4.offices[office].rating_scale
    assert err["code"] == "invalid" and f"rates on {scale} levels" in err["message"] and repr(wrong) in err["message"]
    assert httpx.get(f"{server.url}/api/v1/tickets/{tk['id']}", timeout=10).json()["can_rate"] is True
    assert httpx.post(url, json={"score": "meh"}, timeout=10).status_code == 400  # no scale has it
    r = httpx.post(url, json={"score": right}, timeout=10)
    assert r.status_code == 201 and r.json()["score"] == right
    assert httpx.get(f"{server.url}/api/v1/tickets/{tk['id']}", timeout=10).json()["rating"] == right


def test_the_exit_tablet_refuses_off_the_scale_and_counts_on_it(server: ServerProcess, net4: Network) -> None:
    tk = _served(server, "zamostia", net4)
    kiosk = server.auth("kiosk", office="zamostia")
    url = f"{server.url}/api/v1/offices/zamostia/ratings"
    before = httpx.get(url, timeout=10).json()
    r = httpx.post(url, json={"number": tk["number"], "score": "exemplary"}, headers=kiosk, timeout=10)
    assert r.status_code == 400 and "terrible, acceptable, good, excellent" in r.json()["error"]["message"]
    r = httpx.post(url, json={"number": tk["number"], "score": "acceptable"}, headers=kiosk, timeout=10)
    assert r.status_code == 201, r.text
    after = httpx.get(url, timeout=10).json()
    assert after["scale"] == "four" and after["levels"] == list(FOUR)
    assert after["on_scale"]["today"]["acceptable"] == before["on_scale"]["today"]["acceptable"] + 1
    assert after["today"]["good"] == before["today"]["good"] + 1  # the three-level view: прийнятно passes
    assert httpx.get(f"{server.url}/api/v1/offices/network/ratings", timeout=10).json()["scale"] == "four"


def test_the_monitoring_csv_over_http(server: ServerProcess, net4: Network) -> None:
    tk = _served(server, "zamostia", net4)
    assert httpx.post(f"{server.url}/api/v1/tickets/{tk['id']}/rating", json={"score": "terrible"},
                      timeout=10).status_code == 201
    today = datetime.now(KYIV).date()
    days = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    url = f"{server.url}/api/v1/offices/zamostia/ratings/monitoring"
    assert httpx.get(url, params=days, timeout=10).status_code == 401
    assert httpx.get(url, params=days, headers=server.auth("kiosk", office="zamostia"), timeout=10).status_code == 403
    r = httpx.get(url, params=days, headers=server.auth("head", office="zamostia"), timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    _, rows = _read_monitoring(r.content)
    assert rows and {r["office"] for r in rows} == {"zamostia"} and {r["scale"] for r in rows} <= {"four"}
    assert "terrible" in {r["level"] for r in rows}
    report = httpx.get(f"{server.url}/api/v1/offices/zamostia/report", params=days,
                       headers=server.auth("head", office="zamostia"), timeout=30).json()
    (zam,) = report["offices"]
    assert zam["rating_scale"] == "four"
    assert {k: sum(1 for r in rows if r["level"] == k) for k in FOUR} == zam["ratings"]
