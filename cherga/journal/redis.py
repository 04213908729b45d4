"""The scale-out journal: one Redis stream per office, written with group commit, acknowledged after Redis replies.

Keys (``prefix`` is ``cherga`` unless told):

* ``cherga:{<office>}:events`` — the office's stream. Entry ID ``0-<seq>``, one field ``e`` holding the
  :func:`~cherga.engine.events.encode`-d event. The ``{office}`` hash tag keeps an office in one Redis Cluster slot.
* ``cherga:offices`` — a set of the offices that have a stream (what ``read()`` with no office walks).
* ``cherga:meta`` — a hash for :meth:`RedisJournal.get_meta` / :meth:`RedisJournal.set_meta`.

One writer thread owns the writing connection. :meth:`RedisJournal.append` only queues; the writer takes everything
queued since its last round trip and sends it as ONE server-side script (``EVALSHA``), so a burst of concurrent
commands costs one round trip and one AOF fsync instead of one each. The script first checks, for every office in the
batch, that the events continue the stream exactly (the first ``seq`` is the stream's last ``seq`` + 1, then +1 each)
and only then ``XADD``s them all: a batch is written whole or not at all. (``MULTI``/``EXEC`` would not do: Redis
does not roll a transaction back, so a refused ``XADD`` in the middle would leave the ones after it written.) The
explicit ``0-<seq>`` IDs make Redis itself the last guard: a stream never takes an ID at or below its last one, so
two engines writing one office cannot interleave silently; the second one's batch is refused and its journal stops.

On a Redis Cluster (a ``redis+cluster://`` URL, or a ``redis://`` node that says ``cluster_enabled:1``) one script
cannot span slots, so the writer sends ONE script PER OFFICE, each to the primary that serves the office's slot, all
written before any reply is read: still about one round trip per batch. Each office's part is all-or-nothing; the
batch as a whole is not (see docs/redis.md). The ``offices`` set is then kept in its own call, made once per office
before that office's first write.

Futures complete after the reply. With ``appendonly yes`` and ``appendfsync always`` Redis fsyncs the AOF before it
replies, so a completed future is a durable command (docs/redis.md; the constructor checks those settings). With
``wait_replicas=n`` the same round trip also sends ``WAIT n``, and a batch that fewer replicas confirmed fails.

After a failed write the journal refuses everything that follows (fail-stop), exactly like the SQLite journal: later
events may depend on the lost ones, so the service must restart and replay. A write whose reply never came (the
server went away, the socket timed out) is failed too, without a retry: it may or may not be in Redis, and only a
replay can tell, so it is never acknowledged. The writer connection does not retry; reads do.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
import redis.asyncio.cluster as aiocluster
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.retry import Retry

from cherga.engine.events import BaseEvent, decode
from cherga.errors import JournalError
from cherga.journal.base import Journal
from cherga.journal.encoding import body as encoded
from cherga.journal.writer import Batch, GroupCommit
from cherga.redis_url import (
    DEFAULT_WAIT_REPLICAS,
    check_scheme,
    is_sentinel,
    replica_addresses,
    replica_client,
    sentinel_master,
    sentinel_master_async,
    wait_for_master,
    wait_for_primaries,
)
from cherga.redis_url import redacted as sentinel_redacted

log = logging.getLogger(__name__)

Entries = dict[str, list[tuple[str, str]]]  # office -> its (seq, encoded event) in order: a batch, encoded

FIELD = b"e"  # the one field of a stream entry: the encoded event
PAGE = 1000  # entries per XRANGE / XREAD call
MERGE_HELD = 100_000  # events a read of every office holds at once, at most (one page per office)

# KEYS: the n office streams, then the offices set.
# ARGV: n, the n office names, the n entry counts, then (seq, event) pairs office by office.
# Check everything first, write only if every office's events continue its stream exactly: all or nothing.
APPEND_SCRIPT = """
local n = tonumber(ARGV[1])
local pos = 2 * n + 2
for i = 1, n do
  local office = ARGV[1 + i]
  local count = tonumber(ARGV[1 + n + i])
  local last = 0
  local last_text = '0'
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[i])
    for j = 1, #info, 2 do
      if info[j] == 'last-generated-id' then
        local ms, sq = string.match(info[j + 1], '^(%d+)-(%d+)$')
        if ms ~= '0' then
          return redis.error_reply('CHERGA office ' .. office .. ': the stream ' .. KEYS[i] ..
            ' holds entry ' .. info[j + 1] .. ', not a cherga event (cherga writes IDs 0-<seq> only)')
        end
        last = tonumber(sq)
        last_text = sq
      end
    end
  end
  for k = 0, count - 1 do
    local text = ARGV[pos + 2 * k]
    local seq = tonumber(text)
    if seq <= last then
      return redis.error_reply('CHERGA office ' .. office .. ': the journal already holds seq ' .. text ..
        ' (its stream ends at seq ' .. last_text .. '): another engine is writing this office, or this engine ' ..
        'did not replay the journal before writing; nothing of this batch was written')
    end
    if seq ~= last + 1 then
      return redis.error_reply('CHERGA office ' .. office .. ': seq ' .. text .. ' would leave a gap after seq ' ..
        last_text .. ', where its stream ends: Redis lost acknowledged events (is it running with appendonly yes ' ..
        'and appendfsync always?) or the stream was deleted; nothing of this batch was written')
    end
    last = seq
    last_text = text
  end
  pos = pos + 2 * count
end
pos = 2 * n + 2
local written = 0
for i = 1, n do
  local count = tonumber(ARGV[1 + n + i])
  for k = 0, count - 1 do
    redis.call('XADD', KEYS[i], '0-' .. ARGV[pos + 2 * k], 'e', ARGV[pos + 2 * k + 1])
  end
  pos = pos + 2 * count
  written = written + count
end
if #KEYS > n then  -- one Redis: the offices set in the same script; on a cluster it is written on its own
  redis.call('SADD', KEYS[n + 1], unpack(ARGV, 2, 1 + n))
end
return written
"""

# URL schemes that choose Redis Cluster explicitly; the part after "+" is the connection's own scheme
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
# query parameters of a Redis URL that are cherga's (RedisJournal's), not the connection's: ?wait_replicas=1
URL_OPTIONS = ("wait_replicas", "wait_timeout_ms")


def redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    if is_sentinel(url):
        return sentinel_redacted(url)  # its Sentinels' password may be in the query too
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def url_options(url: str) -> tuple[str, dict[str, int]]:
    """``url`` without cherga's own query parameters (:data:`URL_OPTIONS`), and their values."""
    parts = urlsplit(url)
    if not parts.query:
        return url, {}
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    options: dict[str, int] = {}
    for key, value in pairs:
        if key in URL_OPTIONS:
            try:
                options[key] = int(value)
            except ValueError:
                raise JournalError(f"{key} in {redacted(url)} must be a whole number, not {value!r}") from None
    rest = [(k, v) for k, v in pairs if k not in URL_OPTIONS]
    return urlunsplit(parts._replace(query=urlencode(rest))), options


def cluster_seeds(url: str) -> tuple[str, list[tuple[str, int]]] | None:
    """For a ``redis+cluster://[user:password@]host:port[,host:port...][/0]`` URL: a plain URL of its first node
    (what redis-py's ``from_url`` reads for the password, TLS and options) and every seed node. None for other URLs.
    """
    parts = urlsplit(url)
    scheme = CLUSTER_SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        return None
    userinfo, at, hosts = parts.netloc.rpartition("@")
    seeds: list[tuple[str, int]] = []
    for item in (x.strip() for x in hosts.split(",")):
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else "6379"
        elif item.count(":") == 1:
            host, _, port = item.partition(":")
        else:  # no port, or a bare IPv6 address
            host, port = item, "6379"
        if not host or not port.isdigit():
            raise JournalError(f"cannot read the cluster node {item!r} in {redacted(url)}: expected host:port")
        seeds.append((host, int(port)))
    if not seeds:
        raise JournalError(f"no cluster node in {redacted(url)}")
    first_host = f"[{seeds[0][0]}]" if ":" in seeds[0][0] else seeds[0][0]
    base = urlunsplit(parts._replace(scheme=scheme, netloc=f"{userinfo}{at}{first_host}:{seeds[0][1]}"))
    return base, seeds


def is_cluster(url: str, *, timeout: float = 5.0) -> bool:
    """Whether ``url`` names a Redis Cluster: by its scheme (``redis+cluster://``), else by asking the node
    (``INFO cluster`` says ``cluster_enabled:1``). A node that cannot be asked is taken for a single server; the
    connection that follows reports why it cannot be used."""
    url = url_options(url)[0]
    check_scheme(url)
    if is_sentinel(url):
        return False  # Sentinel watches one master and its replicas, never a cluster
    if cluster_seeds(url) is not None:
        return True
    if not urlsplit(url).scheme.lower().startswith("redis"):
        return False  # unix:// sockets: a single server
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return int(client.info("cluster").get("cluster_enabled", 0)) == 1
    except (RedisError, ValueError, TypeError):
        return False
    finally:
        with contextlib.suppress(RedisError):
            client.close()


def connect(url: str, *, cluster: bool | None = None, **kwargs: Any) -> redis.Redis | RedisCluster:
    """A client for ``url``: a :class:`RedisCluster` for a cluster (see :func:`is_cluster`), the master the
    Sentinels name for ``redis+sentinel://`` (it follows a failover by itself), else a plain one."""
    url = url_options(url)[0]
    check_scheme(url)
    if is_sentinel(url):
        return sentinel_master(url, **kwargs)
    if cluster is None:
        cluster = is_cluster(url, timeout=float(kwargs.get("socket_connect_timeout") or 5.0))
    if not cluster:
        return redis.Redis.from_url(url, **kwargs)
    seeds = cluster_seeds(url)
    kwargs.pop("retry_on_timeout", None)
    if seeds is None:
        return RedisCluster.from_url(url, **kwargs)
    base, nodes = seeds
    return RedisCluster.from_url(base, startup_nodes=[ClusterNode(h, p) for h, p in nodes], **kwargs)  # type: ignore[no-untyped-call]


def connect_async(url: str, *, cluster: bool | None = None, **kwargs: Any) -> aioredis.Redis | aiocluster.RedisCluster:
    """:func:`connect` for asyncio."""
    url = url_options(url)[0]
    check_scheme(url)
    if is_sentinel(url):
        return sentinel_master_async(url, **kwargs)
    if cluster is None:
        cluster = is_cluster(url, timeout=float(kwargs.get("socket_connect_timeout") or 5.0))
    if not cluster:
        return aioredis.from_url(url, **kwargs)
    seeds = cluster_seeds(url)
    if seeds is None:
        return aiocluster.RedisCluster.from_url(url, **kwargs)
    base, nodes = seeds
    return aiocluster.RedisCluster.from_url(
        base, startup_nodes=[aiocluster.ClusterNode(h, p) for h, p in nodes], **kwargs
    )


def node_url(url: str, host: str, port: int) -> str:
    """``url`` (plain or ``redis+cluster://``) pointed at one node: same credentials, TLS and options."""
    url = url_options(url)[0]
    seeds = cluster_seeds(url)
    base = seeds[0] if seeds is not None else url
    parts = urlsplit(base)
    userinfo, at, _ = parts.netloc.rpartition("@")
    host_text = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host_text}:{port}"))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entries(reply: Any) -> list[tuple[bytes, bytes]]:
    """``(id, encoded event)`` of each entry in an ``XRANGE`` / ``XREVRANGE`` reply."""
    out: list[tuple[bytes, bytes]] = []
    for entry_id, fields in reply or ():
        if not fields or FIELD not in fields:
            raise JournalError(f"stream entry {_text(entry_id)} has no field {FIELD.decode()!r}: not a cherga event")
        out.append((entry_id, fields[FIELD]))
    return out


def _seq_of(entry_id: Any) -> int:
    ms, _, seq = _text(entry_id).partition("-")
    if ms != "0":
        raise JournalError(f"stream entry {_text(entry_id)} is not a cherga event (cherga writes IDs 0-<seq> only)")
    return int(seq)


class RedisJournal(GroupCommit[Entries]):
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "cherga",
        max_batch: int = 2_000,
        socket_timeout: float = 5.0,
        require_fsync: bool = True,
        wait_replicas: int = 0,
        wait_timeout_ms: int | None = None,
    ) -> None:
        """Connect to the Redis at ``url`` (``redis://host:port/db``, or a cluster: ``redis+cluster://host:port,…``)
        and start the writer. The URL may carry ``?wait_replicas=N&wait_timeout_ms=T`` (how ``cherga serve --redis``
        is told); arguments given here win over them.

        ``max_batch`` caps the appends per round trip (the script runs atomically, so a huge one would stall the
        server). ``socket_timeout`` bounds every call: a server that stops answering fails the write instead of
        hanging it. ``require_fsync`` refuses a server that does not fsync before replying (turn it off only for a
        throwaway Redis, or where ``CONFIG`` is disabled and you have checked the settings yourself).
        ``wait_replicas`` > 0 adds ``WAIT wait_replicas wait_timeout_ms`` to every write.
        """
        super().__init__(max_batch=max_batch, name="cherga-redis-journal")
        self.url = redacted(url)  # what messages show: never the password
        url, options = url_options(url)  # ?wait_replicas=N&wait_timeout_ms=T: for `cherga serve --redis URL`
        self.prefix = prefix
        self._socket_timeout = socket_timeout
        # behind Sentinel a failover is routine: answer only what a replica has too (?wait_replicas=0 turns it off)
        self._wait_replicas = wait_replicas or options.get(
            "wait_replicas", DEFAULT_WAIT_REPLICAS if is_sentinel(url) else 0)
        self._wait_timeout_ms = wait_timeout_ms or options.get("wait_timeout_ms", 1_000)
        self._sentinel_url = url if is_sentinel(url) else None
        self._offices_key = f"{prefix}:offices"
        self._meta_key = f"{prefix}:meta"
        self.cluster = is_cluster(url, timeout=socket_timeout)
        self._registered: set[str] = set()  # cluster: offices known to be in the offices set
        if self._sentinel_url is not None:  # in a failover: wait for the new master rather than fail at once
            wait_for_master(self._sentinel_url, socket_timeout)
        # reads may retry once (they change nothing); the writer never does: a write whose reply was lost must fail
        self._reader: redis.Redis | RedisCluster = connect(
            url, cluster=self.cluster, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 1),
        )
        if isinstance(self._reader, RedisCluster):  # a primary failing over: wait for its replica's promotion
            wait_for_primaries(self._reader, socket_timeout)  # before the writer maps the slots
        # on a cluster the writer's client only maps slots to nodes: writes go out on the nodes' own connections
        self._writer: redis.Redis | RedisCluster = connect(
            url, cluster=self.cluster, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0), retry_on_timeout=False,
        )
        try:
            self._reader.ping()
            if require_fsync:
                self._check_fsync()
            self._sha = _text(self._writer.script_load(APPEND_SCRIPT))
            if self.cluster:
                self._registered = {_text(m) for m in self._reader.smembers(self._offices_key)}
        except RedisError as exc:
            self._close_clients()
            raise JournalError(f"cannot use the Redis journal at {self.url}: {exc}") from exc
        except JournalError:
            self._close_clients()
            raise
        self._start_writer()

    # ------------------------------------------------------------------ keys

    def stream_key(self, office: str) -> str:
        """``cherga:{office}:events``: the hash tag keeps an office's stream in one Redis Cluster slot."""
        return f"{self.prefix}:{{{office}}}:events"

    def _check_fsync(self) -> None:
        if isinstance(self._reader, RedisCluster):  # every primary writes some offices: check each one
            for node in self._reader.get_primaries():  # type: ignore[no-untyped-call]
                self._check_fsync_of(node.redis_connection, f"{self.url} (node {node.name})")
        else:
            self._check_fsync_of(self._reader, self.url)
        if self._sentinel_url is not None:  # a failover promotes a replica: each must fsync as the master does
            for host, port in replica_addresses(self._sentinel_url, timeout=self._socket_timeout):
                replica = replica_client(self._sentinel_url, host, port, socket_timeout=self._socket_timeout,
                                         socket_connect_timeout=self._socket_timeout)
                try:
                    self._check_fsync_of(replica, f"{self.url} (replica {host}:{port})")
                except RedisError as exc:  # a replica down now is the Sentinels' business, not a reason to stop
                    log.warning("cannot check the AOF settings of replica %s:%s: %s", host, port, exc)
                finally:
                    replica.close()

    def _check_fsync_of(self, client: redis.Redis, where: str) -> None:
        try:
            conf = {**client.config_get("append*"), **client.config_get("no-appendfsync-on-rewrite")}
        except ResponseError as exc:  # managed Redis often disables CONFIG
            log.warning("cannot check the AOF settings of %s (%s): make sure it runs with appendonly yes and "
                        "appendfsync always, or acknowledged commands can be lost", where, exc)
            return
        values = {_text(k): _text(v) for k, v in conf.items()}
        appendonly, fsync = values.get("appendonly"), values.get("appendfsync")
        if appendonly != "yes" or fsync != "always":
            raise JournalError(
                f"the Redis at {where} runs with appendonly {appendonly} and appendfsync {fsync}: an acknowledged "
                "command could be lost in a crash. Set 'appendonly yes' and 'appendfsync always' in its redis.conf "
                "(or CONFIG SET them), or pass require_fsync=False to accept that risk (see docs/redis.md)"
            )
        if values.get("no-appendfsync-on-rewrite") == "yes":
            raise JournalError(
                f"the Redis at {where} runs with no-appendfsync-on-rewrite yes: while it rewrites its AOF it "
                "replies before the fsync, so an acknowledged command could be lost in a crash. Set "
                "'no-appendfsync-on-rewrite no', or pass require_fsync=False to accept that risk (see docs/redis.md)"
            )

    # ------------------------------------------------------------------ writing

    def _failure_message(self, exc: BaseException) -> str:
        return (f"could not write the journal to Redis at {self.url}: {exc}. Nothing from this write on is "
                "acknowledged; restart the service to replay the journal")

    def _prepare(self, batch: Batch) -> Entries:
        """On the encoder thread: each office's entries, encoded, in order."""
        per_office: Entries = {}
        for events, _ in batch:
            for ev in events:
                per_office.setdefault(ev.office, []).append((str(ev.seq), encoded(ev)))
        return per_office

    def _write(self, prepared: Sequence[Entries]) -> int:
        """One round trip for everything encoded; raises unless every event is stored. Returns the events written."""
        per_office: Entries = {}
        for part in prepared:
            for office, entries in part.items():
                per_office.setdefault(office, []).extend(entries)
        if not per_office:
            return 0
        if self.cluster:
            return self._write_cluster(per_office)
        offices = list(per_office)
        keys = [*(self.stream_key(o) for o in offices), self._offices_key]
        args: list[str | int] = [len(offices), *offices, *(len(per_office[o]) for o in offices)]
        for o in offices:
            for entry in per_office[o]:
                args += entry
        result = self._send(keys, args)
        if result is None:  # the server forgot the script (it restarted): load it and send again; nothing ran
            self._sha = _text(self._writer.script_load(APPEND_SCRIPT))
            result = self._send(keys, args)
            if result is None:
                raise JournalError("Redis lost the append script twice in a row")
        return result

    # ------------------------------------------------------------------ writing to a cluster

    def _write_cluster(self, per_office: Entries) -> int:
        """One script per office, sent to every primary concerned before any reply is read: one round trip.

        Each office's script is all-or-nothing; if any is refused, the batch fails (and the journal stops) even
        though the other offices' scripts may have written, exactly as for a write whose reply was lost.
        """
        writer = self._writer
        assert isinstance(writer, RedisCluster)
        new = [o for o in per_office if o not in self._registered]
        if new:  # before the streams: an office in the set with no stream yet reads as empty, never the reverse
            self._reader.sadd(self._offices_key, *new)
            self._registered.update(new)
        calls: dict[str, tuple[ClusterNode, list[tuple[str, list[str | int]]]]] = {}
        for office, entries in per_office.items():
            key = self.stream_key(office)
            args: list[str | int] = [1, office, len(entries)]
            for entry in entries:
                args += entry
            node = writer.get_node_from_key(key)  # type: ignore[no-untyped-call]
            calls.setdefault(node.name, (node, []))[1].append((key, args))
        written = 0
        errors: list[str] = []
        for _ in range(2):
            forgot: dict[str, tuple[ClusterNode, list[tuple[str, list[str | int]]]]] = {}
            for name, (node, sent), replies in self._round_trip(calls):
                for (key, args), reply in zip(sent, replies, strict=False):
                    if isinstance(reply, NoScriptError):  # nothing ran: load the script there and send again
                        forgot.setdefault(name, (node, []))[1].append((key, args))
                    elif isinstance(reply, Exception):
                        errors.append(str(reply).removeprefix("CHERGA "))
                    else:
                        written += int(reply)
                if self._wait_replicas:
                    acked = replies[-1]
                    if isinstance(acked, Exception) or int(acked) < self._wait_replicas:
                        errors.append(f"only {acked} of {self._wait_replicas} replicas of node {name} confirmed the "
                                      f"write within {self._wait_timeout_ms} ms (it is on the primary, but a failover "
                                      "could lose it)")
            if not forgot:
                break
            for node, _ in forgot.values():
                node.redis_connection.script_load(APPEND_SCRIPT)
            calls = forgot
        else:
            errors.append("Redis lost the append script twice in a row")
        if errors:
            raise JournalError("; ".join(errors) + (" (this batch's other offices may have been written: replay "
                                                    "tells)" if len(per_office) > 1 else ""))
        return written

    def _round_trip(
        self, calls: dict[str, tuple[ClusterNode, list[tuple[str, list[str | int]]]]]
    ) -> list[tuple[str, tuple[ClusterNode, list[tuple[str, list[str | int]]]], list[Any]]]:
        """Write every node's scripts (and ``WAIT``) on one connection each, then read every reply."""
        taken: list[tuple[str, tuple[ClusterNode, list[tuple[str, list[str | int]]]], Any]] = []
        out = []
        try:
            for name, (node, sent) in calls.items():
                conn = node.redis_connection.connection_pool.get_connection()
                taken.append((name, (node, sent), conn))
                commands: list[tuple[Any, ...]] = [("EVALSHA", self._sha, 1, key, *args) for key, args in sent]
                if self._wait_replicas:
                    commands.append(("WAIT", self._wait_replicas, self._wait_timeout_ms))
                conn.send_packed_command(conn.pack_commands(commands), check_health=False)
            for name, (node, sent), conn in taken:
                replies: list[Any] = []
                for _ in range(len(sent) + (1 if self._wait_replicas else 0)):
                    try:
                        replies.append(conn.read_response())
                    except ResponseError as exc:  # an error reply: the connection is still in step
                        replies.append(exc)
                out.append((name, (node, sent), replies))
        except BaseException:
            for _, _, conn in taken:
                conn.disconnect()  # a reply may still be on its way: never hand this socket out again
            raise
        finally:
            for _, (node, _), conn in taken:
                node.redis_connection.connection_pool.release(conn)
        return out

    def _send(self, keys: list[str], args: list[str | int]) -> int | None:
        pipe = self._writer.pipeline(transaction=False)
        pipe.evalsha(self._sha, len(keys), *keys, *args)
        if self._wait_replicas:
            pipe.wait(self._wait_replicas, self._wait_timeout_ms)
        replies = pipe.execute(raise_on_error=False)
        reply = replies[0]
        if isinstance(reply, NoScriptError):
            return None
        if isinstance(reply, Exception):
            message = str(reply)
            raise JournalError(message.removeprefix("CHERGA ")) from reply
        if self._wait_replicas:
            acked = replies[1]
            if isinstance(acked, Exception) or int(acked) < self._wait_replicas:
                raise JournalError(
                    f"only {acked} of {self._wait_replicas} replicas confirmed the write within "
                    f"{self._wait_timeout_ms} ms (it is on the primary, but a failover could lose it)"
                )
        return int(reply)

    # ------------------------------------------------------------------ reading

    def _range(self, office: str, after_seq: int, page: int = PAGE) -> Iterator[BaseEvent]:
        key = self.stream_key(office)
        start = after_seq + 1
        while True:
            try:
                entries = _entries(self._reader.xrange(key, min=f"0-{start}", max="+", count=page))
            except RedisError as exc:
                raise JournalError(f"could not read office {office} from Redis at {self.url}: {exc}") from exc
            for _, body in entries:
                yield decode(body)
            if len(entries) < page:
                return
            start = _seq_of(entries[-1][0]) + 1

    def offices(self) -> list[str]:
        """The offices that have a stream, sorted."""
        try:
            members = self._reader.smembers(self._offices_key)
        except RedisError as exc:
            raise JournalError(f"could not read the offices from Redis at {self.url}: {exc}") from exc
        return sorted(_text(m) for m in members)

    def read(self, office: str | None = None, after_seq: int = 0) -> Iterator[BaseEvent]:
        """Stored events, ``seq`` order within each office, reading ``PAGE`` entries per call. O(events).

        With no office: every office's stream, merged by event time (each office stays in ``seq`` order), and
        ``after_seq`` applies to each office. The merge holds one page per office, so pages shrink as offices grow
        (about ``MERGE_HELD`` events in memory at most).
        """
        if office is not None:
            yield from self._range(office, after_seq)
            return
        offices = self.offices()
        page = max(10, min(PAGE, MERGE_HELD // max(len(offices), 1)))
        streams = [self._range(o, after_seq, page) for o in offices]
        yield from heapq.merge(*streams, key=lambda ev: ev.at)

    def last_seq(self, office: str) -> int:
        """The last ``seq`` stored for ``office`` (0 if none). O(1)."""
        try:
            entries = _entries(self._reader.xrevrange(self.stream_key(office), max="+", min="-", count=1))
        except RedisError as exc:
            raise JournalError(f"could not read office {office} from Redis at {self.url}: {exc}") from exc
        return _seq_of(entries[0][0]) if entries else 0

    def tail(self, office: str, after_seq: int, timeout_ms: int = 1_000, *, count: int = PAGE) -> list[BaseEvent]:
        """The events of ``office`` after ``after_seq`` (at most ``count``), waiting up to ``timeout_ms`` for one.

        For a standby following an office: ``XREAD BLOCK``, in slices shorter than the socket timeout so a long wait
        never looks like a dead server. Returns ``[]`` if nothing came in time; ``timeout_ms=0`` does not wait.
        """
        key = self.stream_key(office)
        deadline = time.monotonic() + timeout_ms / 1000.0
        slice_ms = max(1, int(self._socket_timeout * 1000) // 2)
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            block = min(left_ms, slice_ms) if left_ms > 0 else None
            try:
                reply = self._reader.xread({key: f"0-{after_seq}"}, count=count, block=block)
            except RedisError as exc:
                raise JournalError(f"could not follow office {office} in Redis at {self.url}: {exc}") from exc
            if reply:
                # RESP2: [[key, entries]]; RESP3: {key: [entries]}
                found: Any = reply
                entries = next(iter(found.values()))[0] if isinstance(found, dict) else found[0][1]
                return [decode(body) for _, body in _entries(entries)]
            if block is None or time.monotonic() >= deadline:
                return []

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        try:
            value = self._reader.hget(self._meta_key, key)
        except RedisError as exc:
            raise JournalError(f"could not read {key!r} from Redis at {self.url}: {exc}") from exc
        return None if value is None else _text(value)

    def set_meta(self, key: str, value: str) -> None:
        try:
            self._reader.hset(self._meta_key, key, value)
        except RedisError as exc:
            raise JournalError(f"could not write {key!r} to Redis at {self.url}: {exc}") from exc

    def probe(self) -> None:
        """An ``HSET`` of the meta hash: Redis answers it only once it takes writes (and, with ``appendfsync
        always``, has fsynced it)."""
        self.set_meta("probe", repr(time.time()))

    # ------------------------------------------------------------------ closing

    def _close_clients(self) -> None:
        for client in (self._reader, self._writer):
            with contextlib.suppress(RedisError):
                client.close()

    def close(self) -> None:
        """Write what is queued (or fail it), stop the writer and close the connections. Idempotent."""
        if self._stop_writer():
            self._close_clients()

    def __enter__(self) -> RedisJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if TYPE_CHECKING:

    def _is_a_journal(journal: RedisJournal) -> Journal:  # mypy checks RedisJournal against the protocol
        return journal
