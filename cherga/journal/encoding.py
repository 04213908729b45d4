"""Events as the journals store them, encoded by the journals' own threads: one generated function per event class.

The stored text is exactly :func:`cherga.engine.events.encode`'s (``{"type": ..., "seq": ..., ...}``, compact
JSON, fields in class order), so every journal ever written replays as before and what reads the bodies in SQL
(the reports' ``json_extract``) or in Python (``events.decode``, the crash tests) is untouched. One generated
function per class builds the whole row in one call, the dict as one display straight into ``orjson.dumps``: about
2.1 µs of CPU per event against 2.2 µs for ``encode`` plus the row's tuple (``bench/test_bench_journal.py``'s
workload, the 2-core machine): the gain is where it runs, on the journal's encoder thread
(:mod:`cherga.journal.writer`), never on the engine's, not what it costs.

A positional encoding (``[tag, field, ...]`` in class order) was measured on the same events at 1.6 µs and 125
bytes an event against 2.8 µs and 244 bytes; it is not used because the reports read named fields of the bodies in
SQL and the tests pin the stored text: adopting it means a version tag in the rows and those readers changed with it.
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
