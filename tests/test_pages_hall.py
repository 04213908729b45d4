"""The hall's screens as the people in front of them see them (issue 13, points 4-6): the hall board from 5 metres,
the touch kiosk, the head's dashboard; landscape 1920x1080 and portrait 1080x1920.

Real Chromium (Debian's) driven by Playwright against a real ``cherga serve`` of its own (so the tests know every
ticket of the office they use), axe-core on every screen, screenshots in ``test-artifacts/screenshots/`` (named
hall-*). Measured from element boxes: the board's queue text is at least 4% of the screen's height and the layout
fills the screen without scrolling; every kiosk target is at least 60 px (15 mm on a 21.5" 1920x1080 kiosk) and
its text at least 24 px.
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

expect = sync_api.expect

OFFICE = "main"
SERVICE = "community-register-extract"  # several main desks serve it
ORIENTATIONS = {"landscape": (1920, 1080), "portrait": (1080, 1920)}
MIN_TARGET_PX = 60  # 15 mm on a 21.5" 1920x1080 kiosk (about 4 CSS px a millimetre)
MIN_TEXT_PX = 24  # about 6 mm: secondary text read at arm's length
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("hall") / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


class Office:
    """The office through the API, as the desks and the kiosk would drive it."""

    def __init__(self, server: ServerProcess, office: str = OFFICE) -> None:
        self.server = server
        self.office = office
        status, offices = http(server, "GET", "/api/v1/offices")
        assert status == 200
        self.info = next(o for o in offices if o["id"] == office)
        self.head = server.token("head", office)

    def desks_for(self, service: str) -> list[dict[str, Any]]:
        return [d for d in self.info["desks"] if service in d["services"]]

    def do(self, desk: str, action: str, body: Any = None, expect_status: int = 200) -> Any:
        status, out = http(self.server, "POST", f"/api/v1/desks/{desk}/{action}", body, self.head)
        assert status == expect_status, (desk, action, status, out)
        return out

    def issue(self, service: str, vulnerable: bool = False) -> dict[str, Any]:
        status, t = http(self.server, "POST", f"/api/v1/offices/{self.office}/tickets",
                         {"service": service, "vulnerable": vulnerable}, self.head)
        assert status == 201, t
        return t  # type: ignore[no-any-return]

    def clear(self) -> None:
        """Every desk closed, nobody waiting: what each test starts from."""
        for d in self.info["desks"]:
            _, desk = http(self.server, "GET", f"/api/v1/desks/{d['id']}", token=self.head)
            if desk["ticket"] is not None:
                if desk["status"] == "called":
                    self.do(d["id"], "start")
                self.do(d["id"], "finish", {"outcome": "served"})
        _, state = http(self.server, "GET", f"/api/v1/offices/{self.office}/state")
        for q in state["queues"]:
            for _ in range(q["waiting"]):
                desk = next((d["id"] for d in self.info["desks"] if q["service"] in d["services"]), None)
                assert desk is not None
                self.do(desk, "open")
                t = self.do(desk, "call-next")
                if t is None:
                    break
                self.do(desk, "finish", {"outcome": "served"})
        for d in self.info["desks"]:
            self.do(d["id"], "close")


def context(browser: Any, orientation: str, lang: str = "uk", tokens: dict[str, str] | None = None) -> Any:
    w, h = ORIENTATIONS[orientation]
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="uk-UA", has_touch=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    items = {"cherga.lang": lang, **(tokens or {})}
    ctx.add_init_script(f"for (const [k, v] of Object.entries({json.dumps(items)})) localStorage.setItem(k, v);")
    return ctx


def open_page(ctx: Any, server: ServerProcess, path: str, errors: list[str]) -> Any:
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(f"{path}: {e}"))
    page.goto(server.url + path)
    return page


def fills_the_screen(page: Any, selector: str) -> None:
    box = page.evaluate(f"""() => {{
        const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();
        return {{left: r.left, right: r.right, top: r.top, bottom: r.bottom, w: innerWidth, h: innerHeight,
                 sw: document.documentElement.scrollWidth, sh: document.documentElement.scrollHeight}};
    }}""")
    assert box["sw"] <= box["w"] + 1, f"scrolls sideways: {box}"
    assert box["right"] - box["left"] >= 0.94 * box["w"], f"{selector} leaves the screen's width unused: {box}"
    return box  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------ the hall board


def tiles(page: Any) -> list[str]:
    """The ticket numbers on the board's call tiles, newest first."""
    return page.evaluate("""() => [...document.querySelectorAll('#call-now-text, #call-list li')]
        .map(el => el.dataset.ticket)""")


def check_board_reads_from_afar(page: Any, label: str) -> None:
    box = fills_the_screen(page, ".board-layout")
    assert box["sh"] <= box["h"] + 1, f"the board scrolls: {box}"
    assert box["bottom"] >= 0.95 * box["h"], f"the board leaves the bottom of the screen empty: {box}"
    # the queue text: at least 4% of the screen's height, measured from the glyph boxes (font size) and the lines
    sizes = page.evaluate("""() => [...document.querySelectorAll('.queue-row .q-cat, .queue-row .q-facts > span')]
        .filter(el => el.getClientRects().length && !el.classList.contains('sr-only'))
        .map(el => ({text: el.textContent, font: parseFloat(getComputedStyle(el).fontSize),
                     height: el.getClientRects()[0].height}))""")
    assert sizes, f"{label}: no queue text to measure"
    vh = box["h"]
    for s in sizes:
        assert s["font"] >= 0.04 * vh and s["height"] >= 0.04 * vh, f"{label}: queue text too small: {s} (vh {vh})"
    # the ticket numbers are larger still
    numbers = page.evaluate("""() => [...document.querySelectorAll('.ticket-no')]
        .map(el => parseFloat(getComputedStyle(el).fontSize))""")
    assert all(n >= 0.08 * min(vh, box["w"]) for n in numbers), numbers
    # no wait figure beside an empty queue
    text = page.locator("main").inner_text()
    assert not re.search(r"(у черзі|waiting): 0\b", text), text


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_board_tiles_are_the_calls_still_expected(browser: Any, hall: ServerProcess, orientation: str) -> None:
    office = Office(hall)
    office.clear()
    errors: list[str] = []
    ctx = context(browser, orientation)
    try:
        board = open_page(ctx, hall, f"/board/{OFFICE}", errors)
        expect(board.locator(".conn[data-state='open']")).to_be_visible()
        expect(board.locator("#queue-empty")).to_be_visible()  # nobody waits: no rows of zeros
        a, b, c = (d["id"] for d in office.desks_for(SERVICE)[:3])
        for d in (a, b, c):
            office.do(d, "open")
        for _ in range(5):
            office.issue(SERVICE)
        office.issue(SERVICE, vulnerable=True)
        ta = office.do(a, "call-next")
        tb = office.do(b, "call-next")
        tc = office.do(c, "call-next")
        expect(board.locator("#call-now-text")).to_contain_text(tc["number"])
        assert tiles(board) == [tc["number"], tb["number"], ta["number"]]
        # a recall: the same tile comes to the front, marked, never a second one
        office.do(a, "recall")
        expect(board.locator("#call-now-text")).to_contain_text(ta["number"])
        expect(board.locator("#call-now-text .tag")).to_be_visible()
        assert tiles(board) == [ta["number"], tc["number"], tb["number"]]
        board.wait_for_timeout(3200)  # the flash is over: the screenshot shows the tile's steady colours
        check_board_reads_from_afar(board, f"board {orientation}")
        shot(board, f"hall-board-{orientation}")
        run_axe(board, f"board {orientation}")
        # the visitor reached the desk: the tile leaves; finished straight from the call, too; a no-show too
        office.do(a, "start")
        expect(board.locator(f"[data-ticket='{ta['number']}']")).to_have_count(0)
        assert tiles(board) == [tc["number"], tb["number"]]
        office.do(b, "finish", {"outcome": "served"})
        expect(board.locator(f"[data-ticket='{tb['number']}']")).to_have_count(0)
        office.do(c, "no-show")
        expect(board.locator("#call-now-text")).to_have_count(0)
        assert tiles(board) == []
        # a board that comes later shows what is still expected and nothing that is over
        office.do(a, "finish", {"outcome": "served"})
        td = office.do(a, "call-next")
        late = open_page(ctx, hall, f"/board/{OFFICE}", errors)
        expect(late.locator("#call-now-text")).to_contain_text(td["number"])
        assert tiles(late) == [td["number"]]
        # the announcement for screen readers names the ticket and the desk
        expect(board.locator("#board-live")).to_contain_text(td["number"])
    finally:
        ctx.close()
        office.clear()
    assert errors == []


def test_board_says_no_open_desk_and_hides_empty_queues(browser: Any, hall: ServerProcess) -> None:
    """A queue no open desk serves reads "немає відкритих вікон", never a number; an empty category is not shown.
    The feed is the API's board messages as API.md 1.1 has them (eta_min null with eta_reason)."""
    errors: list[str] = []
    for orientation in ORIENTATIONS:
        ctx = context(browser, orientation)
        try:
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            sockets: list[Any] = []

            def handler(ws: Any, sockets: list[Any] = sockets) -> None:
                sockets.append(ws)
                ws.send(json.dumps({"type": "snapshot", "seq": 3, "calls": [
                    {"ticket": "B004", "desk": "3", "at": 100, "pending": False},
                    {"ticket": "B005", "desk": "4", "at": 200, "pending": True}], "queues": [
                    {"category": "vulnerable", "waiting": 1, "eta_min": 2},
                    {"category": "quick", "waiting": 4, "eta_min": 12},
                    {"category": "seasonal", "waiting": 0, "eta_min": 20},
                    {"category": "acceptance", "waiting": 2, "eta_min": None, "eta_reason": "no_open_desk"},
                    {"category": "consultation", "waiting": 0, "eta_min": None, "eta_reason": "no_open_desk"}]}))

            page.route_web_socket(re.compile(r".*/ws/offices/main/board$"), handler)
            page.goto(f"{hall.url}/board/{OFFICE}")
            expect(page.locator("#queue-table")).to_contain_text("немає відкритих вікон")
            rows = page.locator("#queue-table .queue-row")
            expect(rows).to_have_count(3)
            assert page.locator("[data-category='seasonal'], [data-category='consultation']").count() == 0
            acceptance = page.locator("[data-category='acceptance']").inner_text()
            assert "немає відкритих вікон" in acceptance and not re.search(r"\d+\s*хв", acceptance), acceptance
            assert tiles(page) == ["B005"], "a call the hall no longer expects is not a tile"
            check_board_reads_from_afar(page, f"board no-open-desk {orientation}")
            shot(page, f"hall-board-nodesk-{orientation}")
            run_axe(page, f"board with no open desk ({orientation})")
            sockets[0].send(json.dumps({"type": "ended", "seq": 4, "ticket": "B005", "desk": "4", "queues": [
                {"category": "quick", "waiting": 0, "eta_min": 0}]}))
            expect(page.locator("#call-now-text")).to_have_count(0)
            expect(page.locator("#queue-empty")).to_be_visible()
        finally:
            ctx.close()
    assert errors == []


def test_board_speaks_each_call_and_shows_no_personal_data(browser: Any, hall: ServerProcess) -> None:
    office = Office(hall)
    office.clear()
    errors: list[str] = []
    ctx = context(browser, "landscape")
    try:
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script("""
            window.__spoken = [];
            window.speechSynthesis.speak = (u) => {
                window.__spoken.push({text: u.text, lang: u.lang});
                setTimeout(() => u.onend && u.onend(), 0);
            };
        """)
        page.goto(f"{hall.url}/board/{OFFICE}")
        expect(page.locator(".conn[data-state='open']")).to_be_visible()
        page.locator("#sound-enable").click()
        desk = office.desks_for(SERVICE)[0]
        office.do(desk["id"], "open", {"staff": "adm-secret-42"})
        t = office.issue(SERVICE)
        office.do(desk["id"], "call-next")
        expect(page.locator("#call-now-text")).to_contain_text(t["number"])
        page.wait_for_function("window.__spoken.some(u => u.text.startsWith('Талон'))")
        office.do(desk["id"], "recall")
        page.wait_for_function("window.__spoken.filter(u => u.text.startsWith('Талон')).length >= 2")
        spoken = [u for u in page.evaluate("window.__spoken") if u["text"].strip()]
        assert all(u["lang"] == "uk-UA" and f"вікно {desk['number']}" in u["text"] for u in spoken), spoken
        html = page.content()
        assert t["id"] not in html and "adm-secret-42" not in html
    finally:
        ctx.close()
        office.clear()
    assert errors == []


# ------------------------------------------------------------------------------------------ the kiosk


def check_touch_kiosk(page: Any, label: str) -> None:
    fills_the_screen(page, "main")
    targets = page.evaluate("""() => [...document.querySelectorAll('button, a[href], input, select, [role=button]')]
        .filter(el => {
            const r = el.getBoundingClientRect();
            const s = getComputedStyle(el);
            return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && r.bottom > 0 && r.top < innerHeight
                && !el.classList.contains('skip');
        })
        .map(el => {
            const r = el.getBoundingClientRect();
            const what = el.id || el.dataset.sphere || el.dataset.service || el.dataset.intent;
            return {what: what || el.textContent.trim(), w: r.width, h: r.height};
        })""")
    assert targets, f"{label}: nothing to touch"
    small = [x for x in targets if x["w"] < MIN_TARGET_PX or x["h"] < MIN_TARGET_PX]
    assert not small, f"{label}: touch targets under {MIN_TARGET_PX} px (15 mm): {small}"
    texts = page.evaluate("""() => {
        const out = [];
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walk.nextNode()) {
            const el = walk.currentNode.parentElement;
            const text = walk.currentNode.textContent.trim();
            if (!text || !el || el.closest('.sr-only, #print-area, .skip, svg')) continue;
            if (!el.getClientRects().length) continue;
            out.push({text: text.slice(0, 40), px: parseFloat(getComputedStyle(el).fontSize)});
        }
        return out;
    }""")
    small_text = [x for x in texts if x["px"] < MIN_TEXT_PX]
    assert not small_text, f"{label}: text under {MIN_TEXT_PX} px: {small_text[:8]}"


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_kiosk_on_a_touch_kiosk(browser: Any, hall: ServerProcess, orientation: str) -> None:
    office = Office(hall)
    office.clear()
    errors: list[str] = []
    ctx = context(browser, orientation, tokens={f"cherga.token.kiosk.{OFFICE}": hall.token("kiosk", OFFICE)})
    try:
        page = open_page(ctx, hall, f"/kiosk/{OFFICE}", errors)
        expect(page.locator("#spheres")).to_be_visible()
        check_touch_kiosk(page, f"kiosk spheres {orientation}")
        shot(page, f"hall-kiosk-spheres-{orientation}")
        run_axe(page, f"kiosk spheres {orientation}")
        svc = next(s for s in office.info["services"] if s["id"] == SERVICE)
        page.locator(f'[data-sphere="{svc["sphere_uk"]}"]').tap()
        page.wait_for_selector("[data-intent], [data-service], #vuln-no")
        if page.locator("[data-intent]").count():
            check_touch_kiosk(page, f"kiosk intents {orientation}")
            shot(page, f"hall-kiosk-intent-{orientation}")
            page.locator(f'[data-intent="{svc["intent"]}"]').tap()
            page.wait_for_selector("[data-service], #vuln-no")
        if page.locator("[data-service]").count():
            # every desk is closed: the tiles say so instead of promising a wait
            tile = page.locator(f'[data-service="{SERVICE}"]')
            expect(tile).to_be_visible()
            check_touch_kiosk(page, f"kiosk services {orientation}")
            shot(page, f"hall-kiosk-services-{orientation}")
            run_axe(page, f"kiosk services {orientation}")
            assert not re.search(r"у черзі: 0 · очікування", page.locator("#services").inner_text())
            tile.tap()
        expect(page.locator("#vuln-no")).to_be_visible()
        check_touch_kiosk(page, f"kiosk vulnerable question {orientation}")
        shot(page, f"hall-kiosk-vulnerable-{orientation}")
        office.do(office.desks_for(SERVICE)[0]["id"], "open")
        page.locator("#vuln-no").tap()
        expect(page.locator("#ticket-number")).to_be_visible()
        check_touch_kiosk(page, f"kiosk ticket {orientation}")
        shot(page, f"hall-kiosk-ticket-{orientation}")
        run_axe(page, f"kiosk ticket {orientation}")
    finally:
        ctx.close()
        office.clear()
    assert errors == []


# ------------------------------------------------------------------------------------------ the head's dashboard


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_head_sees_measured_waits_and_every_alert(browser: Any, hall: ServerProcess, orientation: str) -> None:
    office = Office(hall)
    office.clear()
    errors: list[str] = []
    ctx = context(browser, orientation, tokens={f"cherga.token.head.{OFFICE}": office.head})
    try:
        page = open_page(ctx, hall, f"/head/{OFFICE}", errors)
        expect(page.locator("#desk-table")).to_be_visible()
        # nothing is wrong: "no alerts", and no headline wait
        expect(page.locator("#no-alerts")).to_be_visible()
        expect(page.locator("#longest-now")).to_contain_text("Зараз ніхто не чекає")
        # someone waits for a service no open desk serves: an alert, and no forecast figure for it
        t = office.issue(SERVICE)
        expect(page.locator("#alert-list li[data-kind='no_open_desk']")).to_be_visible(timeout=8000)
        expect(page.locator("#no-alerts")).to_have_count(0)
        row = page.locator("#queue-table tbody tr", has_text=next(
            s["name"] for s in office.info["services"] if s["id"] == SERVICE))
        expect(row).to_contain_text("немає відкритих вікон")
        expect(page.locator("#longest-now")).to_contain_text(t["number"])
        expect(page.locator("#longest-now")).to_contain_text("виміряно")
        expect(page.locator("#forecast-now")).to_contain_text("прогноз")
        expect(page.locator("#forecast-nodesk")).to_be_visible()
        # "no alerts" never stands beside a queue marked over the target or the limit
        bad = page.locator("#queue-table .badge.bad, #queue-table .badge.warn").count()
        assert bad == 0 or page.locator("#no-alerts").count() == 0
        fills_the_screen(page, "main")
        shot(page, f"hall-head-{orientation}")
        run_axe(page, f"head dashboard {orientation}")
        # a desk opens: the alert goes, the forecast is a figure, labelled
        office.do(office.desks_for(SERVICE)[0]["id"], "open")
        expect(page.locator("#no-alerts")).to_be_visible(timeout=8000)
        expect(row).not_to_contain_text("немає відкритих вікон")
        expect(page.locator("#forecast-value")).not_to_have_text("—")
    finally:
        ctx.close()
        office.clear()
    assert errors == []


def test_board_pages_through_more_queues_than_fit_and_cuts_none_off(browser: Any, hall: ServerProcess) -> None:
    cats = ["vulnerable", "special", "quick", "seasonal", "acceptance", "issuance", "consultation"]
    errors: list[str] = []
    ctx = context(browser, "portrait")
    try:
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.clock.install()
        page.route_web_socket(re.compile(r".*/ws/offices/main/board$"), lambda ws: ws.send(json.dumps({
            "type": "snapshot", "seq": 1, "calls": [{"ticket": "A001", "desk": "1", "at": 1, "pending": True}],
            "queues": [{"category": c, "waiting": 3 + i, "eta_min": None if i % 2 else 5 + i}
                       for i, c in enumerate(cats)]})))
        page.goto(f"{hall.url}/board/{OFFICE}")
        expect(page.locator("#queue-table")).to_be_visible()
        seen: set[str] = set()
        for _ in range(4):
            rows = page.evaluate("""() => {
                const box = document.getElementById('queues').getBoundingClientRect();
                return [...document.querySelectorAll('.queue-row')].map(r => ({
                    cat: r.dataset.category, inside: r.getBoundingClientRect().bottom <= box.bottom + 1}));
            }""")
            assert rows and all(r["inside"] for r in rows), rows
            seen |= {r["cat"] for r in rows}
            page.clock.run_for(8100)
        assert seen == set(cats), f"some categories never show: {set(cats) - seen}"
        check_board_reads_from_afar(page, "board paging portrait")
        shot(page, "hall-board-paging-portrait")
    finally:
        ctx.close()
    assert errors == []
