"""The likelihood for people: lines for the terminal (the CLI's writer prints them)."""

from __future__ import annotations

from typing import Any


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def likelihood_lines(view: dict[str, Any]) -> list[str]:
    """The section as lines, from its JSON form: curves, forecast, won amount, backtest."""
    if "unavailable" in view:
        return ["Likelihood", f"  {view['unavailable']}"]
    lines = [
        f"Likelihood (as of {view['as_of']}; minimum history {view['min_sample']} people)",
        f"  estimator: {view['estimator']}",
        "  reaching the next milestone within 30 / 90 / 180 days (95% interval at 90):",
    ]
    for step, curve in view["steps"].items():
        if "not_enough_history" in curve:
            lines.append(f"    {step:<24} {curve['not_enough_history']}")
            continue
        w = curve["within_days"]
        lines.append(
            f"    {step:<24} {_percent(w['30']['p'])} / {_percent(w['90']['p'])} "
            f"({_percent(w['90']['low'])}-{_percent(w['90']['high'])}) / "
            f"{_percent(w['180']['p'])}   n = {curve['people']}, converted {curve['converted']}, "
            f"lost {curve['lost']}"
        )
    lines.append("  expected in the next 90 days (95% interval), next milestone only:")
    lines += _expected_lines("org", view["forecast"]["org"])
    for owner, table in view["forecast"]["owners"].items():
        lines += _expected_lines(f"owner {owner}", table)
    for milestone, waiting in view["forecast"]["not_estimated"].items():
        lines.append(f"    {milestone}: {waiting} people waiting, not enough history to estimate")
    won = view["won_amount"]
    lines.append(
        f"  open deals: {won['open_deals']}; expected won within 90 days "
        f"{won['expected_within_90_days']:,.2f}; by the CRM's stage probabilities "
        f"{won['by_stage_probability']:,.2f} (same deals; "
        f"{won['without_likelihood']} without a likelihood, {won['without_amount']} "
        "without an amount)"
    )
    lines += _backtest_lines(view["backtest"])
    return lines


def _expected_lines(group: str, table: dict[str, Any]) -> list[str]:
    parts = [
        f"{milestone} {e['expected']:.1f} ({e['low']:.1f}-{e['high']:.1f}) of {e['waiting']}"
        for milestone, e in table.items()
    ]
    return [f"    {group}: " + ("; ".join(parts) if parts else "nobody waiting")]


def _backtest_lines(view: dict[str, Any]) -> list[str]:
    lines = [
        f"  backtest: fitted on the ledger of {view['cutoff']}, predicted until {view['until']}:"
    ]
    for step, tally in view["steps"].items():
        if "not_enough_history" in tally:
            lines.append(
                f"    from {step:<12} not enough history (n = {tally['not_enough_history']})"
            )
            continue
        lines.append(
            f"    from {step:<12} predicted {tally['predicted']:.1f}, actual {tally['actual']} "
            f"of {tally['people']}; Brier {tally['brier']} (plain rate {tally['brier_plain_rate']})"
        )
    overall = view["overall"]
    lines.append(
        f"    overall: Brier {overall['brier']} (plain rate {overall['brier_plain_rate']})"
    )
    lines.append("    calibration (band: people, predicted, actual):")
    for band in view["calibration"]:
        lines.append(
            f"      {band['band']:>8}: {band['people']}, {band['predicted']:.1f}, {band['actual']}"
        )
    if "stage_probabilities" in view:
        lines += _stage_lines(view["stage_probabilities"])
    return lines


def _stage_lines(view: dict[str, Any]) -> list[str]:
    """Ours beside the CRM's stage probabilities, on the deals open on the cutoff day."""
    left = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in view["left_out"].items() if n)
    head = f"    open deals on the cutoff day, won within 90 days: {view['won']} of {view['deals']}"
    lines = [head + (f" (left out: {left})" if left else "")]
    for side, label in (("ours", "ours"), ("stage_probabilities", "stage probabilities")):
        score = view[side]
        lines.append(
            f"      {label:<20} predicted {score['predicted']:.1f}; Brier {score['brier']}"
        )
    for row in view["by_stage"]:
        lines.append(
            f"      stage {row['stage']} at {_percent(row['probability'])}: {row['deals']} deals, "
            f"by stage {row['probability'] * row['deals']:.1f}, ours {row['ours_predicted']:.1f}, "
            f"won {row['won']}"
        )
    return lines
