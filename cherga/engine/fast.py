"""The engine's hot-path tricks, all here: each says what it buys, measured; the call sites import it from here.

Everything in this module does what plainer code would do, only faster; nothing here is a rule of the queue.
Compiled with the rest of the engine (``setup.py``). Figures are nanoseconds per operation, mypyc ``-O3``, CPython
3.11, on the shared 2-core build machine, the plain code in brackets: each form run 200,000 times in a compiled
loop (loop included), the least of 21 timings over three runs; ``events.py`` is Python, so its two are timed in
Python. The machine is noisy: read the ratios, not the last digit.

Module-level ``Final`` names are read at C speed from another compiled module too: the dispatcher's
``isinstance(command, CALL_NEXT)`` compiles to a read of the C variable ``CPyStatic_fast___CALL_NEXT``, the same
code as when the alias stood in the dispatcher itself (checked in the generated C, ``build/__native_*.c``), so
they moved here at no cost.

Kept where they are, as they are part of their class or table, not a trick that can stand apart: a desk's id and
number copied onto :class:`cherga.engine.state.DeskState` (C fields, read on every call), the lifecycle's lookup
dicts per action, and the dispatcher's three makers of the visitor's events held as its own attributes (this
module cannot import ``events``, which imports it); ``cherga/sim/model.py`` keeps its own ``Final`` alias (it is
the planner's, not the engine's).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, Final

from cherga.engine import commands as c
from cherga.engine.lifecycle import Status
from cherga.engine.model import Category

# ---------------------------------------------------------------------------------------------- aliases (Final)
# Compiled, each is one C variable; ``c.CallNext`` is a lookup of the module then of its attribute, and an enum
# member (``Status.CALLED``) a lookup on a Python class, as mypyc does not compile enums.

# isinstance against an alias: 18 ns (45 ns for ``c.CallNext``)
ISSUE: Final = c.IssueTicket
CALL_NEXT: Final = c.CallNext
FINISH: Final = c.Finish
# ``x is HEAD``: 12 ns (100 ns for ``c.Position.HEAD``)
HEAD: Final = c.Position.HEAD
SERVED: Final = c.Outcome.SERVED
# ``status in ACTIVE``: 28 ns (174 ns building ``(Status.CALLED, Status.SERVING)`` each time)
ACTIVE: Final = (Status.CALLED, Status.SERVING)
# a category from its value: 34 ns (448 ns for ``Category(value)``, the enum's lookup by value)
CATEGORY: Final = {cat.value: cat for cat in Category}
# ``new_tuple(Candidate, (...))`` builds a policy.Candidate without the named tuple's Python-level ``__new__``:
# 232 ns (362 ns for ``Candidate(...)``)
new_tuple: Final = tuple.__new__


# ---------------------------------------------------------------------------------------------- small formulas
# Each a native function: a call from the compiled dispatcher is a direct C call (92 ns called, 92 ns inline).


def ticket_number(letter: str, count: int) -> str:
    """``A007``: the letter and the count in three digits. 99 ns (343 ns for ``f"{letter}{count:03d}"``)."""
    return letter + str(count).zfill(3)


def minutes_3(seconds: float) -> float:
    """Seconds in minutes, to the thousandth. 101 ns (208 ns for ``round(seconds / 60, 3)``, which goes through a
    decimal string)."""
    return round(seconds / 0.06) / 1000.0


def str_value(member: enum.StrEnum) -> str:
    """A string enum's value: ``_value_`` is a plain attribute, 45 ns (135 ns for the ``value`` property)."""
    return member._value_


# ---------------------------------------------------------------------------------------------- event objects


def slot_maker(cls: type[Any]) -> Callable[..., Any]:
    """A constructor for the frozen, slotted dataclass ``cls`` that fills the slots directly:
    ``make(seq, at, office, *, field=value, ...)``. 256 ns for a ``TicketCalled`` (1,695 ns for ``cls(...)``).

    A frozen dataclass's ``__init__`` goes through ``object.__setattr__`` for every field, and even a slot's own
    ``__set__`` is a slow call; the engine builds an event or more per command. The object is built as an instance
    of a private subclass that adds no slots and keeps Python's plain attribute setting, so each field is one slot
    store; then it is given its real class (``__class__`` assignment, allowed between classes of the same layout).
    The result is the same frozen object (``==`` to one built by ``cls(...)``, ``type()`` is ``cls``). The other
    fields are keyword-only and named in the signature, so a call passes them without building a dict. A field
    left out takes its default; a field the class does not have, or a missing one, is refused with ``TypeError``,
    as ``cls(...)`` would refuse it.
    """
    builder = type(f"_Building{cls.__name__}", (cls,),
                   {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__})
    names = [f.name for f in dataclasses.fields(cls)]
    defaults: dict[str, Any] = {}
    params: list[str] = []
    for f in dataclasses.fields(cls):
        if f.name in ("seq", "at", "office"):
            continue
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    o.{name} = {name}\n" for name in names)
    rest = ", *, " + ", ".join(params) if params else ""
    src = f"def make(seq, at, office{rest}):\n    o = _new(_builder)\n{body}    o.__class__ = _cls\n    return o\n"
    namespace: dict[str, Any] = {"_new": object.__new__, "_builder": builder, "_cls": cls, **defaults}
    exec(src, namespace)
    make: Callable[..., Any] = namespace["make"]
    return make


def dict_maker(cls: type[Any], names: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """``{"type": cls.__name__, name: ev.name, ...}`` for ``cls`` as one generated dict display: 413 ns for a
    ``TicketIssued`` (1,120 ns for a loop of ``getattr``); with orjson's encoding, 755 ns (1,306 ns)."""
    items = "".join(f", {name!r}: ev.{name}" for name in names)
    namespace: dict[str, Any] = {}
    exec(f"def as_dict(ev):\n    return {{'type': {cls.__name__!r}{items}}}\n", namespace)
    as_dict: Callable[[Any], dict[str, Any]] = namespace["as_dict"]
    return as_dict
