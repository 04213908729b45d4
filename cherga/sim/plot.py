"""Charts for the planner: a staffing plan's desks per hour beside the arrivals they serve, labelled in Ukrainian
(``lang="en"``: English)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from cherga.engine.model import Network
from cherga.lang import DESK_HOURS, count
from cherga.sim.profile import WEEKDAYS
from cherga.sim.staffing import StaffingResult
from cherga.sim.texts import office_name, weekday_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LABELS = {
    "uk": {
        "plan": "вікна (план)", "erlang": "Ерланг C (не більше наявних)", "arrivals": "прибуття за годину",
        "hour": "година", "desks": "вікна на зміні", "arrivals_axis": "відвідувачів за годину",
        "title": "{office}: {hours} на тиждень (цілі: {share} за {target} хв, ≤{over} понад {limit} хв)",
    },
    "en": {
        "plan": "desks (plan)", "erlang": "Erlang C (capped)", "arrivals": "arrivals/h",
        "hour": "hour", "desks": "desks", "arrivals_axis": "arrivals per hour",
        "title": "{office}: {hours} a week (targets: {share} within {target} min, ≤{over} past {limit})",
    },
}


def chart_path(plan_path: str | Path) -> Path:
    """The chart's file: the plan's name with ``.png``, in the same directory."""
    p = Path(plan_path)
    return p.with_suffix(".png") if p.suffix else p.with_name(p.name + ".png")


def staffing_figure(result: StaffingResult, network: Network, lang: str = "uk") -> Figure:
    """One panel per open day: desks on duty (bars, Erlang C's count as steps) and arrivals per hour (line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    words = LABELS[lang]
    days = result.days
    n = max(len(days), 1)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False, sharey=True)
    office = network.offices[result.plan.office]
    for idx, dp in enumerate(days):
        ax = axes[idx // cols][idx % cols]
        hours = dp.hours
        desks = [sum(dp.counts[g.id][h] for g in result.groups) for h in hours]
        erl = [sum(min(dp.erlang[g.id][h], len(g.desks)) for g in result.groups) for h in hours]
        lam = [sum(dp.demand[g.id][h].arrivals_per_hour for g in result.groups) for h in hours]
        ax.bar(hours, desks, width=0.8, align="edge", color="#4C72B0", label=words["plan"])
        ax.step([*hours, hours[-1] + 1], [*erl, erl[-1]], where="post", color="#DD8452", lw=1.5,
                label=words["erlang"])
        ax.axhline(len(office.desks), color="grey", lw=0.8, ls=":")
        ax.set_title(weekday_name(WEEKDAYS[dp.weekday], lang))
        ax.set_xlabel(words["hour"])
        ax.set_xlim(hours[0], hours[-1] + 1)
        if idx % cols == 0:
            ax.set_ylabel(words["desks"])
        ax2 = ax.twinx()
        ax2.plot([h + 0.5 for h in hours], lam, color="#55A868", marker="o", ms=3, label=words["arrivals"])
        ax2.set_ylim(0, max([*lam, 1.0]) * 1.15)
        if idx % cols == cols - 1 or idx == n - 1:
            ax2.set_ylabel(words["arrivals_axis"])
        if idx == 0:
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = ax2.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=7)
    for idx in range(n, rows * cols):
        axes[idx // cols][idx % cols].axis("off")
    t = result.targets
    fig.suptitle(words["title"].format(
        office=office_name(office, lang), hours=count(round(result.desk_hours(network)), lang, DESK_HOURS),
        share=f"{t.share_within_target:.0%}", target=f"{t.target_min:g}", over=f"{t.share_over_limit:.0%}",
        limit=f"{t.limit_min:g}"), fontsize=10)
    fig.tight_layout()
    return fig


def plot_staffing(result: StaffingResult, network: Network, path: str | Path, lang: str = "uk") -> Path:
    """Save :func:`staffing_figure` as a PNG at ``path``."""
    import matplotlib.pyplot as plt

    fig = staffing_figure(result, network, lang)
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
