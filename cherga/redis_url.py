"""Redis Sentinel URLs: ``redis+sentinel://`` through redis-py's own Sentinel client (no failover of our own).

The form (docs/redis.md, "Sentinel")::

    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db][?option=value&...]

* the hosts are the **Sentinels** (port 26379 unless told), as many as you run: any one that answers is enough;
* ``service`` is the master's name as the Sentinels know it (``sentinel monitor <service> ...``);
* ``user:password`` are the Redis master's (and its replicas'), ``db`` its database (0 unless told);
* ``rediss+sentinel://`` speaks TLS to the Sentinels and to the master alike.

Options: cherga's own ``wait_replicas`` (1 unless told: a command is answered once a replica has it too, so a
failover loses nothing answered; ``0`` turns it off) and ``wait_timeout_ms`` (read by the journal), and the
Sentinels' ``sentinel_username``, ``sentinel_password``, ``min_other_sentinels`` (a Sentinel that sees fewer peers
is not believed: a Sentinel cut off alone cannot send cherga to an old master).

Every client built here asks the Sentinels for the master's address each time it opens a connection, and redis-py's
Sentinel pool drops its connections when the address changes or a server says it is a replica now (``READONLY``):
after a failover the next connection goes to the new master by itself.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as asentinel
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel

from cherga.errors import JournalError

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}  # scheme -> TLS
SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster", *SENTINEL_SCHEMES)
SENTINEL_PORT = 26379
# the query options a sentinel URL may carry once the journal's own (wait_replicas, wait_timeout_ms) are taken off
SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password", "min_other_sentinels")
DEFAULT_WAIT_REPLICAS = 1  # with Sentinel: a failover must not lose an answered command (docs/redis.md)
SENTINEL_TIMEOUT_S = 2.0  # at most, per Sentinel asked: a hung one must not hold up the others for long


@dataclass(frozen=True, slots=True)
class SentinelURL:
    """What a ``redis+sentinel://`` URL says."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    tls: bool = False
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    min_other_sentinels: int = 0


def scheme_of(url: str) -> str:
    return url.partition("://")[0].lower() if "://" in url else ""


def is_sentinel(url: str) -> bool:
    return scheme_of(url) in SENTINEL_SCHEMES


def check_scheme(url: str) -> None:
    """Refuse a URL none of cherga's Redis clients can use, saying which forms are taken."""
    scheme = scheme_of(url)
    if scheme not in SCHEMES:
        what = f"the scheme {scheme + '://'!r}" if scheme else "no scheme"
        raise JournalError(
            f"cannot use the Redis URL {redacted(url)}: it has {what}; use one of "
            + ", ".join(f"{s}://" for s in SCHEMES)
            + " (one Redis, a Redis Cluster, or a master found through Sentinel: see docs/redis.md)"
        )


def redacted(url: str) -> str:
    """A sentinel URL without its passwords (in the address and ``sentinel_password``), for messages and logs."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, "***" if k == "sentinel_password" else v) for k, v in pairs], safe="*")
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{hosts}", query=query))


def _host_port(item: str, url: str) -> tuple[str, int]:
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else str(SENTINEL_PORT)
    elif item.count(":") == 1:
        host, _, port = item.partition(":")
    elif ":" in item:  # a bare IPv6 address
        host, port = item, str(SENTINEL_PORT)
    else:
        host, port = item, str(SENTINEL_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise JournalError(f"cannot read the Sentinel address {item!r} in {redacted(url)}: expected host:port "
                           f"(the port is {SENTINEL_PORT} unless told), e.g. 10.0.0.1:26379")
    return host, int(port)


def parse_sentinel(url: str) -> SentinelURL:
    """Read a ``redis+sentinel://`` URL (the journal's ``wait_*`` options already taken off); raises
    :class:`JournalError` saying what is missing or wrong."""
    scheme = scheme_of(url)
    if scheme not in SENTINEL_SCHEMES:
        raise JournalError(f"{redacted(url)} is not a Sentinel URL: it must begin with redis+sentinel:// "
                           "(or rediss+sentinel:// for TLS)")
    example = "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster"
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    items = [x.strip() for x in hosts.split(",") if x.strip()]
    if not items:
        raise JournalError(f"the Sentinel URL {redacted(url)} names no Sentinel: list the host:port of one or more "
                           f"Sentinels (all of them, to start while some are down), e.g. {example}")
    sentinels = tuple(_host_port(item, url) for item in items)
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path:
        raise JournalError(f"the Sentinel URL {redacted(url)} names no service: put the master's name as the "
                           f"Sentinels know it ('sentinel monitor NAME ...') after the addresses, e.g. {example}")
    if len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise JournalError(f"cannot read {parts.path!r} in {redacted(url)}: after the Sentinels comes /service, "
                           "then optionally /db, a number (e.g. /mymaster/0)")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username, password = (unquote(user) or None), (unquote(secret) if colon else None)
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in SENTINEL_OPTIONS:
            raise JournalError(f"unknown option {key!r} in {redacted(url)}: a Sentinel URL takes wait_replicas, "
                               f"wait_timeout_ms, {', '.join(SENTINEL_OPTIONS)}")
        options[key] = value
    min_other = options.get("min_other_sentinels", "0")
    if not min_other.isdigit():
        raise JournalError(f"min_other_sentinels in {redacted(url)} must be a whole number, not {min_other!r}")
    return SentinelURL(
        sentinels=sentinels, service=path[0], db=int(path[1]) if len(path) == 2 else 0,
        tls=SENTINEL_SCHEMES[scheme], username=username, password=password,
        sentinel_username=options.get("sentinel_username"), sentinel_password=options.get("sentinel_password"),
        min_other_sentinels=int(min_other),
    )


def _sentinel_kwargs(parsed: SentinelURL, kwargs: dict[str, Any], *, aio: bool = False) -> dict[str, Any]:
    timeout = min(float(kwargs.get("socket_timeout") or SENTINEL_TIMEOUT_S), SENTINEL_TIMEOUT_S)
    # no retries: redis-py's default retries a refused connection with backoff for seconds, and the next
    # Sentinel in the list is the better retry
    out: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                           "retry": AsyncRetry(NoBackoff(), 0) if aio else Retry(NoBackoff(), 0)}
    if parsed.tls:
        out["ssl"] = True
    if parsed.sentinel_username:
        out["username"] = parsed.sentinel_username
    if parsed.sentinel_password:
        out["password"] = parsed.sentinel_password
    return out


def _master_kwargs(parsed: SentinelURL, kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    out["db"] = parsed.db
    if parsed.tls:
        out["ssl"] = True
    if parsed.username:
        out["username"] = parsed.username
    if parsed.password is not None:
        out["password"] = parsed.password
    return out


class SentinelMaster(redis.Redis):
    """The master's client; closing it closes the Sentinels' connections too (a journal reopened after each
    failover would otherwise leave three sockets behind every time)."""

    _sentinels: Sentinel | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._sentinels is not None:
                with contextlib.suppress(redis.RedisError, OSError):
                    self._sentinels.close()


class AsyncSentinelMaster(aioredis.Redis):
    """:class:`SentinelMaster` for asyncio."""

    _sentinels: asentinel.Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            if self._sentinels is not None:
                with contextlib.suppress(redis.RedisError, OSError):
                    await self._sentinels.aclose()


def sentinel_master(url: str, **kwargs: Any) -> SentinelMaster:
    """A client of the master that the Sentinels of ``url`` name; ``kwargs`` are the connection's (timeouts,
    retry). It finds the master again on every new connection, so it follows a failover by itself."""
    parsed = parse_sentinel(url)
    sentinel = Sentinel(list(parsed.sentinels), min_other_sentinels=parsed.min_other_sentinels,  # type: ignore[no-untyped-call]
                        sentinel_kwargs=_sentinel_kwargs(parsed, kwargs))
    client = sentinel.master_for(parsed.service, redis_class=SentinelMaster,  # type: ignore[no-untyped-call]
                                 **_master_kwargs(parsed, kwargs))
    assert isinstance(client, SentinelMaster)
    client._sentinels = sentinel
    return client


def sentinel_master_async(url: str, **kwargs: Any) -> AsyncSentinelMaster:
    """:func:`sentinel_master` for asyncio."""
    parsed = parse_sentinel(url)
    sentinel = asentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(parsed.sentinels), min_other_sentinels=parsed.min_other_sentinels,
        sentinel_kwargs=_sentinel_kwargs(parsed, kwargs, aio=True))
    client = sentinel.master_for(parsed.service, redis_class=AsyncSentinelMaster, **_master_kwargs(parsed, kwargs))
    assert isinstance(client, AsyncSentinelMaster)
    client._sentinels = sentinel
    return client


def wait_for_master(url: str, timeout: float) -> None:
    """Poll the Sentinels of ``url`` (every 0.1 s, for up to ``timeout`` s) until they name a master that answers
    as a master; raises :class:`JournalError` saying why not (at once for a password refused).

    A failover takes a few seconds (``down-after-milliseconds``, the vote, the promotion): a journal reopened
    meanwhile waits here for the new master rather than failing and waiting out a retry period that may end well
    after the promotion."""
    parsed = parse_sentinel(url)
    sentinel = Sentinel(list(parsed.sentinels), min_other_sentinels=parsed.min_other_sentinels,  # type: ignore[no-untyped-call]
                        sentinel_kwargs=_sentinel_kwargs(parsed, {"socket_timeout": min(timeout, 1.0)}))
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    try:
        while True:
            try:
                host, port = sentinel.discover_master(parsed.service)  # type: ignore[no-untyped-call]
            except MasterNotFoundError as exc:
                if "AuthenticationError" in str(exc):  # waiting will not make a password right
                    raise JournalError(f"cannot use {redacted(url)}: {explain(exc)}") from exc
                last = exc
            else:
                probe = redis.Redis(host=host, port=port, **_master_kwargs(parsed, {
                    "socket_timeout": min(timeout, 1.0), "socket_connect_timeout": min(timeout, 1.0),
                    "retry": Retry(NoBackoff(), 0)}))  # the poll is the retry
                try:
                    if probe.info("replication").get("role") == "master":
                        return
                    last = ConnectionError(f"{host}:{port}, named the master, is a replica now")
                except redis.AuthenticationError as exc:
                    raise JournalError(f"the master at {host}:{port} refused the password of {redacted(url)} (the "
                                       f"part before the @, as in redis+sentinel://:PASSWORD@...): {exc}") from exc
                except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as exc:
                    last = exc  # the one named is gone (a failover not noticed yet) or not a master any more
                finally:
                    probe.close()
            if time.monotonic() + 0.1 > deadline:
                raise JournalError(f"cannot use {redacted(url)}: no master answered within {timeout:g} s: "
                                   f"{explain(last) if last is not None else 'no answer'}")
            time.sleep(0.1)
    finally:
        with contextlib.suppress(redis.RedisError, OSError):
            sentinel.close()


def wait_for_primaries(client: RedisCluster, timeout: float) -> bool:
    """Re-read the slot map of a Redis Cluster (every 0.1 s, for up to ``timeout`` s) until every primary in it
    answers ``PING``; False if not in time. The cluster's own failover (a replica promoted when its primary is
    failed, after ``cluster-node-timeout``) takes seconds: a journal reopened meanwhile waits for it here."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.nodes_manager.initialize()
            for node in client.get_primaries():  # type: ignore[no-untyped-call]
                node.redis_connection.ping()
            return True
        except (redis.RedisError, RedisClusterException):
            pass  # a primary still down, not yet replaced in the map
        if time.monotonic() + 0.1 > deadline:
            return False
        time.sleep(0.1)


def explain(exc: BaseException) -> str:
    """A Redis error in words: redis-py's "no master found" lists each Sentinel's client object; say instead how many
    could not be reached and what to check."""
    text = str(exc)
    if isinstance(exc, MasterNotFoundError):
        head, _, rest = text.partition(" : ")
        service = head.removeprefix("No master found for ").strip()
        failures = rest.count(" - ")  # redis-py adds "<client> - <error>" for each Sentinel it could not ask
        refused = rest.count("AuthenticationError")
        if refused:
            return (f"{refused} Sentinel{'s' if refused != 1 else ''} refused the password: give the Sentinels' own "
                    "with ?sentinel_password=... (the password before the @ is the master's)")
        reach = f"{failures} Sentinel{'s' if failures != 1 else ''} could not be reached; " if failures else ""
        return (f"no Sentinel names a master for service {service} that is up: {reach}any that answered does not "
                "monitor that name or sees its master down (check the addresses and the name, and SENTINEL MASTERS "
                "on a Sentinel)")
    return text


def replica_addresses(url: str, *, timeout: float = SENTINEL_TIMEOUT_S) -> list[tuple[str, int]]:
    """The replicas the Sentinels of ``url`` list as up: the servers a failover may promote."""
    parsed = parse_sentinel(url)
    sentinel = Sentinel(list(parsed.sentinels), min_other_sentinels=parsed.min_other_sentinels,  # type: ignore[no-untyped-call]
                        sentinel_kwargs=_sentinel_kwargs(parsed, {"socket_timeout": timeout}))
    try:
        return [(str(h), int(p)) for h, p in sentinel.discover_slaves(parsed.service)]  # type: ignore[no-untyped-call]
    finally:
        with contextlib.suppress(redis.RedisError, OSError):
            sentinel.close()


def replica_client(url: str, host: str, port: int, **kwargs: Any) -> redis.Redis:
    """A plain client of one replica, with the master's credentials and TLS (for checking its settings)."""
    parsed = parse_sentinel(url)
    master = _master_kwargs(parsed, {"retry": Retry(NoBackoff(), 0), **kwargs})  # a replica down is told at once
    return redis.Redis(host=host, port=port, **master)
