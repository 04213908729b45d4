"""Pairing in the browser (issue 14.2): a kiosk opened with no token shows a code and a QR, the head approves it over
HTTP, the kiosk takes its token by itself and shows its services; the head's "Пристрої / Devices" panel approves a
desk console by its code, lists the devices with their last contact and revokes one (the console pairs again); a hall
board stays public and shows its code small. Real Chromium against a real ``cherga serve``; axe on every screen;
screenshots (pairing-*) in landscape and portrait.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright import sync_api
from server import ServerProcess
from test_pages import http, run_axe, shot

from cherga.displays.auth import PAIRING_ALPHABET

expect = sync_api.expect

OFFICE = "main"
DESK = "main-03"
ORIENTATIONS = {"landscape": (1920, 1080), "portrait": (1080, 1920)}
CODE = re.compile(f"^[{PAIRING_ALPHABET}]{{3}} [{PAIRING_ALPHABET}]{{3}}$")


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    p = ServerProcess(tmp_path_factory.mktemp("pairing-pages") / "data").start()
    try:
        yield p
    finally:
        p.stop()


def context(browser: Any, orientation: str, items: dict[str, str] | None = None) -> Any:
    w, h = ORIENTATIONS[orientation]
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="uk-UA", has_touch=True)
    ctx.set_default_timeout(15_000)
    ctx.add_init_script(f"for (const [k, v] of Object.entries({json.dumps({'cherga.lang': 'uk', **(items or {})})})) "
                        "localStorage.setItem(k, v);")
    return ctx


def shown_code(page: Any) -> str:
    code = page.locator("#pair-code")
    expect(code).to_have_text(CODE)
    return str(code.get_attribute("data-code"))


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_kiosk_pairs_itself_once_the_head_approves(browser: Any, proc: ServerProcess, orientation: str) -> None:
    ctx = context(browser, orientation)
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{proc.url}/kiosk/{OFFICE}")
        dialog = page.locator("dialog#pairing[open]")
        expect(dialog).to_be_visible()
        code = shown_code(page)
        expect(page.locator("#pair-qr svg")).to_be_visible()
        expect(dialog).to_contain_text("Покажіть цей код керівнику центру")
        expect(dialog).to_contain_text("Show this code to the head of the centre")
        expect(page.locator("#pair-have-token")).to_be_focused()  # the keyboard's way to the typed-token form
        box = page.locator("#pair-code").bounding_box()
        assert box is not None and box["height"] >= 60, box  # readable from across the room
        qr = page.locator("#pair-qr svg").bounding_box()
        assert qr is not None and qr["width"] >= 250, qr
        _, h = ORIENTATIONS[orientation]
        assert page.evaluate("document.documentElement.scrollHeight") <= h + 1
        run_axe(page, f"kiosk pairing {orientation}")
        shot(page, f"pairing-kiosk-{orientation}")

        head = proc.token("head", OFFICE)
        status, device = http(proc, "POST", f"/api/v1/pairings/{code}/approve", {"role": "kiosk"}, head)
        assert status == 200, device
        expect(dialog).to_have_count(0)
        expect(page.locator("[data-sphere]").first).to_be_visible()  # the kiosk's services, by itself
        stored = page.evaluate(f"localStorage.getItem('cherga.token.kiosk.{OFFICE}')")
        assert stored and len(stored) > 20
        status, _ = http(proc, "GET", f"/api/v1/pairings/{code}")
        assert status == 404  # the page took it; nobody else can
        page.reload()
        expect(page.locator("[data-sphere]").first).to_be_visible()
        page.wait_for_timeout(500)
        expect(page.locator("dialog[open]")).to_have_count(0)  # kept: no code on the next start
        run_axe(page, f"kiosk paired {orientation}")
        shot(page, f"pairing-kiosk-paired-{orientation}")
        assert errors == []
    finally:
        ctx.close()


def test_an_expired_code_is_replaced(browser: Any, proc: ServerProcess) -> None:
    ctx = context(browser, "landscape")
    page = ctx.new_page()
    try:
        page.clock.install()
        page.goto(f"{proc.url}/rate/exit/{OFFICE}")
        first = shown_code(page)
        page.clock.fast_forward("10:30")  # past the code's ten minutes
        expect(page.locator("#pair-code")).not_to_have_attribute("data-code", first)
        second = shown_code(page)
        assert second != first
    finally:
        ctx.close()


def test_head_pairs_a_desk_console_lists_and_revokes_it(browser: Any, proc: ServerProcess) -> None:
    head = proc.token("head", OFFICE)
    ctx = context(browser, "landscape", {f"cherga.token.head.{OFFICE}": head})
    errors: list[str] = []
    try:
        console = ctx.new_page()
        console.on("pageerror", lambda e: errors.append(str(e)))
        console.goto(f"{proc.url}/desk/{DESK}")
        code = shown_code(console)

        dash = ctx.new_page()
        dash.on("pageerror", lambda e: errors.append(str(e)))
        dash.goto(f"{proc.url}/head/{OFFICE}?pair={code}")  # as the screen's QR opens it
        panel = dash.locator("#devices-panel")
        expect(panel).to_be_visible()
        expect(dash.locator("#pair-code")).to_have_value(code)
        expect(dash.locator("#pair-role")).to_be_focused()
        dash.locator("#pair-role").select_option("desk")
        approve = dash.locator("#pair-approve")
        approve.click()
        expect(dash.locator("#pair-error")).to_contain_text("вікно")  # a desk console needs its desk
        dash.locator("#pair-desk").select_option(DESK)
        approve.click()
        expect(dash.locator("#pair-result")).to_contain_text("підключено")

        expect(console.locator("dialog#pairing")).to_have_count(0)
        expect(console.locator("#desk-status")).to_be_visible()  # the console works by itself
        _, devices = http(proc, "GET", f"/api/v1/offices/{OFFICE}/devices", token=head)
        desk_dev = next(d for d in devices if d["role"] == "desk" and d["desk"] == DESK)
        row = dash.locator(f"tr[data-device='{desk_dev['id']}']")
        dash.evaluate("window.scrollTo(0, 0)")
        dash.reload()
        expect(row).to_be_visible()
        expect(row).to_contain_text("Пульт вікна")
        expect(row.locator(".seen")).not_to_have_text("ще не було")  # the console has called in
        run_axe(dash, "head devices panel")
        panel.scroll_into_view_if_needed()
        shot(dash, "pairing-head-devices")

        # revoke, with a confirmation, by keyboard
        dash.locator(f"#revoke-{desk_dev['id']}").focus()
        dash.keyboard.press("Enter")
        yes = dash.locator(f"#revoke-yes-{desk_dev['id']}")
        expect(yes).to_be_focused()
        run_axe(dash, "head revoke confirmation")
        shot(dash, "pairing-head-revoke-confirm")
        dash.keyboard.press("Enter")
        expect(row).to_have_count(0)
        expect(dash.locator("#pair-result")).to_contain_text("відкликано")

        # the console's next poll is refused: it shows a new code, with the server's reason
        expect(console.locator("dialog#pairing[open]")).to_be_visible()
        expect(console.locator("#pair-message")).to_contain_text("revoked")
        shot(console, "pairing-desk-revoked")
        run_axe(console, "desk console after revocation")
        assert errors == []
    finally:
        ctx.close()


def test_board_stays_public_and_pairs_in_its_header(browser: Any, proc: ServerProcess) -> None:
    head = proc.token("head", OFFICE)
    for orientation in ORIENTATIONS:
        ctx = context(browser, orientation)
        page = ctx.new_page()
        try:
            page.goto(f"{proc.url}/board/{OFFICE}")
            expect(page.locator("#calls-h")).to_be_visible()  # the hall's board works with no token
            badge = page.locator("#screen-pair strong")
            expect(badge).to_have_text(CODE)
            run_axe(page, f"board with its pairing code {orientation}")
            shot(page, f"pairing-board-{orientation}")
            if orientation == "portrait":
                code = str(badge.get_attribute("data-code"))
                status, _ = http(proc, "POST", f"/api/v1/pairings/{code}/approve", {"role": "board"}, head)
                assert status == 200
                expect(page.locator("#screen-pair")).to_be_hidden()
                token = page.evaluate(f"localStorage.getItem('cherga.token.board.{OFFICE}')")
                assert token
                status, devices = http(proc, "GET", f"/api/v1/offices/{OFFICE}/devices", token=head)
                board = next(d for d in devices if d["role"] == "board")
                status, _ = http(proc, "DELETE", f"/api/v1/devices/{board['id']}", token=head)
                assert status == 204
                # its websocket closes (4001), it forgets the token and shows a new code, still a board
                expect(badge).to_have_text(CODE)
                assert page.evaluate(f"localStorage.getItem('cherga.token.board.{OFFICE}')") is None
                expect(page.locator("#calls-h")).to_be_visible()
        finally:
            ctx.close()
