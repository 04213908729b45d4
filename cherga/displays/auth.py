"""Device tokens and what each role may do.

A token is shown once, when it is minted; only its SHA-256 is kept (in ``devices.sqlite3`` beside the journal), so
a stolen data folder gives no working token. Tokens minted by ``cherga token issue`` while the service runs work at
once: a token the service has not seen is looked up in the file.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import math
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from cherga.engine.model import Network
from cherga.errors import Conflict, InvalidCommand, NotFound

REV_TIMEOUT_S = 0.25  # reading the revocation counter (Redis): past it, the cache stands
REV_PAUSE_S = 2.0  # and the counter is not tried again for this long


class Role(enum.StrEnum):
    KIOSK = "kiosk"
    DESK = "desk"
    HEAD = "head"
    PLANNER = "planner"
    # wartime: an official air-raid alert feed (the whole network, or one office with --office), and the
    # network's operator (every office: alerts and registries)
    ALERTS = "alerts"
    NETWORK = "network"
    # paired from the screen itself (routes/devices.py): a hall board or desk display (public feeds; the token
    # names the screen, so the head sees it and can cut it off), and a rating tablet (the exit tablet of an office,
    # or with a desk that desk's tablet: it rates, and nothing else)
    BOARD = "board"
    RATING = "rating"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    office: str | None
    desk: str | None
    key: str  # the token's hash: identifies the device for rate limits, never the token itself
    device: str | None = None  # the device's id (GET /offices/{office}/devices), for a device token
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
CREATE TABLE IF NOT EXISTS pairings (
    code TEXT PRIMARY KEY,
    office TEXT NOT NULL,
    addr TEXT,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    token TEXT,
    device TEXT,
    role TEXT,
    desk TEXT
);
"""
# added to tokens after the first release: when the head revoked the device, when it was last seen
MIGRATIONS = ("ALTER TABLE tokens ADD COLUMN revoked REAL", "ALTER TABLE tokens ADD COLUMN last_seen REAL")

# A pairing code is read off a screen and typed by the head: 6 characters of an alphabet with no look-alikes
# (no 0/O, 1/I/L). 31**6 ~ 8.9e8 codes, of which a centre has a handful alive at once.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PAIRING_LEN = 6
PAIRING_TTL_S = 600.0  # a code not approved within 10 minutes is gone; the screen asks for a new one
COLLECT_TTL_S = 600.0  # an approved code waits this long for its screen to collect the token
DEVICE_ID_LEN = 12  # a device's id: the first hex digits of its token's hash (names it, opens nothing)
PAIRABLE = (Role.KIOSK, Role.BOARD, Role.DESK, Role.RATING)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def device_id(key: str) -> str:
    return key[:DEVICE_ID_LEN]


def normalize_code(code: str) -> str:
    """What the head typed, as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch not in " -")


@dataclass(frozen=True, slots=True)
class Pairing:
    code: str
    office: str
    addr: str | None
    created: float
    expires: float
    token: str | None = None  # set once the head approved; handed out once, then the pairing is gone
    device: str | None = None
    role: str | None = None
    desk: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    key: str
    role: str
    office: str | None
    desk: str | None
    paired_at: float | None
    last_seen: float | None


def check_device(network: Network, role: str, office: str | None, desk: str | None) -> Role:
    """The role, if a token of it may be minted for this office and desk; InvalidCommand/NotFound otherwise."""
    try:
        r = Role(role)
    except ValueError:
        raise InvalidCommand(f"unknown role {role!r}; expected one of {', '.join(x.value for x in Role)}") from None
    if r in (Role.KIOSK, Role.DESK, Role.HEAD, Role.BOARD, Role.RATING):
        if office is None:
            raise InvalidCommand(f"a {r} token needs --office")
        if office not in network.offices:
            raise NotFound(f"unknown office {office!r}; known: {', '.join(network.offices)}")
    if r is Role.DESK and desk is None:
        raise InvalidCommand("a desk token needs --desk")
    if r in (Role.DESK, Role.RATING) and desk is not None:
        if desk not in {d.id for d in network.offices[office or ""].desks}:
            raise NotFound(f"desk {desk!r} is not a desk of office {office!r}")
    elif desk is not None:
        raise InvalidCommand(f"--desk is only for desk and rating tokens, not {r}")
    if r in (Role.PLANNER, Role.NETWORK) and office is not None:
        raise InvalidCommand(f"a {r} token is for the whole network; leave out --office")
    if office is not None and office not in network.offices:
        raise NotFound(f"unknown office {office!r}; known: {', '.join(network.offices)}")
    return r


class TokenStore:
    """Tokens in ``devices.sqlite3`` beside the journal (one service process, or several on one machine).

    Each token is a device (its id: :func:`device_id`): the head lists them and revokes one. A revoked token is
    refused by the next lookup (the cache entry goes with it). When a device was last seen is kept in memory and
    written by :meth:`flush_seen` (the service calls it every few seconds and before a listing), not per request.
    Pairings (a screen's code, waiting for the head's approval) live here too.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "devices.sqlite3"
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(tokens)")}
        for sql in MIGRATIONS:
            if sql.split()[-2] not in columns:
                with contextlib.suppress(sqlite3.OperationalError):  # another process added it a moment ago
                    self._conn.execute(sql)
        self._cache: dict[str, Principal] = {}
        self._misses: dict[str, float] = {}
        self._seen: dict[str, float] = {}  # key -> when, not yet written

    # ---------------------------------------------------------------- the store's own reads and writes

    def _store(self, key: str, role: Role, office: str | None, desk: str | None) -> None:
        self._conn.execute("INSERT INTO tokens (hash, role, office, desk, created) VALUES (?, ?, ?, ?, ?)",
                           (key, role.value, office, desk, time.time()))

    def _fetch(self, key: str) -> tuple[str, str | None, str | None] | None:
        row = self._conn.execute("SELECT role, office, desk FROM tokens WHERE hash = ? AND revoked IS NULL",
                                 (key,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def _devices(self, office: str) -> list[DeviceInfo]:
        rows = self._conn.execute("SELECT hash, role, office, desk, created, last_seen FROM tokens "
                                  "WHERE office = ? AND revoked IS NULL ORDER BY created", (office,))
        return [DeviceInfo(device_id(r[0]), r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def _device(self, ident: str) -> DeviceInfo | None:
        # the id is a prefix of the hash: a range over the primary key
        row = self._conn.execute("SELECT hash, role, office, desk, created, last_seen FROM tokens "
                                 "WHERE hash >= ? AND hash < ? AND revoked IS NULL", (ident, ident + "g")).fetchone()
        return None if row is None else DeviceInfo(device_id(row[0]), row[0], row[1], row[2], row[3], row[4], row[5])

    def _revoke(self, key: str) -> None:
        self._conn.execute("UPDATE tokens SET revoked = ? WHERE hash = ?", (time.time(), key))

    def _write_seen(self, seen: dict[str, float]) -> None:
        self._conn.executemany("UPDATE tokens SET last_seen = max(coalesce(last_seen, 0), ?) WHERE hash = ?",
                               [(at, key) for key, at in seen.items()])

    def _pair_insert(self, p: Pairing) -> bool:
        cur = self._conn.execute("INSERT OR IGNORE INTO pairings (code, office, addr, created, expires) "
                                 "VALUES (?, ?, ?, ?, ?)", (p.code, p.office, p.addr, p.created, p.expires))
        return cur.rowcount == 1

    def _pair_get(self, code: str) -> Pairing | None:
        row = self._conn.execute("SELECT code, office, addr, created, expires, token, device, role, desk "
                                 "FROM pairings WHERE code = ?", (code,)).fetchone()
        return None if row is None else Pairing(*row)

    def _pair_approve(self, code: str, token: str, device: str, role: str, desk: str | None, expires: float) -> bool:
        cur = self._conn.execute("UPDATE pairings SET token = ?, device = ?, role = ?, desk = ?, expires = ? "
                                 "WHERE code = ? AND token IS NULL", (token, device, role, desk, expires, code))
        return cur.rowcount == 1

    def _pair_take(self, code: str) -> bool:
        """Remove an approved pairing; True for the one caller that removed it."""
        cur = self._conn.execute("DELETE FROM pairings WHERE code = ? AND token IS NOT NULL", (code,))
        return cur.rowcount == 1

    def _pair_sweep(self, now: float) -> list[str]:
        """Drop the expired pairings; the ids of devices approved but never collected (to revoke)."""
        rows = self._conn.execute("DELETE FROM pairings WHERE expires <= ? RETURNING device", (now,)).fetchall()
        return [r[0] for r in rows if r[0]]

    def _check_revocations(self) -> None:
        """Another process's revocations (Redis); one process over SQLite revokes through this object."""

    # ---------------------------------------------------------------- tokens

    def has_role(self, role: Role, office: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM tokens WHERE role = ? AND office = ? AND revoked IS NULL",
                                 (role.value, office))
        return row.fetchone() is not None

    def close(self) -> None:
        self._conn.close()

    def issue(self, network: Network, role: str, office: str | None = None, desk: str | None = None) -> str:
        """Mint a token for a device; returns it (the only time it is seen)."""
        r = check_device(network, role, office, desk)
        token = secrets.token_urlsafe(24)
        self._store(_hash(token), r, office, desk)
        return token

    def lookup(self, token: str) -> Principal | None:
        """The device behind a token, or None. O(1) when seen before; one indexed read otherwise."""
        key = _hash(token)
        self._check_revocations()
        hit = self._cache.get(key)
        if hit is not None:
            self._seen[key] = time.time()
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
        p = Principal(role=Role(row[0]), office=row[1], desk=row[2], key=key, device=device_id(key))
        self._cache[key] = p
        self._seen[key] = time.time()
        return p

    # ---------------------------------------------------------------- devices

    def seen(self, key: str, at: float | None = None) -> None:
        """The device was in contact (an open websocket counts): kept in memory until :meth:`flush_seen`."""
        self._seen[key] = time.time() if at is None else at

    def flush_seen(self) -> int:
        """Write the last contacts gathered since the last flush; how many."""
        if not self._seen:
            return 0
        seen, self._seen = self._seen, {}
        try:
            self._write_seen(seen)
        except Exception:
            for k, v in seen.items():  # kept for the next flush; a contact made meanwhile is newer and stays
                self._seen.setdefault(k, v)
            raise
        return len(seen)

    def devices(self, office: str) -> list[DeviceInfo]:
        """The office's devices (revoked ones are gone), with their last contact."""
        self.flush_seen()
        return self._devices(office)

    def device(self, ident: str) -> DeviceInfo | None:
        if len(ident) != DEVICE_ID_LEN or any(ch not in "0123456789abcdef" for ch in ident):
            return None
        return self._device(ident)

    def revoke(self, ident: str) -> DeviceInfo:
        """Refuse the device's token from now on (this process at once; the others of a region at their next
        request). NotFound for an unknown or already revoked device."""
        d = self.device(ident)
        if d is None:
            raise NotFound(f"no device {ident!r}; the head's list of devices names each by its id")
        self._revoke(d.key)
        self._cache.pop(d.key, None)
        self._seen.pop(d.key, None)
        return d

    # ---------------------------------------------------------------- pairing

    def pair(self, office: str, addr: str | None, now: float, ttl: float = PAIRING_TTL_S) -> Pairing:
        """A new code for a screen at ``office`` asking from ``addr``."""
        self.sweep(now)
        for _ in range(20):
            code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_LEN))
            p = Pairing(code=code, office=office, addr=addr, created=now, expires=now + ttl)
            if self._pair_insert(p):
                return p
        raise Conflict("could not find a free pairing code; try again")  # pragma: no cover - 8.9e8 codes

    def sweep(self, now: float) -> None:
        """Forget expired codes; a token approved but never collected is revoked (no screen holds it)."""
        for ident in self._pair_sweep(now):
            with contextlib.suppress(NotFound):
                self.revoke(ident)

    def pairing(self, code: str, now: float) -> Pairing | None:
        """The live pairing with this code (as typed: any case, spaces and dashes ignored), or None."""
        p = self._pair_get(normalize_code(code))
        return None if p is None or p.expires <= now else p

    def approve(self, network: Network, code: str, role: str, desk: str | None, now: float,
                ttl: float = COLLECT_TTL_S) -> DeviceInfo:
        """Mint the screen's token (role and desk as the head chose); the screen collects it with :meth:`collect`.
        NotFound for an unknown or expired code, Conflict for one already approved, InvalidCommand for a role or desk
        that does not fit."""
        p = self.pairing(code, now)
        if p is None:
            raise NotFound(f"no pairing code {code!r} waiting; codes live {PAIRING_TTL_S / 60:.0f} minutes, "
                           "so the screen may be showing a new one")
        if p.token is not None:
            raise Conflict(f"pairing code {p.code} is already approved")
        if role not in {r.value for r in PAIRABLE}:
            raise InvalidCommand(f"a screen is paired as one of {', '.join(r.value for r in PAIRABLE)}, not {role!r}")
        try:
            r = check_device(network, role, p.office, desk)
        except NotFound as exc:
            raise InvalidCommand(exc.message) from None
        token = secrets.token_urlsafe(24)
        key = _hash(token)
        self._store(key, r, p.office, desk)
        if not self._pair_approve(p.code, token, device_id(key), r.value, desk, now + ttl):
            self._revoke(key)  # another head approved it a moment ago
            raise Conflict(f"pairing code {p.code} is already approved")
        d = self._device(device_id(key))
        assert d is not None
        return d

    def collect(self, code: str, addr: str | None, now: float) -> Pairing | None:
        """The screen's poll: the pairing (``token`` None while waiting); an approved one is handed out once and
        gone. None for an unknown or expired code, or one asked for from another address than the screen's."""
        p = self.pairing(code, now)
        if p is None or (p.addr is not None and addr is not None and p.addr != addr):
            return None
        if p.token is None:
            return p
        return p if self._pair_take(p.code) else None


class RedisTokenStore(TokenStore):
    """Tokens in Redis (``cherga:tokens``, hash → role, office, desk, created), shared by every process of a region.

    Works on one Redis and on a Redis Cluster alike (``redis+cluster://``, or a node that says it is one): every
    call touches one key. A revocation removes the token and bumps ``cherga:tokens:rev``; each lookup reads that
    counter (one GET) and, when it moved, drops this process's cache, so a device revoked at one process is refused
    by every other at its next request. ``cherga:tokens:revoked`` lists the revoked keys, for the processes to close
    those devices' websockets. Pairings are ``cherga:pairing:CODE`` hashes, indexed by expiry in ``cherga:pairings``.
    """

    KEY = "cherga:tokens"
    SEEN = "cherga:tokens:seen"
    REV = "cherga:tokens:rev"
    REVOKED = "cherga:tokens:revoked"
    PAIRINGS = "cherga:pairings"

    APPROVE = """
if redis.call('hexists', KEYS[1], 'office') == 0 then return -1 end
if redis.call('hexists', KEYS[1], 'token') == 1 then return 0 end
redis.call('hset', KEYS[1], 'token', ARGV[1], 'device', ARGV[2], 'role', ARGV[3], 'desk', ARGV[4], 'expires', ARGV[5])
return 1
"""
    TAKE = """
if redis.call('hexists', KEYS[1], 'token') == 0 then return 0 end
redis.call('del', KEYS[1])
return 1
"""

    def __init__(self, url: str) -> None:
        from cherga.journal.redis import connect

        self._r = connect(url, socket_timeout=5, socket_connect_timeout=5)
        # the revocation counter is read on every request: on a connection of its own with a short timeout, so a
        # Redis that hangs or is gone costs a request a quarter of a second at most, and then nothing for a while
        self._rev_r = connect(url, cluster=not isinstance(self._r, redis.Redis), socket_timeout=REV_TIMEOUT_S,
                              socket_connect_timeout=REV_TIMEOUT_S)
        self._rev_retry_at = 0.0
        self._cache = {}
        self._misses = {}
        self._seen = {}
        self._rev: object = self._r.get(self.REV)

    def _pkey(self, code: str) -> str:
        return f"cherga:pairing:{code}"

    def _store(self, key: str, role: Role, office: str | None, desk: str | None) -> None:
        self._r.hset(self.KEY, key, json.dumps([role.value, office, desk, time.time()]))
        if role is Role.HEAD and office is not None:
            self._r.sadd(f"{self.KEY}:heads", office)

    def _fetch(self, key: str) -> tuple[str, str | None, str | None] | None:
        raw = self._r.hget(self.KEY, key)
        if raw is None:
            return None
        role, office, desk = json.loads(raw)[:3]
        return str(role), office, desk

    def _all(self) -> list[DeviceInfo]:
        seen = {_text(k): float(v) for k, v in self._r.hgetall(self.SEEN).items()}
        out = []
        for k, raw in self._r.hgetall(self.KEY).items():
            key = _text(k)
            row = json.loads(raw)
            created = row[3] if len(row) > 3 else None
            out.append(DeviceInfo(device_id(key), key, str(row[0]), row[1], row[2], created, seen.get(key)))
        return out

    def _devices(self, office: str) -> list[DeviceInfo]:
        return sorted((d for d in self._all() if d.office == office), key=lambda d: d.paired_at or 0.0)

    def _device(self, ident: str) -> DeviceInfo | None:
        return next((d for d in self._all() if d.id == ident), None)

    def _revoke(self, key: str) -> None:
        self._r.hdel(self.KEY, key)
        self._r.hdel(self.SEEN, key)
        self._r.sadd(self.REVOKED, key)
        self._r.incr(self.REV)

    def _write_seen(self, seen: dict[str, float]) -> None:
        # on the short-timeout connection: this runs on the service's loop every few seconds, and a Redis that
        # hangs must not stall the loop (the contacts are kept for the next flush)
        keys = list(seen)
        exists = [bool(self._rev_r.hexists(self.KEY, k)) for k in keys]
        live = {k: seen[k] for k, ok in zip(keys, exists, strict=True) if ok}
        if live:
            self._rev_r.hset(self.SEEN, mapping=live)  # type: ignore[arg-type]

    def _check_revocations(self) -> None:
        """Drop the cache when any process of the region revoked a device. While Redis does not answer, the cache
        stands (no revocation can be written then either) and the counter is tried again after a pause: the
        journal's outage must not also refuse every device that was already known."""
        now = time.monotonic()
        if now < self._rev_retry_at:
            return
        try:
            rev = self._rev_r.get(self.REV)
        except (redis.RedisError, OSError):
            self._rev_retry_at = now + REV_PAUSE_S
            return
        if rev != self._rev:
            self._rev = rev
            self._cache.clear()

    def revoked_keys(self) -> set[str]:
        """Every key revoked in the region (the processes close those devices' websockets)."""
        return {_text(k) for k in self._rev_r.smembers(self.REVOKED)}  # each second, on the loop: short timeout

    def has_role(self, role: Role, office: str) -> bool:
        return role is Role.HEAD and bool(self._r.sismember(f"{self.KEY}:heads", office))

    def _pair_insert(self, p: Pairing) -> bool:
        k = self._pkey(p.code)
        if not self._r.hsetnx(k, "office", p.office):
            return False
        self._r.hset(k, mapping={"addr": p.addr or "", "created": p.created, "expires": p.expires})
        self._r.expireat(k, int(p.expires + 3600))
        self._r.zadd(self.PAIRINGS, {p.code: p.expires})
        return True

    def _pair_get(self, code: str) -> Pairing | None:
        raw = {_text(k): _text(v) for k, v in self._r.hgetall(self._pkey(code)).items()}
        if "expires" not in raw:
            return None
        return Pairing(code=code, office=raw["office"], addr=raw.get("addr") or None, created=float(raw["created"]),
                       expires=float(raw["expires"]), token=raw.get("token"), device=raw.get("device"),
                       role=raw.get("role"), desk=raw.get("desk") or None)

    def _pair_approve(self, code: str, token: str, device: str, role: str, desk: str | None, expires: float) -> bool:
        ok = self._r.eval(self.APPROVE, 1, self._pkey(code), token, device, role, desk or "", expires)
        if ok == 1:
            self._r.zadd(self.PAIRINGS, {code: expires})
        return bool(ok == 1)

    def _pair_take(self, code: str) -> bool:
        if self._r.eval(self.TAKE, 1, self._pkey(code)) != 1:
            return False
        self._r.zrem(self.PAIRINGS, code)
        return True

    def _pair_sweep(self, now: float) -> list[str]:
        gone = []
        for raw in self._r.zrangebyscore(self.PAIRINGS, "-inf", now):
            code = _text(raw)
            p = self._pair_get(code)
            if p is not None and p.expires > now:  # approved since: its expiry moved
                continue
            if self._r.zrem(self.PAIRINGS, code) and p is not None:
                self._r.delete(self._pkey(code))
                if p.device:
                    gone.append(p.device)
        return gone

    def close(self) -> None:
        self._r.close()
        self._rev_r.close()


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


# a device's websockets: closed at once when the head revokes it
REVOKED_CLOSE = 4001  # the close code a revoked device's websocket gets (its page then pairs again)
CloseFn = Callable[[int, str], Awaitable[None]]


class DeviceSockets:
    """The open websockets of each device (by its token's key), so a revocation can close them."""

    def __init__(self) -> None:
        self._open: dict[str, set[CloseFn]] = {}

    def add(self, key: str, close: CloseFn) -> None:
        self._open.setdefault(key, set()).add(close)

    def remove(self, key: str, close: CloseFn) -> None:
        fns = self._open.get(key)
        if fns is not None:
            fns.discard(close)
            if not fns:
                del self._open[key]

    def open_keys(self) -> list[str]:
        return list(self._open)

    async def close(self, key: str, reason: str = "this device was revoked by the head of the centre") -> int:
        """Close every websocket of the device with :data:`REVOKED_CLOSE`; how many."""
        fns = self._open.pop(key, set())
        for fn in list(fns):
            with contextlib.suppress(Exception):
                await fn(REVOKED_CLOSE, reason)
        return len(fns)
