"""Browser tests of the national rating scale (issue 18.5-6): the desk rating tablet, the exit tablet, the phone page
and the live ratings page show the office's scale: three levels (погано, добре, зразково) at "main", the national
monitoring's four (жахливо, прийнятно, добре, чудово) at "zamostia".

Real Chromium against a real ``cherga serve`` of its own (the demo network with zamostia on four levels). Each
page: the office's levels in order, a distinct face and a word on every button, large targets, Ukrainian first
(English on switching), a press lands as that rating (GET the ticket), axe 0 violations. The tablets are
photographed in landscape (1280x800) and portrait (800x1280), the phone at 390x844, into
``test-artifacts/screenshots/`` (named scale-*). The three-level variants of the tablets and the phone run with
``-m slow`` (tests/test_pages_visitor.py already drives those pages on three levels by default); the ratings page
is checked on both scales by default.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright import sync_api
from server import ServerProcess
from test_pages_visitor import SHOTS, Ctx, Net, http, run_axe, type_on_keypad

from cherga.engine.loader import DEMO_DIR

expect = sync_api.expect

LEVELS = {
    "three": [("bad", "Погано", "Bad"), ("good", "Добре", "Good"), ("exemplary", "Зразково", "Exemplary")],
    "four": [("terrible", "Жахливо", "Terrible"), ("acceptable", "Прийнятно", "Acceptable"), ("good", "Добре", "Good"),
             ("excellent", "Чудово", "Excellent")],
}
# the office on each scale, a desk of it and a service that desk serves
PLACES = {"three": ("main", "main-02"), "four": ("zamostia", "zamostia-02")}
LANDSCAPE, PORTRAIT, PHONE = (1280, 800), (800, 1280), (390, 844)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("scale")
    config = tmp / "config"
    shutil.copytree(DEMO_DIR, config)
    path = config / "network.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count('id = "zamostia"\n') == 1
    path.write_text(text.replace('id = "zamostia"\n', 'id = "zamostia"\nrating_scale = "four"\n'), encoding="utf-8")
    proc = ServerProcess(tmp / "data", extra=["--config", str(config)]).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def net(server: ServerProcess) -> Net:
    n = Net(server)
    assert n.offices["zamostia"]["rating_scale"] == "four" and n.offices["main"]["rating_scale"] == "three"
    return n


@pytest.fixture
def ctx(browser: Any, server: ServerProcess) -> Iterator[Ctx]:
    c = Ctx(browser, server)
    yield c
    c.context.close()
    assert c.errors == [], c.errors


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"scale-{name}.png"), full_page=True)


def served(net: Net, scale: str) -> dict[str, Any]:
    office, desk = PLACES[scale]
    service = sorted(next(d for d in net.offices[office]["desks"] if d["id"] == desk)["services"])[0]
    ticket = net.issue(office, service)
    net.serve(desk, ticket)
    return ticket


def check_buttons(page: Any, scale: str, lang: str = "uk", min_w: float = 150, min_h: float = 150) -> None:
    """The scale's buttons in order, each a word and its own face; the targets large."""
    buttons = page.locator("[data-score]")
    assert buttons.evaluate_all("els => els.map(e => e.dataset.score)") == [k for k, _, _ in LEVELS[scale]]
    faces = set()
    for key, uk, en in LEVELS[scale]:
        b = page.locator(f"#rate-{key}")
        expect(b).to_contain_text(uk if lang == "uk" else en)
        face = b.locator("svg.face-svg")
        assert face.count() == 1 and face.get_attribute("aria-hidden") == "true"
        faces.add(face.inner_html())
        box = b.bounding_box()
        assert box and box["width"] >= min_w and box["height"] >= min_h, f"{key}: {box}"
        assert b.evaluate("e => e.scrollWidth <= e.clientWidth"), f"{key}: the word does not fit its button"
    assert len(faces) == len(LEVELS[scale]), "two levels share a face"


# the four levels are what is new: they run by default; the three (also covered by tests/test_pages_visitor.py's
# tablets) behind -m slow
SCALES = [pytest.param("four"), pytest.param("three", marks=pytest.mark.slow)]


def head_as(net: Net, role: str, office: str, scope: str) -> dict[str, str]:
    """The office head's token kept where a device of ``role`` keeps its own (a head may act as any device of its
    office; one token per office keeps the test's token minting short)."""
    return {f"cherga.token.{role}.{scope}": net.token("head", office)}


@pytest.mark.parametrize("scale", SCALES)
def test_the_desk_tablet_offers_the_offices_scale_and_a_press_lands(ctx: Ctx, net: Net, scale: str) -> None:
    office, desk = PLACES[scale]
    ctx.preset(tokens=head_as(net, "desk", office, desk))
    page = ctx.page()
    page.set_viewport_size({"width": LANDSCAPE[0], "height": LANDSCAPE[1]})
    page.goto(f"{net.server.url}/rate/desk/{desk}")
    idle = {"four": "Чотири кнопки: жахливо, прийнятно, добре або чудово.",
            "three": "Три кнопки: погано, добре або зразково."}[scale]
    expect(page.locator("#rate-screen[data-view='idle']")).to_contain_text(idle)
    ticket = served(net, scale)
    expect(page.locator("#rate-ticket")).to_have_text(ticket["number"], timeout=12_000)
    expect(page.locator(f".rate-big.scale-{scale}")).to_be_visible()
    check_buttons(page, scale)
    top = {b["y"] for b in (page.locator(f"#rate-{k}").bounding_box() for k, _, _ in LEVELS[scale])}
    assert len(top) == 1, "landscape: the faces in one row"
    shot(page, f"desk-{scale}-landscape")
    run_axe(page, f"desk tablet, {scale} levels, landscape")
    page.set_viewport_size({"width": PORTRAIT[0], "height": PORTRAIT[1]})
    check_buttons(page, scale, min_w=150, min_h=150)
    for key, _, _ in LEVELS[scale]:  # nothing falls off a portrait tablet
        box = page.locator(f"#rate-{key}").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PORTRAIT[0], f"{key}: {box}"
    shot(page, f"desk-{scale}-portrait")
    run_axe(page, f"desk tablet, {scale} levels, portrait")
    # English second: the same buttons in English at a touch of the switch
    page.set_viewport_size({"width": LANDSCAPE[0], "height": LANDSCAPE[1]})
    page.locator(".lang-switch button[data-lang='en']").click()
    check_buttons(page, scale, lang="en")
    shot(page, f"desk-{scale}-en")
    lowest = LEVELS[scale][0][0]
    with page.expect_response(lambda r: r.url.endswith(f"/tickets/{ticket['id']}/rating")) as info:
        page.locator(f"#rate-{lowest}").click()
    assert info.value.status == 201, info.value.text()
    expect(page.locator("#rate-thanks")).to_be_visible()
    assert net.ticket(ticket["id"])["rating"] == lowest


@pytest.mark.parametrize("scale", SCALES)
def test_the_exit_tablet_offers_the_offices_scale_and_a_press_lands(ctx: Ctx, net: Net, scale: str) -> None:
    office, _ = PLACES[scale]
    ctx.preset(tokens=head_as(net, "kiosk", office, office))
    ticket = served(net, scale)
    page = ctx.page()
    for name, (w, h) in (("landscape", LANDSCAPE), ("portrait", PORTRAIT)):
        page.set_viewport_size({"width": w, "height": h})
        page.goto(f"{net.server.url}/rate/exit/{office}")
        type_on_keypad(page, ticket["number"])
        page.locator("#exit-next").click()
        expect(page.locator("#exit-ticket")).to_have_text(ticket["number"])
        check_buttons(page, scale)
        shot(page, f"exit-{scale}-{name}")
        run_axe(page, f"exit tablet, {scale} levels, {name}")
    second = LEVELS[scale][1][0]
    with page.expect_response(lambda r: r.url.endswith(f"/offices/{office}/ratings")) as info:
        page.locator(f"#rate-{second}").click()
    assert info.value.status == 201, info.value.text()
    expect(page.locator("#exit-thanks")).to_be_visible()
    assert net.ticket(ticket["id"])["rating"] == second


@pytest.mark.parametrize("scale", SCALES)
def test_the_phone_page_offers_the_offices_scale_and_a_press_lands(ctx: Ctx, net: Net, scale: str) -> None:
    ticket = served(net, scale)
    page = ctx.page()
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"{net.server.url}/t/{ticket['id']}")
    expect(page.locator(f".rate-buttons.scale-{scale}")).to_be_visible()
    check_buttons(page, scale, min_w=44, min_h=80)
    for key, _, _ in LEVELS[scale]:
        box = page.locator(f"#rate-{key}").bounding_box()
        assert box and box["x"] + box["width"] <= PHONE[0], f"{key} off the phone's screen: {box}"
    shot(page, f"phone-{scale}")
    run_axe(page, f"phone page, {scale} levels")
    top = LEVELS[scale][-1][0]
    with page.expect_response(lambda r: r.url.endswith(f"/tickets/{ticket['id']}/rating")) as info:
        page.locator(f"#rate-{top}").click()
    assert info.value.status == 201, info.value.text()
    expect(page.locator("#rate-h")).to_have_text("Дякуємо за оцінку!")
    assert net.ticket(ticket["id"])["rating"] == top


def test_the_live_ratings_page_counts_on_the_offices_scale(ctx: Ctx, net: Net) -> None:
    ticket = served(net, "four")
    page = ctx.open("/ratings/zamostia")
    rows = page.locator("#today .score-row")
    expect(rows).to_have_count(4)
    assert rows.evaluate_all("els => els.map(e => e.dataset.score)") == [k for k, _, _ in LEVELS["four"]]
    expect(page.locator("#ratings-scale")).to_contain_text("жахливо, прийнятно, добре, чудово")
    before = page.locator("#today .score-row[data-score='acceptable'] .val small").inner_text()
    status, _ = http(net.server, "POST", f"/api/v1/tickets/{ticket['id']}/rating", {"score": "acceptable"})
    assert status == 201
    expect(page.locator("#today .score-row[data-score='acceptable'] .val small")).to_have_text(str(int(before) + 1))
    expect(page.locator("#today .positive")).to_contain_text("Добре або чудово")
    assert page.locator("#today .score-row svg.face-svg").count() == 4
    shot(page, "ratings-four")
    run_axe(page, "live ratings, four levels")
    three = ctx.open("/ratings/main")
    expect(three.locator("#today .score-row")).to_have_count(3)
    run_axe(three, "live ratings, three levels")
