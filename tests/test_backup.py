"""``cherga backup`` while a real ``cherga serve`` takes commands, ``cherga restore`` into a fresh directory, and the
same state once replayed (issue 14.5).

* A real service takes commands from one client per office (issue, open, call-next, start, finish, no-show, a
  transfer to another office now and then) while ``cherga backup`` runs; commands are answered during the backup.
* The backed-up journal is exactly the service's journal up to one commit: the same rows (rowid, office, seq, time,
  body) as the live journal's first N, and the manifest's position says N and each office's last seq.
* Restored into a fresh directory and replayed, every office's engine state (its full digest and its ``state``
  view) equals that of the live journal replayed up to the backup's position; a ``cherga serve`` on the restored
  directory answers ``GET .../state`` with it for every office, knows tickets and tokens from before the backup,
  and carries on numbering from where the backup stood.
* Every database of the data directory is in the backup (a store this test adds while it is written is too), other
  files come as they are; restore refuses a directory that holds data and a damaged backup, writing nothing.
"""

from __future__ import annotations

import io
import json
import random
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server import ServerProcess

from cherga.displays import views
from cherga.displays.auth import TokenStore
from cherga.engine.loader import load_network
from cherga.engine.network import CityEngine
from cherga.errors import BackupError
from cherga.journal import backup as bk
from cherga.journal.sqlite import SqliteJournal


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cherga", *args], capture_output=True, text=True, timeout=120)


class Office:
    """One office's client: a head token acting at its desks and issuing, as the hall would."""

    def __init__(self, server: ServerProcess, office: dict[str, Any], others: list[str], seed: int, token: str) -> None:
        self.id = office["id"]
        self.url = server.url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.desks = [d["id"] for d in office["desks"]]
        served = {s for d in office["desks"] for s in d["services"]}
        self.services = sorted(s["id"] for s in office["services"] if s["id"] in served)
        self.others = others
        self.rng = random.Random(seed)
        self.answered: list[tuple[float, float]] = []  # (sent, answered) of every 2xx
        self.tickets: list[str] = []
        self.errors: list[str] = []

    def post(self, client: httpx.Client, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        sent = time.monotonic()
        r = client.post(self.url + path, json=body, headers=self.headers)
        if r.status_code < 300:
            self.answered.append((sent, time.monotonic()))
        elif r.status_code >= 500:
            self.errors.append(f"{path}: {r.status_code} {r.text[:200]}")
        return r

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(timeout=30) as client:
            for desk in self.desks:
                self.post(client, f"/api/v1/desks/{desk}/open")
            while not stop.is_set():
                self.step(client)

    def step(self, client: httpx.Client) -> None:
        rng, desk = self.rng, self.rng.choice(self.desks)
        roll = rng.random()
        if roll < 0.4:
            r = self.post(client, f"/api/v1/offices/{self.id}/tickets",
                          {"service": rng.choice(self.services), "vulnerable": rng.random() < 0.1})
            if r.status_code == 201:
                self.tickets.append(r.json()["id"])
        elif roll < 0.6:
            self.post(client, f"/api/v1/desks/{desk}/call-next")
        elif roll < 0.72:
            self.post(client, f"/api/v1/desks/{desk}/start")
        elif roll < 0.9:
            self.post(client, f"/api/v1/desks/{desk}/finish", {"outcome": rng.choice(["served", "refused"])})
        elif roll < 0.95:
            self.post(client, f"/api/v1/desks/{desk}/no-show")
        elif self.others:
            self.post(client, f"/api/v1/desks/{desk}/transfer", {"office": rng.choice(self.others)})


def _rows(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT rowid, office, seq, at, type, body FROM events ORDER BY rowid").fetchall()
    finally:
        conn.close()


def _engine(data: Path, upto_rowid: int | None = None) -> CityEngine:
    """The engine replayed from ``data``'s journal (up to a rowid), as ``cherga serve`` rebuilds it."""
    journal = SqliteJournal(data / "journal.sqlite3")
    try:
        secret = journal.get_meta("secret")
        assert secret is not None
        engine = CityEngine(load_network(), secret=bytes.fromhex(secret), enforce_hours=False)
        if upto_rowid is None:
            engine.replay(journal.read())
        else:
            conn = sqlite3.connect(f"file:{data / 'journal.sqlite3'}?mode=ro", uri=True)
            try:
                from cherga.engine.events import decode

                bodies = conn.execute("SELECT body FROM events WHERE rowid <= ? ORDER BY rowid", (upto_rowid,))
                engine.replay(decode(b) for (b,) in bodies)
            finally:
                conn.close()
    finally:
        journal.close()
    return engine


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    """A state answer without what moves with the clock (waits so far; the forecast is compared apart)."""
    return {**state, "queues": [{k: v for k, v in q.items() if k not in ("eta_min", "longest_wait_min")}
                                for q in state["queues"]]}


@pytest.fixture
def busy(tmp_path: Path) -> Iterator[tuple[ServerProcess, list[Office]]]:
    server = ServerProcess(tmp_path / "data").start(timeout=120)
    try:
        offices = httpx.get(server.url + "/api/v1/offices", timeout=30).json()
        ids = [o["id"] for o in offices]
        store = TokenStore(server.data)  # as `cherga token issue` does, without a process per token
        try:
            tokens = {i: store.issue(load_network(), "head", office=i) for i in ids}
        finally:
            store.close()
        clients = [Office(server, o, [i for i in ids if i != o["id"]], seed, tokens[o["id"]])
                   for seed, o in enumerate(offices)]
        yield server, clients
    finally:
        server.stop()


def test_a_backup_taken_under_load_restores_to_the_same_state(busy: tuple[ServerProcess, list[Office]],
                                                               tmp_path: Path) -> None:
    server, clients = busy
    data = server.data
    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while sum(len(c.answered) for c in clients) < 150 and time.monotonic() < deadline:
            time.sleep(0.1)
        archive = tmp_path / "backups" / "cherga.tar.gz"
        began = time.monotonic()
        out = _cli("backup", "--data", str(data), "--to", str(archive))
        ended = time.monotonic()
        assert out.returncode == 0, out.stderr
        assert "backed up" in out.stdout
        after = sum(len(c.answered) for c in clients) + 20  # and the service goes on after it
        while sum(len(c.answered) for c in clients) < after and time.monotonic() < ended + 60:
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    during = sum(1 for c in clients for sent, answered in c.answered if began <= sent and answered <= ended)
    assert during > 0, "the service answered no command while the backup ran"
    print(f"\nbackup took {ended - began:.1f} s (the command, start-up included); {during} commands were answered "
          f"within it, {sum(len(c.answered) for c in clients)} in all")
    assert [e for c in clients for e in c.errors] == []
    server.stop()

    manifest = bk.read_manifest(archive)
    names = {f["name"] for f in manifest.files}
    on_disk = {p.name for p in data.iterdir() if p.is_file() and not p.name.endswith(bk.SIDE_FILES)}
    assert names == on_disk, "every file of the data directory is in the backup"
    assert {"journal.sqlite3", "devices.sqlite3"} <= names
    assert manifest.journal is not None
    assert oct(archive.stat().st_mode & 0o777) == oct(0o600), "the backup holds the journal's secret and tokens"

    # the backup is the live journal up to one commit
    live = _rows(data / "journal.sqlite3")
    position = manifest.journal
    assert 0 < position["events"] < len(live), "commands after the backup are not in it"
    restored = tmp_path / "restored"
    out = _cli("restore", "--from", str(archive), "--data", str(restored))
    assert out.returncode == 0, out.stderr
    copy = _rows(restored / "journal.sqlite3")
    assert copy == live[: len(copy)] and len(copy) == position["events"]
    assert copy[-1][0] == position["last_rowid"]
    assert {o: max(r[2] for r in copy if r[1] == o) for o in {r[1] for r in copy}} == position["offices"]

    # replayed, the same state as the live journal replayed up to the backup's position, office by office
    expected = _engine(data, upto_rowid=position["last_rowid"])
    replayed = _engine(restored)
    now = time.time()
    for oid in expected.offices:
        want, got = expected.offices[oid], replayed.offices[oid]
        assert json.dumps(got.digest(), sort_keys=True, default=str) == json.dumps(want.digest(), sort_keys=True,
                                                                                  default=str), oid
        assert views.state_json(got, got.seq, now) == views.state_json(want, want.seq, now)

    # a service started on the restored directory serves that state, its tickets and its tokens
    again = ServerProcess(restored).start(timeout=120)
    try:
        for oid, d in expected.offices.items():
            answer = httpx.get(f"{again.url}/api/v1/offices/{oid}/state", timeout=30).json()
            assert _comparable(answer) == _comparable(views.state_json(d, d.seq, time.time())), oid
        known = [tid for c in clients for tid in c.tickets if any(tid in o.tickets for o in expected.offices.values())]
        assert known, "tickets from before the backup"
        for tid in random.Random(3).sample(known, min(20, len(known))):
            ticket = httpx.get(f"{again.url}/api/v1/tickets/{tid}", timeout=30).json()
            mine = next(o.tickets[tid] for o in expected.offices.values() if tid in o.tickets)
            assert (ticket["number"], ticket["status"]) == (mine.number, mine.status.value)
        main = next(c for c in clients if c.id == "main")
        r = httpx.post(f"{again.url}/api/v1/offices/main/tickets", json={"service": main.services[0]},
                       headers=main.headers, timeout=30)  # the head token minted before the backup still works
        assert r.status_code == 201, r.text
        numbers = {t.number for t in expected.offices["main"].tickets.values()}
        assert r.json()["number"] not in numbers
    finally:
        again.stop()


def _store(path: Path, rows: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(f"row {i}",) for i in range(rows)])
    return conn


def test_every_database_in_the_data_directory_is_copied_consistently_and_restore_is_careful(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with SqliteJournal(data / "journal.sqlite3") as journal:
        journal.set_meta("secret", "00" * 32)
    written = _store(data / "audit.sqlite3", 500)
    _store(data / "newstore.db", 7).close()  # a database by its header, whatever its name
    (data / "vapid-private.pem").write_text("a key\n", encoding="utf-8")
    (data / "somedir").mkdir()

    stop = threading.Event()

    def write() -> None:  # a store written in transactions of 10 rows while the backup runs
        while not stop.is_set():
            written.execute("BEGIN")
            written.executemany("INSERT INTO t (v) VALUES (?)", [("during",)] * 10)
            written.execute("COMMIT")

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        time.sleep(0.05)
        manifest = bk.backup(data, tmp_path / "b.tar.gz")
    finally:
        stop.set()
        thread.join()
        written.close()
    kinds = {f["name"]: f["kind"] for f in manifest.files}
    assert kinds == {"journal.sqlite3": "sqlite", "audit.sqlite3": "sqlite", "newstore.db": "sqlite",
                     "vapid-private.pem": "file"}
    assert manifest.files[0]["name"] == "journal.sqlite3", "the journal is copied first"
    audit_rows = next(f for f in manifest.files if f["name"] == "audit.sqlite3")["tables"]["t"]
    assert audit_rows >= 500 and (audit_rows - 500) % 10 == 0, "a copy at one commit, never within one"
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        assert tar.getnames()[0] == bk.MANIFEST
        assert not [n for n in tar.getnames() if n.endswith(bk.SIDE_FILES)]

    target = tmp_path / "restored"
    bk.restore(tmp_path / "b.tar.gz", target)
    assert (target / "vapid-private.pem").read_text(encoding="utf-8") == "a key\n"
    conn = sqlite3.connect(target / "audit.sqlite3")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == audit_rows
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    conn.close()
    assert SqliteJournal(target / "journal.sqlite3").get_meta("secret") == "00" * 32

    with pytest.raises(BackupError, match="already holds"):
        bk.restore(tmp_path / "b.tar.gz", target)
    with pytest.raises(BackupError, match="outside the data directory"):
        bk.backup(data, data / "b.tar.gz")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(BackupError, match="no SQLite database"):
        bk.backup(tmp_path / "nothing", tmp_path / "x" / "b.tar.gz")

    # a damaged member: its hash does not match, nothing is written
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(tmp_path / "b.tar.gz") as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            body = src.extractfile(member)
            assert body is not None
            content = body.read()
            if member.name == "audit.sqlite3":
                content = content[:-1] + bytes([content[-1] ^ 1])
            dst.addfile(member, io.BytesIO(content))
    empty = tmp_path / "empty"
    with pytest.raises(BackupError, match="does not match its recorded hash"):
        bk.restore(damaged, empty)
    assert [p for p in empty.iterdir() if not p.name.startswith(".cherga-restore-")] == []
