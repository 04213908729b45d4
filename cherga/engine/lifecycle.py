"""The lives of a ticket, of a desk and of a booking: every legal step of each, one table per thing.

The tables decide. A decider looks its step up before it builds any event (a command that does not fit is refused
before anything changes) and the evolvers take the new status from the table too, so the dispatcher restates no
rule: :data:`TRANSITIONS` (the ticket), :data:`DESK_TRANSITIONS` (the desk) and :data:`BOOKING_TRANSITIONS` (the
booking). Everything else that asks "may this happen now?" derives from them: who may still be redirected
(:data:`LIVE`), who may rate (:data:`RATE` rows), the reports' buckets, and the actions a desk console offers
(:data:`DESK_ACTIONS`, sent with the desk).

``docs/lifecycle.md`` is generated from these tables (``cherga lifecycle``, or ``python -m
cherga.engine.lifecycle``) and a test keeps the two equal.

Each lookup is a dict per action keyed by the state (:func:`next_status`): no tuple is built, nothing allocated.
"""

from __future__ import annotations

import enum
from typing import Final

from cherga.errors import Conflict

# ====================================================================================================== the ticket


class Status(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    REFUSED = "refused"
    NO_SHOW = "no_show"
    REDIRECTED = "redirected"
    CANCELLED = "cancelled"
    # wartime: finished as "not possible now" (the registries are down); the day closed early under an alert
    NOT_POSSIBLE = "not_possible"
    NOT_SERVED = "not_served"
    # joined from the phone: holds a place in the line, not yet in the hall; passed over (never called) until the
    # visitor checks in at the kiosk or by the entrance QR code
    REMOTE = "remote"


class Action(enum.StrEnum):
    ISSUE = "issue"
    WALK_IN = "walk-in"
    CALL = "call"
    RECALL = "recall"
    RECALL_LAST = "recall past max calls"
    START = "start"
    FINISH_SERVED = "finish served"
    FINISH_REFUSED = "finish refused"
    FINISH_NOT_POSSIBLE = "finish not possible now"
    NEXT_SERVICE = "next service"
    NO_SHOW = "no-show"
    RESTORE = "restore"
    TRANSFER = "transfer"
    REDIRECT = "redirect"
    CANCEL = "cancel"
    CLOSE_DAY = "close the day"
    CLOSE_EARLY = "close the day under an alert"
    RATE = "rate"
    ISSUE_REMOTE = "issue remote"
    CHECK_IN = "check in"
    REMOTE_EXPIRE = "remote grace over"


NEW = None  # the state "before issue"

# (state, action) -> next state. Anything absent is illegal.
TRANSITIONS: dict[tuple[Status | None, Action], Status] = {
    (NEW, Action.ISSUE): Status.WAITING,
    # a visitor who walked up to a free desk: issued and called at once, at that desk
    (NEW, Action.WALK_IN): Status.CALLED,
    (Status.WAITING, Action.CALL): Status.CALLED,
    (Status.WAITING, Action.CANCEL): Status.CANCELLED,
    (Status.WAITING, Action.REDIRECT): Status.REDIRECTED,
    # at closing time everyone still waiting is cancelled (the day closed)
    (Status.WAITING, Action.CLOSE_DAY): Status.CANCELLED,
    (Status.CALLED, Action.RECALL): Status.CALLED,
    # called as often as the policy allows (max_calls): the visitor is not coming
    (Status.CALLED, Action.RECALL_LAST): Status.NO_SHOW,
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
    # wartime: a service that cannot be provided now (the registries are down), counted apart from refusals
    (Status.CALLED, Action.FINISH_NOT_POSSIBLE): Status.NOT_POSSIBLE,
    (Status.SERVING, Action.FINISH_NOT_POSSIBLE): Status.NOT_POSSIBLE,
    # the day closed under an air-raid alert: everyone waiting, and those held at a desk, "not served today"
    (Status.WAITING, Action.CLOSE_EARLY): Status.NOT_SERVED,
    (Status.CALLED, Action.CLOSE_EARLY): Status.NOT_SERVED,
    (Status.SERVING, Action.CLOSE_EARLY): Status.NOT_SERVED,
    # a finished visit may be rated, once (the rating is kept beside the status, which stays)
    (Status.DONE, Action.RATE): Status.DONE,
    (Status.REFUSED, Action.RATE): Status.REFUSED,
    (Status.NOT_POSSIBLE, Action.RATE): Status.NOT_POSSIBLE,
    # joined from the phone: in the line at the time of joining, passed over until checked in (then waiting in the
    # place it had); once its turn has come it keeps the place for the office's remote_grace_min, then a no-show
    (NEW, Action.ISSUE_REMOTE): Status.REMOTE,
    (Status.REMOTE, Action.CHECK_IN): Status.WAITING,
    (Status.REMOTE, Action.REMOTE_EXPIRE): Status.NO_SHOW,
    (Status.REMOTE, Action.CANCEL): Status.CANCELLED,
    (Status.REMOTE, Action.CLOSE_DAY): Status.CANCELLED,
    (Status.REMOTE, Action.CLOSE_EARLY): Status.NOT_SERVED,
}

# The steps a decision is journalled as, where the events are other steps of the table: replaying those events
# (each evolver takes its own event's step) must land where the decision's row says (a test checks it).
RECORDED_AS: dict[Action, tuple[Action, ...]] = {
    Action.WALK_IN: (Action.ISSUE, Action.CALL),  # TicketIssued, then TicketCalled
    Action.RECALL_LAST: (Action.NO_SHOW,),  # TicketNoShow
    Action.CLOSE_DAY: (Action.CANCEL,),  # TicketCancelled with the reason "day closed"
}

# statuses a ticket never leaves (a step that keeps the status, as rating, does not count)
TERMINAL: frozenset[Status] = frozenset(
    s for s in Status if not any(src == s and dst != s for (src, _), dst in TRANSITIONS.items())
)
# a ticket still to be served here: what a redirect may still take away
LIVE: tuple[Status, ...] = tuple(s for s in Status if (s, Action.REDIRECT) in TRANSITIONS)

_WHY: dict[Status, str] = {
    Status.WAITING: "it is still waiting and has not been called",
    Status.CALLED: "it has been called and the visitor is on the way to the desk",
    Status.SERVING: "the visitor is being served",
    Status.DONE: "it has already been served",
    Status.REFUSED: "it was already finished with a refusal",
    Status.NO_SHOW: "it was marked a no-show",
    Status.REDIRECTED: "it was redirected to another office",
    Status.CANCELLED: "it was cancelled",
    Status.NOT_POSSIBLE: "it was already finished as not possible now",
    Status.NOT_SERVED: "the day closed under an air-raid alert before it was served",
    Status.REMOTE: "it was taken from a phone and the visitor has not checked in yet",
}


def _by_action(table: dict[tuple[Status | None, Action], Status]) -> dict[Action, dict[Status | None, Status]]:
    out: dict[Action, dict[Status | None, Status]] = {a: {} for a in Action}
    for (src, action), dst in table.items():
        out[action][src] = dst
    return out


_NEXT: Final = _by_action(TRANSITIONS)


def next_status(number: str, state: Status | None, action: Action) -> Status:
    """Where ``action`` takes a ticket in ``state``, or :class:`Conflict` saying why it cannot. O(1), no
    allocation when allowed."""
    to = _NEXT[action].get(state)
    if to is None:
        why = _WHY[state] if state is not None else "it does not exist yet"
        raise Conflict(f"cannot {action} ticket {number}: {why}")
    return to


def allows(state: Status | None, action: Action) -> bool:
    """Whether the ticket's table has the step ``action`` from ``state``. O(1)."""
    return state in _NEXT[action]


# ====================================================================================================== the desk


class DeskPhase(enum.StrEnum):
    """What a desk is doing, as the API's desk ``status`` says: its own status, or its ticket's while it holds one."""

    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"
    CALLED = "called"
    SERVING = "serving"


class DeskAction(enum.StrEnum):
    """The desk's commands, named as in the desk's ``actions`` (``GET /api/v1/desks/{desk}``)."""

    OPEN = "open"
    CLOSE = "close"
    PAUSE = "pause"
    RESUME = "resume"
    CALL_NEXT = "call_next"
    CALL_TICKET = "call_ticket"
    WALK_IN = "walk_in"
    RESTORE = "restore"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    TRANSFER = "transfer"
    REDIRECT = "redirect"


# the steps of the ticket's table a desk command takes: to take a ticket (from that status), or on the one it holds
_TAKES: dict[DeskAction, tuple[Status | None, Action]] = {
    DeskAction.CALL_NEXT: (Status.WAITING, Action.CALL),
    DeskAction.CALL_TICKET: (Status.WAITING, Action.CALL),
    DeskAction.WALK_IN: (NEW, Action.WALK_IN),
    DeskAction.RESTORE: (Status.NO_SHOW, Action.RESTORE),
}
_ON_TICKET: dict[DeskAction, tuple[Action, ...]] = {
    DeskAction.RECALL: (Action.RECALL, Action.RECALL_LAST),
    DeskAction.START: (Action.START,),
    DeskAction.FINISH: (Action.FINISH_SERVED, Action.FINISH_REFUSED, Action.FINISH_NOT_POSSIBLE, Action.NEXT_SERVICE),
    DeskAction.NO_SHOW: (Action.NO_SHOW,),
    DeskAction.TRANSFER: (Action.TRANSFER,),
    DeskAction.REDIRECT: (Action.REDIRECT,),
}


def _desk_after(ticket: Status) -> DeskPhase:
    """The desk's phase once its ticket is in ``ticket``: still holding it, or free (the ticket has left)."""
    return DeskPhase(ticket.value) if ticket in (Status.CALLED, Status.SERVING) else DeskPhase.OPEN


def _desk_table() -> dict[tuple[DeskPhase, DeskAction], tuple[DeskPhase, ...]]:
    table: dict[tuple[DeskPhase, DeskAction], tuple[DeskPhase, ...]] = {
        (DeskPhase.CLOSED, DeskAction.OPEN): (DeskPhase.OPEN,),
        (DeskPhase.OPEN, DeskAction.CLOSE): (DeskPhase.CLOSED,),
        (DeskPhase.OPEN, DeskAction.PAUSE): (DeskPhase.PAUSED,),
        (DeskPhase.PAUSED, DeskAction.RESUME): (DeskPhase.OPEN,),
        (DeskPhase.PAUSED, DeskAction.CLOSE): (DeskPhase.CLOSED,),
    }
    # an open desk with no ticket takes one; "call next" with nobody waiting it serves leaves it open
    for action, (src, step) in _TAKES.items():
        to = _desk_after(TRANSITIONS[(src, step)])
        table[(DeskPhase.OPEN, action)] = (to, DeskPhase.OPEN) if action is DeskAction.CALL_NEXT else (to,)
    # on the ticket it holds, a desk may do what the ticket's table allows from the ticket's status
    for phase in (DeskPhase.CALLED, DeskPhase.SERVING):
        status = Status(phase.value)
        for action, steps in _ON_TICKET.items():
            outs = [_desk_after(TRANSITIONS[(status, s)]) for s in steps if (status, s) in TRANSITIONS]
            if outs:
                table[(phase, action)] = tuple(dict.fromkeys(outs))
    return table


# (phase, action) -> the phases it may lead to, the first the usual one (a call with nobody waiting leaves the desk
# open; the recall past max calls ends in a no-show, which frees the desk). These are the steps a console offers.
DESK_TRANSITIONS: dict[tuple[DeskPhase, DeskAction], tuple[DeskPhase, ...]] = _desk_table()

# Also accepted, never offered: a repeat that changes nothing (a retried request, a second press), "open" that
# records a new administrator's code at a desk already open (with a ticket too), and "open" at a paused desk, which
# resumes it as "resume" does.
DESK_ALSO: dict[tuple[DeskPhase, DeskAction], tuple[DeskPhase, ...]] = {
    (DeskPhase.CLOSED, DeskAction.CLOSE): (DeskPhase.CLOSED,),
    (DeskPhase.OPEN, DeskAction.OPEN): (DeskPhase.OPEN,),
    (DeskPhase.PAUSED, DeskAction.OPEN): (DeskPhase.OPEN,),
    (DeskPhase.CALLED, DeskAction.OPEN): (DeskPhase.CALLED,),
    (DeskPhase.SERVING, DeskAction.OPEN): (DeskPhase.SERVING,),
    (DeskPhase.PAUSED, DeskAction.PAUSE): (DeskPhase.PAUSED,),
    (DeskPhase.OPEN, DeskAction.RESUME): (DeskPhase.OPEN,),
    (DeskPhase.CALLED, DeskAction.RESUME): (DeskPhase.CALLED,),
    (DeskPhase.SERVING, DeskAction.RESUME): (DeskPhase.SERVING,),
}

# From an air-raid alert until service resumes, a desk calls nobody: not the next ticket, not one named, not a
# walk-in, not a no-show brought back; it does not call its ticket again and cannot mark a visitor in the shelter a
# no-show. The ticket it holds is held: it may still finish, start, transfer or send it on.
ALERT_HOLDS: frozenset[DeskAction] = frozenset({
    DeskAction.CALL_NEXT, DeskAction.CALL_TICKET, DeskAction.WALK_IN, DeskAction.RESTORE, DeskAction.RECALL,
    DeskAction.NO_SHOW,
})

# per phase, the actions a desk console offers (in the order of DeskAction): sent with the desk
DESK_ACTIONS: dict[DeskPhase, tuple[str, ...]] = {
    p: tuple(a.value for a in DeskAction if (p, a) in DESK_TRANSITIONS) for p in DeskPhase
}

# per action, phase value -> the value of the desk's own status after it (open, closed or paused). A desk's phase
# is a DeskStatus or a ticket's Status, all string enums: any of them finds its row here, unconverted.
def _desk_next_table() -> dict[DeskAction, dict[str, str]]:
    out: dict[DeskAction, dict[str, str]] = {a: {} for a in DeskAction}
    for (phase, action), to in (DESK_TRANSITIONS | DESK_ALSO).items():
        own = to[0] if to[0] in (DeskPhase.CLOSED, DeskPhase.PAUSED) else DeskPhase.OPEN
        out[action][phase.value] = own.value
    return out


_DESK_NEXT: Final = _desk_next_table()

_DESK_WHY: dict[DeskAction, str] = {
    DeskAction.CLOSE: "desk {desk} still has ticket {ticket}; finish it, transfer it or mark it a no-show first",
    DeskAction.PAUSE: "desk {desk} still has ticket {ticket}; finish it before a pause",
}
_DESK_CLOSED_WHY: dict[DeskAction, str] = {
    DeskAction.PAUSE: "desk {desk} is closed; open it before pausing",
    DeskAction.RESUME: "desk {desk} is closed; open it instead",
}


def desk_next(phase: str, action: DeskAction, desk: str, doing: str, ticket: str = "") -> str:
    """The desk's own status (open, closed, paused) after ``action`` in ``phase``, or :class:`Conflict` in words the
    administrator can act on. ``ticket`` is the number of the ticket held (for the words). O(1), no allocation when
    allowed."""
    to = _DESK_NEXT[action].get(phase)
    if to is not None:
        return to
    if phase in (DeskPhase.CALLED, DeskPhase.SERVING):
        if action in _DESK_WHY:
            raise Conflict(_DESK_WHY[action].format(desk=desk, ticket=ticket))
        if action in _ON_TICKET:  # the ticket's own table says why
            raise Conflict(f"cannot {doing} at desk {desk}: ticket {ticket} is {phase}")
        raise Conflict(
            f"desk {desk} still has ticket {ticket} ({phase}); finish it, mark it a no-show or transfer it first"
        )
    if phase == DeskPhase.CLOSED and action in _DESK_CLOSED_WHY:
        raise Conflict(_DESK_CLOSED_WHY[action].format(desk=desk))
    if action in _ON_TICKET:
        raise Conflict(f"cannot {doing} at desk {desk}: no ticket is called there")
    raise Conflict(f"cannot {doing} at desk {desk}: the desk is {phase}")


# ====================================================================================================== the booking


class BookingStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"


class BookingAction(enum.StrEnum):
    BOOK = "book"
    CANCEL = "cancel"
    CHECK_IN = "check in"
    CHECK_IN_LATE = "check in late"


BOOKING_TRANSITIONS: dict[tuple[BookingStatus | None, BookingAction], BookingStatus] = {
    (NEW, BookingAction.BOOK): BookingStatus.BOOKED,
    (BookingStatus.BOOKED, BookingAction.CANCEL): BookingStatus.CANCELLED,
    # checked in up to two hours early and until the grace after the slot: the ticket is called at the slot
    (BookingStatus.BOOKED, BookingAction.CHECK_IN): BookingStatus.CHECKED_IN,
    # later than the grace: the ticket waits like a walk-in's
    (BookingStatus.BOOKED, BookingAction.CHECK_IN_LATE): BookingStatus.CHECKED_IN,
}

# a booking in these statuses holds its slot
HOLDS_SLOT: frozenset[BookingStatus] = frozenset(
    s for s in BookingStatus if s is not BOOKING_TRANSITIONS[(BookingStatus.BOOKED, BookingAction.CANCEL)]
)


def booking_next(code: str, state: BookingStatus | None, action: BookingAction) -> BookingStatus:
    """Where ``action`` takes a booking in ``state`` (a status string will do), or :class:`Conflict`. O(1)."""
    to = BOOKING_TRANSITIONS.get((BookingStatus(state) if state is not None else None, action))
    if to is None:
        where = "not booked yet" if state is None else f"already {str(state).replace('_', ' ')}"
        raise Conflict(f"booking {code} is {where}")
    return to


# ====================================================================================================== the document


def _mermaid(rows: list[tuple[str | None, str, str]], ends: list[str]) -> str:
    lines = ["stateDiagram-v2"]
    for src, action, dst in rows:
        lines.append(f"    {'[*]' if src is None else src} --> {dst}: {action}")
    lines.extend(f"    {s} --> [*]" for s in ends)
    return "\n".join(lines)


def _table(rows: list[tuple[str | None, str, str]]) -> str:
    return "| from | action | to |\n|---|---|---|\n" + "\n".join(
        f"| {'(new)' if src is None else src} | {action} | {dst} |" for src, action, dst in rows
    )


def mermaid() -> str:
    """The state diagram of :data:`TRANSITIONS` in Mermaid syntax."""
    return _mermaid(_ticket_rows(), [s.value for s in Status if s in TERMINAL])


def _ticket_rows() -> list[tuple[str | None, str, str]]:
    return [(None if s is None else s.value, a.value, d.value) for (s, a), d in TRANSITIONS.items()]


def _desk_rows(table: dict[tuple[DeskPhase, DeskAction], tuple[DeskPhase, ...]]) -> list[tuple[str | None, str, str]]:
    return [(p.value, a.value, " or ".join(t.value for t in to)) for (p, a), to in table.items()]


def document() -> str:
    booking_rows = [(None if s is None else s.value, a.value, d.value) for (s, a), d in BOOKING_TRANSITIONS.items()]
    desk_rows: list[tuple[str | None, str, str]] = [
        (p.value, a.value, t.value) for (p, a), to in DESK_TRANSITIONS.items() for t in to
    ]
    return (
        "# Lifecycles: the ticket, the desk, the booking\n\n"
        "Generated from the tables in `cherga/engine/lifecycle.py` by `cherga lifecycle > docs/lifecycle.md`;"
        " a test keeps it equal to the tables. The dispatcher decides every command with these tables and takes"
        " every new status from them.\n\n"
        "## A ticket's life\n\n"
        "```mermaid\n" + mermaid() + "\n```\n\n" + _table(_ticket_rows()) + "\n\n"
        "Terminal: " + ", ".join(s.value for s in Status if s in TERMINAL) + ".\n\n"
        "Recorded as other steps: "
        + "; ".join(f"{a.value} as {' then '.join(s.value for s in steps)}" for a, steps in RECORDED_AS.items())
        + ".\n\n"
        "## A desk's life\n\n"
        "A desk's phase is its own status (closed, open, paused) or, while it holds a ticket, the ticket's (called,"
        " serving). The steps on the ticket it holds are the ticket's table's. `GET /api/v1/desks/{desk}` sends"
        " the actions of its phase (`actions`); the desk console enables exactly those.\n\n"
        "```mermaid\n" + _mermaid(desk_rows, []) + "\n```\n\n" + _table(_desk_rows(DESK_TRANSITIONS)) + "\n\n"
        "Also accepted, never offered (a repeat changes nothing; `open` may record a new administrator's code, and"
        " at a paused desk resumes it):\n\n" + _table(_desk_rows(DESK_ALSO)) + "\n\n"
        "Offered per phase: "
        + "; ".join(f"{p.value}: {', '.join(DESK_ACTIONS[p]) or '-'}" for p in DeskPhase) + ".\n\n"
        "From an air-raid alert until service resumes after the all-clear, a desk is refused (409 `alert`) and"
        " not offered: " + ", ".join(a.value for a in DeskAction if a in ALERT_HOLDS) + "; the ticket it holds is"
        " held (its status does not change).\n\n"
        "## A booking's life\n\n"
        "```mermaid\n" + _mermaid(booking_rows, [s.value for s in BookingStatus if s is not BookingStatus.BOOKED])
        + "\n```\n\n" + _table(booking_rows) + "\n\n"
        "A booking holds its slot while " + " or ".join(s.value for s in BookingStatus if s in HOLDS_SLOT) + ".\n"
    )


if __name__ == "__main__":
    print(document(), end="")
