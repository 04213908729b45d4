"""The head's reports page and the HTML report itself, in real Chromium: figures shown, printable, 0 axe
violations."""

from __future__ import annotations

import datetime as dt

from test_pages import Ctx, Net, ctx, demo, expect, head_tokens, http, run_axe, shot  # noqa: F401 - fixtures

OFFICE = "vyshenka"
STAFF = "ВШ-Звіт-4"  # the administrator's code at vyshenka-04


def test_reports_page_shows_the_month_and_the_report_passes_axe(ctx: Ctx, demo: Net) -> None:  # noqa: F811
    head = demo.token("head", OFFICE)
    desk = demo.token("desk", OFFICE, "vyshenka-04")
    ticket = demo.issue(OFFICE, "results-issuance")
    # the administrator gives a code on opening (a code no other test uses, so its row is this test's alone)
    assert http(ctx.server, "POST", "/api/v1/desks/vyshenka-04/open", {"staff": STAFF}, token=desk)[0] == 200
    status, called = http(ctx.server, "POST", "/api/v1/desks/vyshenka-04/call-next", token=desk)
    assert status == 200
    http(ctx.server, "POST", "/api/v1/desks/vyshenka-04/finish", {"outcome": "served"}, token=desk)
    # the visitor rates on the desk's tablet: the ticket the desk finished last
    status, last = http(ctx.server, "GET", "/api/v1/desks/vyshenka-04/last-finished", token=desk)
    assert status == 200 and last["id"] == ticket["id"]
    assert http(ctx.server, "POST", f"/api/v1/tickets/{last['id']}/rating", {"score": "exemplary"})[0] == 201
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
    # the administrators' table: headers in Ukrainian with English, the code heads its row
    admins = frame.locator(f"#u-{OFFICE}-administrators")
    expect(admins.locator("caption")).to_contain_text("Якість роботи адміністраторів")
    expect(admins.locator("thead th").first).to_have_text("Код адміністратора administrator's code")
    row = admins.locator("tbody tr").filter(has=frame.locator("th[scope='row']", has_text=STAFF))
    expect(row).to_have_count(1)
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    # served, refused, mean and p90 minutes (under a minute: not checked), bad, good, exemplary, share, desk, number
    assert cells[:2] == ["1", "0"] and cells[4:] == ["0", "0", "1", "100,0\u00a0%", "vyshenka-04", "4"], cells
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
