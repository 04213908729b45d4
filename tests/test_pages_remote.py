"""Join from the phone (#18.3) in Chromium: "Стати в чергу зараз / Join the queue now" on the booking page gives a
remote ticket whose page says the place is held and by when to check in; the kiosk checks it in by number; a
second remote ticket checks in by the entrance QR code the kiosk shows (the phone opens its address). Screenshots:
phone portrait (booking, ticket held, ticket checked in), kiosk landscape and portrait (check-in with the entrance
QR code, checked in). axe: 0 violations on each page, in Ukrainian and in English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright import sync_api
from server import ServerProcess
from test_pages_visitor import SHOTS, TIMEOUT_MS, run_axe
from test_remote_http import remote_config

expect = sync_api.expect
OFFICE = "main"
PHONE = {"width": 390, "height": 844}
LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("pages-remote")
    proc = ServerProcess(tmp / "data", extra=["--config", str(remote_config(tmp))]).start()
    yield proc
    proc.kill()  # a temporary journal: no need to wait for a graceful shutdown


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"remote-{name}.png"), full_page=True)


def busy_desk(srv: ServerProcess) -> tuple[str, str]:
    """One open desk of the main office, busy with a visitor, and its first service: a wait longer than none."""
    offices = {o["id"]: o for o in httpx.get(f"{srv.url}/api/v1/offices").json()}
    head = srv.auth("head", OFFICE)
    desk = offices[OFFICE]["desks"][0]
    service = sorted(desk["services"])[0]
    for d in offices[OFFICE]["desks"]:
        httpx.post(f"{srv.url}/api/v1/desks/{d['id']}/close", headers=head)
    assert httpx.post(f"{srv.url}/api/v1/desks/{desk['id']}/open", headers=head).status_code == 200
    r = httpx.post(f"{srv.url}/api/v1/offices/{OFFICE}/tickets", json={"service": service}, headers=head)
    assert r.status_code == 201
    assert httpx.post(f"{srv.url}/api/v1/desks/{desk['id']}/call-next", headers=head).status_code == 200
    return desk["id"], service


def phone(browser: Any, lang: str = "uk") -> Any:
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                              locale="uk-UA" if lang == "uk" else "en-GB")
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.add_init_script(f"localStorage.setItem('cherga.lang', '{lang}');")
    return ctx


def kiosk(browser: Any, srv: ServerProcess, viewport: dict[str, int]) -> Any:
    ctx = browser.new_context(viewport=viewport, locale="uk-UA")
    ctx.set_default_timeout(TIMEOUT_MS)
    token = srv.token("kiosk", OFFICE)
    ctx.add_init_script(f"localStorage.setItem('cherga.token.kiosk.{OFFICE}', '{token}');"
                        "localStorage.setItem('cherga.lang', 'uk');")
    return ctx


def join(ctx: Any, srv: ServerProcess, service: str, name: str | None) -> tuple[Any, str]:
    """Open the booking page, join the queue now; returns the ticket page and the ticket's id."""
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{srv.url}/book/{OFFICE}")
    section = page.locator("#join")
    expect(section).to_be_visible()
    expect(page.locator("#join-h")).to_have_text(re.compile("Стати в чергу зараз|Join the queue now"))
    page.select_option("#join-service", service)
    if name:
        run_axe(page, f"booking page with join ({name})")
        shot(page, f"book-join-{name}")
    page.click("#join-submit")
    page.wait_for_url(re.compile(r"/t/[0-9a-f]+$"))
    expect(page.locator("#ticket-remote")).to_be_visible()
    assert not errors, errors
    return page, page.url.rsplit("/", 1)[1]


def test_join_from_the_booking_page_and_check_in_at_the_kiosk(browser: Any, srv: ServerProcess) -> None:
    desk, service = busy_desk(srv)

    ctx = phone(browser)
    page, tid = join(ctx, srv, service, "phone-uk")
    held = httpx.get(f"{srv.url}/api/v1/tickets/{tid}").json()
    assert held["status"] == "remote"
    expect(page.locator("#ticket-status")).to_have_text("Місце в черзі тримається")
    by = re.search(r"T(\d\d:\d\d)", held["check_in_by"]).group(1)  # type: ignore[union-attr]
    expect(page.locator("#remote-by")).to_contain_text(by)
    expect(page.locator("#remote-qr svg")).to_be_visible()
    run_axe(page, "phone ticket, remote (uk)")
    shot(page, "phone-held-uk")
    # a second join from the same browser: the server refuses, the page offers this ticket instead
    page.goto(f"{srv.url}/book/{OFFICE}")
    page.select_option("#join-service", service)
    page.click("#join-submit")
    expect(page.locator("#join-error")).to_be_visible()
    expect(page.locator("#join-mine")).to_have_attribute("href", f"/t/{tid}")

    # the kiosk, landscape: "I joined from my phone" -> the number -> checked in, in the place it had
    kctx = kiosk(browser, srv, LANDSCAPE)
    k = kctx.new_page()
    k.goto(f"{srv.url}/kiosk/{OFFICE}")
    k.click("#remote")
    expect(k.locator("#entrance-qr svg")).to_be_visible()
    run_axe(k, "kiosk remote check-in (landscape)")
    shot(k, "kiosk-checkin-landscape")
    k.fill("#remote-ticket", held["number"])
    k.click("#remote-form button[type=submit]")
    expect(k.locator("#checked-number")).to_have_text(held["number"])
    run_axe(k, "kiosk checked in (landscape)")
    shot(k, "kiosk-checked-landscape")
    assert httpx.get(f"{srv.url}/api/v1/tickets/{tid}").json()["status"] == "waiting"
    page.goto(f"{srv.url}/t/{tid}")
    expect(page.locator("#remote-checked")).to_be_visible()
    shot(page, "phone-checked-uk")
    kctx.close()

    # a second phone, in English: joins, then opens the entrance QR code's address from the kiosk (portrait)
    ctx2 = phone(browser, "en")
    page2, tid2 = join(ctx2, srv, service, "phone-en")
    expect(page2.locator("#ticket-status")).to_have_text("Place held in the queue")
    run_axe(page2, "phone ticket, remote (en)")
    shot(page2, "phone-held-en")
    # its turn comes while it is away: the first ticket (checked in) is called, then one who joined after it
    head = srv.auth("head", OFFICE)
    behind = httpx.post(f"{srv.url}/api/v1/offices/{OFFICE}/tickets", json={"service": service}, headers=head).json()
    for _ in range(3):
        httpx.post(f"{srv.url}/api/v1/desks/{desk}/finish", headers=head)
        called = httpx.post(f"{srv.url}/api/v1/desks/{desk}/call-next", headers=head).json()
        if called["id"] == behind["id"]:
            break
    assert called["id"] == behind["id"]
    page2.reload()
    expect(page2.locator("#remote-passed")).to_contain_text("Your turn has come")
    run_axe(page2, "phone ticket, remote, turn passed (en)")
    shot(page2, "phone-passed-en")
    kctx = kiosk(browser, srv, PORTRAIT)
    k = kctx.new_page()
    k.goto(f"{srv.url}/kiosk/{OFFICE}")
    k.click("#remote")
    expect(k.locator("#entrance-qr svg")).to_be_visible()
    shot(k, "kiosk-checkin-portrait")  # the same page as in landscape, which axe checked
    code = httpx.get(f"{srv.url}/api/v1/offices/{OFFICE}/entrance", headers=srv.auth("kiosk", OFFICE)).json()
    page2.goto(f"{srv.url}{code['url']}")  # what the phone's camera opens
    page2.wait_for_url(re.compile(rf"/t/{tid2}$"))
    expect(page2.locator("#remote-checked")).to_be_visible()
    assert httpx.get(f"{srv.url}/api/v1/tickets/{tid2}").json()["status"] == "waiting"
    run_axe(page2, "phone ticket checked in (en)")
    # an old code: the entrance page says to scan again, accessibly
    page2.goto(f"{srv.url}/in/{OFFICE}?k=OLDCODE123")
    expect(page2.locator("#in-error")).to_be_visible()
    run_axe(page2, "entrance page, expired code (en)")
    shot(page2, "phone-entrance-expired-en")
    kctx.close()
    ctx.close()
    ctx2.close()


def test_shots_are_written() -> None:
    names = ["book-join-phone-uk", "phone-held-uk", "kiosk-checkin-landscape", "kiosk-checked-landscape",
             "phone-checked-uk", "phone-held-en", "phone-passed-en", "kiosk-checkin-portrait"]
    for n in names:
        assert (Path(SHOTS) / f"remote-{n}.png").stat().st_size > 5_000, n
