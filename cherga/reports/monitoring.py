"""The period's ratings for the national monitoring of service quality, as CSV on its four levels.

The monitoring (Cabinet of Ministers resolutions №864 of 2021 and №662 of 2024) rates on four levels: жахливо,
прийнятно, добре, чудово (``terrible``, ``acceptable``, ``good``, ``excellent``). An office may rate on them
(``rating_scale = "four"``) or on the three buttons of the Vinnytsia practice (``"three"``: погано, добре,
зразково). This export gives every rating of the period on the four levels, one a row; a rating given on three
levels is mapped (``cherga.engine.commands.TO_FOUR``), and its row keeps the button the visitor pressed:

=========  ==========  =====================================================================================
three      four        why
=========  ==========  =====================================================================================
погано     жахливо     the visitor said the service was not good enough: not "acceptable". Прийнятно is a
                       pass; reading погано as прийнятно would turn every complaint into a pass and hide the
                       offices that need help. The monitoring's line between failing and passing stays where
                       the visitor put it.
добре      добре       the same word, the same level.
зразково   чудово      the top of the scale is the top of the scale.
=========  ==========  =====================================================================================

So no rating given on three levels becomes прийнятно: the analyst sees how many rows were mapped (``scale`` is
``three``) and can leave them out of a level's share. Which ratings: those of the tickets issued in the period (by
each office's local date of issue), as the report's ``ratings`` count them; the row's date and time are the
rating's, local to the office. Nothing names a person: no ticket id, no administrator's code.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from cherga.engine.commands import LEVEL_UK, SCALES, TO_FOUR
from cherga.engine.model import Network
from cherga.reports.compute import rated_in_cohort, scale_of
from cherga.reports.extract import SCORES, Extract, Period, ReportError

__all__ = ["COLUMNS", "MAPPING_NOTE", "monitoring_csv", "monitoring_rows"]

COLUMNS = ("office", "office_name_uk", "date", "time", "service", "service_name_uk", "desk_number", "scale", "score",
           "level", "level_uk")
MAPPING_NOTE = (  # no commas or quotes: each line is one cell, and a reader told comment="#" skips it
    "# cherga: оцінки відвідувачів за чотирма рівнями національного моніторингу якості (постанови КМУ №864/2021 і "
    "№662/2024): жахливо; прийнятно; добре; чудово / visitors' ratings on the national monitoring's four levels: "
    "terrible; acceptable; good; excellent",
    "# оцінки за трьома рівнями (scale=three) переведено / ratings on three levels (scale=three) are mapped: "
    "погано->жахливо (bad->terrible: not acceptable to the visitor); добре->добре (good->good); "
    "зразково->чудово (exemplary->excellent); прийнятно (acceptable) never comes from three levels; score is the "
    "button pressed",
)


def monitoring_rows(data: Extract, network: Network | None, period: Period,
                    offices: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every rating of the cohort, in office then time order: the columns of :data:`COLUMNS`."""
    ids = list(offices) if offices is not None else (list(network.offices) if network is not None else [])
    if offices is None:
        ids += [o for o in data.offices.names if o not in ids]
    for oid in ids:
        if (network is None or oid not in network.offices) and oid not in data.offices.index:
            known = list(network.offices) if network is not None else data.offices.names
            raise ReportError(f"unknown office {oid!r}; known: {', '.join(known) or 'none'}")
    mask, zones = rated_in_cohort(data, network, period, ids)
    q = data.rated
    rank = {oid: i for i, oid in enumerate(ids)}
    picked = np.flatnonzero(mask)
    office_rank = np.array([rank.get(data.offices.names[c], len(rank)) for c in q.office[picked].tolist()],
                           dtype=np.int64)
    picked = picked[np.lexsort((q.at[picked], office_rank))]
    rows = []
    for i in picked.tolist():
        oid = data.offices.names[q.office[i]]
        office = network.offices.get(oid) if network is not None else None
        sid = data.services.names[q.service[i]] if q.service[i] >= 0 else ""
        svc = network.services.get(sid) if network is not None else None
        did = data.desks.names[q.desk[i]] if q.desk[i] >= 0 else ""
        numbers = {d.id: d.number for d in office.desks} if office is not None else {}
        score = SCORES[q.extra["score"][i]]
        when = datetime.fromtimestamp(float(q.at[i]), ZoneInfo(zones[int(q.office[i])]))
        level = TO_FOUR[score]
        rows.append({
            "office": oid,
            "office_name_uk": office.name_uk if office is not None else oid,
            "date": when.date().isoformat(),
            "time": when.strftime("%H:%M:%S"),
            "service": sid,
            "service_name_uk": svc.name_uk if svc is not None else sid,
            "desk_number": numbers.get(did, did),
            # the scale the visitor rated on; добре is on both, so its row gives the office's scale now
            "scale": "four" if score in SCALES["four"] and score not in SCALES["three"] else
            scale_of(network, [oid]) if score == "good" else "three",
            "score": score,
            "level": level,
            "level_uk": LEVEL_UK[level],
        })
    return rows


def monitoring_csv(data: Extract, network: Network | None, period: Period,
                   offices: Sequence[str] | None = None) -> bytes:
    """The CSV: two comment lines (``#``: what the levels are and how three levels map), the header, the rows.
    UTF-8 with a byte-order mark, so a spreadsheet opens the Ukrainian words as they are."""
    buf = io.StringIO()
    for line in MAPPING_NOTE:
        buf.write(line + "\r\n")
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    w.writeheader()
    w.writerows(monitoring_rows(data, network, period, offices))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
