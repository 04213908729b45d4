"""The ticket's whole life: every legal transition, in one table.

The dispatcher consults :data:`TRANSITIONS` before it changes any ticket, so a command that does not fit the
ticket's state is refused before anything changes. ``docs/lifecycle.md`` is generated from this table
(``python -m cherga.engine.lifecycle``) and a test keeps the two equal.
"""

from __future__ import annotations

import enum

from cherga.errors import Conflict


class Status(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    REFUSED = "refused"
    NO_SHOW = "no_show"
    REDIRECTED = "redirected"
    CANCELLED = "cancelled"


class Action(enum.StrEnum):
    ISSUE = "issue"
    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH_SERVED = "finish served"
    FINISH_REFUSED = "finish refused"
    NEXT_SERVICE = "next service"
    NO_SHOW = "no-show"
    RESTORE = "restore"
    TRANSFER = "transfer"
    REDIRECT = "redirect"
    CANCEL = "cancel"


NEW = None  # the state "before issue"

# (state, action) -> next state. Anything absent is illegal.
TRANSITIONS: dict[tuple[Status | None, Action], Status] = {
    (NEW, Action.ISSUE): Status.WAITING,
    (Status.WAITING, Action.CALL): Status.CALLED,
    (Status.WAITING, Action.CANCEL): Status.CANCELLED,
    (Status.WAITING, Action.REDIRECT): Status.REDIRECTED,
    (Status.CALLED, Action.RECALL): Status.CALLED,
    (Status.CALLED, Action.START): Status.SERVING,
    # a desk may finish straight from the call: many desks never press "start"
    (Status.CALLED, Action.FINISH_SERVED): Status.DONE,
    (Status.CALLED, Action.FINISH_REFUSED): Status.REFUSED,
    (Status.CALLED, Action.NEXT_SERVICE): Status.WAITING,
    (Status.CALLED, Action.NO_SHOW): Status.NO_SHOW,
    (Status.CALLED, Action.TRANSFER): Status.WAITING,
    (Status.CALLED, Action.REDIRECT): Status.REDIRECTED,
    (Status.CALLED, Action.CANCEL): Status.CANCELLED,
    (Status.SERVING, Action.FINISH_SERVED): Status.DONE,
    (Status.SERVING, Action.FINISH_REFUSED): Status.REFUSED,
    # a ticket with more services goes back to the queue for the next one
    (Status.SERVING, Action.NEXT_SERVICE): Status.WAITING,
    (Status.SERVING, Action.TRANSFER): Status.WAITING,
    (Status.SERVING, Action.REDIRECT): Status.REDIRECTED,
    (Status.NO_SHOW, Action.RESTORE): Status.CALLED,
}

TERMINAL: frozenset[Status] = frozenset(
    s for s in Status if not any(src == s for src, _ in TRANSITIONS)
)

_WHY: dict[Status, str] = {
    Status.WAITING: "it is still waiting and has not been called",
    Status.CALLED: "it has been called and the visitor is on the way to the desk",
    Status.SERVING: "the visitor is being served",
    Status.DONE: "it has already been served",
    Status.REFUSED: "it was already finished with a refusal",
    Status.NO_SHOW: "it was marked a no-show",
    Status.REDIRECTED: "it was redirected to another office",
    Status.CANCELLED: "it was cancelled",
}


def next_status(number: str, state: Status | None, action: Action) -> Status:
    """Where ``action`` takes a ticket in ``state``, or :class:`Conflict` saying why it cannot. O(1)."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        why = _WHY[state] if state is not None else "it does not exist yet"
        raise Conflict(f"cannot {action} ticket {number}: {why}") from None


def mermaid() -> str:
    """The state diagram of :data:`TRANSITIONS` in Mermaid syntax."""
    lines = ["stateDiagram-v2"]
    for (src, action), dst in TRANSITIONS.items():
        left = "[*]" if src is None else src.value
        lines.append(f"    {left} --> {dst.value}: {action.value}")
    lines.extend(f"    {s.value} --> [*]" for s in Status if s in TERMINAL)
    return "\n".join(lines)


def document() -> str:
    rows = "\n".join(
        f"| {'(new)' if src is None else src.value} | {action.value} | {dst.value} |"
        for (src, action), dst in TRANSITIONS.items()
    )
    return (
        "# A ticket's life\n\n"
        "Generated from `cherga/engine/lifecycle.py` by `python -m cherga.engine.lifecycle > docs/lifecycle.md`;"
        " a test keeps it equal to the table.\n\n"
        "```mermaid\n" + mermaid() + "\n```\n\n"
        "| from | action | to |\n|---|---|---|\n" + rows + "\n\n"
        "Terminal: " + ", ".join(s.value for s in Status if s in TERMINAL) + ".\n"
    )


if __name__ == "__main__":
    print(document(), end="")
