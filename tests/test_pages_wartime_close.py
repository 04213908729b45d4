"""The screens at the end of wartime's stories (issue 15, points 4 and 5; API.md 1.1 "Wartime"):

- the desk console's "Неможливо зараз / Not possible now": offered for a service that needs the national registries
  (foremost while they are down), it ends the ticket ``not_possible``, which the report counts apart from refusals;
- the registries down: the board tells those waiting for a paused service that their place is kept and where else to
  turn (the e-service, another day), and their phone page links both;
- closing early under an alert: the board (under the shelter screen, then on a screen of its own once the alert is
  over, both orientations) and the waiting visitor's phone (live, over its websocket) say "not served today" and
  offer a booking for another day; the tickets end ``not_served`` and the report counts them.

Real ``cherga serve`` (demo network), real Chromium, real websockets; speech recorded, not spoken (as in
tests/test_pages_wartime.py). axe-core on every screen; screenshots in ``test-artifacts/screenshots/wartime-*``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from server import ServerProcess
from test_pages import http, run_axe, shot
from test_pages_hall import ORIENTATIONS
from test_pages_wartime import OFFICE, REGISTRY_SERVICE, SERVICE, Centre, context, expect, no_scroll, open_page, spoken


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("war-close") / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


def report_office(server: ServerProcess, head: str) -> dict[str, Any]:
    month = dt.date.today().strftime("%Y-%m")
    status, rep = http(server, "GET", f"/api/v1/offices/{OFFICE}/report?format=json&month={month}", token=head)
    assert status == 200, rep
    return next(o for o in rep["offices"] if o["id"] == OFFICE)  # type: ignore[no-any-return]


def service_of(server: ServerProcess, sid: str) -> dict[str, Any]:
    _, offices = http(server, "GET", "/api/v1/offices")
    return next(s for o in offices if o["id"] == OFFICE for s in o["services"] if s["id"] == sid)  # type: ignore


def console(browser: Any, server: ServerProcess, desk: str, errors: list[str]) -> tuple[Any, Any]:
    token = server.token("desk", OFFICE, desk).strip()
    ctx = context(browser, ORIENTATIONS["landscape"], {f"cherga.token.desk.{desk}": token})
    page = open_page(ctx, server, f"/desk/{desk}", errors)
    expect(page.locator("#desk-status")).to_be_visible()
    return ctx, page


def test_desk_finishes_a_registry_ticket_as_not_possible_now(browser: Any, srv: ServerProcess) -> None:
    office = Centre(srv)
    office.normal()
    # a desk that serves both a service needing the registries and one that does not
    _, offices = http(srv, "GET", "/api/v1/offices")
    needs = {s["id"]: s["needs_registry"] for o in offices if o["id"] == OFFICE for s in o["services"]}
    desk, reg_service, plain_service = next(
        (d["id"], r, p) for d in office.info["desks"] for r in d["services"] if needs[r]
        for p in d["services"] if not needs[p])
    before = report_office(srv, office.head)
    errors: list[str] = []
    ctx, page = console(browser, srv, desk, errors)
    try:
        page.locator("#act-open").click()
        # a service that needs no registry: no such button (it would only invite a wrong outcome)
        plain = office.issue(plain_service)
        page.locator("#act-next").click()
        expect(page.locator("#current-number")).to_have_text(plain["number"])
        expect(page.locator("#act-served")).to_be_enabled()
        expect(page.locator("#act-notpossible")).to_have_count(0)
        page.locator("#act-served").click()
        expect(page.locator("#act-next")).to_be_enabled()

        # a passport while the registries are up: offered, not foremost
        reg = office.issue(reg_service)
        page.locator("#act-next").click()
        expect(page.locator("#current-number")).to_have_text(reg["number"])
        button = page.locator("#act-notpossible")
        expect(button).to_be_enabled()
        expect(button).to_contain_text("Завершити — неможливо зараз")
        assert "primary" not in (button.get_attribute("class") or "")
        expect(page.locator("#desk-registry")).to_have_count(0)

        # the registries go down: the console says so and the button comes first in weight
        office.registries(False)
        page.reload()  # the console looks at the services every 10 s; at once here
        expect(page.locator("#current-number")).to_have_text(reg["number"])
        expect(page.locator("#desk-registry")).to_contain_text("Державні реєстри недоступні")
        expect(button).to_have_class("btn primary")
        assert (button.bounding_box() or {}).get("height", 0) >= 60
        shot(page, "wartime-desk-not-possible")
        run_axe(page, "desk console, registries down")
        button.click()
        expect(page.locator("#act-next")).to_be_enabled()
        expect(page.locator("#current-number")).to_contain_text("Немає викликаного талона")
        expect(page.locator("#desk-status-msg")).to_contain_text("неможливо зараз")
        assert office.ticket(reg["id"])["status"] == "not_possible"

        # by its key too (U), on another registry ticket; in English the button reads so
        page.locator(".lang-switch [data-lang='en']").click()
        office.registries(True)
        other = office.issue(reg_service)
        page.locator("#act-next").click()
        expect(page.locator("#current-number")).to_have_text(other["number"])
        page.locator("#act-start").click()
        expect(button).to_contain_text("Finish — not possible now")
        expect(button).to_be_enabled()
        page.locator("body").press("u")
        expect(page.locator("#act-next")).to_be_enabled()
        assert office.ticket(other["id"])["status"] == "not_possible"
    finally:
        ctx.close()
        office.normal()
    assert errors == []
    # the report counts them apart from refusals
    after = report_office(srv, office.head)
    assert after["not_possible"] - before["not_possible"] == 2, (before, after)
    assert after["refused"] == before["refused"]


def test_registries_down_board_and_phone_tell_the_waiting_what_else(browser: Any, srv: ServerProcess) -> None:
    office = Centre(srv)
    office.normal()
    errors: list[str] = []
    board_ctx = context(browser, ORIENTATIONS["landscape"])
    phone_ctx = context(browser, (390, 844))
    try:
        waiting = office.issue(REGISTRY_SERVICE)
        board = open_page(board_ctx, srv, f"/board/{OFFICE}", errors)
        phone = open_page(phone_ctx, srv, f"/t/{waiting['id']}", errors)
        expect(phone.locator("#ticket-number")).to_have_text(waiting["number"])
        expect(phone.locator("#ticket-registry")).to_have_count(0)
        office.registries(False)
        board.reload()  # the board looks at the services every 20 s; a fresh page at once
        expect(board.locator("#reg-banner")).to_be_visible()
        book = f"{srv.url.removeprefix('http://')}/book/{OFFICE}"
        expect(board.locator("#reg-waiting")).to_contain_text("Ваше місце в черзі збережено")
        expect(board.locator("#reg-waiting")).to_contain_text(f"е-послугою або записатися на інший день: {book}")
        no_scroll(board)
        shot(board, "wartime-board-registries-waiting-landscape")
        run_axe(board, "board registries down, those waiting")
        # the phone: paused, the place kept; the e-service (where there is one) and another day, as links
        note = phone.locator("#ticket-registry")
        expect(note).to_contain_text("державні реєстри недоступні", timeout=15_000)
        expect(note).to_contain_text("Ваше місце в черзі збережено")
        expect(note.locator("#ticket-book")).to_have_attribute("href", f"/book/{OFFICE}")
        online = service_of(srv, REGISTRY_SERVICE).get("online_url")
        if online:
            expect(note.locator("#ticket-online")).to_have_attribute("href", online)
        else:
            expect(note.locator("#ticket-online")).to_have_count(0)
        assert phone.evaluate("() => document.documentElement.scrollWidth <= innerWidth + 1"), "sideways scroll"
        shot(phone, "wartime-phone-registries-instead")
        run_axe(phone, "phone page registries down, what else")
        phone.locator("#ticket-book").click()
        expect(phone).to_have_url(f"{srv.url}/book/{OFFICE}")
        office.registries(True)
        board.reload()
        expect(board.locator(".conn[data-state='open']")).to_be_visible()
        expect(board.locator("#reg-banner")).to_be_hidden()
    finally:
        board_ctx.close()
        phone_ctx.close()
        office.normal()
    assert errors == []


def test_closing_early_tells_the_board_and_the_phone(browser: Any, srv: ServerProcess) -> None:
    """The module's last test: the day it closes stays closed (the service has no way to open it again)."""
    proc = srv
    Centre(proc).normal()
    errors: list[str] = []
    contexts: list[Any] = []
    try:
        office = Centre(proc)
        tickets = [office.issue(SERVICE) for _ in range(3)]
        before = report_office(proc, office.head)
        boards = {}
        for orientation, size in ORIENTATIONS.items():
            contexts.append(context(browser, size))
            boards[orientation] = open_page(contexts[-1], proc, f"/board/{OFFICE}", errors)
            expect(boards[orientation].locator("#queue-table")).to_be_visible()
        contexts.append(context(browser, (390, 844)))
        phone = open_page(contexts[-1], proc, f"/t/{tickets[-1]['id']}", errors)
        expect(phone.locator("#ticket-position")).to_have_text("3")

        office.alert(True)
        for board in boards.values():
            expect(board.locator("#shelter")).to_be_visible()
            expect(board.locator("#shelter")).to_contain_text("Ваше місце в черзі збережено")
        # the phone's expected wait counts from the resumption, not minutes that would run in the shelter
        expect(phone.locator("#ticket-eta")).to_have_text("після відбою тривоги")
        # the head closes the day under the alert: everyone waiting ends "not served today"
        status, out = http(proc, "POST", f"/api/v1/offices/{OFFICE}/close-day", {}, office.head)
        assert status == 200, out
        assert [office.ticket(t["id"])["status"] for t in tickets] == ["not_served"] * 3
        book = f"{proc.url.removeprefix('http://')}/book/{OFFICE}"
        for orientation, board in boards.items():
            shelter = board.locator("#shelter")
            # still the shelter screen, but no longer "your place is kept": not served today, book another day
            expect(shelter).to_contain_text("талони, що очікували, сьогодні не обслуговуються")
            expect(shelter).to_contain_text("Запишіться на інший день.")
            expect(shelter).to_contain_text("tickets still waiting are not served today. Please book another day.")
            expect(shelter).not_to_contain_text("Ваше місце в черзі збережено")
            no_scroll(board)
            shot(board, f"wartime-board-closed-under-alert-{orientation}")
        run_axe(boards["landscape"], "board closed under an alert")
        # the phone, live over its websocket: not served today, a booking for another day
        box = phone.locator("#ticket-notserved")
        expect(box).to_contain_text("Не обслуговано сьогодні")
        expect(box).to_contain_text("прийом на сьогодні завершено достроково")
        expect(phone.locator("#ticket-status")).to_have_text("Не обслуговано сьогодні")
        expect(phone.locator("#ticket-war")).to_have_count(0)  # no "your place is kept" any more
        expect(box.locator("#ticket-book")).to_have_attribute("href", f"/book/{OFFICE}")
        shot(phone, "wartime-phone-not-served")
        run_axe(phone, "phone page, not served today")
        phone.locator(".lang-switch [data-lang='en']").click()
        expect(box).to_contain_text("Not served today")
        expect(box.locator("#ticket-book")).to_have_text("Book another day")

        # the all-clear: the board does not count down to a resumption today; it says the day is over, both languages
        office.alert(False, 10)
        for orientation, board in boards.items():
            closed = board.locator("#closed-screen")
            expect(closed).to_be_visible()
            expect(board.locator("#resume-banner")).to_be_hidden()
            expect(board.locator(".board-layout")).to_be_hidden()
            expect(closed).to_contain_text("Прийом на сьогодні завершено через повітряну тривогу")
            expect(closed).to_contain_text("Талони, що очікували, сьогодні не буде обслуговано.")
            expect(closed).to_contain_text(f"Запишіться на інший день: {book}")
            expect(closed).to_contain_text("Service has ended for today because of the air-raid alert")
            expect(closed.locator("svg.qr")).to_have_attribute("aria-label", "QR-код: запис на інший день")
            box_ = board.evaluate("""() => { const r = document.querySelector('#closed-screen').getBoundingClientRect();
                                            return {w: r.width, h: r.height, W: innerWidth, H: innerHeight}; }""")
            assert box_["w"] >= 0.94 * box_["W"] and box_["h"] >= 0.9 * box_["H"], box_
            no_scroll(board)
            # said aloud (the alert's repeated message said it while the alert lasted)
            board.wait_for_function("() => window.__spoken.some(u => u.text.includes('на інший день'))")
            assert any("Please book another day" in u["text"] for u in spoken(board)), spoken(board)
            shot(board, f"wartime-board-closed-{orientation}")
            run_axe(board, f"board closed early {orientation}")
            # a board that connects now is told the same by its snapshot
            board.reload()
            expect(board.locator("#closed-screen")).to_be_visible()
        after = report_office(proc, office.head)
        assert after["not_served_today"] - before["not_served_today"] == 3, (before, after)
    finally:
        for c in contexts:
            c.close()
    assert errors == []
