"""The pages (API.md, Pages): each a static HTML file of ``displays/pages``, its scripts under ``/static``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cherga.displays.routes.deps import Svc

PAGES = Path(__file__).resolve().parent.parent / "pages"
# Swagger UI for /docs, shipped in the package: an office LAN often has no internet (vendor/swagger-ui/README.md)
VENDOR = Path(__file__).resolve().parent.parent / "vendor"
ICON_LINK = '<link rel="icon" href="/favicon.svg" type="image/svg+xml">'

router = APIRouter(include_in_schema=False)


def html_page(name: str, status: int = 200) -> HTMLResponse:
    path = PAGES / f"{name}.html"
    if not path.exists():
        raise StarletteHTTPException(404, f"page {name} is not installed")
    text = path.read_text(encoding="utf-8")
    if 'rel="icon"' not in text:  # one place gives every page its favicon link
        text = text.replace("</title>", f"</title>\n{ICON_LINK}", 1)
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-cache"})


# the key is an office, a desk or a ticket: the page's script reads it from the address
@router.get("/board/{key}")
async def page_board(key: str) -> HTMLResponse:
    return html_page("board")


@router.get("/display/{key}")
async def page_display(key: str) -> HTMLResponse:
    return html_page("display")


@router.get("/kiosk/{key}")
async def page_kiosk(key: str) -> HTMLResponse:
    return html_page("kiosk")


@router.get("/desk/{key}")
async def page_desk(key: str) -> HTMLResponse:
    return html_page("desk")


@router.get("/head/{key}")
async def page_head(key: str) -> HTMLResponse:
    return html_page("head")


@router.get("/offices/{key}/config")  # the head's configuration (pages/config.js reads the office from the path)
async def page_config(key: str) -> HTMLResponse:
    return html_page("config")


@router.get("/ratings/{key}")
async def page_ratings(key: str) -> HTMLResponse:
    return html_page("ratings")


@router.get("/book/{key}")
@router.get("/operator/{key}")  # the head books for a caller on the same page
async def page_book(key: str) -> HTMLResponse:
    return html_page("book")


@router.get("/rate/desk/{key}")
async def page_rate_desk(key: str) -> HTMLResponse:
    return html_page("rate-desk")


@router.get("/rate/exit/{key}")
async def page_rate_exit(key: str) -> HTMLResponse:
    return html_page("rate-exit")


@router.get("/reports/{key}")
async def page_reports(key: str) -> HTMLResponse:
    return html_page("reports")


@router.get("/signin")
async def page_signin() -> HTMLResponse:
    return html_page("signin")


@router.get("/staff/{key}")  # an office's staff: for the network's account (its heads) or the office's head
async def page_staff(key: str) -> HTMLResponse:
    return html_page("staff")


@router.get("/offices/{key}/audit")
async def page_audit(key: str) -> HTMLResponse:
    return html_page("audit")


@router.get("/in/{key}")  # the entrance QR code the kiosk shows: a remote ticket checks in (#18.3)
async def page_entrance(key: str) -> HTMLResponse:
    return html_page("entrance")


@router.get("/t/{key}")
async def page_ticket(key: str, svc: Svc) -> HTMLResponse:
    # an id nobody issued gets a 404 page that says so, not a ticket page that cannot load
    if key not in svc.host.engine.ticket_office:
        return html_page("unknown-ticket", 404)
    return html_page("ticket")


@router.get("/")
async def page_index() -> HTMLResponse:
    return html_page("index")


@router.get("/sw.js")
async def service_worker() -> FileResponse:
    # the visitor's service worker (Web Push alerts, #18.2): at the root, so the ticket pages may register it with
    # scope /t/ (a worker's scope may not reach above its own path, so /static/sw.js could not cover /t/)
    return FileResponse(PAGES / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    return FileResponse(PAGES / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})


@router.get("/favicon.svg")
async def favicon_svg() -> FileResponse:
    return FileResponse(PAGES / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=86400"})


def mount_static(app: FastAPI) -> None:
    """The pages' scripts and styles, and Swagger UI's (mounts are the app's: a router cannot carry them)."""
    if PAGES.exists():
        app.mount("/static", StaticFiles(directory=PAGES), name="static")
    if VENDOR.exists():
        app.mount("/vendor", StaticFiles(directory=VENDOR), name="vendor")
