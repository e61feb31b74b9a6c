"""The Likelihood section of the HTML report, drawn from its JSON form.

Every figure sits in a ``data-key`` span named by its path in ``report --json``; owner
names and every other text are escaped; the curves are inline SVG (``chart``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from milestones.report.likelihood.chart import curves_svg


def _num(key: str, text: str) -> str:
    return f'<span data-key="{escape(key)}">{escape(text)}</span>'


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _table(head: list[str], rows: list[list[str]]) -> str:
    """A table of already-escaped cells (all but the first column are figures)."""
    if not rows:
        return '<p class="muted">None.</p>'
    figure = ' class="n"'
    out = ["<table><tr>"]
    out += [f"<th{figure if i else ''}>{escape(h)}</th>" for i, h in enumerate(head)]
    out.append("</tr>")
    for row in rows:
        out.append("<tr>")
        out += [f"<td{figure if i else ''}>{c}</td>" for i, c in enumerate(row)]
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def likelihood_html(view: dict[str, Any]) -> str:
    """The section: curves, forecast by owner, open deals, backtest and calibration."""
    parts = ['<h2 id="likelihood">Likelihood</h2>']
    if "unavailable" in view:
        parts.append(f'<p class="hint">{escape(view["unavailable"])}</p>')
        return "\n".join(parts)
    parts.append(
        f'<p class="muted">As of {escape(view["as_of"])}: {escape(view["estimator"])}; a '
        f"milestone reached by fewer than {view['min_sample']} people gets no number.</p>"
    )
    parts.append(_steps(view))
    if view["curves"]:
        parts.append(curves_svg(view))
    parts.append("<h3>Expected in the next 90 days (95% interval), next milestone only</h3>")
    parts.append(_forecast(view["forecast"]))
    parts.append(_won(view["won_amount"]))
    parts.append(_backtest(view["backtest"]))
    return "\n".join(parts)


def _steps(view: dict[str, Any]) -> str:
    rows = []
    for step, curve in view["steps"].items():
        key = f"likelihood.steps.{step}"
        if "not_enough_history" in curve:
            said = _num(f"{key}.not_enough_history", curve["not_enough_history"])
            rows.append([escape(step), said, "", "", "", "", ""])
            continue
        cells = [escape(step), _num(f"{key}.people", str(curve["people"]))]
        cells += [_num(f"{key}.converted", str(curve["converted"]))]
        cells += [_num(f"{key}.lost", str(curve["lost"]))]
        for days in ("30", "90", "180"):
            within = curve["within_days"][days]
            cells.append(
                _num(f"{key}.within_days.{days}.p", _pct(within["p"]))
                + f' <span class="muted">({_pct(within["low"])}-{_pct(within["high"])})</span>'
            )
        rows.append(cells)
    head = ["step", "people", "converted", "lost", "within 30 d", "within 90 d", "within 180 d"]
    return _table(head, rows)


def _forecast(forecast: dict[str, Any]) -> str:
    groups = [("everyone", "likelihood.forecast.org", forecast["org"])]
    groups += [
        (owner, f"likelihood.forecast.owners.{owner}", table)
        for owner, table in forecast["owners"].items()
    ]
    milestones = ("prospect", "opportunity", "client", "advocate")
    rows = []
    for name, key, table in groups:
        cells = [escape(name)]
        for milestone in milestones:
            e = table.get(milestone)
            cells.append(
                ""
                if e is None
                else _num(f"{key}.{milestone}.expected", f"{e['expected']:.1f}")
                + f' <span class="muted">({e["low"]:.1f}-{e["high"]:.1f} of {e["waiting"]})</span>'
            )
        rows.append(cells)
    table = _table(["", *milestones], rows)
    missing = "".join(
        f'<p class="hint">{escape(m)}: {n} people waiting, not enough history to estimate.</p>'
        for m, n in forecast["not_estimated"].items()
    )
    return table + missing


def _won(won: dict[str, Any]) -> str:
    key = "likelihood.won_amount"
    ours = _num(f"{key}.expected_within_90_days", f"{won['expected_within_90_days']:,.2f}")
    stages = _num(f"{key}.by_stage_probability", f"{won['by_stage_probability']:,.2f}")
    return (
        f"<p>Open deals: {_num(f'{key}.open_deals', str(won['open_deals']))}; "
        f"expected won within 90 days {ours}, by the CRM's stage probabilities {stages}"
        f' <span class="muted">(same deals; {won["without_likelihood"]} without a likelihood, '
        f"{won['without_amount']} without an amount)</span></p>"
    )


def _backtest(test: dict[str, Any]) -> str:
    parts = [
        f"<h3>Backtest: fitted on the ledger of {escape(test['cutoff'])}, "
        f"predicted until {escape(test['until'])}</h3>"
    ]
    rows = []
    for step, tally in {**test["steps"], "overall": test["overall"]}.items():
        key = "likelihood.backtest." + ("overall" if step == "overall" else f"steps.{step}")
        if "not_enough_history" in tally:
            n = tally["not_enough_history"]
            rows.append([escape(step), f"not enough history (n = {n})", "", "", "", ""])
            continue
        rows.append(
            [
                escape(step),
                _num(f"{key}.people", str(tally["people"])),
                _num(f"{key}.predicted", f"{tally['predicted']:.1f}"),
                _num(f"{key}.actual", str(tally["actual"])),
                _num(f"{key}.brier", str(tally["brier"])),
                _num(f"{key}.brier_plain_rate", str(tally["brier_plain_rate"])),
            ]
        )
    head = ["waiting at", "people", "predicted", "actual", "Brier", "Brier, plain rate"]
    parts.append(_table(head, rows))
    bands = [
        [escape(b["band"]), str(b["people"]), f"{b['predicted']:.1f}", str(b["actual"])]
        for b in test["calibration"]
    ]
    parts.append(_table(["predicted chance", "people", "predicted", "actual"], bands))
    if "stage_probabilities" in test:
        parts.append(_stage_backtest(test["stage_probabilities"]))
    return "\n".join(parts)


def _stage_backtest(test: dict[str, Any]) -> str:
    """Ours beside the CRM's stage probabilities on the deals open on the cutoff day."""
    key = "likelihood.backtest.stage_probabilities"
    left = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in test["left_out"].items() if n)
    parts = [
        "<h3>Open deals on the cutoff day: won within 90 days? Ours beside the stage "
        "probabilities</h3>",
        f"<p>{_num(f'{key}.deals', str(test['deals']))} deals scored, "
        f"{_num(f'{key}.won', str(test['won']))} won"
        + (f' <span class="muted">(left out: {escape(left)})</span>' if left else "")
        + "</p>",
    ]
    rows = []
    for side, label in (("ours", "ours"), ("stage_probabilities", "stage probabilities")):
        score = test[side]
        brier = "" if score["brier"] is None else str(score["brier"])
        rows.append(
            [
                escape(label),
                _num(f"{key}.{side}.predicted", f"{score['predicted']:.1f}"),
                str(test["won"]),
                _num(f"{key}.{side}.brier", brier),
            ]
        )
    parts.append(_table(["forecast", "predicted wins", "actual", "Brier"], rows))
    stages = [
        [
            escape(row["stage"]),
            _pct(row["probability"]),
            str(row["deals"]),
            f"{row['probability'] * row['deals']:.1f}",
            f"{row['ours_predicted']:.1f}",
            str(row["won"]),
        ]
        for row in test["by_stage"]
    ]
    head = ["stage on the cutoff day", "probability", "deals", "by stage", "ours", "won"]
    parts.append(_table(head, stages))
    return "\n".join(parts)
