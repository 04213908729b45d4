"""The audit trail: who did what, in which role, from which device, and when (API.md 1.1, issue 14.4).

Append only. The service calls :meth:`AuditStore.record` (as ``svc.audit.record(...)``) for every sign-in (and
failed one), sign-out, password and staff change, pairing and revocation, configuration and policy change, alert
and registries switch, and desk command; the head reads it with ``GET /api/v1/offices/{office}/audit``. Nothing
here can change or delete a row, and no route writes it: the API only reads.

What a row holds: the office (None for what belongs to no office, such as a failed sign-in for an unknown
login), ``who`` (a staff login, or a device's id for a device token), ``role``, ``device`` (the device's id or
token hash, None for a person signed in), ``action`` (``session.signin``, ``desk.call_next``, ...), ``target``
(a ticket id, a desk, a login, a service: never a visitor's name, phone or document) and ``desk`` when the action
concerns one (for the desk filter). The SQLite store is ``audit.sqlite3`` beside the journal; with ``--redis`` a
sorted set per office (``cherga:audit:{office}``, scored by time), so a Redis Cluster keeps each in one slot.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    office TEXT,
    who TEXT NOT NULL,
    role TEXT NOT NULL,
    device TEXT,
    action TEXT NOT NULL,
    target TEXT,
    desk TEXT
);
CREATE INDEX IF NOT EXISTS audit_office_at ON audit (office, at);
-- append only: the file itself refuses to change or lose a row
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""

MAX_ROWS = 50_000  # one answer at most (a busy office's month is well under it)


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: float
    office: str | None
    who: str
    role: str
    device: str | None
    action: str
    target: str | None
    desk: str | None = None

    def json(self) -> dict[str, Any]:
        return asdict(self)


class AuditStore:
    """The trail in ``audit.sqlite3`` beside the journal (one service process, or several on one machine)."""

    def __init__(self, data_dir: Path, clock: Any = time.time) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "audit.sqlite3"
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)

    def record(self, office: str | None, who: str, role: str, device: str | None, action: str,
               target: str | None, at: float | None = None, *, desk: str | None = None) -> None:
        """Append one row. ``at`` defaults to now (the service's clock). Never raises for a value's content."""
        row = AuditRow(at=self._clock() if at is None else float(at), office=office, who=str(who)[:200],
                       role=str(role), device=device, action=action, target=None if target is None else str(target),
                       desk=desk)
        self._append(row)

    def _append(self, row: AuditRow) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO audit (at, office, who, role, device, action, target, desk) VALUES (?,?,?,?,?,?,?,?)",
                (row.at, row.office, row.who, row.role, row.device, row.action, row.target, row.desk))

    def query(self, office: str | None, since: float | None = None, until: float | None = None, *,
              who: str | None = None, desk: str | None = None, action: str | None = None,
              limit: int = MAX_ROWS) -> list[AuditRow]:
        """The office's rows in time order, ``since <= at < until``; ``action`` matches a whole action or its kind,
        a prefix ending at a dot or an underscore (``desk`` matches ``desk.call_next``, ``config`` ``config_hours``)."""
        sql = "SELECT at, office, who, role, device, action, target, desk FROM audit WHERE office IS ?"
        args: list[Any] = [office]
        if since is not None:
            sql += " AND at >= ?"
            args.append(since)
        if until is not None:
            sql += " AND at < ?"
            args.append(until)
        sql += " ORDER BY at, seq LIMIT ?"
        args.append(max(0, limit) if not (who or desk or action) else MAX_ROWS * 4)
        with self._lock:
            rows = [AuditRow(*r) for r in self._conn.execute(sql, args)]
        return _filter(rows, who, desk, action)[:limit]

    def close(self) -> None:
        self._conn.close()


def _filter(rows: list[AuditRow], who: str | None, desk: str | None, action: str | None) -> list[AuditRow]:
    def keep(r: AuditRow) -> bool:
        if who and r.who != who:
            return False
        if desk and r.desk != desk and not (r.desk is None and r.target == desk and r.action.startswith("desk.")):
            return False
        kind = action.rstrip("._") if action else ""
        return not action or r.action == action or r.action.startswith((kind + ".", kind + "_"))

    return [r for r in rows if keep(r)]


class RedisAuditStore(AuditStore):
    """The trail in Redis, shared by every process of a region: a sorted set per office, scored by time."""

    PREFIX = "cherga:audit:"

    def __init__(self, url: str, clock: Any = time.time) -> None:
        from cherga.journal.redis import connect

        self._r = connect(url, socket_timeout=5, socket_connect_timeout=5)
        self._clock = clock
        self._lock = threading.Lock()

    def _key(self, office: str | None) -> str:
        return f"{self.PREFIX}{{{office or '-'}}}"

    def _append(self, row: AuditRow) -> None:
        member = json.dumps([row.at, row.office, row.who, row.role, row.device, row.action, row.target, row.desk,
                             secrets.token_hex(4)], ensure_ascii=False)
        self._r.zadd(self._key(row.office), {member: row.at})

    def query(self, office: str | None, since: float | None = None, until: float | None = None, *,
              who: str | None = None, desk: str | None = None, action: str | None = None,
              limit: int = MAX_ROWS) -> list[AuditRow]:
        lo = "-inf" if since is None else since
        hi = "+inf" if until is None else f"({until}"
        raw: list[Any] = list(self._r.zrangebyscore(self._key(office), lo, hi))
        rows = [AuditRow(*json.loads(m)[:8]) for m in raw]
        return _filter(rows, who, desk, action)[:limit]

    def close(self) -> None:
        self._r.close()
