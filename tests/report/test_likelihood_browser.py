"""The Likelihood section in a real browser: headless Chromium lays out the curves, and every
marker and figure matches ``report --json``; owners show by name; too little history says so.

Like ``test_report_browser``: a copy of the page gets a small inline script (it fetches
nothing) that writes each curve marker's drawn position into the DOM; Chromium dumps the DOM
after layout. Skipped only when Chromium is missing outside CI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from likelihood_world import write_world

from browser_support import KeyedElements, laid_out_dom, needs_chromium
from milestones.cli.main import cli

MEASURE = """<script>
document.querySelectorAll("rect.mark").forEach(function (r) {
  var box = r.getBoundingClientRect();
  r.setAttribute("data-drawn", (box.top + box.height / 2).toFixed(2));
});
document.body.setAttribute("data-measured", "yes");
</script>"""


def _report(tmp_path: Path, people: int, min_sample: int) -> tuple[dict[str, Any], str]:
    state = tmp_path / "state.db"
    write_world(state, people).close()
    config = tmp_path / "milestones.toml"
    config.write_text(
        'provider = "hubspot"\n[hubspot]\naccess_token = "not-used-offline"\n'
        f'[state]\npath = "{state}"\n[report]\nowner_names = {{ u1 = "Ann <Lee>" }}\n'
        f"[likelihood]\nmin_sample = {min_sample}\n"
    )
    page = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "report", "--as-of", "2026-06-15", "--json", "--html", str(page)],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["likelihood"], page.read_text(encoding="utf-8")


@needs_chromium
def test_curves_and_figures_match_the_json(tmp_path: Path) -> None:
    data, html = _report(tmp_path, 3_000, 30)
    dom = laid_out_dom(html, MEASURE, tmp_path)
    parsed = KeyedElements(dom)
    assert parsed.measured
    keyed = parsed.by_key()
    marks = []
    for step, curve in data["steps"].items():
        for days in ("30", "90", "180"):
            key = f"likelihood.steps.{step}.within_days.{days}.p"
            chance = curve["within_days"][days]["p"]
            mark = keyed[key]
            assert mark["tag"] == "rect" and float(mark["attrs"]["data-value"]) == chance
            marks.append((chance, float(mark["attrs"]["data-drawn"])))
    # Every marker sits at the height its chance gives on one shared vertical scale.
    (p0, y0), (p1, y1) = min(marks), max(marks)
    assert y0 - y1 > 50  # drawn at a readable size, higher chance higher up
    for chance, y in marks:
        assert y == pytest.approx(y0 + (chance - p0) * (y1 - y0) / (p1 - p0), abs=1.0)
    # The backtest's and forecast's printed figures are the JSON's.
    overall = data["backtest"]["overall"]
    assert keyed["likelihood.backtest.overall.brier"]["text"] == str(overall["brier"])
    org = data["forecast"]["org"]["client"]["expected"]
    assert keyed["likelihood.forecast.org.client.expected"]["text"] == f"{org:.1f}"
    # So are the stage probabilities' side of the backtest and ours beside it.
    stages = data["backtest"]["stage_probabilities"]
    key = "likelihood.backtest.stage_probabilities"
    assert keyed[f"{key}.deals"]["text"] == str(stages["deals"]) != "0"
    for side in ("ours", "stage_probabilities"):
        brier = stages[side]["brier"]
        assert keyed[f"{key}.{side}.brier"]["text"] == str(brier)
    assert stages["ours"]["brier"] < stages["stage_probabilities"]["brier"]


def test_owners_by_name_and_too_little_history_in_every_view(tmp_path: Path) -> None:
    data, html = _report(tmp_path, 300, 60)
    client = data["steps"]["client->advocate"]
    assert client["not_enough_history"] == f"not enough history (n = {client['people']})"
    assert client["people"] < 60 and "within_days" not in client
    assert client["not_enough_history"] in html
    assert "client->advocate" not in data["curves"]
    assert "Ann <Lee> (u1)" in data["forecast"]["owners"] and "u2" in data["forecast"]["owners"]
    assert "Ann &lt;Lee&gt; (u1)" in html and "Ann <Lee>" not in html
    lines = (
        CliRunner()
        .invoke(
            cli,
            ["--config", str(tmp_path / "milestones.toml"), "report", "--as-of", "2026-06-15"],
        )
        .output
    )
    assert client["not_enough_history"] in lines and "owner Ann <Lee> (u1):" in lines


def test_no_likelihood_leaves_the_section_out(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    write_world(state, 200).close()
    args = ["report", "--state", str(state), "--as-of", "2026-06-15", "--json"]
    runner = CliRunner()
    assert json.loads(runner.invoke(cli, args).output)["likelihood"]["steps"]
    assert json.loads(runner.invoke(cli, [*args, "--no-likelihood"]).output)["likelihood"] is None
    text = runner.invoke(cli, [*args[:-1], "--no-likelihood"]).output
    assert "Likelihood" not in text and "Milestone report" in text
