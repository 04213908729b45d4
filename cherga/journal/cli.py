"""``cherga backup`` and ``cherga restore`` (what they copy and how: ``cherga/journal/backup.py``, docs/deploy.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser("backup", formatter_class=fmt,
                       help="a consistent copy of a data directory into one file, while the service runs")
    p.add_argument("--data", type=Path, default=Path("cherga-data"), help="the service's data directory")
    p.add_argument("--to", type=Path, required=True, metavar="FILE",
                   help="the backup to write (a .tar.gz: the databases and a manifest), outside the data directory")
    p.set_defaults(run=_backup)

    p = sub.add_parser("restore", formatter_class=fmt,
                       help="unpack a backup into an empty data directory (the service stopped), checked first")
    p.add_argument("--from", dest="source", type=Path, required=True, metavar="FILE", help="a file from cherga backup")
    p.add_argument("--data", type=Path, required=True, help="the data directory to restore into (no database in it)")
    p.set_defaults(run=_restore)


def _summary(manifest: Any) -> str:
    journal = manifest.journal
    where = (f"journal at {journal['events']} events, "
             + ", ".join(f"{office} seq {seq}" for office, seq in journal["offices"].items())
             if journal else "no journal")
    return f"{len(manifest.files)} files ({', '.join(f['name'] for f in manifest.files)}); {where}"


def _backup(args: argparse.Namespace) -> int:
    from cherga.journal.backup import backup

    manifest = backup(args.data, args.to)
    print(f"cherga: backed up {args.data} to {args.to}: {_summary(manifest)}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from cherga.journal.backup import restore

    manifest = restore(args.source, args.data)
    print(f"cherga: restored {args.source} (taken {manifest.to_json()['created']}) into {args.data}: "
          f"{_summary(manifest)}; start `cherga serve --data {args.data}`")
    return 0
