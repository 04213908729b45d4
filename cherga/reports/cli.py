"""``cherga report``: the standard's report (section II.IV) for a period, as JSON, CSV or HTML (see API.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.reports.compute import build_report
from cherga.reports.extract import Extract, Period, ReportError, extract, journal_path
from cherga.reports.monitoring import monitoring_csv
from cherga.reports.render import render

FORMATS = ("json", "csv", "html", "ratings-csv")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="the standard's report (II.IV) for a period: JSON, CSV or a printable HTML page",
        description="The report of the service-quality standard (section II.IV) for the tickets issued in a period, "
        "by each office's local date of issue. Give the period as --from and --to, or as one of --month, "
        "--quarter, --year.",
    )
    p.add_argument("--data", type=Path, required=True, help="the service's data directory (journal.sqlite3)")
    p.add_argument("--config", type=Path, default=None, help="directory with services.toml and network.toml")
    p.add_argument("--office", default=None, help="only this office (default: every office and the network)")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", default=None, help="first day, included")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", default=None, help="last day, included")
    p.add_argument("--month", metavar="YYYY-MM", default=None)
    p.add_argument("--quarter", metavar="YYYY-Qn", default=None)
    p.add_argument("--year", metavar="YYYY", default=None)
    p.add_argument("--format", choices=FORMATS, default="json",
                   help="json (default), csv or html; ratings-csv: the period's ratings one a row on the national "
                   "monitoring's four levels (three levels mapped, see docs/reports.md)")
    p.add_argument("--out", type=Path, default=None, help="write to this file (default: standard output)")
    p.set_defaults(run=run)


def period_of(args: argparse.Namespace) -> Period:
    presets = [(name, value) for name, value in (("--month", args.month), ("--quarter", args.quarter),
                                                 ("--year", args.year)) if value is not None]
    explicit = args.date_from is not None or args.date_to is not None
    if len(presets) > 1 or (presets and explicit):
        given = [n for n, _ in presets] + (["--from/--to"] if explicit else [])
        raise ReportError(f"give the period one way only, not {' and '.join(given)}")
    if presets:
        name, value = presets[0]
        make = {"--month": Period.month, "--quarter": Period.quarter, "--year": Period.year}[name]
        return make(value)
    if args.date_from is None or args.date_to is None:
        raise ReportError("give the period: --from YYYY-MM-DD --to YYYY-MM-DD, or --month, --quarter or --year")
    return Period.days(args.date_from, args.date_to)


def make_report(data_dir: Path, network: Network, office: str | None, fmt: str, *, month: str | None = None,
                quarter: str | None = None, year: str | None = None, date_from: str | None = None,
                date_to: str | None = None) -> bytes:
    """The report as bytes in ``fmt``, for the service's head page (the same path as the command)."""
    args = argparse.Namespace(month=month, quarter=quarter, year=year, date_from=date_from, date_to=date_to)
    period = period_of(args)
    offices = [office] if office is not None else None
    data = extract(journal_path(data_dir), period, network, offices)
    return _payload(data, network, period, offices, fmt)


def _payload(data: Extract, network: Network, period: Period, offices: list[str] | None, fmt: str) -> bytes:
    if fmt == "ratings-csv":
        return monitoring_csv(data, network, period, offices)
    return render(build_report(data, network, period, offices), fmt)


def run(args: argparse.Namespace) -> int:
    period = period_of(args)
    network = load_network(args.config)
    path = journal_path(args.data)
    offices = None
    if args.office is not None:
        offices = [args.office]
    data = extract(path, period, network, offices)
    payload = _payload(data, network, period, offices, args.format)
    if args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
    else:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_bytes(payload)
        except OSError as exc:
            raise ReportError(f"{args.out}: cannot write the report: {exc.strerror or exc}") from None
    return 0
