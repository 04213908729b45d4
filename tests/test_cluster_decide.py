"""The cluster's decisions, without sockets: leases, routing, the redirect saga's steps, following.

:mod:`cherga.displays.cluster_decide` is pure: each test builds the inputs a lease round (or a settling pass) would
read from Redis and the replica, and checks the decisions. The hypothesis tests check the invariants over any
inputs: an office is never both released and taken in one round, a process whose journal failed takes nothing,
the owned offices are exactly partitioned, a free office is taken at once by its preferred process only, and a
redirect left half done ends with at most one live ticket, whatever the two tickets' states.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cherga.displays import cluster_decide as d
from cherga.displays.cluster import LIVE
from cherga.engine import events as e
from cherga.engine.lifecycle import Status

OFFICES = ("main", "zamostia", "vyshenka", "khutory", "sokyrianka", "nyzy")
A, B, C = "http://a#1", "http://b#2", "http://c#3"
NOW_MS = 1_000_000
LEASE = 3.0


def inputs(node: str = A, *, nodes: dict[str, int] | None = None, seen: dict[str, float] | None = None,
           holders: dict[str, str | None] | None = None, owned: set[str] | None = None,
           free_since: dict[str, float] | None = None, mono: float = 100.0, journal_down: bool = False,
           outage_s: float | None = None, busy: set[str] | None = None) -> d.LeaseInputs:
    return d.LeaseInputs(
        node=node, now_ms=NOW_MS, mono=mono, lease_s=LEASE, offices=OFFICES,
        nodes=nodes if nodes is not None else {A: NOW_MS + 3000},
        seen=seen or {}, holders=holders or {}, owned=frozenset(owned or ()), free_since=free_since or {},
        journal_down=journal_down, outage_s=outage_s, busy=frozenset(busy or ()))


# ------------------------------------------------------------------------------------------ rendezvous hashing


def test_rendezvous_prefers_the_same_node_everywhere_and_moves_only_a_leaving_nodes_offices() -> None:
    nodes = [A, B, C]
    before = {o: d.preferred(nodes, o) for o in OFFICES}
    assert before == {o: d.preferred(list(reversed(nodes)), o) for o in OFFICES}  # order does not matter
    assert len(set(before.values())) > 1, "six offices should not all land on one of three nodes"
    gone = before["main"]
    after = {o: d.preferred([n for n in nodes if n != gone], o) for o in OFFICES}
    assert all(after[o] == before[o] for o in OFFICES if before[o] != gone)
    assert d.weight(A, "main") == d.weight(A, "main") != d.weight(B, "main")


# ------------------------------------------------------------------------------------------ lease rounds


def test_live_nodes_and_when_each_was_first_seen() -> None:
    plan = d.decide_leases(inputs(nodes={A: NOW_MS + 1, B: NOW_MS, C: NOW_MS + 5}, seen={C: 7.0, "gone": 1.0}))
    assert plan.alive == (A, C)  # B's heartbeat ends now: not alive
    assert plan.seen == {A: 100.0, C: 7.0}  # A is new (now), C keeps its first sighting, the dead are dropped
    assert d.decide_leases(inputs(nodes={})).alive == (A,)  # our own heartbeat not read back: still ourselves


def test_renews_what_we_hold_and_drops_what_another_holds_or_what_lapsed() -> None:
    plan = d.decide_leases(inputs(owned={"main", "zamostia", "nyzy"},
                                  holders={"main": A, "zamostia": B, "vyshenka": B, "khutory": B, "sokyrianka": B}))
    assert plan.renew == ("main",)
    assert plan.lost == ("nyzy", "zamostia")
    assert plan.give_up == () and plan.hand_over is None
    assert plan.take == ("nyzy",)  # lapsed and free: we are the only live node, so we take it again (from the stream)


def test_a_free_office_is_taken_at_once_by_its_preferred_node_by_others_after_a_lease() -> None:
    both = {A: NOW_MS + 3000, B: NOW_MS + 3000}
    office = next(o for o in OFFICES if d.preferred([A, B], o) == B)
    held = {o: B for o in OFFICES if o != office}
    first = d.decide_leases(inputs(A, nodes=both, holders=held))
    assert first.take == () and first.free_since == {office: 100.0}
    assert d.decide_leases(inputs(B, nodes=both, holders=held)).take == (office,)  # B is preferred: at once
    later = d.decide_leases(inputs(A, nodes=both, holders=held, free_since=first.free_since, mono=100.0 + LEASE))
    assert later.take == (office,)  # nobody took it for a lease period: anyone may
    taken = d.decide_leases(inputs(A, nodes=both, holders={o: B for o in OFFICES}, free_since=first.free_since))
    assert taken.free_since == {} and taken.take == ()  # held again: no longer free


def test_a_failed_journal_takes_nothing_and_gives_everything_up_after_a_lease_period() -> None:
    owned = {"main", "zamostia"}
    holders: dict[str, str | None] = {"main": A, "zamostia": A}  # four offices free, preferred or not
    short = d.decide_leases(inputs(owned=owned, holders=holders, journal_down=True, outage_s=LEASE,
                                   free_since={"nyzy": 0.0}))
    assert short.renew == ("main", "zamostia") and short.take == () and short.give_up == ()
    assert short.free_since == {"nyzy": 0.0}
    long = d.decide_leases(inputs(owned=owned, holders=holders, journal_down=True, outage_s=LEASE + 0.01))
    assert long.give_up == ("main", "zamostia")
    assert long.renew == () and long.take == () and long.lost == () and long.hand_over is None
    # the healer's round before serving again passes journal_down=False: it renews and takes
    healed = d.decide_leases(inputs(owned=owned, holders=holders, journal_down=False, outage_s=LEASE * 10))
    assert healed.renew == ("main", "zamostia") and set(healed.take) == set(OFFICES) - owned


def test_an_office_is_handed_to_its_preferred_node_once_that_one_has_been_up_two_lease_periods() -> None:
    both = {A: NOW_MS + 3000, B: NOW_MS + 3000}
    everything = {o: A for o in OFFICES}
    theirs = sorted(o for o in OFFICES if d.preferred([A, B], o) == B)
    assert len(theirs) >= 2
    young = d.decide_leases(inputs(nodes=both, owned=set(OFFICES), holders=everything, seen={A: 0.0, B: 95.0}))
    assert young.hand_over is None
    settled = inputs(nodes=both, owned=set(OFFICES), holders=everything, seen={A: 0.0, B: 100.0 - 2 * LEASE})
    assert d.decide_leases(settled).hand_over == d.HandOver(theirs[0], B)  # one office per round
    assert d.decide_leases(inputs(nodes=both, owned=set(OFFICES), holders=everything, seen={A: 0.0, B: 0.0},
                                  busy={theirs[0]})).hand_over == d.HandOver(theirs[1], B)  # a saga runs on it


def _lease_inputs() -> st.SearchStrategy[d.LeaseInputs]:
    nodes = st.sampled_from([A, B, C])
    offices = st.sampled_from(OFFICES)
    times = st.floats(min_value=0.0, max_value=200.0)
    return st.builds(
        d.LeaseInputs, node=nodes, now_ms=st.just(NOW_MS), mono=st.floats(min_value=100.0, max_value=200.0),
        lease_s=st.floats(min_value=0.1, max_value=10.0), offices=st.just(OFFICES),
        nodes=st.dictionaries(nodes, st.integers(NOW_MS - 5000, NOW_MS + 5000)),
        seen=st.dictionaries(nodes, times), holders=st.dictionaries(offices, st.none() | nodes),
        owned=st.frozensets(offices), free_since=st.dictionaries(offices, times), journal_down=st.booleans(),
        outage_s=st.none() | st.floats(min_value=0.0, max_value=20.0), busy=st.frozensets(offices))


@settings(max_examples=400, deadline=None)
@given(_lease_inputs())
def test_lease_round_invariants(r: d.LeaseInputs) -> None:
    plan = d.decide_leases(r)
    released = {*plan.give_up, *([plan.hand_over.office] if plan.hand_over else [])}
    assert not released & set(plan.take), "an office released and taken in one round"
    assert not set(plan.renew) & set(plan.take) and not set(plan.lost) & set(plan.renew)
    # what we own is exactly partitioned: given up, lost or renewed
    assert sorted([*plan.give_up, *plan.lost, *plan.renew]) == sorted(r.owned)
    if r.journal_down:
        assert plan.take == (), "a process whose journal failed takes an office it could not serve"
    if plan.give_up:
        assert r.journal_down and plan.renew == plan.lost == plan.take == () and plan.hand_over is None
    for office in plan.take:
        assert r.holders.get(office) is None and office in r.offices
        assert d.preferred(plan.alive, office) == r.node or r.mono - plan.free_since[office] >= r.lease_s
    if plan.hand_over is not None:
        office, to = plan.hand_over.office, plan.hand_over.to
        assert office in plan.renew and office not in r.busy
        assert to == d.preferred(plan.alive, office) != r.node and r.mono - plan.seen[to] >= 2 * r.lease_s
    for office, since in plan.free_since.items():
        assert since == r.free_since.get(office, r.mono)  # first seen free now, or kept from before
        if not r.journal_down:
            assert r.holders.get(office) is None or office in plan.renew, "a held office still counted as free"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([A, B, C]), min_size=1, max_size=3, unique=True),
       st.dictionaries(st.sampled_from(OFFICES), st.sampled_from([A, B, C])))
def test_with_one_view_every_free_office_is_taken_at_once_by_exactly_its_preferred_node(
        alive: list[str], held: dict[str, str]) -> None:
    nodes = {n: NOW_MS + 3000 for n in alive}
    holders: dict[str, str | None] = dict(held)
    takers = {n: d.decide_leases(inputs(n, nodes=nodes, holders=holders, owned={o for o, h in held.items() if h == n}))
              for n in alive}
    for office in OFFICES:
        who = [n for n, plan in takers.items() if office in plan.take]
        assert who == ([] if office in held else [d.preferred(alive, office)])


# ------------------------------------------------------------------------------------------ routing


@pytest.mark.parametrize(("office", "to_office", "owned", "cluster", "where"), [
    ("main", None, {"zamostia"}, False, d.Route.FORWARD),
    ("main", "zamostia", {"zamostia"}, False, d.Route.FORWARD),  # the source's owner runs a redirect
    ("main", None, {"main"}, True, d.Route.LOCAL),
    ("main", "zamostia", {"main", "zamostia"}, False, d.Route.LOCAL),  # one Redis, both ours: one write
    ("main", "zamostia", {"main", "zamostia"}, True, d.Route.SAGA),  # a cluster: two primaries, two steps
    ("main", "zamostia", {"main"}, False, d.Route.SAGA),  # another owner: two steps
    ("main", "main", {"main"}, True, d.Route.LOCAL),  # refused by the engine, not a saga
    ("main", "atlantis", {"main"}, False, d.Route.LOCAL),  # an unknown office: the engine says so
])
def test_route(office: str, to_office: str | None, owned: set[str], cluster: bool, where: d.Route) -> None:
    assert d.route(office, to_office, owned=owned, offices=OFFICES, cluster=cluster) is where


# ------------------------------------------------------------------------------------------ the redirect saga


def test_step_two() -> None:
    waiting = d.TicketState(Status.WAITING)
    assert d.step_two(False, waiting, "n1") is d.StepTwo.NOT_OWNER
    assert d.step_two(True, waiting, "n1") is d.StepTwo.MARK
    assert d.step_two(True, None, "n1") is d.StepTwo.MARK  # the engine refuses it, with words
    assert d.step_two(True, d.TicketState(Status.REDIRECTED, "n1"), "n1") is d.StepTwo.DONE
    assert d.step_two(True, d.TicketState(Status.REDIRECTED, "other"), "n1") is d.StepTwo.MARK  # refused: Conflict


ORIGIN, NEW = "t-origin", "t-new"
STATES = [*Status]


def open_redirect(source: d.TicketState | None, new: d.TicketState | None, *, owns_source: bool = True,
                  owns_target: bool = True, in_saga: bool = False) -> d.OpenRedirect:
    return d.OpenRedirect(origin=ORIGIN, office="zamostia", new_ticket=NEW, office_known=True,
                          source_office=None if source is None else "main", source=source, new=new,
                          owns_source=owns_source, owns_target=owns_target, in_saga=in_saga)


def _carry_out(step: d.Settle, source: d.TicketState, new: d.TicketState) -> tuple[d.TicketState, d.TicketState]:
    if isinstance(step, d.ApplyRedirect):
        assert (step.ticket, step.to_office, step.new_ticket) == (ORIGIN, "zamostia", NEW)
        return d.TicketState(Status.REDIRECTED, NEW), new
    if isinstance(step, d.Withdraw):
        assert (step.ticket, step.office) == (NEW, "zamostia")
        return source, d.TicketState(Status.CANCELLED)
    return source, new


@pytest.mark.parametrize(("origin", "new", "elsewhere"),
                         [(o, n, x) for o, n, x in itertools.product(STATES, STATES, [False, True])
                          if x is False or o is Status.REDIRECTED])
def test_a_redirect_left_half_done_ends_with_at_most_one_live_ticket(origin: Status, new: Status,
                                                                     elsewhere: bool) -> None:
    """Every state of the origin × every state of the new ticket, both offices ours: settle until it says forget
    (or wait); then at most one of the two is live, and a live origin continues as the new ticket."""
    source = d.TicketState(origin, ("t-other" if elsewhere else NEW) if origin is Status.REDIRECTED else None)
    target = d.TicketState(new)
    for _ in range(3):
        step = d.settle(open_redirect(source, target), LIVE)
        if isinstance(step, d.Forget | d.Wait):
            break
        source, target = _carry_out(step, source, target)
    else:
        raise AssertionError("settling does not converge")
    if isinstance(step, d.Wait):
        assert origin is Status.NO_SHOW  # it may be restored, then redirected: decided later
        return
    new_live = target.status in (*LIVE, Status.NO_SHOW)
    origin_live = source.status in LIVE
    assert origin_live + new_live <= 1, f"{source} and {target} both live"
    if origin in LIVE:
        assert source == d.TicketState(Status.REDIRECTED, NEW)  # the visitor continues at the target
    if target.status is Status.CANCELLED and new is not Status.CANCELLED:
        assert origin not in LIVE, "the new ticket withdrawn although the visitor could still go there"


@settings(max_examples=300, deadline=None)
@given(st.none() | st.builds(d.TicketState, st.sampled_from(STATES), st.sampled_from([None, NEW, "t-other"])),
       st.none() | st.builds(d.TicketState, st.sampled_from(STATES)),
       st.booleans(), st.booleans(), st.booleans())
def test_settle_acts_only_where_it_may(source: d.TicketState | None, new: d.TicketState | None, owns_source: bool,
                                       owns_target: bool, in_saga: bool) -> None:
    step = d.settle(open_redirect(source, new, owns_source=owns_source, owns_target=owns_target, in_saga=in_saga),
                    LIVE)
    if isinstance(step, d.ApplyRedirect):
        assert owns_source and not in_saga and source is not None and source.status in LIVE
    if isinstance(step, d.Withdraw):
        assert owns_target and new is not None and new.status in d.WITHDRAWABLE
        assert source is not None and source.status not in (*LIVE, Status.NO_SHOW)
        assert not (source.status is Status.REDIRECTED and source.new_ticket == NEW)
    if source is None:
        assert isinstance(step, d.Wait)  # our replica has not seen the origin yet


def test_a_redirect_the_index_cannot_place_is_forgotten() -> None:
    lost = d.OpenRedirect(origin=ORIGIN, office="atlantis", new_ticket=NEW, office_known=False, source_office="main",
                          source=d.TicketState(Status.WAITING), new=None, owns_source=True, owns_target=False,
                          in_saga=False)
    assert isinstance(d.settle(lost, LIVE), d.Forget)


# ------------------------------------------------------------------------------------------ following


def ev(seq: int) -> e.BaseEvent:
    return e.DayOpened(seq=seq, at=0.0, office="main", day="2026-11-23")


def test_follow_applies_what_continues_and_reads_a_gap_back() -> None:
    assert d.follow(False, 4, [ev(3), ev(4), ev(5), ev(6)]).apply == (ev(5), ev(6))  # old ones skipped
    assert d.follow(False, 4, [ev(6), ev(7)]) == d.Follow(catch_up=True)  # seq 5 missing
    assert d.follow(True, 4, [ev(5)]) == d.Follow()  # ours: our replica is the source
    assert d.follow(False, 4, [ev(2)]) == d.Follow()


@given(st.integers(0, 20), st.lists(st.integers(0, 30)))
def test_consecutive_continues_the_seq_one_by_one(seq: int, seqs: list[int]) -> None:
    out = [x.seq for x in d.consecutive(seq, [ev(s) for s in seqs])]
    assert out == list(range(seq + 1, seq + 1 + len(out)))
    assert all(s in seqs for s in out)
