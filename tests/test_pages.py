"""Browser tests of the screens: real Chromium (Debian's) driven by Playwright, against a real ``cherga serve``.

The ``server`` fixture (tests/conftest.py) runs the service with the demo network. ``scripts/install-browser.sh``
installs Chromium, Playwright and axe-core. Screenshots of every page go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# A missing browser is a failure, not a skip: scripts/install-browser.sh (called by scripts/test.sh) installs it.
from playwright import sync_api

expect = sync_api.expect

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = Path(os.environ.get("CHERGA_AXE", ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"))
CHROMIUM = os.environ.get("CHERGA_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OFFICE = "main"
TIMEOUT_MS = 10_000

assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run scripts/install-browser.sh"


# ------------------------------------------------------------------------------------------ helpers


def http(server: Any, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            raw = res.read()
            return res.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


class Net:
    """The demo network as GET /api/v1/offices tells it, plus the device tokens the tests use."""

    def __init__(self, server: Any) -> None:
        self.server = server
        status, offices = http(server, "GET", "/api/v1/offices")
        assert status == 200, offices
        self.offices = {o["id"]: o for o in offices}
        self._tokens: dict[tuple[str, str | None, str | None], str] = {}

    def token(self, role: str, office: str | None = None, desk: str | None = None) -> str:
        key = (role, office, desk)
        if key not in self._tokens:
            self._tokens[key] = self.server.token(role, office=office, desk=desk).strip()
        return self._tokens[key]

    def service(self, office: str, sid: str) -> dict[str, Any]:
        return next(s for s in self.offices[office]["services"] if s["id"] == sid)

    def desk(self, desk_id: str) -> dict[str, Any]:
        return next(d for o in self.offices.values() for d in o["desks"] if d["id"] == desk_id)

    def issue(self, office: str, service: str, vulnerable: bool = False) -> dict[str, Any]:
        status, ticket = http(self.server, "POST", f"/api/v1/offices/{office}/tickets",
                              {"service": service, "vulnerable": vulnerable}, self.token("kiosk", office))
        assert status == 201, ticket
        return ticket


def pick(net: Net, office: str, desk_id: str) -> dict[str, Any]:
    """A service of `office` that `desk_id` serves (its own services first)."""
    own = [s for s in net.offices[office]["services"] if s["id"] in net.desk(desk_id)["services"]]
    assert own, f"{desk_id} serves nothing at {office}"
    return own[0]


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def run_axe(page: Any, label: str) -> None:
    assert AXE.exists(), f"axe-core is missing at {AXE}: run scripts/install-browser.sh"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
        }"""
    )
    if result:
        print(f"\naxe violations on {label}:")
        for v in result:
            print(f"  [{v['impact']}] {v['id']}: {v['help']}")
            for n in v["nodes"]:
                print(f"      at {n['target']}: {n['summary']}")
    assert result == [], f"{len(result)} accessibility violations on {label}: {[v['id'] for v in result]}"


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def demo(server: Any) -> Net:
    return Net(server)




class Ctx:
    """A browser context that records page errors and can preset tokens and the language in localStorage."""

    def __init__(self, browser: Any, server: Any) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="uk-UA")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []

    def preset(self, lang: str | None = None, tokens: dict[str, str] | None = None) -> None:
        items = dict(tokens or {})
        if lang:
            items["cherga.lang"] = lang
        self.context.add_init_script(
            f"for (const [k, v] of Object.entries({json.dumps(items)})) localStorage.setItem(k, v);"
        )

    def open(self, path: str) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{path}: {e}"))
        page.goto(self.server.url + path)
        return page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def ctx(browser: Any, server: Any) -> Iterator[Ctx]:
    c = Ctx(browser, server)
    yield c
    c.close()
    assert c.errors == [], c.errors


def desk_tokens(net: Net, desk: str) -> dict[str, str]:
    return {f"cherga.token.desk.{desk}": net.token("desk", office_of(net, desk), desk)}


def kiosk_tokens(net: Net, office: str = OFFICE) -> dict[str, str]:
    return {f"cherga.token.kiosk.{office}": net.token("kiosk", office)}


def head_tokens(net: Net, office: str = OFFICE) -> dict[str, str]:
    return {f"cherga.token.head.{office}": net.token("head", office)}


def office_of(net: Net, desk: str) -> str:
    return next(o for o, v in net.offices.items() if any(d["id"] == desk for d in v["desks"]))


def kiosk_issue(page: Any, svc: dict[str, Any]) -> dict[str, Any]:
    """Walk the kiosk by mouse: sphere -> (intent) -> (service) -> "no" -> the ticket. Returns the API's ticket."""
    page.locator(f'[data-sphere="{svc["sphere_uk"]}"]').click()
    page.wait_for_selector("[data-intent], [data-service], #vuln-no")
    if page.locator(f'[data-intent="{svc["intent"]}"]').count():
        page.locator(f'[data-intent="{svc["intent"]}"]').click()
        page.wait_for_selector("[data-service], #vuln-no")
    if page.locator(f'[data-service="{svc["id"]}"]').count():
        page.locator(f'[data-service="{svc["id"]}"]').click()
    with page.expect_response(lambda r: r.url.endswith("/tickets") and r.request.method == "POST") as info:
        page.locator("#vuln-no").click()
    ticket = info.value.json()
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    return ticket


def open_desk_console(ctx: Ctx, desk: str) -> Any:
    page = ctx.open(f"/desk/{desk}")
    expect(page.locator("#desk-status")).to_be_visible()
    if page.locator("#act-open").is_enabled():
        page.locator("#act-open").click()
    expect(page.locator("#act-next")).to_be_enabled()
    return page


def call_until(page: Any, number: str, tries: int = 25) -> None:
    """Press "Next" (finishing whatever else comes first) until `number` is called at this desk."""
    for _ in range(tries):
        expect(page.locator("#act-next")).to_be_enabled()
        page.locator("#act-next").click()
        # answered: a ticket is called here (then "next" is disabled until it is done) or nothing waited
        expect(page.locator("#act-next:enabled, p.number#current-number").first).to_be_visible()
        current = page.locator("#current-number").inner_text().strip()
        if current == number:
            return
        if page.locator("#act-served").is_enabled():
            page.locator("#act-served").click()
    pytest.fail(f"ticket {number} was never called")


# ------------------------------------------------------------------------------------------ the whole path


def test_kiosk_desk_board_display_ticket_and_rating(ctx: Ctx, demo: Net) -> None:
    desks = [d["id"] for d in demo.offices[OFFICE]["desks"]]
    desk = "main-03" if "main-03" in desks else desks[0]
    desk_number = demo.desk(desk)["number"]
    svc = pick(demo, OFFICE, desk)
    ctx.preset(tokens={**kiosk_tokens(demo), **desk_tokens(demo, desk)})

    board = ctx.open(f"/board/{OFFICE}")
    expect(board.locator(".conn[data-state='open']")).to_be_visible()
    display = ctx.open(f"/display/{desk}")
    expect(display.locator("#display-desk")).to_contain_text(desk_number)

    kiosk = ctx.open(f"/kiosk/{OFFICE}")
    ticket = kiosk_issue(kiosk, svc)
    expect(kiosk.locator("#ticket-position")).not_to_be_empty()
    expect(kiosk.locator("#ticket-eta")).not_to_be_empty()
    shot(kiosk, "kiosk-ticket")

    visitor = ctx.open(f"/t/{ticket['id']}")
    expect(visitor.locator("#ticket-number")).to_have_text(ticket["number"])
    expect(visitor.locator("#ticket-position")).to_be_visible()
    shot(visitor, "ticket-waiting")

    console = open_desk_console(ctx, desk)
    call_until(console, ticket["number"])
    shot(console, "desk-called")

    expect(board.locator("#call-now-text")).to_contain_text(ticket["number"])
    expect(board.locator("#call-now-text")).to_contain_text(desk_number)
    expect(board.locator("#board-live")).to_contain_text(ticket["number"])
    shot(board, "board-called")
    expect(display.locator("#display-number")).to_have_text(ticket["number"])
    shot(display, "display-called")
    expect(visitor.locator("#ticket-go")).to_contain_text(desk_number)
    shot(visitor, "ticket-called")

    # keys, as a call pad sends them: S starts, F finishes as served
    console.locator("body").press("s")
    expect(console.locator("#current-status")).to_have_text(re.compile("Обслуговується|Being served"))
    console.locator("body").press("f")
    expect(console.locator("#act-next")).to_be_enabled()

    ratings = ctx.open(f"/ratings/{OFFICE}")
    expect(ratings.locator("#today")).to_be_visible()
    before = int(ratings.locator("#today [data-score='exemplary'] small").inner_text())
    expect(visitor.locator("#rate-exemplary")).to_be_visible()
    shot(visitor, "ticket-rate")
    visitor.locator("#rate-exemplary").click()
    expect(visitor.locator("#rate-h")).to_have_text(re.compile("Дякуємо|Thank you"))
    expect(ratings.locator("#today [data-score='exemplary'] small")).to_have_text(str(before + 1))
    shot(ratings, "ratings-live")


# ------------------------------------------------------------------------------------------ keyboard only


def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(sel) => document.activeElement && document.activeElement.matches(sel)", selector):
            style = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert style != "none", "the focused element shows no focus outline"
            return
    pytest.fail(f"Tab never reached {selector}")


def test_kiosk_by_keyboard_alone(ctx: Ctx, demo: Net) -> None:
    page = ctx.open(f"/kiosk/{OFFICE}")
    # with no token the kiosk shows a pairing code (pairing.js); its focused "I have a device token" opens the form
    expect(page.locator("#pair-have-token")).to_be_focused()
    page.keyboard.press("Enter")
    # the device token form: focused, typed, sent with Enter
    expect(page.locator("#token-input")).to_be_focused()
    page.keyboard.type(demo.token("kiosk", OFFICE))
    page.keyboard.press("Enter")
    expect(page.locator("dialog[open]")).to_have_count(0)

    tab_to(page, "[data-sphere]")
    page.keyboard.press("Enter")
    for _ in range(3):  # an intent and/or a service, as the sphere asks
        if page.locator("#vuln-no").count():
            break
        expect(page.locator("#step-title")).to_be_focused()
        tab_to(page, "[data-intent], [data-service]")
        page.keyboard.press("Enter")
    expect(page.locator("#step-title")).to_be_focused()
    tab_to(page, "#vuln-no")
    with page.expect_response(lambda r: r.url.endswith("/tickets") and r.request.method == "POST") as info:
        page.keyboard.press("Enter")
    assert info.value.status == 201, info.value.text()
    expect(page.locator("#ticket-number")).to_have_text(info.value.json()["number"])
    expect(page.locator("#step-title")).to_be_focused()
    tab_to(page, "#done")
    page.keyboard.press("Enter")
    expect(page.locator("#spheres")).to_be_visible()


# ------------------------------------------------------------------------------------ accessibility, both languages

PAGES = ["board", "display", "kiosk", "desk", "head", "ratings", "ratings-network", "ticket", "book"]


@pytest.mark.parametrize("lang", ["uk", "en"])
@pytest.mark.parametrize("name", PAGES)
def test_axe_and_screenshot(ctx: Ctx, demo: Net, name: str, lang: str) -> None:
    desk = "main-05"
    tokens = {**kiosk_tokens(demo), **desk_tokens(demo, desk), **head_tokens(demo)}
    ctx.preset(lang=lang, tokens=tokens)
    paths = {
        "board": (f"/board/{OFFICE}", "#calls-h"),
        "display": (f"/display/{desk}", "#display-number:not(:empty)"),
        "kiosk": (f"/kiosk/{OFFICE}", "#spheres"),
        "desk": (f"/desk/{desk}", "#desk-status"),
        "head": (f"/head/{OFFICE}", "#desk-table"),
        "ratings": (f"/ratings/{OFFICE}", "#today"),
        "ratings-network": ("/ratings/network", "#today"),
        "ticket": (None, "#ticket-number"),
        "book": (f"/book/{OFFICE}", "#service option:nth-child(2)"),
    }
    path, ready = paths[name]
    if name == "ticket":
        path = f"/t/{demo.issue(OFFICE, pick(demo, OFFICE, desk)['id'])['id']}"
    page = ctx.open(path)
    page.wait_for_selector(ready, state="attached")
    page.wait_for_timeout(300)  # let late parts (names, counts) settle
    assert page.evaluate("document.documentElement.lang") == lang
    expect(page.locator(".lang-switch button[aria-pressed='true']")).to_have_text("УКР" if lang == "uk" else "ENG")
    shot(page, f"{name}-{lang}")
    run_axe(page, f"{name} ({lang})")


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_axe_on_inner_states(ctx: Ctx, demo: Net, lang: str) -> None:
    """The states a first load does not show: kiosk steps and ticket, the transfer dialog, booking slots."""
    desk = "main-04"
    ctx.preset(lang=lang, tokens={**kiosk_tokens(demo), **desk_tokens(demo, desk)})
    svc = pick(demo, OFFICE, desk)

    kiosk = ctx.open(f"/kiosk/{OFFICE}")
    kiosk.locator(f'[data-sphere="{svc["sphere_uk"]}"]').click()
    kiosk.wait_for_selector("[data-intent], [data-service], #vuln-no")
    if kiosk.locator("[data-intent]").count():
        shot(kiosk, f"kiosk-intent-{lang}")
        run_axe(kiosk, f"kiosk intent ({lang})")
        kiosk.locator(f'[data-intent="{svc["intent"]}"]').click()
        kiosk.wait_for_selector("[data-service], #vuln-no")
    if kiosk.locator("[data-service]").count():
        shot(kiosk, f"kiosk-services-{lang}")
        run_axe(kiosk, f"kiosk services ({lang})")
        kiosk.locator(f'[data-service="{svc["id"]}"]').click()
    expect(kiosk.locator("#vuln-no")).to_be_visible()
    shot(kiosk, f"kiosk-vulnerable-{lang}")
    run_axe(kiosk, f"kiosk vulnerable question ({lang})")
    kiosk.locator("#vuln-yes").click()
    expect(kiosk.locator("#ticket-number")).to_be_visible()
    shot(kiosk, f"kiosk-ticket-{lang}")
    run_axe(kiosk, f"kiosk ticket ({lang})")

    console = open_desk_console(ctx, desk)
    number = kiosk.locator("#ticket-number").inner_text()
    call_until(console, number)
    console.locator("body").press("t")
    expect(console.locator("#xfer-dialog")).to_be_visible()
    shot(console, f"desk-transfer-{lang}")
    run_axe(console, f"desk transfer dialog ({lang})")
    console.keyboard.press("Escape")
    expect(console.locator("#xfer-dialog")).to_have_count(0)
    console.locator("#act-served").click()

    book = ctx.open(f"/book/{OFFICE}")
    date = find_slot_date(demo, svc["id"])
    if date:
        book.locator("#service").select_option(svc["id"])
        book.locator("#date").fill(date)
        book.locator("#show-slots").click()
        expect(book.locator("#slots")).to_be_visible()
        book.locator("#slot-0").click()
        shot(book, f"book-slots-{lang}")
        run_axe(book, f"booking slots ({lang})")


# ------------------------------------------------------------------------------------------ the rest of the behaviour


def find_slot_date(net: Net, service: str, office: str = OFFICE) -> str | None:
    today = dt.date.today()
    for i in range(0, 14):
        day = (today + dt.timedelta(days=i)).isoformat()
        status, slots = http(net.server, "GET", f"/api/v1/offices/{office}/slots?service={service}&date={day}")
        if status == 200 and slots:
            return day
    return None


def test_booking_gives_a_code(ctx: Ctx, demo: Net) -> None:
    svc = pick(demo, OFFICE, "main-03")
    date = find_slot_date(demo, svc["id"])
    assert date is not None, "the demo network must have a free appointment slot in the next two weeks"
    page = ctx.open(f"/book/{OFFICE}")
    page.locator("#service").select_option(svc["id"])
    page.locator("#date").fill(date)
    page.locator("#show-slots").click()
    page.locator("#slot-0").click()
    with page.expect_response(lambda r: r.url.endswith("/appointments") and r.request.method == "POST") as info:
        page.locator("#confirm").click()
    assert info.value.status == 201, info.value.text()
    expect(page.locator("#code")).to_have_text(info.value.json()["code"])
    expect(page.locator("#done-h")).to_be_focused()
    shot(page, "book-done")


def test_language_switch_is_remembered(ctx: Ctx) -> None:
    page = ctx.open(f"/board/{OFFICE}")
    expect(page.locator("#calls-h")).to_have_text("Виклики")
    page.get_by_role("button", name="ENG").click()
    expect(page.locator("#calls-h")).to_have_text("Calls")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.reload()
    expect(page.locator("#calls-h")).to_have_text("Calls")
    page.get_by_role("button", name="УКР").click()
    expect(page.locator("#calls-h")).to_have_text("Виклики")
    assert page.evaluate("document.documentElement.lang") == "uk"


def test_board_resyncs_on_a_gap_and_ignores_unknown_types(ctx: Ctx) -> None:
    """A delta whose seq skips a number makes the board reconnect; the new snapshot replaces what it showed."""
    page = ctx.context.new_page()
    page.on("pageerror", lambda e: ctx.errors.append(str(e)))
    connections: list[Any] = []

    def handler(ws: Any) -> None:
        connections.append(ws)
        if len(connections) == 1:
            ws.send(json.dumps({"type": "snapshot", "seq": 5, "calls": [], "queues": [
                {"category": "quick", "waiting": 3, "eta_min": 6}]}))
            ws.send(json.dumps({"type": "desk", "seq": 6, "desk": "2", "status": "open"}))
            ws.send(json.dumps({"type": "called", "seq": 7, "ticket": "B001", "desk": "2"}))
        else:
            ws.send(json.dumps({"type": "snapshot", "seq": 20, "calls": [
                {"ticket": "B001", "desk": "2", "at": 1000}, {"ticket": "D002", "desk": "4", "at": 2000}],
                "queues": [{"category": "acceptance", "waiting": 1, "eta_min": 2}]}))

    page.route_web_socket(re.compile(r".*/ws/offices/main/board$"), handler)
    page.goto(f"{ctx.server.url}/board/{OFFICE}")
    expect(page.locator("#call-now-text")).to_contain_text("B001")
    expect(page.locator("#queue-table")).to_contain_text("Довідки та витяги")
    assert len(connections) == 1
    connections[0].send(json.dumps({"type": "called", "seq": 9, "ticket": "C003", "desk": "7"}))  # 8 is missing
    expect(page.locator("#call-now-text")).to_contain_text("D002")
    assert len(connections) == 2
    expect(page.locator("#call-list")).to_contain_text("B001")
    expect(page.locator("#queue-table")).to_contain_text("Прийом документів")
    assert "C003" not in page.locator("main").inner_text()
    assert page.evaluate("window.chergaBoard.spellTicket('A017')") == "А 0 1 7"


def test_device_token_is_asked_again_with_the_servers_message(ctx: Ctx, demo: Net) -> None:
    desk = "main-06"
    ctx.preset(tokens={f"cherga.token.desk.{desk}": "not-a-real-token"})
    page = ctx.open(f"/desk/{desk}")
    # refused: the console pairs again (pairing.js), saying why; "I have a device token" opens the form
    expect(page.locator("#pair-message")).to_contain_text("not known")
    page.locator("#pair-have-token").click()
    expect(page.locator("#token-input")).to_be_visible()
    expect(page.locator("#token-error")).not_to_be_empty()
    shot(page, "desk-token")
    run_axe(page, "desk token form")
    page.locator("#token-input").fill(demo.token("desk", office_of(demo, desk), desk))
    page.locator("#token-input").press("Enter")
    expect(page.locator("#desk-status")).to_be_visible()
    stored = page.evaluate(f"localStorage.getItem('cherga.token.desk.{desk}')")
    assert stored == demo.token("desk", office_of(demo, desk), desk)


def test_desk_console_keys_errors_and_transfer(ctx: Ctx, demo: Net) -> None:
    office = "zamostia" if "zamostia" in demo.offices else OFFICE
    desks = demo.offices[office]["desks"]
    # a desk, one of its services, and another desk of the office that serves it too
    desk, svc_id, other = next((d["id"], s, o["id"]) for d in desks for s in d["services"] for o in desks
                               if o["id"] != d["id"] and s in o["services"])
    svc = demo.service(office, svc_id)
    ctx.preset(tokens=desk_tokens(demo, desk))
    ticket = demo.issue(office, svc["id"])
    page = open_desk_console(ctx, desk)
    call_until(page, ticket["number"])
    # a second "next" while a ticket is still called: the server says no, the console shows its words
    page.locator("body").press("n")
    expect(page.locator("#desk-error")).to_be_visible()
    expect(page.locator("#desk-error")).not_to_be_empty()
    shot(page, "desk-error")
    # transfer to another desk by keys alone
    page.locator("body").press("t")
    expect(page.locator("#xfer-dialog")).to_be_visible()
    page.locator("#xfer-desk").check()
    page.locator("#xfer-target").select_option(other)
    page.locator("#xfer-pos-end").check()
    shot(page, "desk-transfer")
    page.locator("#xfer-submit").click()
    expect(page.locator("#xfer-dialog")).to_have_count(0)
    expect(page.locator("#desk-status-msg")).to_contain_text(ticket["number"])
    expect(page.locator("#desk-error")).to_be_hidden()
    status, after = http(demo.server, "GET", f"/api/v1/tickets/{ticket['id']}")
    assert status == 200 and after["status"] in ("waiting", "called") and after.get("desk") != desk, after
    # pause and resume with P
    page.locator("body").press("p")
    expect(page.locator("#desk-status")).to_have_text(re.compile("Перерва|Paused"))
    page.locator("body").press("p")
    expect(page.locator("#desk-status")).not_to_have_text(re.compile("Перерва|Paused"))


def test_head_dashboard_edits_the_priority_order(ctx: Ctx, demo: Net) -> None:
    ctx.preset(tokens=head_tokens(demo))
    status, original = http(demo.server, "GET", f"/api/v1/offices/{OFFICE}/policy")
    assert status == 200, original
    page = ctx.open(f"/head/{OFFICE}")
    expect(page.locator("#desk-table")).to_be_visible()
    expect(page.locator("#office-table")).to_contain_text(re.compile("Віддалене робоче місце|Remote workplace"))
    second = original["order"][1]
    try:
        page.locator(f'[data-key="up-{second}"]').click()
        expect(page.locator(f'[data-key="up-{second}"]')).to_be_disabled()
        page.locator(f"#limit-{second}").fill("12")
        page.locator("#policy-save").click()
        expect(page.locator("#head-status")).to_have_text(re.compile("збережено|saved"))
        status, now = http(demo.server, "GET", f"/api/v1/offices/{OFFICE}/policy")
        assert now["order"][0] == second and now["max_wait_min"][second] == 12, now
        shot(page, "head-policy")
    finally:
        http(demo.server, "PUT", f"/api/v1/offices/{OFFICE}/policy",
             {"order": original["order"], "max_wait_min": original["max_wait_min"]}, demo.token("head", OFFICE))


def test_visitor_can_cancel_while_waiting(ctx: Ctx, demo: Net) -> None:
    ticket = demo.issue(OFFICE, pick(demo, OFFICE, "main-07")["id"])
    page = ctx.open(f"/t/{ticket['id']}")
    page.locator("#cancel").click()
    expect(page.locator("#cancel-yes")).to_be_focused()
    page.locator("#cancel-yes").click()
    expect(page.locator("#ticket-status")).to_have_text(re.compile("Скасовано|Cancelled"))


def test_kiosk_prints_an_80mm_ticket(ctx: Ctx, demo: Net) -> None:
    ctx.preset(tokens=kiosk_tokens(demo))
    page = ctx.open(f"/kiosk/{OFFICE}")
    page.evaluate("window.print = () => { window.__printed = true; }")
    kiosk_issue(page, pick(demo, OFFICE, "main-08"))
    page.locator("#print").click()
    assert page.evaluate("window.__printed") is True
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.getElementById('main')).display") == "none"
    assert page.evaluate("getComputedStyle(document.getElementById('print-area')).display") == "block"
    page.set_viewport_size({"width": 302, "height": 900})
    shot(page, "kiosk-print")
    pdf = page.pdf(prefer_css_page_size=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert boxes, "no page in the PDF"
    width_mm = float(boxes[0][0]) / 72 * 25.4
    assert abs(width_mm - 80) < 1, f"page is {width_mm:.1f} mm wide"
    assert len(set(boxes)) == 1 and b"/Count 1" in pdf, "the ticket should fit one page"


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_visitor_pages_on_a_phone(browser: Any, server: Any, demo: Net, lang: str) -> None:
    """The ticket and booking pages are opened on phones: no sideways scrolling, still accessible."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="uk-UA")
    context.add_init_script(f"localStorage.setItem('cherga.lang', {json.dumps(lang)})")
    errors: list[str] = []
    try:
        ticket = demo.issue(OFFICE, pick(demo, OFFICE, "main-04")["id"])
        for name, path, ready in (("ticket", f"/t/{ticket['id']}", "#ticket-position"),
                                  ("book", f"/book/{OFFICE}", "#service option:nth-child(2)")):
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url + path)
            page.wait_for_selector(ready, state="attached")
            fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            assert fits, f"{name} scrolls sideways"
            shot(page, f"{name}-phone-{lang}")
            run_axe(page, f"{name} on a phone ({lang})")
    finally:
        context.close()
    assert errors == []


def test_kiosk_check_in_shows_the_servers_words(ctx: Ctx, demo: Net) -> None:
    ctx.preset(tokens=kiosk_tokens(demo))
    page = ctx.open(f"/kiosk/{OFFICE}")
    page.locator("#checkin").click()
    expect(page.locator("#step-title")).to_be_focused()
    page.locator("#code").fill("NO-SUCH-CODE")
    with page.expect_response(lambda r: r.url.endswith("/check-in")) as info:
        page.locator("#code").press("Enter")
    assert info.value.status == 404, info.value.text()
    expect(page.locator("#kiosk-error")).to_have_text(info.value.json()["error"]["message"])
    shot(page, "kiosk-checkin")
    run_axe(page, "kiosk check-in")
    page.locator("#home").click()
    expect(page.locator("#spheres")).to_be_visible()


def test_board_chimes_and_speaks_the_call_in_ukrainian(ctx: Ctx) -> None:
    page = ctx.context.new_page()
    page.on("pageerror", lambda e: ctx.errors.append(str(e)))
    # record what would be spoken; end each utterance at once
    page.add_init_script("""
        window.__spoken = [];
        const synth = window.speechSynthesis;
        synth.speak = (u) => {
            window.__spoken.push({text: u.text, lang: u.lang});
            setTimeout(() => u.onend && u.onend(), 0);
        };
    """)
    sockets: list[Any] = []

    def handler(ws: Any) -> None:
        sockets.append(ws)
        ws.send(json.dumps({"type": "snapshot", "seq": 1, "calls": [], "queues": []}))

    page.route_web_socket(re.compile(r".*/ws/offices/main/board$"), handler)
    page.goto(f"{ctx.server.url}/board/{OFFICE}")
    expect(page.locator("#calls-h")).to_be_visible()
    page.locator("#sound-enable").click()
    expect(page.locator("#sound-enable")).to_have_count(0)
    sockets[0].send(json.dumps({"type": "called", "seq": 2, "ticket": "A017", "desk": "5"}))
    expect(page.locator("#call-now-text")).to_contain_text("A017")
    page.wait_for_function("window.__spoken.some(u => u.text.startsWith('Талон'))")
    spoken = page.evaluate("window.__spoken.filter(u => u.text.trim())")
    assert spoken == [{"text": "Талон А 0 1 7, вікно 5", "lang": "uk-UA"}], spoken


def test_kiosk_returns_to_the_start_by_itself(ctx: Ctx, demo: Net) -> None:
    ctx.preset(tokens=kiosk_tokens(demo))
    page = ctx.context.new_page()
    page.on("pageerror", lambda e: ctx.errors.append(str(e)))
    page.clock.install()
    page.goto(f"{ctx.server.url}/kiosk/{OFFICE}")
    svc = pick(demo, OFFICE, "main-05")
    page.locator(f'[data-sphere="{svc["sphere_uk"]}"]').click()
    expect(page.locator("#spheres")).to_have_count(0)
    page.clock.run_for(91_000)
    expect(page.locator("#spheres")).to_be_visible()


def test_redirected_ticket_leads_to_the_new_one(ctx: Ctx, demo: Net) -> None:
    desk = "main-09"
    svc = pick(demo, OFFICE, desk)
    other = next(o for o, v in demo.offices.items() if o != OFFICE and any(s["id"] == svc["id"] for s in v["services"]))
    ticket = demo.issue(OFFICE, svc["id"])
    ctx.preset(tokens=desk_tokens(demo, desk))
    console = open_desk_console(ctx, desk)
    visitor = ctx.open(f"/t/{ticket['id']}")
    expect(visitor.locator("#ticket-status")).to_have_text(re.compile("Очікує|Waiting"))
    call_until(console, ticket["number"])
    console.locator("body").press("t")
    console.locator("#xfer-office").check()
    console.locator("#xfer-target").select_option(other)
    console.locator("#xfer-submit").click()
    expect(console.locator("#desk-status-msg")).to_contain_text(ticket["number"])
    expect(visitor.locator("#new-ticket")).to_be_visible()
    shot(visitor, "ticket-redirected")
    visitor.locator("#new-ticket").click()
    expect(visitor.locator("#ticket-status")).to_have_text(re.compile("Очікує|Waiting"))
    new_id = visitor.url.rsplit("/", 1)[-1]
    status, new = http(demo.server, "GET", f"/api/v1/tickets/{new_id}")
    assert status == 200 and new["office"] == other, new
    expect(visitor.locator("#ticket-number")).to_have_text(new["number"])


def test_head_applies_a_suggested_redirect_with_one_click(ctx: Ctx, demo: Net) -> None:
    """The dashboard's wiring, on a busy day made up for it: alerts, colours with words, a one-click redirect."""
    ctx.preset(tokens=head_tokens(demo))
    page = ctx.context.new_page()
    page.on("pageerror", lambda e: ctx.errors.append(str(e)))
    services = [s["id"] for s in demo.offices[OFFICE]["services"]]
    desks = demo.offices[OFFICE]["desks"]
    load = {
        "office": OFFICE, "target_min": 15, "limit_min": 20,
        "desks": [{"id": d["id"], "number": d["number"], "status": st, "ticket": tk, "served": i * 3,
                   "utilisation": min(1.0, 0.2 + i * 0.1), "waiting_for_it": i}
                  for i, (d, st, tk) in enumerate(zip(desks[:4], ["serving", "called", "paused", "closed"],
                                                      ["B013", "D007", None, None], strict=True))],
        "queues": [{"service": services[0], "waiting": 9, "eta_min": 24, "longest_wait_min": 22},
                   {"service": services[1], "waiting": 4, "eta_min": 16, "longest_wait_min": 12},
                   {"service": services[2], "waiting": 1, "eta_min": 3, "longest_wait_min": 1}],
        "offices": [{"id": o, "name": v["name"], "kind": v["kind"], "waiting": 3, "open_desks": 2, "busy_desks": 1,
                     "max_eta_min": m} for (o, v), m in zip(demo.offices.items(), [24, 5, 17, 2], strict=False)],
        "suggestions": [{"ticket": "tkt-secret-1", "number": "B014", "service": services[0], "to_office": "zamostia",
                         "eta_here_min": 24, "eta_there_min": 4, "travel_min": 12, "saves_min": 8}],
        "alerts": [{"kind": "limit", "message_uk": "Черга перевищила 20 хвилин",
                    "message_en": "A queue is past 20 minutes"}],
    }
    sent: list[Any] = []
    page.route(re.compile(r".*/api/v1/offices/main/load$"), lambda route: route.fulfill(json=load))

    def redirect(route: Any) -> None:
        sent.append(route.request.post_data_json)
        route.fulfill(json={"id": "tkt-secret-1", "number": "B014", "status": "redirected", "new_ticket": "x"})

    page.route(re.compile(r".*/api/v1/offices/main/redirects$"), redirect)
    page.goto(f"{ctx.server.url}/head/{OFFICE}")
    expect(page.locator("#alert-list")).to_contain_text("Черга перевищила 20 хвилин")
    expect(page.locator("#queue-table .badge.bad").first).to_have_text("Понад 20 хв")
    expect(page.locator("#queue-table .badge.warn").first).to_have_text("Понад 15 хв")
    shot(page, "head-busy")
    run_axe(page, "head dashboard, busy")
    page.get_by_role("button", name="Переадресувати B014").click()
    expect(page.locator("#head-status")).to_contain_text("B014")
    assert sent == [{"ticket": "tkt-secret-1", "office": "zamostia"}], sent
