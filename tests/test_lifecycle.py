from pathlib import Path

import pytest

from cherga.engine.lifecycle import TERMINAL, TRANSITIONS, Action, Status, document, next_status
from cherga.errors import Conflict


def test_docs_diagram_is_generated_from_the_table() -> None:
    doc = Path(__file__).parent.parent / "docs" / "lifecycle.md"
    assert doc.read_text(encoding="utf-8") == document(), "run: python -m cherga.engine.lifecycle > docs/lifecycle.md"


def test_every_status_is_reachable_from_issue() -> None:
    reached = {dst for (src, _), dst in TRANSITIONS.items() if src is None}  # issued at the kiosk, walk-in, remote
    assert Status.WAITING in reached and Status.REMOTE in reached
    frontier = list(reached)
    while frontier:
        s = frontier.pop()
        for (src, _), dst in TRANSITIONS.items():
            if src == s and dst not in reached:
                reached.add(dst)
                frontier.append(dst)
    assert reached == set(Status)


def test_terminal_states_are_the_ends() -> None:
    assert {Status.DONE, Status.REFUSED, Status.REDIRECTED, Status.CANCELLED, Status.NOT_POSSIBLE,
            Status.NOT_SERVED} == TERMINAL


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_illegal_transitions_say_why(status: Status, action: Action) -> None:
    if (status, action) in TRANSITIONS:
        assert next_status("A001", status, action) == TRANSITIONS[(status, action)]
    else:
        with pytest.raises(Conflict, match="A001"):
            next_status("A001", status, action)


def test_fast_event_constructors_build_the_same_frozen_events() -> None:
    import dataclasses
    import pickle

    from cherga.engine import events as e

    for cls, make in e.MAKERS.items():
        values = {f.name: (1 if f.type in ("int", "float") else None) for f in dataclasses.fields(cls)}
        rest = {k: v for k, v in values.items() if k not in ("seq", "at", "office")}
        built, made = cls(**values), make(values["seq"], values["at"], values["office"], **rest)
        assert built == made and type(made) is cls and hash(built) == hash(made)
        assert pickle.loads(pickle.dumps(made)) == made and repr(made) == repr(built)
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.seq = 2  # type: ignore[misc]
        with pytest.raises(TypeError, match="surname"):
            make(1, 1.0, "main", **rest, surname="Шевченко")
        optional = {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        if optional:  # a field left out takes its default, as the dataclass would give it
            short = {k: v for k, v in rest.items() if k not in optional}
            short_values = {k: v for k, v in values.items() if k not in optional}
            assert make(values["seq"], values["at"], values["office"], **short) == cls(**short_values)
