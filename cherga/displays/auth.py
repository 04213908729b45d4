"""Device tokens and what each role may do.

A token is shown once, when it is minted; only its SHA-256 is kept (in ``devices.sqlite3`` beside the journal), so
a stolen data folder gives no working token. Tokens minted by ``cherga token issue`` while the service runs work at
once: a token the service has not seen is looked up in the file.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from cherga.engine.model import Network
from cherga.errors import InvalidCommand, NotFound


class Role(enum.StrEnum):
    KIOSK = "kiosk"
    DESK = "desk"
    HEAD = "head"
    PLANNER = "planner"
    # wartime: an official air-raid alert feed (the whole network, or one office with --office), and the
    # network's operator (every office: alerts and registries)
    ALERTS = "alerts"
    NETWORK = "network"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    office: str | None
    desk: str | None
    key: str  # the token's hash: identifies the device for rate limits, never the token itself
    # a staff member signed in (accounts.py): the login, the session's CSRF token and the session's key (its hash)
    login: str | None = None
    csrf: str | None = None
    session: str | None = None


SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    office TEXT,
    desk TEXT,
    created REAL NOT NULL
);
"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Tokens in ``devices.sqlite3`` beside the journal (one service process, or several on one machine)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "devices.sqlite3"
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)
        self._cache: dict[str, Principal] = {}
        self._misses: dict[str, float] = {}

    def _store(self, key: str, role: Role, office: str | None, desk: str | None) -> None:
        self._conn.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)", (key, role.value, office, desk, time.time()))

    def _fetch(self, key: str) -> tuple[str, str | None, str | None] | None:
        row = self._conn.execute("SELECT role, office, desk FROM tokens WHERE hash = ?", (key,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def has_role(self, role: Role, office: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM tokens WHERE role = ? AND office = ?", (role.value, office))
        return row.fetchone() is not None

    def close(self) -> None:
        self._conn.close()

    def issue(self, network: Network, role: str, office: str | None = None, desk: str | None = None) -> str:
        """Mint a token for a device; returns it (the only time it is seen)."""
        try:
            r = Role(role)
        except ValueError:
            raise InvalidCommand(f"unknown role {role!r}; expected one of {', '.join(x.value for x in Role)}") from None
        if r in (Role.KIOSK, Role.DESK, Role.HEAD):
            if office is None:
                raise InvalidCommand(f"a {r} token needs --office")
            if office not in network.offices:
                raise NotFound(f"unknown office {office!r}; known: {', '.join(network.offices)}")
        if r is Role.DESK:
            if desk is None:
                raise InvalidCommand("a desk token needs --desk")
            if desk not in {d.id for d in network.offices[office or ""].desks}:
                raise NotFound(f"desk {desk!r} is not a desk of office {office!r}")
        elif desk is not None:
            raise InvalidCommand(f"--desk is only for desk tokens, not {r}")
        if r in (Role.PLANNER, Role.NETWORK) and office is not None:
            raise InvalidCommand(f"a {r} token is for the whole network; leave out --office")
        if office is not None and office not in network.offices:
            raise NotFound(f"unknown office {office!r}; known: {', '.join(network.offices)}")
        token = secrets.token_urlsafe(24)
        self._store(_hash(token), r, office, desk)
        return token

    def lookup(self, token: str) -> Principal | None:
        """The device behind a token, or None. O(1) when seen before; one indexed read otherwise."""
        key = _hash(token)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        now = time.monotonic()
        if now - self._misses.get(key, -10.0) < 1.0:  # unknown tokens hammering the file
            return None
        row = self._fetch(key)
        if row is None:
            if len(self._misses) > 10_000:
                self._misses.clear()
            self._misses[key] = now
            return None
        p = Principal(role=Role(row[0]), office=row[1], desk=row[2], key=key)
        self._cache[key] = p
        return p


class RedisTokenStore(TokenStore):
    """Tokens in Redis (``cherga:tokens``, hash → role, office, desk), shared by every process of a region.

    Works on one Redis and on a Redis Cluster alike (``redis+cluster://``, or a node that says it is one): every
    call touches one key.
    """

    KEY = "cherga:tokens"

    def __init__(self, url: str) -> None:
        from cherga.journal.redis import connect

        self._r = connect(url, socket_timeout=5, socket_connect_timeout=5)
        self._cache = {}
        self._misses = {}

    def _store(self, key: str, role: Role, office: str | None, desk: str | None) -> None:
        self._r.hset(self.KEY, key, json.dumps([role.value, office, desk]))
        if role is Role.HEAD and office is not None:
            self._r.sadd(f"{self.KEY}:heads", office)

    def _fetch(self, key: str) -> tuple[str, str | None, str | None] | None:
        raw = self._r.hget(self.KEY, key)
        if raw is None:
            return None
        role, office, desk = json.loads(raw)
        return str(role), office, desk

    def has_role(self, role: Role, office: str) -> bool:
        return role is Role.HEAD and bool(self._r.sismember(f"{self.KEY}:heads", office))

    def close(self) -> None:
        self._r.close()


class RateLimiter:
    """A token bucket per device: ``burst`` at once, then ``per_minute``. O(1) per check."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float | None = None) -> float:
        """0 if allowed (and counted); otherwise the seconds to wait before the next try."""
        now = time.monotonic() if now is None else now
        level, last = self._buckets.get(key, (self.burst, now))
        level = min(self.burst, level + (now - last) * self.rate)
        if level >= 1.0:
            self._buckets[key] = (level - 1.0, now)
            return 0.0
        self._buckets[key] = (level, now)
        return math.ceil((1.0 - level) / self.rate) if self.rate > 0 else 60.0
