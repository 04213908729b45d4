"""The head's dashboard tells the truth (issue 13, point 4), on a real engine (the small network of conftest).

The headline is the longest wait of anyone waiting now, measured; the forecast stands beside it, labelled; an alert
fires whenever a line passes the target or its limit, or people wait for a service no open desk serves; and "no
alerts" holds only when none of that is so.
"""

from __future__ import annotations

from conftest import T0, small_network

from cherga.displays import views
from cherga.displays.alerts import AlertWatcher
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.model import Category, PolicyConfig
from cherga.engine.network import CityEngine

MIN = 60.0


def engine(policy: PolicyConfig | None = None) -> tuple[CityEngine, Dispatcher]:
    eng = CityEngine(small_network(policy), secret=b"test")
    return eng, eng.offices["main"]


def issue(eng: CityEngine, service: str, at: float, vulnerable: bool = False) -> e.TicketIssued:
    evs = eng.apply(c.IssueTicket(office="main", service=service, vulnerable=vulnerable), at)
    out = evs[-1]
    assert isinstance(out, e.TicketIssued)
    return out


def kinds(eng: CityEngine, d: Dispatcher, now: float) -> list[str]:
    return [a["kind"] for a in views.alerts(eng, d, now)]


def test_the_headline_is_the_longest_wait_measured_not_a_forecast() -> None:
    eng, d = engine()
    eng.apply(c.OpenDesk(desk="m1"), T0)  # passport, 15 min each: a newcomer's forecast is long
    eng.apply(c.OpenDesk(desk="m2"), T0)
    issue(eng, "passport", T0)
    eng.apply(c.CallNext(desk="m1"), T0 + 10)
    eng.apply(c.Start(desk="m1"), T0 + 20)  # the passport queue is empty now, its desk busy
    q = issue(eng, "extract", T0 + 30)
    issue(eng, "residence", T0 + 90)
    now = T0 + 30 + 3 * MIN
    load = views.load_json(eng, d, now)
    assert load["longest_wait"] == {"wait_min": 3.0, "number": q.number, "service": "extract", "desk": None,
                                    "limit_min": 15.0}
    # the forecast beside it covers only queues where someone waits (the empty passport queue is not a headline)
    assert load["forecast"]["service"] in ("extract", "residence")
    by_service = {x["service"]: x for x in load["queues"]}
    assert by_service["extract"]["longest_wait_min"] == 3.0
    assert by_service["residence"]["longest_wait_min"] == 2.0
    assert by_service["passport"]["waiting"] == 0 and by_service["passport"]["longest_wait_min"] == 0.0
    # nobody waiting: no headline at all, and no forecast pretending to be one
    eng2, d2 = engine()
    empty = views.load_json(eng2, d2, T0)
    assert empty["longest_wait"] is None and empty["forecast"]["eta_min"] is None


def test_longest_wait_is_the_earliest_since_not_the_first_in_calling_order() -> None:
    """A ticket sent back to the head of a queue is called first but has waited least."""
    eng, d = engine()
    eng.apply(c.OpenDesk(desk="m2"), T0)
    first = issue(eng, "residence", T0)
    old = issue(eng, "pickup", T0 + 1)
    eng.apply(c.CallNext(desk="m2"), T0 + 2)  # the residence ticket
    eng.apply(c.Transfer(desk="m2", service="pickup"), T0 + 5 * MIN)  # to the head of pickup, waiting since now
    q = d.queues[("pickup", False)]
    assert q.ordered()[0].id == first.ticket  # called first...
    oldest = views.oldest(q)
    assert oldest is not None and oldest.id == old.ticket  # ...but the other one has waited longest
    assert oldest is min(q.ordered(), key=lambda t: t.since)
    now = T0 + 9 * MIN
    pickup = next(x for x in views.load_json(eng, d, now)["queues"] if x["service"] == "pickup")
    assert pickup["longest_wait_min"] == round((now - T0 - 1) / 60, 1)


def test_alerts_fire_past_the_target_and_past_the_categorys_limit() -> None:
    limits = {cat: 15.0 for cat in Category}
    limits[Category.QUICK] = 20.0  # target 15, limit 20
    limits[Category.ACCEPTANCE] = 12.0  # a limit below the target: the limit is what counts
    eng, d = engine(PolicyConfig(max_wait_min=limits))
    eng.apply(c.OpenDesk(desk="m3"), T0)  # serves extract (quick) and residence (acceptance) as backup
    q = issue(eng, "extract", T0)
    assert kinds(eng, d, T0 + 14 * MIN) == []
    assert kinds(eng, d, T0 + 15 * MIN) == []  # "past" the target means more than 15 minutes
    over = views.alerts(eng, d, T0 + 16 * MIN)
    assert [a["kind"] for a in over] == ["ticket_over_target"]
    assert q.number in over[0]["message_uk"] and "ціль 15" in over[0]["message_uk"]
    assert [a["kind"] for a in views.alerts(eng, d, T0 + 20 * MIN)] == ["ticket_over_target"]
    past = views.alerts(eng, d, T0 + 21 * MIN)
    assert [a["kind"] for a in past] == ["ticket_over_limit"], past  # the worse one only, not both
    assert "межа 20" in past[0]["message_uk"] and "limit 20" in past[0]["message_en"]

    eng, d = engine(PolicyConfig(max_wait_min=limits))
    eng.apply(c.OpenDesk(desk="m3"), T0)
    issue(eng, "residence", T0)
    assert kinds(eng, d, T0 + 12 * MIN) == []
    assert kinds(eng, d, T0 + 13 * MIN) == ["ticket_over_limit"]
    load = views.load_json(eng, d, T0 + 13 * MIN)
    assert next(x for x in load["queues"] if x["service"] == "residence")["limit_min"] == 12.0


def test_the_vulnerable_lane_has_its_own_limit() -> None:
    limits = {cat: 20.0 for cat in Category}
    limits[Category.VULNERABLE] = 10.0
    eng, d = engine(PolicyConfig(max_wait_min=limits))
    eng.apply(c.OpenDesk(desk="m2"), T0)
    issue(eng, "advice", T0, vulnerable=True)
    assert kinds(eng, d, T0 + 10 * MIN) == []
    over = views.alerts(eng, d, T0 + 11 * MIN)
    assert [a["kind"] for a in over] == ["ticket_over_limit"]
    assert "першочергові" in over[0]["message_uk"] and "межа 10" in over[0]["message_uk"]


def test_no_open_desk_for_a_waiting_service_is_an_alert_and_has_no_forecast() -> None:
    eng, d = engine()
    issue(eng, "residence", T0)  # every desk closed
    assert kinds(eng, d, T0 + MIN) == ["no_open_desk"]
    load = views.load_json(eng, d, T0 + MIN)
    residence = next(x for x in load["queues"] if x["service"] == "residence")
    assert residence["eta_min"] is None and residence["eta_reason"] == "no_open_desk"
    assert load["forecast"] == {"eta_min": None, "service": None, "no_open_desk": ["residence"]}
    # a desk that serves it as backup is enough
    eng.apply(c.OpenDesk(desk="m3"), T0 + 2 * MIN)
    assert kinds(eng, d, T0 + 3 * MIN) == []
    residence = next(x for x in views.load_json(eng, d, T0 + 3 * MIN)["queues"] if x["service"] == "residence")
    assert residence["eta_min"] is not None and residence["eta_reason"] is None
    # a paused desk serves nobody now
    eng.apply(c.PauseDesk(desk="m3"), T0 + 4 * MIN)
    assert kinds(eng, d, T0 + 5 * MIN) == ["no_open_desk"]
    # an open desk that does not serve it does not help
    eng.apply(c.OpenDesk(desk="m1"), T0 + 6 * MIN)
    assert kinds(eng, d, T0 + 7 * MIN) == ["no_open_desk"]
    # an empty queue without a desk is no alert
    eng2, d2 = engine()
    assert kinds(eng2, d2, T0) == []


def test_a_ticket_sent_to_a_closed_desk_is_an_alert() -> None:
    eng, d = engine()
    eng.apply(c.OpenDesk(desk="m2"), T0)
    eng.apply(c.OpenDesk(desk="m3"), T0)
    t = issue(eng, "pickup", T0)
    eng.apply(c.CallNext(desk="m2"), T0 + 10)
    eng.apply(c.Transfer(desk="m2", to_desk="m3"), T0 + 20)
    assert d.personal["m3"].live == 1
    assert kinds(eng, d, T0 + MIN) == []
    eng.apply(c.PauseDesk(desk="m3"), T0 + 40)
    alerts = views.alerts(eng, d, T0 + 2 * MIN)
    assert [a["kind"] for a in alerts] == ["no_open_desk"], alerts
    assert "вікно 3" in alerts[0]["message_uk"] and "перерві" in alerts[0]["message_uk"]
    # it counts for the headline too
    top = views.load_json(eng, d, T0 + 17 * MIN)["longest_wait"]
    assert top["number"] == t.number and top["desk"] == "3"
    assert "ticket_over_limit" in kinds(eng, d, T0 + 17 * MIN)  # the default limit is 15


def test_the_forecast_alert_is_labelled_a_forecast() -> None:
    eng, d = engine()
    eng.apply(c.OpenDesk(desk="m2"), T0)
    for i in range(4):
        issue(eng, "subsidy", T0 + i)  # 10 min each at one desk: a newcomer waits 40
    over = [a for a in views.alerts(eng, d, T0 + MIN) if a["kind"] == "queue_over_target"]
    assert len(over) == 1 and "прогноз" in over[0]["message_uk"] and "forecast" in over[0]["message_en"]


def test_no_alerts_exactly_when_nothing_is_over() -> None:
    """Minute by minute through a morning: the alert list is empty iff no line is past its target or limit, no
    forecast passes the target, everyone waiting has an open desk, and no open desk idles beside a long queue."""
    eng, d = engine()
    eng.apply(c.OpenDesk(desk="m2"), T0)
    eng.apply(c.OpenDesk(desk="m3"), T0)
    services = ["extract", "pickup", "residence", "advice", "certificate", "subsidy"]
    target = d.network.targets.target_min
    seen = set()
    for minute in range(0, 60):
        now = T0 + minute * MIN
        if minute % 4 == 0:
            issue(eng, services[minute // 4 % len(services)], now + 1)
        if minute % 9 == 0:
            for desk in ("m2", "m3") if minute < 30 else ("m2",):
                if d.desks[desk].ticket is not None:
                    eng.apply(c.Finish(desk=desk), now + 2)
                eng.apply(c.CallNext(desk=desk), now + 3)
        if minute == 30:
            eng.apply(c.Finish(desk="m3"), now + 4) if d.desks["m3"].ticket is not None else None
            eng.apply(c.CloseDesk(desk="m3"), now + 5)
        at = now + 10
        load = views.load_json(eng, d, at)
        lines = views.waited(d, at)
        over = any(w.longest_min > min(target, w.limit_min) for w in lines)
        no_desk = any(q["waiting"] and q["eta_min"] is None for q in load["queues"])
        forecast_over = any(q["waiting"] and q["eta_min"] is not None and q["eta_min"] > target
                            for q in load["queues"])
        idle = any(a["kind"] == "desk_idle" for a in load["alerts"])
        assert bool(load["alerts"]) == (over or no_desk or forecast_over or idle), (minute, load["alerts"])
        # the headline is the largest measured wait of any line
        assert (load["longest_wait"] or {}).get("wait_min", 0.0) == max((w.longest_min for w in lines), default=0.0)
        seen |= {a["kind"] for a in load["alerts"]}
        seen.add("none" if not load["alerts"] else "some")
    assert {"none", "some", "ticket_over_limit", "queue_over_target"} <= seen, seen


def test_the_watcher_pushes_an_alert_that_comes_with_time_alone() -> None:
    """Waiting past the target happens with no event: the watcher's every-fifth tick finds it."""
    clock = [T0]
    eng, _ = engine()
    watcher = AlertWatcher(lambda: eng, lambda: clock[0])
    eng.apply(c.OpenDesk(desk="m3"), T0)
    issue(eng, "extract", T0)
    conn = watcher.join("main")
    first = conn.queue.get_nowait()
    assert '"alerts":[]' in first
    clock[0] = T0 + 16 * MIN
    for _ in range(5):
        watcher.tick()
    pushed = conn.queue.get_nowait()
    assert "ticket_over_limit" in pushed and "Q001" in pushed  # the default limit is 15, as the target
