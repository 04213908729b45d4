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
import logging
import secrets
import sqlite3
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cherga.errors import JournalError

log = logging.getLogger(__name__)

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
    """The trail in Redis, shared by every process of a region: a sorted set per office, scored by time.

    Written behind, on a thread of its own: a desk's command is durable in the journal before its row is recorded,
    so a Redis that does not answer must neither fail the command's answer (a 500 for a call that happened) nor
    stall the event loop for the socket's timeout. Rows wait in memory (up to :attr:`MAX_PENDING`) and are written
    in order once Redis answers again; :meth:`query` shows them meanwhile."""

    PREFIX = "cherga:audit:"
    MAX_PENDING = 200_000  # about 40 MB: a day's outage of a busy region; past it the oldest are dropped, logged
    RETRY_S = 1.0

    def __init__(self, url: str, clock: Any = time.time) -> None:
        from cherga.journal.redis import connect

        self._r = connect(url, socket_timeout=5, socket_connect_timeout=5)
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: deque[AuditRow] = deque()
        self._wake = threading.Condition(self._lock)
        self._closing = False
        self.dropped = 0
        self._writer = threading.Thread(target=self._run, name="cherga-audit-redis", daemon=True)
        self._writer.start()

    def _key(self, office: str | None) -> str:
        return f"{self.PREFIX}{{{office or '-'}}}"

    def _append(self, row: AuditRow) -> None:
        with self._lock:
            if len(self._pending) >= self.MAX_PENDING:
                self._pending.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 10_000 == 0:
                    log.error("audit trail: Redis has not answered for %d rows; the oldest are dropped (%d so far)",
                              self.MAX_PENDING, self.dropped)
            self._pending.append(row)
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closing:
                    self._wake.wait()
                if not self._pending:
                    return
                batch = list(self._pending)
            try:
                pipe = self._r.pipeline(transaction=False)
                for row in batch:
                    member = json.dumps([row.at, row.office, row.who, row.role, row.device, row.action, row.target,
                                         row.desk, secrets.token_hex(4)], ensure_ascii=False)
                    pipe.zadd(self._key(row.office), {member: row.at})
                pipe.execute()
            except Exception as exc:  # Redis away: keep the rows, try again
                log.warning("audit trail: Redis did not take %d rows (%s); retrying", len(batch), exc)
                with self._lock:
                    if self._closing:
                        return
                    self._wake.wait(self.RETRY_S)
                continue
            with self._lock:
                for _ in range(min(len(batch), len(self._pending))):
                    self._pending.popleft()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every row recorded so far is in Redis (tests, shutdown); False if Redis did not take them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False

    def query(self, office: str | None, since: float | None = None, until: float | None = None, *,
              who: str | None = None, desk: str | None = None, action: str | None = None,
              limit: int = MAX_ROWS) -> list[AuditRow]:
        lo = "-inf" if since is None else since
        hi = "+inf" if until is None else f"({until}"
        with self._lock:
            waiting = [r for r in self._pending if r.office == office and (since is None or r.at >= since)
                       and (until is None or r.at < until)]
        try:
            raw: list[Any] = list(self._r.zrangebyscore(self._key(office), lo, hi))
        except Exception as exc:
            raise JournalError(f"the audit trail is in Redis, which does not answer now ({exc}); "
                               "try again when it is back") from exc
        rows = [AuditRow(*json.loads(m)[:8]) for m in raw]
        written = {(r.at, r.who, r.action, r.target) for r in rows}
        # a row written between the two reads shows once
        rows += [r for r in waiting if (r.at, r.who, r.action, r.target) not in written]
        rows.sort(key=lambda r: r.at)
        return _filter(rows, who, desk, action)[:limit]

    def close(self) -> None:
        self.flush(2.0)
        with self._lock:
            self._closing = True
            self._wake.notify()
        self._writer.join(timeout=2.0)
        self._r.close()
