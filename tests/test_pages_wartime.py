"""The screens in wartime (issue 15; API.md 1.1 "Wartime"): an air-raid alert sends the hall to the shelter, the
all-clear counts down to the resumption, then the board is back with the queue's order unchanged; the kiosk stops
issuing and shows the shelter's address; the phone page says the place is kept; with the registries down the kiosk
hides the services that need them and the phone tells their waiting visitors.

Real ``cherga serve`` of its own (demo network), real Chromium, real websockets. The only thing stubbed is the
browser's speech output (``speechSynthesis.speak`` records the utterances instead of talking): the test observes that
the board asks for the message, in Ukrainian then English, and asks again while the alert lasts. axe-core on every
screen; screenshots in ``test-artifacts/screenshots/wartime-*``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from playwright import sync_api
from server import ServerProcess
from test_pages import http, run_axe, shot
from test_pages_hall import ORIENTATIONS, Office, tiles

expect = sync_api.expect

OFFICE = "main"
SERVICE = "community-register-extract"  # served by several main desks; needs no registry
REGISTRY_SERVICE = "passport-id-card"  # needs_registry in the demo catalogue
REPEAT_MS = 6000  # the board's spoken alert, again this often (the product's default: every 3 minutes)
TIMEOUT_MS = 15_000

# before any script of the page: the speech output records instead of talking, the alert repeats sooner, and the
# pages that follow the alert by polling ask every second
INIT = f"""
window.__spoken = [];
window.chergaBoardOptions = {{ alertRepeatMs: {REPEAT_MS} }};
window.chergaWartimeOptions = {{ pollMs: 1000 }};
if (window.speechSynthesis) {{
  window.speechSynthesis.speak = (u) => {{
    window.__spoken.push({{ text: u.text, lang: u.lang, at: Date.now() }});
    setTimeout(() => u.onend && u.onend(new Event('end')), 20);
  }};
}}
"""


@pytest.fixture(scope="module")
def war(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("war") / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


class Centre(Office):
    """The office through the API, with the alert and the registries."""

    def alert(self, active: bool, resume_after_min: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"active": active}
        if resume_after_min is not None:
            body["resume_after_min"] = resume_after_min
        status, out = http(self.server, "POST", f"/api/v1/offices/{self.office}/alert", body, self.head)
        assert status == 200, out
        assert out["office"] == self.office and out["active"] is active, out
        return out  # type: ignore[no-any-return]

    def registries(self, available: bool) -> None:
        status, out = http(self.server, "POST", f"/api/v1/offices/{self.office}/registries",
                           {"available": available}, self.head)
        assert status == 200, out

    def normal(self) -> None:
        """No alert, nothing to wait for, registries up: what each test starts from."""
        self.alert(False, 0)
        self.registries(True)
        self.clear()

    def shelter(self, lang: str) -> str:
        _, offices = http(self.server, "GET", "/api/v1/offices")
        o = next(x for x in offices if x["id"] == self.office)
        addr = o.get(f"shelter_address_{lang}") or o.get("shelter_address_uk")
        assert addr, f"the office's listing carries no shelter address: {sorted(o)}"
        return str(addr)

    def waiting_order(self, tickets: list[dict[str, Any]]) -> list[str]:
        """These tickets' numbers by their positions now, as their pages read them."""
        return [t["number"] for t in sorted(tickets, key=lambda t: self.ticket(t["id"])["position"])]

    def ticket(self, tid: str) -> dict[str, Any]:
        status, t = http(self.server, "GET", f"/api/v1/tickets/{tid}")
        assert status == 200, t
        return t  # type: ignore[no-any-return]


def context(browser: Any, size: tuple[int, int], tokens: dict[str, str] | None = None, lang: str = "uk") -> Any:
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="uk-UA", has_touch=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    items = {"cherga.lang": lang, **(tokens or {})}
    ctx.add_init_script(f"for (const [k, v] of Object.entries({json.dumps(items)})) localStorage.setItem(k, v);")
    ctx.add_init_script(INIT)
    return ctx


def open_page(ctx: Any, server: ServerProcess, path: str, errors: list[str]) -> Any:
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(f"{path}: {e}"))
    page.goto(server.url + path)
    return page


def spoken(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("() => window.__spoken.filter(u => u.text.trim())")  # type: ignore[no-any-return]


def hhmm(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%H:%M")


def page_box(page: Any, selector: str) -> dict[str, float]:
    box: dict[str, float] = page.evaluate(f"""() => {{
        const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();
        return {{width: r.width, height: r.height, w: innerWidth, h: innerHeight}};
    }}""")
    return box


def no_scroll(page: Any) -> None:
    dims = page.evaluate("""() => ({sw: document.documentElement.scrollWidth, sh: document.documentElement.scrollHeight,
                                    w: innerWidth, h: innerHeight})""")
    assert dims["sw"] <= dims["w"] + 1 and dims["sh"] <= dims["h"] + 1, f"the screen scrolls: {dims}"


# ------------------------------------------------------------------------------------------ the hall board


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_board_shelter_screen_countdown_and_back(browser: Any, war: ServerProcess, orientation: str) -> None:
    office = Centre(war)
    office.normal()
    mine = [office.issue(SERVICE) for _ in range(4)]
    before = office.waiting_order(mine)
    errors: list[str] = []
    ctx = context(browser, ORIENTATIONS[orientation])
    try:
        board = open_page(ctx, war, f"/board/{OFFICE}", errors)
        expect(board.locator(".conn[data-state='open']")).to_be_visible()
        expect(board.locator("#queue-table")).to_be_visible()
        expect(board.locator("#shelter")).to_be_hidden()
        assert spoken(board) == []

        # the alert: the whole screen sends the hall to the shelter, Ukrainian first, English second
        office.alert(True)
        shelter = board.locator("#shelter")
        expect(shelter).to_be_visible()
        addr_uk, addr_en = office.shelter("uk"), office.shelter("en")
        expect(shelter.locator(".shelter-uk")).to_contain_text("Повітряна тривога!")
        expect(shelter.locator(".shelter-uk")).to_contain_text(f"Пройдіть до укриття: {addr_uk}")
        expect(shelter.locator(".shelter-en")).to_contain_text("Air-raid alert!")
        expect(shelter.locator(".shelter-en")).to_contain_text(f"Go to the shelter: {addr_en}")
        expect(shelter).to_contain_text("Ваше місце в черзі збережено")
        expect(board.locator(".board-layout")).to_be_hidden()
        expect(board.locator("header.bar")).to_be_hidden()
        box = page_box(board, "#shelter")
        assert box["width"] >= 0.94 * box["w"] and box["height"] >= 0.9 * box["h"], f"not full-screen: {box}"
        no_scroll(board)
        # the largest text is the alert's, read from across the hall
        title_px = board.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('.shelter-title')).fontSize)")
        assert title_px >= 0.06 * min(ORIENTATIONS[orientation]), title_px
        expect(board.locator("#board-live")).to_contain_text("Повітряна тривога!")
        # its own siren, then the message spoken in Ukrainian, then in English; and again while the alert lasts
        board.wait_for_function("() => window.__spoken.filter(u => u.lang === 'en-GB').length >= 1")
        first = spoken(board)
        assert [u["lang"] for u in first[:2]] == ["uk-UA", "en-GB"], first
        assert addr_uk in first[0]["text"] and "тривога" in first[0]["text"], first[0]
        assert addr_en in first[1]["text"] and "Air-raid alert" in first[1]["text"], first[1]
        assert board.evaluate("() => window.chergaBoard.state.sirens") >= 1
        board.wait_for_function("() => window.__spoken.filter(u => u.lang === 'uk-UA').length >= 2",
                                timeout=REPEAT_MS + 10_000)
        again = [u for u in spoken(board) if u["lang"] == "uk-UA"]
        assert again[1]["text"] == again[0]["text"] and again[1]["at"] - again[0]["at"] >= REPEAT_MS - 1500, again
        assert board.evaluate("() => window.chergaBoard.state.sirens") >= 2
        # under the alert nobody is called
        desk = office.desks_for(SERVICE)[0]["id"]
        office.do(desk, "open")
        status, out = http(war, "POST", f"/api/v1/desks/{desk}/call-next", None, office.head)
        assert status == 409 and out["error"]["code"] == "alert", out
        assert tiles(board) == []
        shot(board, f"wartime-board-alert-{orientation}")
        run_axe(board, f"board shelter screen {orientation}")

        # the all-clear: a countdown to the resumption, the board's lines beneath it
        cleared = office.alert(False, 7)
        assert cleared["resumes_at"], cleared
        banner = board.locator("#resume-banner")
        expect(banner).to_be_visible()
        expect(shelter).to_be_hidden()
        expect(banner).to_contain_text("Відбій повітряної тривоги")
        expect(board.locator("#resume-when")).to_have_text(
            re.compile(rf"Обслуговування відновиться о {hhmm(cleared['resumes_at'])} · через [78] хв"))
        expect(banner).to_contain_text(f"Service resumes at {hhmm(cleared['resumes_at'])}")
        expect(banner).to_contain_text("порядок талонів не змінився")
        expect(board.locator(".board-layout")).to_be_visible()
        no_scroll(board)
        # the repeated message stopped; the all-clear was said once
        count = len(spoken(board))
        board.wait_for_timeout(REPEAT_MS + 1000)
        later = spoken(board)
        assert len(later) == count, later[count:]
        assert any("Відбій" in u["text"] for u in later), later
        status, out = http(war, "POST", f"/api/v1/desks/{desk}/call-next", None, office.head)
        assert status == 409 and out["error"]["code"] == "alert", out  # not yet: the delay runs
        board.wait_for_timeout(3200)
        shot(board, f"wartime-board-countdown-{orientation}")
        run_axe(board, f"board countdown {orientation}")

        # service resumes (a new alert given the all-clear with no delay): the board is as before, the order unchanged
        office.alert(True)
        expect(shelter).to_be_visible()
        office.alert(False, 0)
        expect(shelter).to_be_hidden()
        expect(banner).to_be_hidden()
        expect(board.locator("header.bar")).to_be_visible()
        expect(board.locator("#queue-table")).to_be_visible()
        assert office.waiting_order(mine) == before
        called = office.do(desk, "call-next")
        assert called["number"] == before[0], (called, before)
        expect(board.locator("#call-now-text")).to_contain_text(before[0])
        board.wait_for_timeout(3200)
        shot(board, f"wartime-board-resumed-{orientation}")
        run_axe(board, f"board resumed {orientation}")
    finally:
        ctx.close()
        office.normal()
    assert errors == []


def test_board_names_the_services_paused_for_the_registries(browser: Any, war: ServerProcess) -> None:
    office = Centre(war)
    office.normal()
    errors: list[str] = []
    ctx = context(browser, ORIENTATIONS["landscape"])
    try:
        board = open_page(ctx, war, f"/board/{OFFICE}", errors)
        expect(board.locator(".conn[data-state='open']")).to_be_visible()
        expect(board.locator("#reg-banner")).to_be_hidden()
        office.registries(False)
        board.reload()  # the board looks at the services every 20 s; a fresh page at once
        reg = board.locator("#reg-banner")
        expect(reg).to_be_visible()
        expect(reg).to_contain_text("Державні реєстри недоступні")
        _, offices = http(war, "GET", "/api/v1/offices")
        svc = next(s for o in offices if o["id"] == OFFICE for s in o["services"] if s["id"] == REGISTRY_SERVICE)
        assert svc.get("available") is False, svc
        expect(board.locator("#reg-list")).to_contain_text(svc["sphere_uk"])  # its section, or the section and name
        no_scroll(board)
        shot(board, "wartime-board-registries-landscape")
        run_axe(board, "board registries down")
        office.registries(True)
        board.reload()
        expect(board.locator(".conn[data-state='open']")).to_be_visible()
        expect(reg).to_be_hidden()
    finally:
        ctx.close()
        office.normal()
    assert errors == []


# ------------------------------------------------------------------------------------------ the kiosk


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_kiosk_stops_issuing_under_an_alert(browser: Any, war: ServerProcess, orientation: str) -> None:
    office = Centre(war)
    office.normal()
    errors: list[str] = []
    ctx = context(browser, ORIENTATIONS[orientation], {f"cherga.token.kiosk.{OFFICE}": war.token("kiosk", OFFICE)})
    try:
        kiosk = open_page(ctx, war, f"/kiosk/{OFFICE}", errors)
        expect(kiosk.locator("#spheres")).to_be_visible()
        office.alert(True)
        card = kiosk.locator("#kiosk-shelter")
        expect(card).to_be_visible()
        expect(card).to_contain_text(f"Пройдіть до укриття: {office.shelter('uk')}")
        expect(card).to_contain_text(f"Go to the shelter: {office.shelter('en')}")
        expect(card).to_contain_text("На час тривоги талони не видаються")
        expect(kiosk.locator("#spheres")).to_have_count(0)
        expect(kiosk.locator("main button")).to_have_count(0)  # nothing to press that would issue
        no_scroll(kiosk)
        shot(kiosk, f"wartime-kiosk-alert-{orientation}")
        run_axe(kiosk, f"kiosk shelter {orientation}")
        # the all-clear: when issuing resumes
        cleared = office.alert(False, 7)
        when = kiosk.locator("#kiosk-resume-when")
        expect(when).to_have_text(
            re.compile(rf"Видача талонів відновиться о {hhmm(cleared['resumes_at'])} · через [78] хв"))
        shot(kiosk, f"wartime-kiosk-countdown-{orientation}")
        run_axe(kiosk, f"kiosk countdown {orientation}")
        office.alert(True)
        expect(card).to_be_visible()
        office.alert(False, 0)
        expect(kiosk.locator("#spheres")).to_be_visible()
    finally:
        ctx.close()
        office.normal()
    assert errors == []


def test_kiosk_hides_services_that_need_the_registries(browser: Any, war: ServerProcess) -> None:
    office = Centre(war)
    office.normal()
    errors: list[str] = []
    ctx = context(browser, ORIENTATIONS["landscape"], {f"cherga.token.kiosk.{OFFICE}": war.token("kiosk", OFFICE)})
    try:
        kiosk = open_page(ctx, war, f"/kiosk/{OFFICE}", errors)
        expect(kiosk.locator("#spheres")).to_be_visible()
        office.registries(False)
        expect(kiosk.locator("#reg-some")).to_be_visible()
        _, offices = http(war, "GET", "/api/v1/offices")
        services = next(o for o in offices if o["id"] == OFFICE)["services"]
        svc = next(s for s in services if s["id"] == REGISTRY_SERVICE)
        kiosk.locator(f"[data-sphere='{svc['sphere_uk']}']").click()
        if kiosk.locator("#intents").count():
            kiosk.locator(f"[data-intent='{svc['intent']}']").click()
        note = kiosk.locator("#reg-note")
        expect(note).to_be_visible()
        expect(note.locator(f"[data-service='{REGISTRY_SERVICE}']")).to_contain_text(svc["name"])
        expect(kiosk.locator(f"#services [data-service='{REGISTRY_SERVICE}']")).to_have_count(0)
        expect(kiosk.locator("#reg-book-url")).to_have_text(f"{war.url}/book/{OFFICE}")
        shot(kiosk, "wartime-kiosk-registries-landscape")
        run_axe(kiosk, "kiosk registries down")
        # an e-service where the paused service has one
        paused_online = [s for s in services if s.get("available") is False and s.get("online_url")]
        for s in paused_online:
            kiosk.locator("#home").click()
            kiosk.locator(f"[data-sphere='{s['sphere_uk']}']").click()
            if kiosk.locator("#intents").count():
                kiosk.locator(f"[data-intent='{s['intent']}']").click()
            expect(kiosk.locator(f"#reg-note [data-service='{s['id']}']")).to_contain_text(s["online_url"])
            break
        office.registries(True)
        # the kiosk hears it over its websocket; on a loaded CI machine that took longer than the default 5 s
        expect(kiosk.locator("#reg-some, #reg-note")).to_have_count(0, timeout=15_000)
    finally:
        ctx.close()
        office.normal()
    assert errors == []


# ------------------------------------------------------------------------------------------ the phone, the booking


def test_phone_page_keeps_the_place_and_counts_down(browser: Any, war: ServerProcess) -> None:
    office = Centre(war)
    office.normal()
    errors: list[str] = []
    ctx = context(browser, (390, 844))
    try:
        tk = office.issue(SERVICE)
        phone = open_page(ctx, war, f"/t/{tk['id']}", errors)
        expect(phone.locator("#ticket-number")).to_have_text(tk["number"])
        expect(phone.locator("#ticket-war")).to_have_count(0)
        office.alert(True)
        box = phone.locator("#ticket-war")
        expect(box).to_contain_text("Повітряна тривога!")
        expect(box.locator("#war-kept")).to_have_text("Ваше місце в черзі збережено")
        expect(box).to_contain_text(office.shelter("uk"))
        expect(phone.locator("#ticket-number")).to_have_text(tk["number"])
        expect(phone.locator("#ticket-urgent")).to_contain_text("Повітряна тривога!")
        shot(phone, "wartime-phone-alert")
        run_axe(phone, "phone page under an alert")
        cleared = office.alert(False, 7)
        expect(phone.locator("#war-when")).to_have_text(
            re.compile(rf"Обслуговування відновиться о {hhmm(cleared['resumes_at'])} · через [78] хв"))
        expect(box.locator("#war-kept")).to_have_text("Ваше місце в черзі збережено")
        shot(phone, "wartime-phone-countdown")
        run_axe(phone, "phone page countdown")
        # English
        phone.locator(".lang-switch [data-lang='en']").click()
        expect(phone.locator("#war-kept")).to_have_text("Your place in the queue is kept")
        expect(phone.locator("#war-when")).to_contain_text("Service resumes at")
        phone.locator(".lang-switch [data-lang='uk']").click()

        # the booking page, today
        book = open_page(ctx, war, f"/book/{OFFICE}", errors)
        expect(book.locator("#book-war")).to_contain_text("Сьогодні після відбою тривоги")
        office.alert(True)
        expect(book.locator("#book-war")).to_contain_text("Сьогодні через повітряну тривогу прийом призупинено")
        shot(book, "wartime-book-alert")
        run_axe(book, "booking page under an alert")
        office.alert(False, 0)
        expect(phone.locator("#ticket-war")).to_have_count(0)
        expect(book.locator("#book-war")).to_have_count(0)

        # a waiting ticket whose service needs the registries, while they are down
        reg = office.issue(REGISTRY_SERVICE)
        office.registries(False)
        phone.goto(f"{war.url}/t/{reg['id']}")
        expect(phone.locator("#ticket-registry")).to_contain_text("державні реєстри недоступні")
        expect(phone.locator("#ticket-registry")).to_contain_text("Ваше місце в черзі збережено")
        shot(phone, "wartime-phone-registries")
        run_axe(phone, "phone page registries down")
        office.registries(True)
        expect(phone.locator("#ticket-registry")).to_have_count(0)
    finally:
        ctx.close()
        office.normal()
    assert errors == []


# ------------------------------------------------------------------------------------------ the head


def test_head_turns_the_alert_on_and_off_by_keyboard(browser: Any, war: ServerProcess) -> None:
    office = Centre(war)
    office.normal()
    errors: list[str] = []
    ctx = context(browser, ORIENTATIONS["landscape"], {f"cherga.token.head.{OFFICE}": office.head})
    try:
        head = open_page(ctx, war, f"/head/{OFFICE}", errors)
        toggle = head.locator("#war-toggle")
        expect(toggle).to_have_text("Оголосити тривогу")
        expect(head.locator("#war-state")).to_have_text("Тривоги немає: обслуговування звичайне.")
        # the panel is re-rendered by its poll: measure the button as it stands once visible
        expect(toggle).to_be_visible()
        size = None
        for _ in range(20):
            size = toggle.bounding_box()
            if size:
                break
            head.wait_for_timeout(100)
        assert size and size["height"] >= 64, size
        # Enter asks first; Escape takes it back, focus returns to the button
        toggle.focus()
        head.keyboard.press("Enter")
        expect(head.locator("#war-q")).to_contain_text("Оголосити повітряну тривогу")
        expect(head.locator("#war-yes")).to_be_focused()
        head.keyboard.press("Escape")
        expect(head.locator("#war-confirm")).to_have_count(0)
        expect(toggle).to_be_focused()
        _, st = http(war, "GET", f"/api/v1/offices/{OFFICE}/state")
        assert not (st.get("alert") or {}).get("active"), st.get("alert")
        # Enter, then Enter on "yes": the alert is on
        head.keyboard.press("Enter")
        head.keyboard.press("Enter")
        expect(head.locator("#war-state")).to_contain_text("Тривога з")
        _, st = http(war, "GET", f"/api/v1/offices/{OFFICE}/state")
        assert st["alert"]["active"] is True, st["alert"]
        expect(head.locator("#war-panel")).to_have_attribute("data-phase", "alert")
        expect(toggle).to_have_text("Відбій тривоги")
        shot(head, "wartime-head-alert")
        run_axe(head, "head under an alert")
        # the all-clear, with a delay typed in
        toggle.focus()
        head.keyboard.press("Enter")
        head.locator("#war-delay").fill("7")
        head.locator("#war-yes").focus()
        head.keyboard.press("Enter")
        _, st = http(war, "GET", f"/api/v1/offices/{OFFICE}/state")
        assert st["alert"]["active"] is False and st["alert"]["resumes_at"], st["alert"]
        expect(head.locator("#war-state")).to_have_text(
            re.compile(rf"Обслуговування відновиться о {hhmm(st['alert']['resumes_at'])} · через [78] хв"))
        # the registries switch, by keyboard
        switch = head.locator("#reg-switch")
        expect(switch).to_have_attribute("aria-checked", "true")
        switch.focus()
        head.keyboard.press("Space")
        expect(switch).to_have_attribute("aria-checked", "false")
        _, offices = http(war, "GET", "/api/v1/offices")
        svc = next(s for o in offices if o["id"] == OFFICE for s in o["services"] if s["id"] == REGISTRY_SERVICE)
        assert svc.get("available") is False, svc
        expect(head.locator("#reg-state")).to_contain_text("Недоступні")
        shot(head, "wartime-head-countdown-registries")
        run_axe(head, "head countdown, registries down")
        head.keyboard.press("Space")
        expect(switch).to_have_attribute("aria-checked", "true")
    finally:
        ctx.close()
        office.normal()
    assert errors == []
