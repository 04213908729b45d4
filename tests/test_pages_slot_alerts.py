"""The booking page's "Повідомити, коли звільниться час" in a real browser (#18.4): no free time on the chosen date
offers it; a tap asks the Notification permission (granted to the context), subscribes the service worker (scope
/book/) and shows the subscription with its place in the list; a booking cancelled then frees a slot, the service
pushes it to the test's push-service receiver (VAPID checked, RFC 8291 decrypted: ``test_push``), the decrypted
message is handed to the page's service worker as the browser's push service would (CDP
``ServiceWorker.deliverPushMessage``) and the browser shows it; its link opens the booking page with the held slot
chosen and the hold's time left; booking it works; the booked screen offers the reminder the day before.

What stands in for what: headless Chromium has no push service (``PushManager.subscribe`` cannot reach one), so an
init script gives the page a ``PushSubscription`` whose endpoint is the receiver and whose keys are a browser's
made in this test; everything else (the page, sw.js, the service, pywebpush, the receiver) is real. axe-core on each
state; screenshots (phone portrait 390x844, desktop landscape 1366x768) in
``test-artifacts/screenshots/slot-alerts-*``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright import sync_api
from server import ServerProcess
from test_pages import run_axe, shot, tab_to
from test_push import Receiver

expect = sync_api.expect
KYIV = ZoneInfo("Europe/Kyiv")
OFFICE = "main"
SERVICE = "passport-id-card"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
TIMEOUT_MS = 15_000

# the browser's push service, which headless Chromium lacks: a subscription the receiver can decrypt for
PUSH = """
(() => {
  const SUB = %s;
  let current = null;
  window.__push = { asked: 0, key: null };
  const made = {
    endpoint: SUB.endpoint, expirationTime: null, toJSON: () => SUB,
    unsubscribe: async () => { current = null; return true; },
  };
  PushManager.prototype.subscribe = async function (opts) {
    window.__push.asked += 1;
    const key = new Uint8Array(opts.applicationServerKey);
    window.__push.key = btoa(String.fromCharCode(...key)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
    current = made;
    return made;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


def next_monday(hour: int) -> datetime:
    today = datetime.now(KYIV).date()
    day = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    return datetime(day.year, day.month, day.day, hour, tzinfo=KYIV)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    before = os.environ.get("CHERGA_PUSH_ALLOW_HTTP")
    os.environ["CHERGA_PUSH_ALLOW_HTTP"] = r.origin
    try:
        yield r
    finally:
        r.close()
        if before is None:
            os.environ.pop("CHERGA_PUSH_ALLOW_HTTP", None)
        else:
            os.environ["CHERGA_PUSH_ALLOW_HTTP"] = before


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[tuple[ServerProcess, datetime]]:
    """One ``cherga serve`` for the module, its clock at next Monday 08:00; the tests use services of their own."""
    monday = next_monday(8)
    proc = ServerProcess(tmp_path_factory.mktemp("slot-pages") / "data",
                         extra=["--time-offset", f"{monday.timestamp() - time.time():.3f}"])
    proc.start(timeout=60)
    receiver.server_key = httpx.get(f"{proc.url}/api/v1/push/key").json()["public_key"]
    try:
        yield proc, monday
    finally:
        proc.stop()


def wait_for(what: str, check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def shown(page: Any, tag: str) -> list[list[str]]:
    return page.evaluate(  # type: ignore[no-any-return]
        """async (tag) => {
            const reg = await navigator.serviceWorker.getRegistration('/book/');
            return reg ? (await reg.getNotifications({ tag })).map((n) => [n.title, n.body]) : [];
        }""", tag)


def test_subscribe_be_told_open_the_held_slot_and_book_it(browser: Any, served: tuple[ServerProcess, datetime],
                                                           receiver: Receiver) -> None:
    proc, monday = served
    sunday = (monday + timedelta(days=6)).date().isoformat()  # closed on Sundays: no free time
    after = (monday + timedelta(days=7)).date()  # the Monday after: its 10:00 frees
    head = proc.auth("head", OFFICE)
    ten = f"{after.isoformat()}T10:00:00+02:00"
    booked = httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments", json={"service": SERVICE, "start": ten},
                        headers=head)
    assert booked.status_code == 201, booked.text
    phone = receiver.browser("phone")
    ctx = browser.new_context(viewport=PHONE, locale="uk-UA", has_touch=True, is_mobile=True, device_scale_factor=2)
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.grant_permissions(["notifications"], origin=proc.url)
    ctx.add_init_script("localStorage.setItem('cherga.lang', 'uk');")
    ctx.add_init_script(PUSH % json.dumps(phone.subscription(receiver.origin)))
    errors: list[str] = []
    try:
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{proc.url}/book/{OFFICE}")
        expect(page.locator(f'#service option[value="{SERVICE}"]')).to_have_count(1)
        page.locator("#service").select_option(SERVICE)
        page.locator("#date").fill(sunday)
        page.locator("#show-slots").click()
        offer = page.locator("#salert-offer")
        expect(offer).to_contain_text("Немає вільного часу?")
        button = page.locator("#salert-subscribe")
        expect(button).to_have_accessible_name("Повідомити, коли звільниться час")
        expect(page.locator("#salert-help")).to_contain_text("10\u00a0хв")
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44, box  # a finger's target
        expect(page.locator("#salert-to")).to_have_value((monday + timedelta(days=12)).date().isoformat())
        assert page.evaluate("() => window.__push.asked") == 0, "nothing is asked before the tap"
        run_axe(page, "booking page, slot alert offered")
        shot(page, "slot-alerts-offer-phone")

        button.tap()
        watching = page.locator("#salert-on")
        expect(watching).to_contain_text("Ви чекаєте на вільний час")
        expect(watching).to_contain_text("Ваше місце у списку: 1")
        expect(page.locator("#salert-on-h")).to_be_focused()
        assert page.evaluate("() => window.__push.key") == receiver.server_key, "subscribed with the VAPID key"
        ident = json.loads(page.evaluate(f"() => localStorage.getItem('cherga.slotalerts.{OFFICE}')"))[0]
        got = httpx.get(f"{proc.url}/api/v1/slot-alerts/{ident}").json()
        assert (got["service"], got["from"], got["to"], got["place"]) == (
            SERVICE, sunday, (monday + timedelta(days=12)).date().isoformat(), 1)
        run_axe(page, "booking page, waiting for a slot")
        shot(page, "slot-alerts-waiting-phone")
        page.reload()  # the subscription is shown again on the next visit
        expect(page.locator("#salert-on")).to_contain_text("Ваше місце у списку: 1")

        # the booking is cancelled: the service pushes the freed slot to this browser
        cdp = ctx.new_cdp_session(page)
        regs: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda ev: regs.extend(ev["registrations"]))
        cdp.send("ServiceWorker.enable")
        code = booked.json()["code"]
        assert httpx.post(f"{proc.url}/api/v1/offices/{OFFICE}/appointments/{code}/cancel").status_code == 200
        msg = wait_for("the slot alert at the receiver", lambda: phone.messages)[0]
        assert not receiver.errors, receiver.errors
        assert msg["kind"] == "slot" and msg["start"] == ten and msg["url"].startswith(f"/book/{OFFICE}?hold=")
        scope = f"{proc.url}/book/"
        reg = None
        for _ in range(100):  # the CDP events arrive while Playwright talks to the browser
            reg = next((r["registrationId"] for r in regs if r["scopeURL"] == scope and not r["isDeleted"]), None)
            if reg:
                break
            page.wait_for_timeout(100)
        assert reg, f"no service worker registered for {scope}: {regs}"
        data = {k: v for k, v in msg.items() if not k.startswith("_")}
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": proc.url, "registrationId": reg,
                                                        "data": json.dumps(data, ensure_ascii=False)})
        note: list[list[str]] = []
        for _ in range(100):
            note = shown(page, msg["tag"])
            if note:
                break
            page.wait_for_timeout(100)
        assert note == [[msg["title"], msg["body"]]]
        assert msg["title"].startswith("Звільнився час:") and "10:00" in msg["title"]
        until = datetime.fromisoformat(msg["until"]).strftime("%H:%M")

        # the link (the notification's click opens it): the held slot chosen, the time left said
        desk_ctx = browser.new_context(viewport=DESKTOP, locale="uk-UA")
        try:
            desk_ctx.add_init_script("localStorage.setItem('cherga.lang', 'uk');")
            wide = desk_ctx.new_page()
            wide.goto(f"{proc.url}{msg['url']}")
            expect(wide.locator("#held-until")).to_contain_text(f"тримаємо до {until}")
            expect(wide.locator("#confirm")).to_be_visible()
            run_axe(wide, "booking page, held slot, desktop")
            shot(wide, "slot-alerts-held-desktop")
        finally:
            desk_ctx.close()
        page.goto(f"{proc.url}{msg['url']}")
        held = page.locator("#held")
        expect(held).to_contain_text("Цей час тримаємо для вас")
        left = re.compile(rf"10:00 — тримаємо до {until} \(ще (9|10)\u00a0хв\)")
        expect(page.locator("#held-until")).to_contain_text(left)
        expect(page.locator("#service")).to_have_value(SERVICE)
        expect(page.locator("#date")).to_have_value(after.isoformat())
        chosen = page.locator('#slots button[aria-pressed="true"]')
        expect(chosen).to_have_text("10:00")
        expect(page.locator("#salert-on")).to_contain_text("Для вас звільнився час")
        run_axe(page, "booking page, held slot")
        shot(page, "slot-alerts-held-phone")
        # another visitor does not see it
        public = httpx.get(f"{proc.url}/api/v1/offices/{OFFICE}/slots",
                           params={"service": SERVICE, "date": after.isoformat()}).json()
        assert ten not in [s["start"] for s in public]

        expect(page.locator("#held-book")).to_have_accessible_name("Записатися на 10:00")
        page.locator("#held-book").tap()  # the hold's own button, at the top of the page
        expect(page.locator("#done-h")).to_be_focused()
        expect(page.locator("#code")).to_have_text(re.compile(r"^[A-Z0-9]{6}$"))
        assert httpx.get(f"{proc.url}/api/v1/slot-alerts/{ident}").status_code == 404, "booked: off the list"
        remind = page.locator("#remind-me")
        expect(remind).to_have_accessible_name("Нагадати напередодні")
        expect(page.locator("#remind-help")).to_contain_text("18:00")
        run_axe(page, "booking page, booked from a held slot")
        remind.tap()
        expect(page.locator("#remind-on")).to_contain_text("о 18:00")
        expect(page.locator("#remind-on")).to_be_focused()
        run_axe(page, "booking page, reminder set")
        shot(page, "slot-alerts-booked-phone")
        assert not errors, errors
    finally:
        ctx.close()


def test_the_offer_in_english_on_a_desktop(browser: Any, served: tuple[ServerProcess, datetime],
                                           receiver: Receiver) -> None:
    """English, the page's second language; a desktop in landscape; the keyboard alone reaches the button."""
    proc, monday = served
    sunday = monday + timedelta(days=6)
    service = "residence-registration"  # not the other test's: its list is its own
    ctx = browser.new_context(viewport=DESKTOP, locale="en-GB")
    ctx.grant_permissions(["notifications"], origin=proc.url)
    ctx.add_init_script("localStorage.setItem('cherga.lang', 'en');")
    ctx.add_init_script(PUSH % json.dumps(receiver.browser("desk").subscription(receiver.origin)))
    try:
        page = ctx.new_page()
        page.goto(f"{proc.url}/book/{OFFICE}")
        expect(page.locator(f'#service option[value="{SERVICE}"]')).to_have_count(1)
        page.locator("#service").select_option(service)
        page.locator("#date").fill(sunday.date().isoformat())
        page.locator("#show-slots").click()
        button = page.locator("#salert-subscribe")
        expect(button).to_have_accessible_name("Tell me when a slot frees")
        page.locator("#salert-to").focus()
        tab_to(page, "#salert-subscribe", limit=8)  # past the date field's day, month and year
        run_axe(page, "booking page in English, slot alert offered")
        shot(page, "slot-alerts-offer-desktop-en")
        page.keyboard.press("Enter")
        expect(page.locator("#salert-on")).to_contain_text("Your place in the list: 1")
        assert httpx.get(f"{proc.url}/api/v1/offices/{OFFICE}/slots",
                         params={"service": service, "date": sunday.date().isoformat()}).json() == []
        page.locator("[id^=salert-stop-]").click()
        expect(page.locator("#salert-said")).to_have_text("Free-slot notifications are off.")
        expect(page.locator("#salert-on")).to_have_count(0)
        run_axe(page, "booking page in English, slot alert stopped")
        # a push's link opened after its hold lapsed (or a token never made): said plainly
        page.goto(f"{proc.url}/book/{OFFICE}?hold=lapsed-or-unknown")
        expect(page.locator("#held-lapsed")).to_have_text(
            "The time held for you has passed to the next in the list. Choose another time.")
        run_axe(page, "booking page in English, a lapsed hold")
        # booked for today: the reminder's hour (18:00 yesterday) has passed, and the page says so in English
        page.locator("#service").select_option(service)
        page.locator("#date").fill(monday.date().isoformat())
        page.locator("#show-slots").click()
        page.locator("#slot-0").click()
        page.locator("#confirm").click()
        expect(page.locator("#done-h")).to_be_focused()
        page.locator("#remind-me").click()
        expect(page.locator("#remind-error")).to_have_text(
            "Reminders go the day before at 18:00, and that time has passed: the visit is very soon. "
            "Keep the booking code.")
        run_axe(page, "booking page in English, booked for today, no reminder")
    finally:
        ctx.close()
