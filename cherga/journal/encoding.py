"""Events as the journals store them, encoded by the journals' own threads: one generated function per event class.

The stored text is exactly :func:`cherga.engine.events.encode`'s (``{"type": ..., "seq": ..., ...}``, compact
JSON, fields in class order), so every journal ever written replays as before and what reads the bodies in SQL
(the reports' ``json_extract``) or in Python (``events.decode``) is untouched. What changes is the cost: one
generated function per class builds the row in one call, the dict as one display straight into ``orjson.dumps``
(where ``encode`` goes through the class's dict maker and a lookup by type, and the row through five more
attribute reads and a tuple). Measured in ``bench/test_bench_journal.py``'s workload: about a third less per event.

Both are called by the writer's encoding thread (:mod:`cherga.journal.writer`), never on the engine's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import orjson

from cherga.engine import events as e

Row = tuple[str, int, float, str, str]  # SQLite: office, seq, at, type, body


def _generated(cls: type[e.BaseEvent], template: str) -> Callable[[Any], Any]:
    items = "".join(f", {f.name!r}: ev.{f.name}" for f in dataclasses.fields(cls))
    body = f"_dumps({{'type': {cls.__name__!r}{items}}})"
    namespace: dict[str, Any] = {"_dumps": orjson.dumps}
    exec("def encode(ev):\n    return " + template.format(body=body, name=repr(cls.__name__)) + "\n", namespace)
    fn: Callable[[Any], Any] = namespace["encode"]
    return fn


_ROWS: dict[type, Callable[[Any], Row]] = {}
_BODIES: dict[type, Callable[[Any], str]] = {}


def _row_maker(cls: type) -> Callable[[Any], Row]:
    maker = _ROWS.get(cls)
    if maker is None:  # an event class added at run time (the table is built on first use, per class)
        if cls not in e.EVENT_TYPES.values():
            raise TypeError(f"{cls.__name__} is not an event type the journal knows")
        maker = _ROWS[cls] = _generated(cls, "(ev.office, ev.seq, ev.at, {name}, {body}.decode())")
    return maker


def _body_maker(cls: type) -> Callable[[Any], str]:
    maker = _BODIES.get(cls)
    if maker is None:
        if cls not in e.EVENT_TYPES.values():
            raise TypeError(f"{cls.__name__} is not an event type the journal knows")
        maker = _BODIES[cls] = _generated(cls, "{body}.decode()")
    return maker


def row(event: e.BaseEvent) -> Row:
    """The SQLite row of ``event``: its office, seq, time, type name and body (``events.encode``'s text)."""
    return _row_maker(type(event))(event)


def rows(batches: Any) -> list[Row]:
    """The rows of every event of ``batches`` (an iterable of event sequences), in order."""
    out: list[Row] = []
    makers = _ROWS
    for events in batches:
        for ev in events:
            maker = makers.get(type(ev)) or _row_maker(type(ev))
            out.append(maker(ev))
    return out


def body(event: e.BaseEvent) -> str:
    """``events.encode(event)``'s text (what a Redis stream entry holds)."""
    maker = _BODIES.get(type(event)) or _body_maker(type(event))
    return maker(event)
