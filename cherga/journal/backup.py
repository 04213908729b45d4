"""``cherga backup`` and ``cherga restore``: a consistent copy of a data directory, taken while the service runs.

**What is copied.** Every SQLite database at the top of the data directory, whatever its name: the journal
(``journal.sqlite3``), the device tokens and pairings (``devices.sqlite3``), the staff accounts, the audit trail and
any store added later — a file is a database when it starts with SQLite's header, so a new store needs no change
here. Each is copied with SQLite's online backup API (``sqlite3.Connection.backup``) in one step: one read
transaction, so the copy is the database as it was at one commit, never a torn file, while the service keeps writing
(in WAL mode a reader does not block the writer; the writer does not wait for the backup). The ``-wal`` and ``-shm``
files are never copied: the backup API reads through them. Other regular files are copied as they are; directories
and SQLite's own side files are left out.

**Consistency across files.** Each database is consistent by itself; the journal is copied first, so it is the
oldest. The others are taken a moment later: a device paired or an account added in between may be in the copy while
the journal does not yet hold the events of that moment. Nothing in the journal depends on them (a token or an
account minted after the journal's copy simply exists after the restore).

**The file.** FILE is a gzip'd tar: ``manifest.json`` first (what was copied, each file's size and SHA-256, each
database's tables and row counts, and the journal's position: events, last rowid, last ``seq`` per office), then the
databases, each a single self-contained file in rollback-journal mode, checked by ``PRAGMA integrity_check`` before it
is packed. It is written beside FILE and renamed into place once complete and synced: a backup cut short leaves no
half FILE.

**Restoring** (``cherga restore --from FILE --data DIR``): into a directory that holds no database (the service
stopped; move the old data aside first). Every file's hash and each database's integrity are checked before
anything is written; then the files are moved into DIR. ``cherga serve --data DIR`` replays the journal as after any
restart and serves the same state as at the backup's journal position (``tests/test_backup.py``). By hand: ``tar xzf
FILE -C DIR`` (``manifest.json`` may stay or go; the service ignores it).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cherga.errors import BackupError

MANIFEST = "manifest.json"
FORMAT = "cherga-backup"
VERSION = 1
JOURNAL = "journal.sqlite3"
SQLITE_MAGIC = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's own, read through by the backup API


@dataclass
class Manifest:
    created_at: float
    source: str
    files: list[dict[str, Any]] = field(default_factory=list)
    journal: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "created_at": self.created_at,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created_at)),
                "source": self.source, "files": self.files, "journal": self.journal}

    @classmethod
    def from_json(cls, body: Any) -> Manifest:
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise BackupError("this file is not a cherga backup (no cherga manifest in it)")
        if body.get("version") != VERSION:
            raise BackupError(f"this backup has format version {body.get('version')}; this cherga reads {VERSION}")
        return cls(created_at=float(body["created_at"]), source=str(body["source"]), files=list(body["files"]),
                   journal=body.get("journal"))


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _members(data: Path) -> list[tuple[Path, bool]]:
    """The files to copy, the journal first: (path, is a database)."""
    found = []
    for path in sorted(data.iterdir()):
        if not path.is_file() or path.name.endswith(SIDE_FILES) or path.name == MANIFEST:
            continue
        found.append((path, path.name.endswith(".sqlite3") or is_sqlite(path)))
    found.sort(key=lambda item: item[0].name != JOURNAL)
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_database(source: Path, target: Path) -> None:
    """One consistent copy through the online backup API, then made self-contained and checked."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source} to back it up ({exc})") from exc
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout=10000")
        src.backup(dst)  # pages=-1: everything in one step, one read transaction of the source
        dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        check = dst.execute("PRAGMA integrity_check").fetchall()
        if check != [("ok",)]:
            raise BackupError(f"the copy of {source.name} failed SQLite's integrity check: {check[:3]}")
    except sqlite3.Error as exc:
        raise BackupError(f"backing up {source} failed ({exc}); is it a cherga data directory?") from exc
    finally:
        src.close()
        dst.close()


def _describe(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
    finally:
        conn.close()


def journal_position(path: Path) -> dict[str, Any]:
    """Where a journal stands: its events, the last rowid (commit order) and each office's last ``seq``."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        events, last = conn.execute("SELECT count(*), coalesce(max(rowid), 0) FROM events").fetchone()
        offices = dict(conn.execute("SELECT office, max(seq) FROM events GROUP BY office ORDER BY office").fetchall())
        return {"events": int(events), "last_rowid": int(last), "offices": offices}
    finally:
        conn.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(data: Path, to: Path) -> Manifest:
    """Copy every database (and file) of ``data`` into the one file ``to``; return what was copied."""
    if not data.is_dir():
        raise BackupError(f"{data} is not a directory; give the service's --data directory")
    members = _members(data)
    if not any(is_db for _, is_db in members):
        raise BackupError(f"{data} holds no SQLite database; is it the service's --data directory?")
    if to.resolve().parent == data.resolve():
        raise BackupError(f"put the backup outside the data directory {data} (it would be copied into the next one)")
    to.parent.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(created_at=time.time(), source=str(data.resolve()))
    with tempfile.TemporaryDirectory(prefix=".cherga-backup-", dir=to.parent) as tmp:
        staged = Path(tmp)
        for path, is_db in members:
            target = staged / path.name
            if is_db:
                _copy_database(path, target)
            else:
                shutil.copy2(path, target)
            entry: dict[str, Any] = {"name": path.name, "kind": "sqlite" if is_db else "file",
                                     "bytes": target.stat().st_size, "sha256": _sha256(target)}
            if is_db:
                entry["tables"] = _describe(target)
                if path.name == JOURNAL and "events" in entry["tables"]:
                    manifest.journal = journal_position(target)
            manifest.files.append(entry)
        partial = staged / (to.name + ".partial")
        body = json.dumps(manifest.to_json(), indent=1, ensure_ascii=False).encode()
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:  # zlib at level 6: twice the time, 15% smaller
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(manifest.created_at), 0o600
            tar.addfile(info, io.BytesIO(body))
            for entry in manifest.files:
                tar.add(staged / entry["name"], arcname=entry["name"], recursive=False)
        os.chmod(partial, 0o600)  # it holds the journal's secret, token hashes, keys: the operator's eyes only
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, to)
    _fsync_dir(to.parent)
    return manifest


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise BackupError(f"{archive} has no {MANIFEST}")
            return Manifest.from_json(json.loads(member.read()))
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"cannot read the backup {archive} ({exc})") from exc


def restore(archive: Path, data: Path) -> Manifest:
    """Unpack ``archive`` into ``data`` (which must hold no database): checked first, then moved into place."""
    manifest = read_manifest(archive)
    data.mkdir(parents=True, exist_ok=True)
    present = [p.name for p, is_db in _members(data) if is_db]
    if present:
        raise BackupError(f"{data} already holds {', '.join(present)}; restore into an empty directory (stop the "
                          "service and move the old data aside first)")
    names = [str(f["name"]) for f in manifest.files]
    for name in names:
        if Path(name).name != name or name in ("", ".", ".."):
            raise BackupError(f"the backup names a file outside its directory ({name!r}); not restoring it")
    with tempfile.TemporaryDirectory(prefix=".cherga-restore-", dir=data) as tmp:
        staged = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for entry in manifest.files:
                    member = tar.getmember(entry["name"])
                    if not member.isfile():
                        raise BackupError(f"{entry['name']} in the backup is not a plain file")
                    tar.extract(member, staged, filter="data")
        except (OSError, tarfile.TarError, KeyError) as exc:
            raise BackupError(f"cannot unpack the backup {archive} ({exc})") from exc
        for entry in manifest.files:
            path = staged / entry["name"]
            if _sha256(path) != entry["sha256"]:
                raise BackupError(f"{entry['name']} in the backup does not match its recorded hash: the file is "
                                  "damaged; nothing was restored")
            if entry["kind"] == "sqlite":
                with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
                    if conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
                        raise BackupError(f"{entry['name']} in the backup fails SQLite's integrity check; nothing "
                                          "was restored")
        for entry in manifest.files:
            path = staged / entry["name"]
            with path.open("rb") as f:
                os.fsync(f.fileno())
            os.replace(path, data / entry["name"])
    _fsync_dir(data)
    return manifest
