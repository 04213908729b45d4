"""The planner speaks Ukrainian first (English with ``--lang en``); its JSON is the same in both."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from cherga.cli import main
from cherga.engine.loader import load_network
from cherga.lang import DAYS, DESKS, HOURS, count, plural_uk
from cherga.sim import cli as sim_cli
from cherga.sim.plot import staffing_figure
from cherga.sim.profile import resolve_profile
from cherga.sim.staffing import plan_week


@pytest.mark.parametrize(("n", "word"), [
    (1, "день"), (2, "дні"), (4, "дні"), (5, "днів"), (11, "днів"), (12, "днів"), (14, "днів"), (20, "днів"),
    (21, "день"), (22, "дні"), (25, "днів"), (101, "день"), (111, "днів"), (112, "днів"), (0, "днів"),
])
def test_ukrainian_plural_forms(n: int, word: str) -> None:
    assert plural_uk(n, "день", "дні", "днів") == word
    assert count(n, "uk", DAYS) == f"{n} {word}"


def test_english_and_other_words() -> None:
    assert count(1, "en", DAYS) == "1 day" and count(5, "en", DAYS) == "5 days"
    assert count(1, "uk", DESKS) == "1 вікно" and count(3, "uk", DESKS) == "3 вікна"
    assert count(5, "uk", DESKS) == "5 вікон" and count(32, "uk", HOURS) == "32 години"


def test_run_tables_name_categories_in_ukrainian_then_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "run", "--office", "khutory", "--days", "2", "--reps", "2"]) == 0
    uk = capsys.readouterr().out
    assert "довідки та витяги" in uk and "видача документів" in uk and "усі відвідувачі" in uk
    assert "2 дні × 2 повторення" in uk and "категорія" in uk
    assert "│ quick " not in uk and "issuance" not in uk  # no category ids
    assert main(["sim", "run", "--office", "khutory", "--days", "2", "--reps", "2", "--lang", "en"]) == 0
    en = capsys.readouterr().out
    assert "certificates and extracts" in en and "2 days × 2 replications" in en and "category" in en
    assert "довідки" not in en


def test_staff_names_skill_groups_and_says_in_one_line_when_desks_are_lacking(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # khutory has one desk; Erlang C asks for two in most hours
    assert main(["sim", "staff", "--office", "khutory", "--out", str(tmp_path / "p.json"), "--erlang-only"]) == 0
    uk = capsys.readouterr().out
    assert "вікно 1: довідки та витяги" in uk
    assert "g1" not in uk
    short = [line for line in uk.splitlines() if "Бракує вікон" in line]
    assert len(short) == 1, uk
    assert "Ерланг C просить 2 вікна, а у відділенні 1" in short[0] and "за 5 днів" in short[0]
    assert short[0].rstrip().endswith("не досягне його кількості.")
    assert "вікно-години на тиждень" in uk and "графік:" in uk
    assert main(["sim", "staff", "--office", "khutory", "--out", str(tmp_path / "p.json"), "--erlang-only",
                 "--lang", "en"]) == 0
    en = capsys.readouterr().out
    assert "desk 1: certificates and extracts" in en
    lines = [line for line in en.splitlines() if "Not enough desks" in line]
    assert len(lines) == 1 and "asks for 2 desks, the office has 1" in lines[0] and "over 5 days" in lines[0]


def test_no_line_about_lacking_desks_when_erlang_c_fits() -> None:
    net = load_network(None)
    res = plan_week(net, "khutory", resolve_profile(net, "khutory", None, None), np.random.default_rng(1),
                    simulate=False, workers=1)
    assert sim_cli._erlang_short_line(res, net, "uk") is not None
    for dp in res.days:  # as if the office had the desks Erlang C asks for
        dp.erlang_short = {}
    assert sim_cli._erlang_short_line(res, net, "uk") is None
    assert sim_cli._erlang_short_line(res, net, "en") is None


def test_json_is_the_same_in_both_languages(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    outs = {}
    for lang in ("uk", "en"):
        assert main(["sim", "run", "--office", "khutory", "--days", "1", "--reps", "2", "--json", "--lang", lang]) == 0
        run = capsys.readouterr().out
        assert main(["sim", "staff", "--office", "khutory", "--out", str(tmp_path / f"{lang}.json"), "--erlang-only",
                     "--json", "--lang", lang]) == 0
        staff = capsys.readouterr().out
        assert main(["sim", "mmc", "--arrivals-per-hour", "30", "--mean-service-min", "6", "--desks", "4",
                     "--hours", "4", "--reps", "2", "--json", "--lang", lang]) == 0
        outs[lang] = (run, staff, capsys.readouterr().out)
    assert outs["uk"] == outs["en"]
    run, staff, mmc = (json.loads(x) for x in outs["uk"])
    assert {"overall", "categories", "office", "seed", "rule", "plan", "profile"} <= set(run)
    assert set(run["categories"]) <= {"vulnerable", "special", "quick", "seasonal", "acceptance", "issuance",
                                      "consultation"}
    assert {"office", "plan", "desk_hours"} <= set(staff)
    assert {"day", "hour", "desks", "arrivals_per_hour", "mean_service_min"} <= set(staff["plan"][0])
    assert {"simulated", "erlang_c"} <= set(mmc)


def test_chart_labels_follow_the_language() -> None:
    net = load_network(None)
    profile = resolve_profile(net, "khutory", None, None)
    res = plan_week(net, "khutory", profile, np.random.default_rng(1), simulate=False, workers=1)
    import matplotlib.pyplot as plt

    for lang, hour, legend, day in (("uk", "година", "вікна (план)", "пн"), ("en", "hour", "desks (plan)", "Mon")):
        fig = staffing_figure(res, net, lang)
        try:
            ax = fig.axes[0]
            assert ax.get_xlabel() == hour and ax.get_title() == day
            legend_box = ax.get_legend()
            assert legend_box is not None
            assert legend in [t.get_text() for t in legend_box.get_texts()]
            title = fig.get_suptitle()
            assert (net.offices["khutory"].name_uk if lang == "uk" else net.offices["khutory"].name_en) in title
            assert ("вікно-години на тиждень" if lang == "uk" else "desk-hours a week") in title
        finally:
            plt.close(fig)


def test_progress_bar_in_the_language_and_quiet_hides_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sim_cli, "PROGRESS_AFTER_S", 0.0)
    err = io.StringIO()
    monkeypatch.setattr(sim_cli, "STDERR", Console(file=err, force_terminal=True, width=100))
    assert main(["sim", "run", "--office", "khutory", "--days", "2", "--reps", "2", "--json"]) == 0
    assert "моделюю" in err.getvalue()
    json.loads(capsys.readouterr().out)  # standard output is JSON alone
    err.truncate(0)
    err.seek(0)
    assert main(["sim", "run", "--office", "khutory", "--days", "2", "--reps", "2", "--json", "--quiet"]) == 0
    assert err.getvalue() == ""
    capsys.readouterr()


def test_progress_bar_waits_for_a_second(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a run shorter than PROGRESS_AFTER_S shows no bar at all
    monkeypatch.setattr(sim_cli, "PROGRESS_AFTER_S", 30.0)
    err = io.StringIO()
    monkeypatch.setattr(sim_cli, "STDERR", Console(file=err, force_terminal=True, width=100))
    assert main(["sim", "run", "--office", "khutory", "--days", "1", "--reps", "1", "--json"]) == 0
    assert err.getvalue() == ""
    capsys.readouterr()


def test_the_installed_command_with_quiet_prints_json_only() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cherga", "sim", "run", "--office", "khutory", "--days", "1", "--reps", "1", "--json",
         "--quiet", "--lang", "en"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert json.loads(proc.stdout)["office"] == "khutory"
    assert "Traceback" not in proc.stderr
