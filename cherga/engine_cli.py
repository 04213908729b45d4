"""Subcommands that need only the engine: check a configuration, print the ticket's life, rebuild from a journal."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from cherga.engine import forecast, lifecycle
from cherga.engine.loader import load_network
from cherga.engine.network import CityEngine
from cherga.journal.sqlite import SqliteJournal


def register(sub: Any) -> None:
    p = sub.add_parser("config", help="check a configuration directory and print its offices")
    p.add_argument("--config", type=Path, default=None, help="directory with services.toml and network.toml")
    p.set_defaults(run=_config)

    p = sub.add_parser("lifecycle", help="print the ticket's life (docs/lifecycle.md) from the transition table")
    p.set_defaults(run=lambda args: print(lifecycle.document(), end=""))

    p = sub.add_parser("state", help="rebuild every office from a journal and print its queues")
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--data", type=Path, default=Path("cherga-data"))
    p.set_defaults(run=_state)


def _config(args: argparse.Namespace) -> int:
    net = load_network(args.config)
    print(f"{net.name_uk} / {net.name_en}: {len(net.services)} services, {len(net.offices)} offices")
    for office in net.offices.values():
        print(f"  {office.id:<16} {office.kind.value:<12} {len(office.desks):>3} desks  {office.name_uk}")
    return 0


def _state(args: argparse.Namespace) -> int:
    net = load_network(args.config)
    engine = CityEngine(net)
    with SqliteJournal(args.data / "journal.sqlite3") as journal:
        engine.replay(journal.read())
    now = time.time()
    out = {
        oid: {
            "seq": d.seq, "day": d.day, "waiting": d.waiting(),
            "queues": [vars_of(q) for q in forecast.queues(d, now) if q.waiting],
        }
        for oid, d in engine.offices.items()
    }
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def vars_of(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__}
