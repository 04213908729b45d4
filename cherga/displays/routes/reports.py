"""The standard's report (section II.IV) over HTTP, as ``cherga report`` makes it."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request, Response

from cherga.displays.auth import Role
from cherga.displays.cluster import ClusterHost
from cherga.displays.routes.deps import Svc, require
from cherga.errors import Conflict

router = APIRouter(tags=["head"])
MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}


@router.get("/api/v1/offices/{office}/report",
            responses={200: {"content": {"application/json": {}, "text/csv": {}, "text/html": {}}}})
async def get_report(
    office: str, request: Request, svc: Svc,
    fmt: str = Query("json", alias="format", pattern="^(json|csv|html)$"),
    month: str | None = Query(None, description="YYYY-MM"),
    quarter: str | None = Query(None, description="YYYY-Qn"),
    year: str | None = Query(None, description="YYYY"),
    date_from: str | None = Query(None, alias="from", description="YYYY-MM-DD"),
    date_to: str | None = Query(None, alias="to", description="YYYY-MM-DD"),
) -> Response:
    """The standard's report (section II.IV) for this office, as ``cherga report`` makes it."""
    from cherga.reports.cli import make_report  # the reports read the journal: loaded only when asked for

    svc.office(office)
    require(svc, request, (Role.HEAD, Role.PLANNER), office=office)
    if isinstance(svc.host, ClusterHost):
        raise Conflict("reports read the SQLite journal; on a Redis region run 'cherga report' on an export")
    payload = await asyncio.to_thread(
        make_report, svc.host.journal_path.parent, svc.network, office, fmt,
        month=month, quarter=quarter, year=year, date_from=date_from, date_to=date_to,
    )
    return Response(payload, media_type=MEDIA[fmt])


@router.get("/api/v1/offices/{office}/ratings/monitoring",
            responses={200: {"content": {"text/csv": {}}, "description": "CSV: two # lines, the header, a row per "
                             "rating"}})
async def get_ratings_monitoring(
    office: str, request: Request, svc: Svc,
    month: str | None = Query(None, description="YYYY-MM"),
    quarter: str | None = Query(None, description="YYYY-Qn"),
    year: str | None = Query(None, description="YYYY"),
    date_from: str | None = Query(None, alias="from", description="YYYY-MM-DD"),
    date_to: str | None = Query(None, alias="to", description="YYYY-MM-DD"),
) -> Response:
    """The period's ratings for the national monitoring, one a row on its four levels (жахливо, прийнятно, добре,
    чудово); an office rating on three levels is mapped (погано as жахливо, зразково as чудово: docs/reports.md),
    as ``cherga report --format ratings-csv`` makes it."""
    from cherga.reports.cli import make_report

    svc.office(office)
    require(svc, request, (Role.HEAD, Role.PLANNER), office=office)
    if isinstance(svc.host, ClusterHost):
        raise Conflict("reports read the SQLite journal; on a Redis region run 'cherga report' on an export")
    payload = await asyncio.to_thread(
        make_report, svc.host.journal_path.parent, svc.network, office, "ratings-csv",
        month=month, quarter=quarter, year=year, date_from=date_from, date_to=date_to,
    )
    return Response(payload, media_type=MEDIA["csv"],
                    headers={"Content-Disposition": f'attachment; filename="ratings-{office}.csv"'})
