"""Staff accounts and their sign-in sessions (API.md 1.1 "Staff, devices, configuration, audit"; issue 14.1).

Roles: ``administrator`` (works at the desks of one office), ``head`` (one office), ``planner`` and ``network``
(the whole network; a planner made by a head keeps that office as the one that manages it). A session acts with
its role as a device token of that role would (:meth:`StaffStore.principal`): an administrator as a desk token
for any desk of its office.

Passwords: ``hashlib.scrypt`` with n=2**14, r=8, p=1 (16 MiB, ~50 ms on one core: OWASP's floor for scrypt), a
16-byte random salt per password and a 32-byte key, compared with :func:`hmac.compare_digest`. scrypt is in the
standard library, so no native wheel joins the install on the offices' machines. A password is never stored,
logged or echoed. An unknown login costs the same scrypt as a known one, and answers the same.

Sessions: a random 32-byte id in the cookie; only its SHA-256 is kept, with a CSRF token and an expiry (12 hours
from sign-in: a working day). Ending a session deletes its row, so the next request with the cookie is refused.
Lockout: 5 failed sign-ins for one login (known or not) within 15 minutes lock that login until the oldest of
those 5 is 15 minutes old, even for the right password.

SQLite: ``staff.sqlite3`` beside ``devices.sqlite3`` in the data directory. Redis (``--redis``): hashes
``cherga:staff`` and ``cherga:sessions`` and a list per login for failures; every call touches one key.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cherga.displays.auth import Principal, Role
from cherga.engine.model import Network
from cherga.errors import BadCredentials, Conflict, InvalidCommand, LockedOut, NotFound

# scrypt's cost: n=2**14, r=8, p=1 uses 128*n*r = 16 MiB
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSWORD = 8
MAX_PASSWORD = 256
LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")

LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW_S = 15 * 60.0
SESSION_TTL_S = 12 * 3600.0
COOKIE = "cherga_session"


class StaffRole(enum.StrEnum):
    ADMINISTRATOR = "administrator"
    HEAD = "head"
    PLANNER = "planner"
    NETWORK = "network"


# what a session of each staff role acts as (API.md: "as a device token of that role would")
AS_DEVICE = {StaffRole.ADMINISTRATOR: Role.DESK, StaffRole.HEAD: Role.HEAD, StaffRole.PLANNER: Role.PLANNER,
             StaffRole.NETWORK: Role.NETWORK}


@dataclass(frozen=True, slots=True)
class Account:
    login: str
    role: StaffRole
    office: str | None
    active: bool
    created: float
    changed: float
    pw: str  # "scrypt$n$r$p$salt$key" (base64): never leaves the store in an answer

    def json(self) -> dict[str, Any]:
        return {"login": self.login, "role": self.role.value, "office": self.office, "active": self.active,
                "created_at": self.created, "changed_at": self.changed}


@dataclass(frozen=True, slots=True)
class Session:
    key: str  # SHA-256 of the cookie's value
    login: str
    csrf: str
    created: float
    expires: float


# ---------------------------------------------------------------------- passwords


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=KEY_BYTES,
                         maxmem=64 * 1024 * 1024)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check against a stored hash; the stored parameters are used (so a raised cost still reads)."""
    try:
        kind, n, r, p, salt, key = stored.split("$")
        want = base64.b64decode(key)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(got, want)


# a hash nobody's password matches: an unknown login pays the same scrypt as a known one
_DUMMY = hash_password(secrets.token_urlsafe(16))


def check_password_rules(password: str) -> None:
    if not password:
        raise InvalidCommand("the password is empty; give one of at least 8 characters")
    if len(password) < MIN_PASSWORD:
        raise InvalidCommand(f"the password is too short ({len(password)} characters); use at least {MIN_PASSWORD}")
    if len(password) > MAX_PASSWORD:
        raise InvalidCommand(f"the password is too long; use at most {MAX_PASSWORD} characters")


def _session_key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


# ---------------------------------------------------------------------- the store


class StaffStore:
    """Accounts, sessions and failed sign-ins in ``staff.sqlite3`` beside the journal."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "staff.sqlite3"
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript("""
            CREATE TABLE IF NOT EXISTS accounts (login TEXT PRIMARY KEY, role TEXT NOT NULL, office TEXT,
                active INTEGER NOT NULL, created REAL NOT NULL, changed REAL NOT NULL, pw TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, login TEXT NOT NULL, csrf TEXT NOT NULL,
                created REAL NOT NULL, expires REAL NOT NULL);
            CREATE INDEX IF NOT EXISTS sessions_login ON sessions (login);
            CREATE TABLE IF NOT EXISTS failures (login TEXT NOT NULL, at REAL NOT NULL);
            CREATE INDEX IF NOT EXISTS failures_login ON failures (login, at);
        """)

    # --- primitives (the Redis store has its own)

    def get(self, login: str) -> Account | None:
        with self._lock:
            row = self._conn.execute("SELECT login, role, office, active, created, changed, pw FROM accounts "
                                     "WHERE login = ?", (login,)).fetchone()
        return None if row is None else Account(row[0], StaffRole(row[1]), row[2], bool(row[3]), row[4], row[5],
                                                row[6])

    def all(self) -> list[Account]:
        with self._lock:
            rows = self._conn.execute("SELECT login, role, office, active, created, changed, pw FROM accounts "
                                      "ORDER BY login").fetchall()
        return [Account(r[0], StaffRole(r[1]), r[2], bool(r[3]), r[4], r[5], r[6]) for r in rows]

    def _put(self, a: Account, *, new: bool) -> None:
        with self._lock:
            try:
                self._conn.execute("INSERT OR REPLACE INTO accounts VALUES (?,?,?,?,?,?,?)" if not new else
                                   "INSERT INTO accounts VALUES (?,?,?,?,?,?,?)",
                                   (a.login, a.role.value, a.office, int(a.active), a.created, a.changed, a.pw))
            except sqlite3.IntegrityError:
                raise Conflict(f"there is already an account with login {a.login!r}; choose another") from None

    def _delete(self, login: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM accounts WHERE login = ?", (login,))

    def _put_session(self, s: Session) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM sessions WHERE expires <= ?", (s.created,))  # the ended ones go
            self._conn.execute("INSERT INTO sessions VALUES (?,?,?,?,?)",
                               (s.key, s.login, s.csrf, s.created, s.expires))

    def _get_session(self, key: str) -> Session | None:
        with self._lock:
            row = self._conn.execute("SELECT key, login, csrf, created, expires FROM sessions WHERE key = ?",
                                     (key,)).fetchone()
        return None if row is None else Session(*row)

    def _drop_session(self, key: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM sessions WHERE key = ?", (key,))

    def _drop_sessions_of(self, login: str, keep: str | None = None) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM sessions WHERE login = ? AND key IS NOT ?", (login, keep))

    def _failures(self, login: str, since: float) -> list[float]:
        with self._lock:
            self._conn.execute("DELETE FROM failures WHERE at < ?", (since,))
            return [r[0] for r in self._conn.execute("SELECT at FROM failures WHERE login = ? AND at >= ? "
                                                     "ORDER BY at", (login, since))]

    def _fail(self, login: str, at: float) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO failures VALUES (?, ?)", (login, at))

    def _clear_failures(self, login: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM failures WHERE login = ?", (login,))

    def close(self) -> None:
        self._conn.close()

    # --- accounts

    def add(self, network: Network, login: str, role: str, password: str, office: str | None = None) -> Account:
        """A new account; raises with a clear message for a bad login, role, office or password, or a duplicate."""
        if not LOGIN_RE.match(login or ""):
            raise InvalidCommand("a login is 2 to 64 letters (Latin), digits or . _ @ -, starting with a letter or "
                                 f"digit; {login!r} is not")
        try:
            r = StaffRole(role)
        except ValueError:
            raise InvalidCommand(f"unknown role {role!r}; expected one of "
                                 f"{', '.join(x.value for x in StaffRole)}") from None
        if r in (StaffRole.ADMINISTRATOR, StaffRole.HEAD) and office is None:
            raise InvalidCommand(f"an {r} account needs an office (--office)" if r is StaffRole.ADMINISTRATOR
                                 else f"a {r} account needs an office (--office)")
        if r is StaffRole.NETWORK and office is not None:
            raise InvalidCommand("a network account is for the whole network; leave out the office")
        if office is not None and office not in network.offices:
            raise NotFound(f"unknown office {office!r}; known: {', '.join(network.offices)}")
        check_password_rules(password)
        now = self._clock()
        a = Account(login, r, office, True, now, now, hash_password(password))
        self._put(a, new=True)
        return a

    def require_account(self, login: str) -> Account:
        a = self.get(login)
        if a is None:
            raise NotFound(f"no staff account {login!r}")
        return a

    def set_active(self, login: str, active: bool) -> Account:
        a = replace(self.require_account(login), active=active, changed=self._clock())
        self._put(a, new=False)
        if not active:
            self._drop_sessions_of(login)
        return a

    def set_password(self, login: str, password: str, *, keep_session: str | None = None) -> Account:
        """A new password (a reset by a manager, or one's own change); every other session of the account ends."""
        check_password_rules(password)
        a = replace(self.require_account(login), pw=hash_password(password), changed=self._clock())
        self._put(a, new=False)
        self._drop_sessions_of(login, keep=keep_session)
        self._clear_failures(login)
        return a

    def remove(self, login: str) -> Account:
        a = self.require_account(login)
        self._delete(login)
        self._drop_sessions_of(login)
        return a

    # --- signing in

    def locked_for(self, login: str) -> float:
        """Seconds until ``login`` may try again (0 when it may now)."""
        now = self._clock()
        recent = self._failures(login, now - LOCKOUT_WINDOW_S)
        if len(recent) < LOCKOUT_FAILURES:
            return 0.0
        return max(1.0, recent[-LOCKOUT_FAILURES] + LOCKOUT_WINDOW_S - now)

    def check(self, login: str, password: str) -> Account:
        """The account for a right login and password; else BadCredentials (LockedOut while locked)."""
        wait = self.locked_for(login)
        if wait > 0:
            verify_password(password, _DUMMY)  # the same cost either way
            raise LockedOut(f"too many failed sign-ins for this login; try again in {int(wait // 60) + 1} "
                            "minutes", wait)
        a = self.get(login)
        ok = verify_password(password, a.pw if a is not None else _DUMMY)
        if a is None or not ok or not a.active:
            self._fail(login, self._clock())
            raise BadCredentials("the login or the password is wrong")
        self._clear_failures(login)
        return a

    def open_session(self, a: Account) -> tuple[str, Session]:
        """A new session: the cookie's value (shown once) and what is kept."""
        cookie = secrets.token_urlsafe(32)
        now = self._clock()
        s = Session(_session_key(cookie), a.login, secrets.token_urlsafe(24), now, now + SESSION_TTL_S)
        self._put_session(s)
        return cookie, s

    def session(self, cookie: str) -> tuple[Session, Account] | None:
        """The live session behind a cookie, with its account (active), or None."""
        if not cookie or len(cookie) > 200:
            return None
        s = self._get_session(_session_key(cookie))
        if s is None:
            return None
        if s.expires <= self._clock():
            self._drop_session(s.key)
            return None
        a = self.get(s.login)
        if a is None or not a.active:
            return None
        return s, a

    def end_session(self, key: str) -> None:
        self._drop_session(key)


def principal_of(s: Session, a: Account) -> Principal:
    """What a session acts as: its role's device token (an administrator: a desk token of its office, any desk)."""
    role = AS_DEVICE[a.role]
    office = a.office if a.role in (StaffRole.ADMINISTRATOR, StaffRole.HEAD) else None
    return Principal(role=role, office=office, desk=None, key=f"staff:{a.login}", login=a.login,
                     csrf=s.csrf, session=s.key)


class RedisStaffStore(StaffStore):
    """Accounts, sessions and failures in Redis, shared by every process of a region (one key per call)."""

    ACCOUNTS = "cherga:staff"
    SESSIONS = "cherga:sessions"
    FAILURES = "cherga:staff:failures:"

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        from cherga.journal.redis import connect

        self._r = connect(url, socket_timeout=5, socket_connect_timeout=5)
        self._clock = clock
        self._lock = threading.Lock()

    @staticmethod
    def _account(raw: Any) -> Account:
        d = json.loads(raw)
        return Account(d["login"], StaffRole(d["role"]), d["office"], bool(d["active"]), d["created"], d["changed"],
                       d["pw"])

    def get(self, login: str) -> Account | None:
        raw = self._r.hget(self.ACCOUNTS, login)
        return None if raw is None else self._account(raw)

    def all(self) -> list[Account]:
        raw: dict[Any, Any] = dict(self._r.hgetall(self.ACCOUNTS))
        return sorted((self._account(v) for v in raw.values()), key=lambda a: a.login)

    def _put(self, a: Account, *, new: bool) -> None:
        value = json.dumps({"login": a.login, "role": a.role.value, "office": a.office, "active": a.active,
                            "created": a.created, "changed": a.changed, "pw": a.pw})
        if new:
            if not self._r.hsetnx(self.ACCOUNTS, a.login, value):
                raise Conflict(f"there is already an account with login {a.login!r}; choose another")
        else:
            self._r.hset(self.ACCOUNTS, a.login, value)

    def _delete(self, login: str) -> None:
        self._r.hdel(self.ACCOUNTS, login)

    def _put_session(self, s: Session) -> None:
        self._r.hset(self.SESSIONS, s.key, json.dumps([s.key, s.login, s.csrf, s.created, s.expires]))

    def _get_session(self, key: str) -> Session | None:
        raw = self._r.hget(self.SESSIONS, key)
        return None if raw is None else Session(*json.loads(raw))

    def _drop_session(self, key: str) -> None:
        self._r.hdel(self.SESSIONS, key)

    def _drop_sessions_of(self, login: str, keep: str | None = None) -> None:
        raw: dict[Any, Any] = dict(self._r.hgetall(self.SESSIONS))
        for k, v in raw.items():
            key = k.decode() if isinstance(k, bytes) else str(k)
            if json.loads(v)[1] == login and key != keep:
                self._r.hdel(self.SESSIONS, key)

    def _failures(self, login: str, since: float) -> list[float]:
        key = self.FAILURES + login
        self._r.zremrangebyscore(key, "-inf", f"({since}")
        got: list[Any] = list(self._r.zrangebyscore(key, since, "+inf", withscores=True))
        return [float(pair[1]) for pair in got]

    def _fail(self, login: str, at: float) -> None:
        key = self.FAILURES + login
        self._r.zadd(key, {secrets.token_hex(6): at})
        self._r.expire(key, int(LOCKOUT_WINDOW_S) + 60)

    def _clear_failures(self, login: str) -> None:
        self._r.delete(self.FAILURES + login)

    def close(self) -> None:
        self._r.close()
