"""The head's reports page and the HTML report itself, in real Chromium: figures shown, printable, 0 axe
violations."""

from __future__ import annotations

import datetime as dt

from test_pages import Ctx, Net, ctx, demo, head_tokens, http, run_axe, shot  # noqa: F401 - fixtures

OFFICE = "vyshenka"


def test_reports_page_shows_the_month_and_the_report_passes_axe(ctx: Ctx, demo: Net) -> None:  # noqa: F811
    head = demo.token("head", OFFICE)
    desk = demo.token("desk", OFFICE, "vyshenka-04")
    ticket = demo.issue(OFFICE, "results-issuance")
    assert http(ctx.server, "POST", "/api/v1/desks/vyshenka-04/open", token=desk)[0] == 200
    status, called = http(ctx.server, "POST", "/api/v1/desks/vyshenka-04/call-next", token=desk)
    assert status == 200
    http(ctx.server, "POST", "/api/v1/desks/vyshenka-04/finish", {"outcome": "served"}, token=desk)
    ctx.preset(lang="uk", tokens=head_tokens(demo, OFFICE))
    page = ctx.open(f"/reports/{OFFICE}")
    month = dt.date.today().strftime("%Y-%m")
    assert page.locator("#value").input_value() == month
    run_axe(page, "reports page (uk)")
    page.locator("#show").click()
    frame = page.frame_locator("#report")
    issued = frame.locator("[data-key='issued']").first
    issued.wait_for()
    assert int(issued.inner_text().replace("\u202f", "").replace(" ", "")) >= 1
    shot(page, "reports-month")
    # the report alone, as the head prints it
    report = ctx.context.new_page()
    report.set_extra_http_headers({"Authorization": f"Bearer {head}"})
    report.goto(f"{ctx.server.url}/api/v1/offices/{OFFICE}/report?format=html&month={month}")
    assert report.locator("html").get_attribute("lang") == "uk"
    run_axe(report, "HTML report")
    report.emulate_media(media="print")
    shot(report, "report-print")
    assert called["id"] == ticket["id"]
    # a bad period is a clear message on the page
    page.locator("#value").fill("2026-13")
    page.locator("#show").click()
    err = page.locator("#reports-error")
    err.wait_for()
    assert err.inner_text()
