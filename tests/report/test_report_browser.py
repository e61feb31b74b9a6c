"""The HTML report in a real browser: headless Chromium draws the charts, numbers match --json.

A copy of the page gets a small inline script (it fetches nothing) that opens every owner's
section and writes each chart bar's rendered size into the DOM; Chromium dumps the DOM after
layout and the test reads it back. Chromium runs with networking features off and a fresh
profile, so it never reaches for the network. Skipped only when Chromium is missing outside
CI (CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from report_world import sync_world

from browser_support import KeyedElements, laid_out_dom, needs_chromium
from milestones.cli.main import cli
from milestones.report.text import money

pytestmark = needs_chromium
MEASURE = """<script>
document.querySelectorAll("details").forEach(function (d) { d.open = true; });
document.querySelectorAll("rect[data-key]").forEach(function (r) {
  var box = r.getBoundingClientRect();
  r.setAttribute("data-drawn", box.width.toFixed(2) + " " + box.height.toFixed(2));
});
document.body.setAttribute("data-measured", "yes");
</script>"""


def _render(tmp_path: Path) -> tuple[dict[str, Any], str, KeyedElements]:
    state = sync_world(tmp_path / "state.db")
    page = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli,
        ["report", "--state", str(state), "--as-of", "2026-06-15", "--json", "--html", str(page)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    html = page.read_text(encoding="utf-8")
    dom = laid_out_dom(html, MEASURE, tmp_path)
    parsed = KeyedElements(dom)
    return data, html, parsed


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, KeyedElements]:
    return _render(tmp_path_factory.mktemp("browser"))


def _by_key(parsed: KeyedElements, tag: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for element in parsed.found:
        if element["tag"] == tag:
            found.setdefault(element["attrs"]["data-key"], []).append(element)
    return found


def _drawn_width(element: dict[str, Any]) -> float:
    return float(element["attrs"]["data-drawn"].split()[0])


def test_the_page_fetches_nothing(rendered: tuple[dict[str, Any], str, KeyedElements]) -> None:
    _, html, parsed = rendered
    assert parsed.body.get("data-measured") == "yes"  # the page loaded and laid out
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", html)


def test_funnel_bars_are_drawn_in_proportion(
    rendered: tuple[dict[str, Any], str, KeyedElements],
) -> None:
    data, _, parsed = rendered
    rects = _by_key(parsed, "rect")
    texts = _by_key(parsed, "text")
    for prefix, view in [("", data["overall"])] + [
        (f"owners.{o['owner']}.", o["view"]) for o in data["owners"]
    ]:
        largest = max(step["reached"] for step in view["funnel"])
        widths = {}
        for step in view["funnel"]:
            key = f"{prefix}funnel.{step['milestone']}"
            (bar,) = rects[f"{key}.reached"]
            assert bar["attrs"]["data-value"] == str(step["reached"])
            widths[step["milestone"]] = _drawn_width(bar)
            assert [t["text"] for t in texts[f"{key}.reached"]] == [str(step["reached"])]
            assert [t["text"] for t in texts[f"{key}.now"]] == [f"now {step['now']}"]
            if step["conversion"] is not None:
                (rate,) = texts[f"{key}.conversion"]
                assert f"{step['conversion'] * 100:.1f} %" in rate["text"]
        widest = max(widths.values())
        assert widest > 100  # drawn, at a readable size
        for step in view["funnel"]:
            expected = step["reached"] / largest
            assert widths[step["milestone"]] / widest == pytest.approx(expected, abs=0.01)


def test_time_chart_bars_match_the_days(
    rendered: tuple[dict[str, Any], str, KeyedElements],
) -> None:
    data, _, parsed = rendered
    rects = _by_key(parsed, "rect")
    times = data["overall"]["times"]
    largest = max(t["p90_days"] or 0 for t in times)
    unit = None
    for t in times:
        key = f"times.{t['from_milestone']}-{t['to_milestone']}"
        for name in ("median_days", "p90_days"):
            (bar,) = rects[f"{key}.{name}"]
            value = t[name] or 0
            width = _drawn_width(bar)
            if value == largest:
                unit = width / largest
            assert (width > 0) == (value > 0), (key, name)
    assert unit is not None and unit > 0
    for t in times:
        key = f"times.{t['from_milestone']}-{t['to_milestone']}"
        (bar,) = rects[f"{key}.median_days"]
        assert _drawn_width(bar) == pytest.approx((t["median_days"] or 0) * unit, abs=0.6)


def test_printed_figures_match_the_json(
    rendered: tuple[dict[str, Any], str, KeyedElements],
) -> None:
    data, _, parsed = rendered
    spans = {key: [e["text"] for e in found] for key, found in _by_key(parsed, "span").items()}
    overall = data["overall"]
    expected = {
        "disqualified.total": str(overall["disqualified"]["total"]),
        "advocacy.advocates": str(overall["advocacy"]["advocates"]),
        "advocacy.referrals": str(overall["advocacy"]["referrals"]),
        "advocacy.won_deals": str(overall["advocacy"]["won_deals"]),
        "advocacy.won_amount": money(overall["advocacy"]["won_amount"]),
        "at_risk.silent_clients": str(overall["at_risk"]["silent_clients"]),
        "at_risk.lapsing_advocates": str(overall["at_risk"]["lapsing_advocates"]),
        "idle_targets.untouched": str(overall["idle_targets"]["untouched"]),
        "idle_targets.outbound_only": str(overall["idle_targets"]["outbound_only"]),
    }
    for owner in data["owners"]:
        for step in owner["view"]["funnel"]:
            expected[f"owners.{owner['owner']}.funnel.{step['milestone']}.now"] = str(step["now"])
        expected[f"owners.{owner['owner']}.at_risk.silent_clients"] = str(
            owner["view"]["at_risk"]["silent_clients"]
        )
    for key, value in expected.items():
        assert spans.get(key) and set(spans[key]) == {value}, key
    assert data["overall"]["advocacy"]["won_amount"] == 5000  # the world's known figure
