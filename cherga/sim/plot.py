"""Charts for the planner: a staffing plan's desks per hour beside the arrivals they serve."""

from __future__ import annotations

import math
from pathlib import Path

from cherga.engine.model import Network
from cherga.sim.profile import WEEKDAYS
from cherga.sim.staffing import StaffingResult

DAY_NAMES_UK = {"mon": "пн", "tue": "вт", "wed": "ср", "thu": "чт", "fri": "пт", "sat": "сб", "sun": "нд"}


def chart_path(plan_path: str | Path) -> Path:
    """The chart's file: the plan's name with ``.png``, in the same directory."""
    p = Path(plan_path)
    return p.with_suffix(".png") if p.suffix else p.with_name(p.name + ".png")


def plot_staffing(result: StaffingResult, network: Network, path: str | Path) -> Path:
    """One panel per open day: desks on duty (bars, Erlang C's count as steps) and arrivals per hour (line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        ax.bar(hours, desks, width=0.8, align="edge", color="#4C72B0", label="desks (plan)")
        ax.step([*hours, hours[-1] + 1], [*erl, erl[-1]], where="post", color="#DD8452", lw=1.5,
                label="Erlang C (capped)")
        ax.axhline(len(office.desks), color="grey", lw=0.8, ls=":")
        ax.set_title(f"{WEEKDAYS[dp.weekday]} / {DAY_NAMES_UK[WEEKDAYS[dp.weekday]]}")
        ax.set_xlabel("hour")
        ax.set_xlim(hours[0], hours[-1] + 1)
        if idx % cols == 0:
            ax.set_ylabel("desks")
        ax2 = ax.twinx()
        ax2.plot([h + 0.5 for h in hours], lam, color="#55A868", marker="o", ms=3, label="arrivals/h")
        ax2.set_ylim(0, max([*lam, 1.0]) * 1.15)
        if idx % cols == cols - 1 or idx == n - 1:
            ax2.set_ylabel("arrivals per hour")
        if idx == 0:
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = ax2.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=7)
    for idx in range(n, rows * cols):
        axes[idx // cols][idx % cols].axis("off")
    fig.suptitle(
        f"{office.name_en}: {result.desk_hours(network):.0f} desk-hours a week "
        f"(targets: {result.targets.share_within_target:.0%} within {result.targets.target_min:g} min, "
        f"≤{result.targets.share_over_limit:.0%} past {result.targets.limit_min:g})",
        fontsize=10,
    )
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
