"""The phone page's alerts in a real browser (issue 18, points 1 and 6): the permission is asked at a tap on
"Сповістити мене", never on load; a notification, a vibration and a chime when the ticket is the office's
``notify_ahead`` (3) from the front and when it is called, the second with the page in a background tab; the text
names the ticket and the desk; and the page says plainly that its data may be stale while the service is down, and
stops saying so when it is back.

Real ``cherga serve`` of its own (demo network; stopped and started again on the same port), real Chromium with the
Notification permission granted (``context.grant_permissions``). What is observed, not replaced: an init script
wraps ``Notification.requestPermission``, ``ServiceWorkerRegistration.prototype.showNotification``, the
``Notification`` constructor, ``navigator.vibrate`` and ``AudioContext.prototype.createOscillator`` so that each
call is recorded and then passed on to the browser's own. axe-core on each state; screenshots at 390x844 in
``test-artifacts/screenshots/phone-alerts-*``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright import sync_api
from server import ServerProcess
from test_pages import http, run_axe, shot

from cherga.displays.push import message

expect = sync_api.expect

OFFICE = "main"
DESK = "main-01"  # number "1"
SERVICE = "passport-id-card"
PHONE = (390, 844)
TIMEOUT_MS = 15_000

# before any script of the page: record each alert the page asks the browser for, then let the browser do it
RECORD = """
window.__alerts = { asked: 0, notes: [], vibrations: [], tones: 0 };
(() => {
  const A = window.__alerts;
  if (window.Notification) {
    const Native = window.Notification;
    const ask = Native.requestPermission.bind(Native);
    class Recorded extends Native {
      constructor(title, opts = {}) {
        A.notes.push({ via: 'page', title, body: opts.body, tag: opts.tag });
        super(title, opts);
      }
    }
    Recorded.requestPermission = (...args) => { A.asked += 1; return ask(...args); };
    Object.defineProperty(Recorded, 'permission', { get: () => Native.permission });
    window.Notification = Recorded;
  }
  if (window.ServiceWorkerRegistration) {
    const show = ServiceWorkerRegistration.prototype.showNotification;
    ServiceWorkerRegistration.prototype.showNotification = function (title, opts = {}) {
      const note = { via: 'worker', title, body: opts.body, tag: opts.tag, settled: null };
      A.notes.push(note);
      return show.call(this, title, opts).then(
        (v) => { note.settled = 'shown'; return v; }, (e) => { note.settled = String(e); throw e; });
    };
  }
  const vibrate = navigator.vibrate ? navigator.vibrate.bind(navigator) : () => false;
  navigator.vibrate = (p) => { A.vibrations.push(p); return vibrate(p); };
  if (window.AudioContext) {
    const osc = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function () { A.tones += 1; return osc.call(this); };
  }
})();
"""


@pytest.fixture(scope="module")
def phone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("phone") / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


class Desk:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.head = server.token("head", OFFICE)

    def issue(self) -> dict[str, Any]:
        status, t = http(self.server, "POST", f"/api/v1/offices/{OFFICE}/tickets", {"service": SERVICE}, self.head)
        assert status == 201, t
        return t  # type: ignore[no-any-return]

    def do(self, action: str, body: Any = None) -> Any:
        status, out = http(self.server, "POST", f"/api/v1/desks/{DESK}/{action}", body, self.head)
        assert status == 200, (action, status, out)
        return out

    def call(self, number: str) -> None:
        assert self.do("call-next")["number"] == number

    def next(self, number: str) -> None:
        self.do("finish", {"outcome": "served"})
        self.call(number)


HIDE = """() => {
  for (const [k, v] of [['visibilityState', 'hidden'], ['hidden', true]]) {
    Object.defineProperty(document, k, { configurable: true, get: () => v });
  }
  document.dispatchEvent(new Event('visibilitychange'));
}"""
SHOW = """() => {
  delete document.visibilityState;
  delete document.hidden;
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def shown(page: Any, tag: str) -> list[list[str]]:
    """The notifications the browser shows under ``tag`` (title, body), as its service worker registration has
    them."""
    return page.evaluate(  # type: ignore[no-any-return]
        """async (tag) => {
            const reg = await navigator.serviceWorker.getRegistration('/t/');
            return reg ? (await reg.getNotifications({ tag })).map((n) => [n.title, n.body]) : [];
        }""", tag)


def wait_shown(page: Any, tag: str, timeout: float = 10.0) -> list[list[str]]:
    # headless Chromium sometimes closes a notification as soon as it is shown (then getNotifications lists
    # nothing); showNotification's promise resolving is the browser's own word that it was shown
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = shown(page, tag)
        if got:
            return got
        calls = page.evaluate("() => window.__alerts ? JSON.parse(JSON.stringify(window.__alerts.notes)) : []")
        done = [n for n in calls if n.get("tag") == tag and n.get("settled")]
        if done:
            assert done[-1]["settled"] == "shown", f"the browser refused the notification: {done[-1]}"
            if time.monotonic() > deadline - timeout + 2.0:  # listed within 2 s, or taken at its word
                return [[done[-1]["title"], done[-1]["body"]]]
        page.wait_for_timeout(100)
    pytest.fail(f"the browser shows no notification tagged {tag}")


def alerts(page: Any) -> dict[str, Any]:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.__alerts))")  # type: ignore[no-any-return]


def wait_alerts(page: Any, what: str, check: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = alerts(page)
        if check(got):
            return got
        page.wait_for_timeout(100)
    pytest.fail(f"timed out waiting for {what}: {json.dumps(alerts(page), ensure_ascii=False)}")


def test_alerts_at_n_ahead_and_at_the_call_and_the_stale_notice(browser: Any, phone_server: ServerProcess) -> None:
    server = phone_server
    desk = Desk(server)
    tickets = [desk.issue() for _ in range(5)]
    mine = tickets[4]
    ctx = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, locale="uk-UA", has_touch=True,
                              is_mobile=True, device_scale_factor=2)
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.grant_permissions(["notifications"], origin=server.url)
    ctx.add_init_script("localStorage.setItem('cherga.lang', 'uk');")
    ctx.add_init_script(RECORD)
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server.url}/t/{mine['id']}")
        expect(page.locator("#ticket-position")).to_have_text("5")
        button = page.locator("#notify-me")
        expect(button).to_have_accessible_name("Сповістити мене")
        expect(page.locator("#alerts-offer")).to_contain_text("3 або менше")
        page.wait_for_timeout(500)
        assert alerts(page)["asked"] == 0, "the permission was asked on load, not at a tap"
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, box  # a finger's target
        run_axe(page, "phone page, alerts offered")
        shot(page, "phone-alerts-offer")

        button.tap()
        expect(page.locator("#alerts-state")).to_contain_text("Сповіщення увімкнено")
        expect(page.locator("#alerts-state")).to_be_focused()
        got = alerts(page)
        assert got["asked"] == 1 and got["notes"] == [], got
        # Web Push: headless Chromium has no push service to subscribe with, so the page must say where alerts
        # will come (or, where it can subscribe, that they reach a locked phone)
        expect(page.locator("#alerts-push")).to_have_text(re.compile("заблокований телефон"))
        tones_before = got["tones"]

        desk.do("open")
        desk.call(tickets[0]["number"])  # three ahead of mine now: N
        expect(page.locator("#ticket-position")).to_have_text("4")
        got = wait_alerts(page, "the near notification", lambda a: len(a["notes"]) >= 1)
        near = got["notes"][0]
        assert mine["number"] in near["title"] and "скоро" in near["title"], near
        assert "Перед вами — 3" in near["body"], near
        assert near["tag"] == f"cherga-{mine['number']}-near"
        assert near["via"] == "worker", near  # through the service worker, as a phone's Chrome requires
        assert wait_shown(page, near["tag"]) == [[near["title"], near["body"]]], "the browser did not show it"
        assert got["vibrations"] and got["tones"] > tones_before, got
        run_axe(page, "phone page, alerts on")
        shot(page, "phone-alerts-on")

        desk.next(tickets[1]["number"])  # two ahead, then one: no second "near"
        desk.next(tickets[2]["number"])
        expect(page.locator("#ticket-position")).to_have_text("2")
        page.wait_for_timeout(500)
        assert len(alerts(page)["notes"]) == 1

        # the service goes away: the page says its data may be stale, then stops saying so when it is back
        server.stop()
        stale = page.locator("#ticket-stale")
        expect(stale).to_contain_text("Дані можуть бути застарілими: немає зв’язку з сервером черги",
                                      timeout=TIMEOUT_MS)
        run_axe(page, "phone page, stale")
        shot(page, "phone-alerts-stale")
        server.start()
        expect(stale).to_have_text("", timeout=30_000)
        expect(page.locator("#alerts-live")).to_have_text("Зв’язок відновлено — дані актуальні.")

        # a background tab: another page in front, and the ticket's page told it is hidden (headless Chromium keeps
        # every tab "visible": bring_to_front, window.open and a minimised window all leave it so)
        other = ctx.new_page()
        other.goto(f"{server.url}/")
        other.bring_to_front()
        page.evaluate(HIDE)
        assert page.evaluate("() => document.hidden") is True
        desk.next(tickets[3]["number"])
        desk.next(mine["number"])
        got = wait_alerts(page, "the called notification", lambda a: len(a["notes"]) >= 2)
        called = got["notes"][1]
        assert (mine["number"] in called["title"] and "вікно 1" in called["title"]
                and "пройдіть до вікна 1" in called["body"]), called
        assert called["tag"] == f"cherga-{mine['number']}-called"
        assert len(got["vibrations"]) >= 2
        assert wait_shown(page, called["tag"]) == [[called["title"], called["body"]]]
        page.evaluate(SHOW)
        page.bring_to_front()
        expect(page.locator("#ticket-go")).to_contain_text("1")
        run_axe(page, "phone page, called")
        shot(page, "phone-alerts-called")
        other.close()
        assert not errors, errors
    finally:
        ctx.close()


def test_the_service_worker_shows_a_web_push_message(browser: Any, phone_server: ServerProcess) -> None:
    """The locked phone's half: the browser hands the service worker a push (CDP ServiceWorker.deliverPushMessage,
    as the browser's push service would after decrypting it), and sw.js shows the service's own message."""
    tk = Desk(phone_server).issue()
    ctx = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, locale="en-GB")
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.grant_permissions(["notifications"], origin=phone_server.url)
    ctx.add_init_script("localStorage.setItem('cherga.lang', 'en');")  # English, the page's second language
    try:
        page = ctx.new_page()
        page.goto(f"{phone_server.url}/t/{tk['id']}")
        expect(page.locator("#notify-me")).to_have_accessible_name("Notify me")
        run_axe(page, "phone page in English, alerts offered")
        shot(page, "phone-alerts-offer-en")
        cdp = ctx.new_cdp_session(page)
        regs: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda ev: regs.extend(ev["registrations"]))
        cdp.send("ServiceWorker.enable")
        page.locator("#notify-me").click()
        expect(page.locator("#alerts-push")).to_be_visible()
        page.evaluate("async () => { await navigator.serviceWorker.ready; }")
        scope = f"{phone_server.url}/t/"
        reg = next(r["registrationId"] for r in regs if r["scopeURL"] == scope and not r["isDeleted"])
        msg = message("called", tk["number"], f"/t/{tk['id']}", desk="7")
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": phone_server.url, "registrationId": reg,
                                                        "data": json.dumps(msg, ensure_ascii=False)})
        assert wait_shown(page, msg["tag"]) == [[msg["title"], msg["body"]]]
        assert "вікна 7" in msg["body"] and tk["number"] in msg["title"]
    finally:
        ctx.close()
