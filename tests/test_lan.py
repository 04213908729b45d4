"""An office LAN with no internet: /docs, the favicon, the start page and the unknown-ticket page need nothing from
outside. A real ``cherga serve`` (the session's ``server`` fixture) and Debian's Chromium with every request to an
address other than this machine's failed and recorded."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright import sync_api
from test_pages import SHOTS, run_axe, shot

expect = sync_api.expect
LOCAL = {"127.0.0.1", "localhost", "[::1]", "::1"}
PHONE = {"width": 390, "height": 844}
LANDSCAPE = {"width": 1920, "height": 1080}


class Offline:
    """A browser context on a LAN without internet: any request off this machine is aborted and written down."""

    def __init__(self, browser: Any, server: Any, viewport: dict[str, int], lang: str | None = None) -> None:
        self.server = server
        self.context = browser.new_context(viewport=viewport, locale="uk-UA")
        self.context.set_default_timeout(30_000)  # Swagger UI's 1.7 MB bundle on two busy cores
        self.outside: list[str] = []
        self.local: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        if lang:
            self.context.add_init_script(f"localStorage.setItem('cherga.lang', {lang!r});")

    def _route(self, route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOCAL:
            self.local.append(url)
            route.continue_()
        else:
            self.outside.append(url)
            route.abort("internetdisconnected")

    def open(self, path: str) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{path}: {e}"))
        page.goto(self.server.url + path)
        return page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline(browser: Any, server: Any) -> Iterator[Any]:
    made: list[Offline] = []

    def make(viewport: dict[str, int] = LANDSCAPE, lang: str | None = None) -> Offline:
        ctx = Offline(browser, server, viewport, lang)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()
    assert [u for c in made for u in c.outside] == [], "a page asked the internet for something"
    assert [e for c in made for e in c.errors] == []


def offices(server: Any) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.url}/api/v1/offices", timeout=10)
    assert r.status_code == 200
    data: list[dict[str, Any]] = r.json()
    return data


def operations(server: Any) -> int:
    spec = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return sum(1 for item in spec["paths"].values() for m in item if m in methods)


# ------------------------------------------------------------------------------------------ /docs


def test_docs_renders_every_operation_with_nothing_from_outside(offline: Any, server: Any) -> None:
    ctx = offline(LANDSCAPE)
    page = ctx.open("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("cherga")
    n = operations(server)
    assert n > 20
    expect(page.locator(".opblock")).to_have_count(n)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/offices/{office}/tickets").first).to_be_visible()
    # Swagger UI and its stylesheet came from this server, and it loaded the API description from here too
    assert any(u.endswith("/vendor/swagger-ui/swagger-ui-bundle.js") for u in ctx.local)
    assert any(u.endswith("/vendor/swagger-ui/swagger-ui.css") for u in ctx.local)
    assert any(u.endswith("/openapi.json") for u in ctx.local)
    # an operation opens and shows its parameters, as with the CDN build
    page.locator(".opblock-summary-path", has_text="/api/v1/offices/{office}/state").first.click()
    expect(page.locator(".opblock.is-open .parameters-container").first).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "lan-docs-1920x1080.png"))  # the screen as seen: the whole page is 6,000 px
    assert ctx.outside == []


def test_docs_page_names_no_outside_address(server: Any) -> None:
    body = httpx.get(f"{server.url}/docs", timeout=10).text
    assert re.findall(r"https?://", body) == [], body
    assert '<html lang="en">' in body
    # FastAPI's own ReDoc page would load from a CDN: it is not served
    assert httpx.get(f"{server.url}/redoc", timeout=10).status_code == 404
    js = httpx.get(f"{server.url}/vendor/swagger-ui/swagger-ui-bundle.js", timeout=10)
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text


# ------------------------------------------------------------------------------------------ favicon


def test_favicon_is_served_and_every_page_links_it(server: Any) -> None:
    ico = httpx.get(f"{server.url}/favicon.ico", timeout=10)
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
    assert ico.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = httpx.get(f"{server.url}/favicon.svg", timeout=10)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<svg")
    desk = offices(server)[0]["desks"][0]["id"]
    paths = ["/", "/docs", f"/t/{secrets.token_hex(15)}", "/board/main", "/kiosk/main", "/head/main",
             "/ratings/main", "/book/main", f"/desk/{desk}", f"/display/{desk}", "/reports/main"]
    for path in paths:
        html = httpx.get(server.url + path, timeout=10).text
        links = re.findall(r'<link rel="(?:shortcut )?icon" href="([^"]+)"', html)
        assert len(links) == 1, (path, links)
        assert httpx.get(server.url + links[0], timeout=10).status_code == 200, path


# ------------------------------------------------------------------------------------------ the start page


def test_start_page_lists_every_office_and_desk_in_ukrainian_then_english(offline: Any, server: Any) -> None:
    net = offices(server)
    ctx = offline(LANDSCAPE)
    page = ctx.open("/")
    expect(page.locator("h1")).to_have_text("Сторінки черги")
    assert page.evaluate("document.documentElement.lang") == "uk"
    for o in net:
        card = page.locator(f'section[data-office="{o["id"]}"]')
        expect(card.locator("h2")).to_have_text(o["name"])
        for p in ("board", "kiosk", "book", "head", "ratings"):
            link = card.locator(f'a[data-page="{p}"]')
            expect(link).to_have_attribute("href", f"/{p}/{o['id']}")
            # the link names its office for a screen reader
            assert o["name"] in (link.text_content() or "")
        for d in o["desks"]:
            for p in ("desk", "display"):
                link = card.locator(f'a[data-page="{p}"][data-desk="{d["id"]}"]')
                expect(link).to_have_attribute("href", f"/{p}/{d['id']}")
                assert d["number"] in (link.text_content() or "")
    expect(page.locator('a[data-page="network"]')).to_have_attribute("href", "/ratings/network")
    expect(page.locator('a[data-page="docs"]')).to_have_attribute("href", "/docs")
    # every link leads to a page that is there
    hrefs = set(page.eval_on_selector_all("main a[href]", "els => els.map(a => a.getAttribute('href'))"))
    for href in hrefs:
        assert httpx.get(server.url + href, timeout=10).status_code == 200, href
    run_axe(page, "/ (Ukrainian)")
    shot(page, "lan-index-uk-1920x1080")

    page.get_by_role("button", name="ENG").click()
    expect(page.locator("h1")).to_have_text("Pages of the queue")
    assert page.evaluate("document.documentElement.lang") == "en"
    first = net[0]
    expect(page.locator(f'section[data-office="{first["id"]}"] h2')).to_have_text(first["name_en"])
    expect(page.locator(f'section[data-office="{first["id"]}"] a[data-page="board"]')).to_contain_text("Queue board")
    run_axe(page, "/ (English)")
    shot(page, "lan-index-en-1920x1080")
    assert ctx.outside == []


def test_start_page_on_a_phone_by_keyboard(offline: Any, server: Any) -> None:
    ctx = offline(PHONE)
    page = ctx.open("/")
    expect(page.locator("h1")).to_have_text("Сторінки черги")
    # nothing wider than the phone's screen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # the skip link comes first, then the language switch; the office links are reached by Tab
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.page") == "board":
            break
    assert page.evaluate("document.activeElement.getAttribute('href')") == f"/board/{offices(server)[0]['id']}"
    run_axe(page, "/ on a phone")
    shot(page, "lan-index-uk-phone")


# ------------------------------------------------------------------------------------------ /t/<unknown>


def test_unknown_ticket_is_a_404_page_in_both_languages(server: Any) -> None:
    r = httpx.get(f"{server.url}/t/{secrets.token_hex(15)}", timeout=10)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    uk, en = r.text.find("Талон не знайдено"), r.text.find("Ticket not found")
    assert 0 < uk < en, "Ukrainian first, then English"
    # a ticket that exists still gets its own page
    office = offices(server)[0]
    kiosk = server.auth("kiosk", office["id"])
    t = httpx.post(f"{server.url}/api/v1/offices/{office['id']}/tickets", headers=kiosk, timeout=10,
                   json={"service": office["services"][0]["id"], "vulnerable": False})
    assert t.status_code == 201, t.text
    known = httpx.get(f"{server.url}/t/{t.json()['id']}", timeout=10)
    assert known.status_code == 200 and "/static/ticket.js" in known.text and "Талон не знайдено" not in known.text


def test_unknown_ticket_page_in_the_browser(offline: Any, server: Any) -> None:
    ctx = offline(PHONE)
    page = ctx.context.new_page()
    page.on("pageerror", lambda e: ctx.errors.append(str(e)))
    res = page.goto(f"{server.url}/t/{secrets.token_hex(15)}")
    assert res is not None and res.status == 404
    expect(page.locator("h1:visible")).to_have_text("Талон не знайдено")
    expect(page.get_by_text("Ticket not found")).to_be_hidden()
    run_axe(page, "/t/<unknown> (Ukrainian)")
    shot(page, "lan-unknown-ticket-uk-phone")
    page.get_by_role("button", name="ENG").click()
    expect(page.locator("h1:visible")).to_have_text("Ticket not found")
    assert page.evaluate("document.documentElement.lang") == "en"
    run_axe(page, "/t/<unknown> (English)")
    page.get_by_role("link", name="All pages of the queue").click()
    expect(page.locator("h1")).to_have_text("Pages of the queue")  # the choice of language is kept
    landscape = offline(LANDSCAPE)
    wide = landscape.open(f"/t/{secrets.token_hex(15)}")
    expect(wide.locator("h1:visible")).to_have_text("Талон не знайдено")
    shot(wide, "lan-unknown-ticket-uk-1920x1080")
