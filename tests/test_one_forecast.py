"""One forecast, everywhere (issue 13, point 2; API.md 1.1 "Honest waits").

At one instant the kiosk's service tile, the hall board's category line, the desk console's queue table, the head's
dashboard, the visitor's phone page and the API give the same figure for the same queue; with no open desk (a
paused or closed desk serves nobody) every one of them says "немає відкритих вікон" and the API says
``eta_min: null, eta_reason: "no_open_desk"`` — never "0 хв" or "менше 1 хв".

What must be equal, exactly:

* ``GET .../state``'s ``eta_min`` for a service is the wait of a regular newcomer: it equals (±0.5 min) the
  ``eta_min`` of a regular ticket issued right then, and the screens that show "the queue" (kiosk tile, board line,
  desk console, head) show the state's figure;
* the newcomer's phone page shows what ``GET /api/v1/tickets/{id}`` says of that ticket; and since the ticket is the
  newcomer the state spoke of a moment before (the same tickets ahead of it, nothing served in between), it reads
  the same figure too. A ticket already waiting at the end of the queue is *not* compared with the state: it has one
  ticket less ahead of it than a newcomer.

Real ``cherga serve`` of its own (a fresh data dir: the tests know every ticket of the office), real Chromium, axe on
the screens in the no-open-desk state, screenshots in ``test-artifacts/screenshots/`` (named forecast-*).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright import sync_api
from server import ServerProcess
from test_pages import http, run_axe, shot

expect = sync_api.expect

OFFICE = "main"
SERVICE = "community-register-extract"  # quick; its sphere has several services, so the kiosk shows its tile
CATEGORY = "quick"  # its category on the board: no other quick service has anyone waiting in these tests
OWN = ("main-03", "main-04")  # desks that serve it as their own
HELPER = "main-06"  # serves it as backup ("quick"), its own queues (business) empty
NO_DESK_UK = "немає відкритих вікон"
TIMEOUT_MS = 10_000


def fmt_wait(eta: float | None) -> str:
    """pages/common.js fmtWait, in Python: what every page shows for the API's figure."""
    if eta is None:
        return NO_DESK_UK
    if eta < 1:
        return "менше 1 хв"
    return f"≈ {math.floor(eta + 0.5)} хв"  # JS Math.round


class Office:
    """The office through the API, as the desks and the kiosk drive it."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.head = server.token("head", OFFICE)
        self.kiosk = server.token("kiosk", OFFICE)
        status, offices = http(server, "GET", "/api/v1/offices")
        assert status == 200, offices
        self.info = next(o for o in offices if o["id"] == OFFICE)
        self.service = next(s for s in self.info["services"] if s["id"] == SERVICE)

    def do(self, desk: str, action: str, body: Any = None) -> Any:
        status, out = http(self.server, "POST", f"/api/v1/desks/{desk}/{action}", body, self.head)
        assert status == 200, (desk, action, status, out)
        return out

    def issue(self, vulnerable: bool = False, service: str = SERVICE) -> dict[str, Any]:
        status, t = http(self.server, "POST", f"/api/v1/offices/{OFFICE}/tickets",
                         {"service": service, "vulnerable": vulnerable}, self.head)  # a kiosk is rate-limited
        assert status == 201, t
        return t  # type: ignore[no-any-return]

    def cancel(self, ticket: dict[str, Any]) -> None:
        status, out = http(self.server, "POST", f"/api/v1/tickets/{ticket['id']}/cancel")
        assert status == 200 and out["status"] == "cancelled", (status, out)

    def queue(self, service: str = SERVICE) -> dict[str, Any]:
        status, state = http(self.server, "GET", f"/api/v1/offices/{OFFICE}/state")
        assert status == 200, state
        return next(q for q in state["queues"] if q["service"] == service)  # type: ignore[no-any-return]

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        status, t = http(self.server, "GET", f"/api/v1/tickets/{ticket_id}")
        assert status == 200, t
        return t  # type: ignore[no-any-return]


@pytest.fixture
def fresh(tmp_path: Any) -> Iterator[ServerProcess]:
    """A server of its own for each test: nothing issued before, no arrivals counted."""
    proc = ServerProcess(tmp_path / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


def honest(x: dict[str, Any]) -> None:
    """API.md 1.1: a null figure always carries its reason, a figure never does."""
    if x["eta_min"] is None:
        assert x["eta_reason"] == "no_open_desk", x
    else:
        assert x["eta_reason"] is None and x["eta_min"] >= 0, x


# ------------------------------------------------------------------------------------------ the API's own rule


def test_state_and_a_newcomer_agree_within_half_a_minute(fresh: ServerProcess) -> None:
    """API.md 1.1: at one instant the state's eta_min for a service equals (±0.5 min) that of a regular ticket issued
    right then — over states that exercise the forecast: no desk, a free desk, a long queue, a visit under way, a
    vulnerable ticket ahead (and overtaking), a helping desk, and only a paused desk left."""
    office = Office(fresh)
    seen: dict[str, tuple[float | None, float | None]] = {}

    def probe(label: str) -> tuple[float | None, float | None]:
        """The state's figure, then a regular newcomer's (cancelled again, so the state is as it was)."""
        q = office.queue()
        t = office.issue()
        honest(q)
        honest(t)
        assert t["status"] == "waiting", t
        a, b = q["eta_min"], t["eta_min"]
        assert (a is None) == (b is None), f"{label}: state says {q}, a newcomer is told {t}"
        if a is not None and b is not None:
            assert abs(a - b) <= 0.5, f"{label}: state {a} min, a ticket issued then {b} min"
        office.cancel(t)
        seen[label] = (a, b)
        return a, b

    # no desk open: unknown, never 0
    a, b = probe("no desk open")
    assert a is None and b is None
    # one desk open and free, nobody waiting: called at once
    office.do(OWN[0], "open")
    a, _ = probe("one free desk")
    assert a is not None and a < 1, seen
    # a long queue at one desk: several minutes (6 min a visit: the configured mean, nothing finished yet)
    waiting = [office.issue() for _ in range(4)]
    a, _ = probe("four ahead, one desk")
    assert a is not None and 20 <= a <= 28, seen
    # a second desk halves it
    office.do(OWN[1], "open")
    a2, _ = probe("four ahead, two desks")
    assert a2 is not None and 0.4 * a <= a2 <= 0.6 * a, seen
    # a visit under way: the desk frees when it ends
    office.do(OWN[0], "call-next")
    office.do(OWN[0], "start")
    a3, _ = probe("three ahead, one visit under way")
    assert a3 is not None and 3 <= a3 <= a2, seen
    # a vulnerable visitor waiting goes first: the regular newcomer waits longer, and the state still says so
    vul = office.issue(vulnerable=True)
    honest(vul)
    a4, _ = probe("a vulnerable ticket ahead")
    assert a4 is not None and a4 > a3, seen
    # a desk that helps with the queue shortens it
    office.do(HELPER, "open")
    a5, _ = probe("a helping desk open")
    assert a5 is not None and a5 < a4, seen
    # only a paused desk left: nobody serves it, the wait is unknown
    office.do(OWN[0], "finish", {"outcome": "served"})
    for desk in (OWN[0], HELPER):
        office.do(desk, "close")
    office.do(OWN[1], "pause")
    a6, b6 = probe("only a paused desk")
    assert a6 is None and b6 is None, seen
    # the tickets already waiting are told the same: unknown, with the reason
    for t in [*waiting[1:], vul]:
        mine = office.ticket(t["id"])
        if mine["status"] == "waiting":
            assert mine["eta_min"] is None and mine["eta_reason"] == "no_open_desk", mine


# ------------------------------------------------------------------------------------------ every screen


def context(browser: Any, width: int, height: int, tokens: dict[str, str] | None = None, **kw: Any) -> Any:
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="uk-UA", **kw)
    ctx.set_default_timeout(TIMEOUT_MS)
    items = {"cherga.lang": "uk", **(tokens or {})}
    ctx.add_init_script(f"for (const [k, v] of Object.entries({json.dumps(items)})) localStorage.setItem(k, v);")
    return ctx


class Screens:
    """The five screens of the office, open side by side, each read as its people read it."""

    def __init__(self, browser: Any, server: ServerProcess, office: Office, desk: str, errors: list[str]) -> None:
        self.server = server
        self.office = office
        self.errors = errors
        tokens = {
            f"cherga.token.kiosk.{OFFICE}": office.kiosk,
            f"cherga.token.head.{OFFICE}": office.head,
            f"cherga.token.desk.{desk}": server.token("desk", OFFICE, desk),
        }
        self.staff = context(browser, 1920, 1080, tokens)
        self.phone_ctx = context(browser, 390, 844, device_scale_factor=2, is_mobile=True, has_touch=True)
        self.board = self.open(self.staff, f"/board/{OFFICE}")
        self.desk = self.open(self.staff, f"/desk/{desk}")
        self.head = self.open(self.staff, f"/head/{OFFICE}")
        self.kiosk: Any = None
        self.phone: Any = None
        self.name = office.service["name"]

    def open(self, ctx: Any, path: str) -> Any:
        page = ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{path}: {e}"))
        page.goto(self.server.url + path)
        return page

    def close(self) -> None:
        self.staff.close()
        self.phone_ctx.close()

    # the places each screen shows the figure
    def kiosk_tile(self) -> Any:
        return self.kiosk.locator(f'[data-service="{SERVICE}"] .sub')

    def board_line(self) -> Any:
        return self.board.locator(f"#queue-table [data-category='{CATEGORY}']")

    def desk_row(self) -> Any:
        return self.desk.locator("#waiting-table tbody tr", has_text=self.name)

    def head_row(self) -> Any:
        return self.head.locator("#queue-table tbody tr", has_text=self.name)

    def open_kiosk_at_the_tiles(self) -> None:
        """A kiosk page loaded now (it reads the queues when it starts over), at the service tiles."""
        if self.kiosk is not None:
            self.kiosk.close()
        self.kiosk = self.open(self.staff, f"/kiosk/{OFFICE}")
        self.kiosk.locator(f'[data-sphere="{self.office.service["sphere_uk"]}"]').click()
        self.kiosk.wait_for_selector("[data-service], [data-intent]")
        if self.kiosk.locator(f'[data-intent="{self.office.service["intent"]}"]').count():
            self.kiosk.locator(f'[data-intent="{self.office.service["intent"]}"]').click()
        expect(self.kiosk.locator(f'[data-service="{SERVICE}"]')).to_be_visible()

    def wait_fresh(self, waiting: int) -> None:
        """Every screen has caught up with the office: it shows `waiting` people in the queue."""
        expect(self.kiosk_tile()).to_contain_text(f"у черзі: {waiting}")
        expect(self.board_line().locator(".q-count")).to_have_text(f"у черзі: {waiting}")
        expect(self.desk_row().locator("td").nth(1)).to_have_text(str(waiting))
        expect(self.head_row().locator("td").nth(1)).to_have_text(str(waiting))

    def read(self) -> dict[str, str]:
        """What each queue screen says of the wait, read in one go (no command in between)."""
        tile = self.kiosk_tile().inner_text()  # "у черзі: 7 · очікування ≈ 16 хв" / "у черзі: 7 · немає …"
        return {
            "kiosk tile": re.sub(r"^очікування\s+", "", tile.split("·")[-1].strip()),
            "board line": self.board_line().locator(".q-eta").inner_text().strip(),
            "desk console": self.desk_row().locator("td").nth(2).inner_text().strip(),
            "head dashboard": self.head_row().locator("td").nth(2).inner_text().strip(),
        }


def test_every_screen_shows_the_same_figure_and_says_when_no_desk_is_open(browser: Any, fresh: ServerProcess) -> None:
    office = Office(fresh)
    errors: list[str] = []
    # three desks call from the queue: two its own, one helping; eight visitors, one of them already at a desk
    for desk in (*OWN, HELPER):
        office.do(desk, "open")
    for _ in range(8):
        office.issue()
    office.do(OWN[0], "call-next")
    office.do(OWN[0], "start")
    screens = Screens(browser, fresh, office, OWN[1], errors)
    try:
        screens.open_kiosk_at_the_tiles()
        screens.wait_fresh(7)
        expect(screens.head.locator("#forecast-value")).not_to_have_text("—")
        # ---- one instant: the screens, the state, then a newcomer issued right then at the kiosk
        shown = screens.read()
        head_forecast = screens.head.locator("#forecast-value").inner_text().strip()
        q = office.queue()
        kiosk = screens.kiosk
        kiosk.locator(f'[data-service="{SERVICE}"]').click()
        with kiosk.expect_response(lambda r: r.url.endswith("/tickets") and r.request.method == "POST") as info:
            kiosk.locator("#vuln-no").click()
        newcomer = info.value.json()
        expect(kiosk.locator("#ticket-number")).to_have_text(newcomer["number"])
        kiosk_ticket = kiosk.locator("#ticket-eta").inner_text().strip()
        # ----
        honest(q)
        honest(newcomer)
        assert q["waiting"] == 7 and q["eta_min"] is not None and q["eta_min"] >= 3, q  # "several minutes"
        assert newcomer["eta_min"] is not None and abs(newcomer["eta_min"] - q["eta_min"]) <= 0.5, (q, newcomer)
        expected = fmt_wait(q["eta_min"])
        assert fmt_wait(newcomer["eta_min"]) == expected, (q, newcomer)
        shown["head forecast (the only queue)"] = head_forecast
        shown["kiosk: the ticket it printed"] = kiosk_ticket
        # the newcomer's phone: what the API says of that ticket, and (it is the newcomer the state spoke of) the same
        screens.phone = screens.open(screens.phone_ctx, f"/t/{newcomer['id']}")
        expect(screens.phone.locator("#ticket-position")).to_have_text(str(newcomer["position"]))
        mine = office.ticket(newcomer["id"])
        honest(mine)
        phone = screens.phone.locator("#ticket-eta").inner_text().strip()
        assert phone == fmt_wait(mine["eta_min"]), (phone, mine)
        shown["phone page"] = phone
        assert mine["position"] == newcomer["position"] == 8, (mine, newcomer)
        assert abs(mine["eta_min"] - newcomer["eta_min"]) <= 0.5, (mine, newcomer)
        disagree = {k: v for k, v in shown.items() if v != expected}
        assert not disagree, f"state eta {q['eta_min']} reads {expected!r}; the screens say {shown}"

        # ---- no open desk: the visit under way ends, two desks close, the last one pauses (a pause serves nobody)
        office.do(OWN[0], "finish", {"outcome": "served"})
        office.do(OWN[0], "close")
        office.do(HELPER, "close")
        office.do(OWN[1], "pause")
        q = office.queue()
        assert q["waiting"] == 8 and q["eta_min"] is None and q["eta_reason"] == "no_open_desk", q
        t = office.ticket(newcomer["id"])
        assert t["eta_min"] is None and t["eta_reason"] == "no_open_desk", t
        late = office.issue()
        assert late["eta_min"] is None and late["eta_reason"] == "no_open_desk", late
        screens.open_kiosk_at_the_tiles()
        screens.wait_fresh(9)
        expect(screens.phone.locator("#ticket-eta")).to_have_text(NO_DESK_UK)
        expect(screens.desk.locator("#desk-status")).to_have_text("Перерва")
        shown = screens.read()
        shown["phone page"] = screens.phone.locator("#ticket-eta").inner_text().strip()
        assert all(v == NO_DESK_UK for v in shown.values()), shown
        # nothing on these screens promises a wait now: every service of the desk and of the kiosk's sphere is
        # served only by desks that are closed or paused
        for page, where in ((screens.kiosk, "#services"), (screens.desk, "#waiting-table"), (screens.phone, "main")):
            text = page.locator(where).inner_text()
            assert not re.search(r"\d\s*хв|менше 1 хв", text), (where, text)
        # the administrator sees the whole console on the 1920x1080 screen; the visitor's phone never scrolls sideways
        fits = "[document.documentElement.scrollWidth <= innerWidth + 1, document.documentElement.scrollHeight]"
        wide, tall = screens.desk.evaluate(fits)
        assert wide and tall <= 1080 + 1, f"the desk console scrolls at 1920x1080: {tall} px tall"
        assert screens.phone.evaluate(fits)[0], "the phone page scrolls sideways"
        shot(screens.desk, "forecast-desk-no-open-desk-landscape")
        shot(screens.phone, "forecast-phone-no-open-desk")
        run_axe(screens.desk, "desk console, no open desk")
        run_axe(screens.phone, "phone page, no open desk")
    finally:
        screens.close()
    assert errors == []
