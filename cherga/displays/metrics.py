"""``GET /metrics`` in the Prometheus text format, read from the live state at scrape time.

Written by hand (the format is a few lines of text) rather than adding a client library: every figure is already
in the engine, the hub or the journal, and nothing here runs on the hot path.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Protocol

from cherga.engine import events as e
from cherga.engine import forecast

if TYPE_CHECKING:
    from cherga.displays.host import EngineHost
    from cherga.displays.hub import Hub


def _labels(**kw: str) -> str:
    inner = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in kw.items())
    return "{" + inner + "}"


class CallCounter:
    """Counts calls per office from the durable events (a host listener)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def reset(self) -> None:
        self.calls.clear()

    def on_events(self, events: list[e.BaseEvent], replay: bool) -> None:
        for ev in events:
            if isinstance(ev, (e.TicketCalled, e.TicketRecalled)):
                self.calls[ev.office] += 1


class Scraped(Protocol):
    """What a scrape reads: the app's ``Service`` has these (named here, so this module does not import the app)."""

    @property
    def now(self) -> float: ...

    @property
    def host(self) -> EngineHost: ...

    @property
    def hub(self) -> Hub: ...

    @property
    def calls(self) -> CallCounter: ...


def render(svc: Scraped) -> str:
    now = svc.now
    engine = svc.host.engine
    out: list[str] = []

    def family(name: str, kind: str, help_: str) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")

    family("cherga_waiting", "gauge", "Tickets waiting, per office and service.")
    waits: list[str] = []
    summaries = {oid: forecast.queues(d, now) for oid, d in engine.offices.items()}
    for oid, office_queues in summaries.items():
        for q in office_queues:
            lab = _labels(office=oid, service=q.service)
            out.append(f"cherga_waiting{lab} {q.waiting}")
            if q.eta_min is not None:  # no open desk serves it: no figure (NaN would read as a number)
                waits.append(f"cherga_expected_wait_minutes{lab} {q.eta_min}")
    family("cherga_expected_wait_minutes", "gauge", "Expected wait of a ticket issued now, minutes.")
    out.extend(waits)
    family("cherga_longest_wait_minutes", "gauge", "Longest current wait per office, minutes.")
    for oid, office_queues in summaries.items():
        longest = max((q.longest_wait_min for q in office_queues), default=0.0)
        out.append(f"cherga_longest_wait_minutes{_labels(office=oid)} {longest}")
    family("cherga_calls_total", "counter", "Calls and recalls shown on the boards.")
    for oid in engine.offices:
        out.append(f"cherga_calls_total{_labels(office=oid)} {svc.calls.calls.get(oid, 0)}")
    family("cherga_service_minutes", "summary", "Service times of the day's finished visits.")
    for oid, d in engine.offices.items():
        for service, (n, total) in sorted(d.stats.items()):
            lab = _labels(office=oid, service=service)
            out.append(f"cherga_service_minutes_sum{lab} {total:.3f}")
            out.append(f"cherga_service_minutes_count{lab} {int(n)}")
    family("cherga_ratings_total", "counter", "Ratings given, per office and score.")
    for oid, d in engine.offices.items():
        for score, n in sorted(d.ratings.items()):
            out.append(f"cherga_ratings_total{_labels(office=oid, score=score)} {n}")
    family("cherga_desks", "gauge", "Desks per office and state.")
    for oid, d in engine.offices.items():
        states = Counter(x.status for x in forecast.desks(d, now))
        for state, n in sorted(states.items()):
            out.append(f"cherga_desks{_labels(office=oid, state=state)} {n}")
    family("cherga_board_connections", "gauge", "Websocket boards connected, per office.")
    for oid, ch in sorted(svc.hub.boards.items()):
        out.append(f"cherga_board_connections{_labels(office=oid)} {len(ch.conns)}")
    family("cherga_board_dropped_total", "counter", "Boards dropped for falling behind.")
    out.append(f"cherga_board_dropped_total {svc.hub.dropped}")
    j = svc.host.journal
    family("cherga_journal_commits_total", "counter", "Journal transactions committed (group commits).")
    out.append(f"cherga_journal_commits_total {j.commits}")
    family("cherga_journal_commit_seconds_total", "counter", "Time spent committing the journal.")
    out.append(f"cherga_journal_commit_seconds_total {j.commit_seconds:.6f}")
    family("cherga_journal_failed", "gauge", "1 while the journal cannot be written.")
    out.append(f"cherga_journal_failed {1 if svc.host.failure or svc.host.last_write_error else 0}")
    family("cherga_journal_write_failures_total", "counter", "Failed journal writes (their commands were refused).")
    out.append(f"cherga_journal_write_failures_total {svc.host.write_failures}")
    host = svc.host
    family("cherga_journal_down", "gauge", "1 while the journal does not take writes (the service is healing).")
    out.append(f"cherga_journal_down {1 if host.journal_down else 0}")
    family("cherga_journal_outages_total", "counter", "Times the journal stopped taking writes.")
    out.append(f"cherga_journal_outages_total {host.outages}")
    family("cherga_journal_outage_seconds_total", "counter", "Seconds without journal writes (ongoing too).")
    out.append(f"cherga_journal_outage_seconds_total {host.outage_seconds:.3f}")
    family("cherga_journal_reopen_failures_total", "counter", "Failed attempts to reopen or probe the journal.")
    out.append(f"cherga_journal_reopen_failures_total {host.reopen_attempts}")
    family("cherga_journal_recoveries_total", "counter", "Outages healed without a restart.")
    out.append(f"cherga_journal_recoveries_total {host.recoveries}")
    return "\n".join(out) + "\n"
