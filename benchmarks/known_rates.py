"""The likelihood against a world's known rates: how close, and how the stages fare beside it.

A HubSpot sandbox serves a known-rates world (``generate_world(known_rates=KnownRates())``);
the real worker syncs it (rate limits off) and ``milestones likelihood`` reads the state as of
the world's last day. Printed: per step the true 90-day chance, the estimate and its 95%
interval; per step the backtest's predicted vs actual and Brier score; and the CRM's stage
probabilities beside ours on the deals open on the cutoff day. Seconds are figures, never
asserted (``tests/e2e/test_known_rates_e2e.py`` checks the same world's truths).

    python -m benchmarks.known_rates --contacts 6000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from milestones.cli.main import main
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.known_rates import MAPPING_TOML, STEPS, KnownRates, true_within


def _run(*args: str) -> None:
    try:
        main(list(args))
    except SystemExit as exc:
        if exc.code:
            raise RuntimeError(f"milestones {' '.join(args)} exited {exc.code}") from None


def _likelihood(config: Path, as_of: str, out: Path) -> dict[str, Any]:
    """``likelihood --json`` through the CLI, its output kept in a file."""
    with out.open("w") as handle, contextlib.redirect_stdout(handle):
        _run("--config", str(config), "likelihood", "--json", "--as-of", as_of)
    return json.loads(out.read_text())


def main_(contacts: int, seed: int) -> None:
    rates = KnownRates()
    world = generate_world(seed=seed, contacts=contacts, known_rates=rates)
    with tempfile.TemporaryDirectory() as tmp, HubSpotServer(world) as server:
        folder = Path(tmp)
        os.environ["BENCH_KNOWN_RATES_TOKEN"] = server.token
        config = folder / "milestones.toml"
        config.write_text(
            f'provider = "hubspot"\n[hubspot]\naccess_token = "${{BENCH_KNOWN_RATES_TOKEN}}"\n'
            f'base_url = "{server.url}"\n[state]\npath = "{folder / "state.db"}"\n'
            f"[sync]\nlag_seconds = 0\n[writeback]\nenabled = false\n{MAPPING_TOML}"
        )
        started = time.perf_counter()
        _run("--config", str(config), "--quiet", "sync")
        synced = time.perf_counter() - started
        as_of = datetime.fromtimestamp(world.anchor_ms / 1000, UTC).date().isoformat()
        started = time.perf_counter()
        view = _likelihood(config, as_of, folder / "likelihood.json")
        estimated = time.perf_counter() - started
    print(f"known-rates world: {contacts} people, seed {seed}, as of {as_of}")
    print(f"sync {synced:.1f} s, likelihood {estimated:.1f} s (wall clock)")
    print("step                    people  true@90  estimate (95% interval)  inside")
    for step in STEPS:
        key = f"{step}->{(*STEPS, 'advocate')[STEPS.index(step) + 1]}"
        curve = view["steps"][key]
        at = curve["within_days"]["90"]
        truth = true_within(world, rates, step, 90)
        inside = "yes" if at["low"] <= truth <= at["high"] else "NO"
        print(
            f"{key:<24}{curve['people']:>6}  {truth:7.4f}  {at['p']:.4f} "
            f"({at['low']:.4f}-{at['high']:.4f})   {inside}"
        )
    test = view["backtest"]
    print(f"backtest {test['cutoff']} -> {test['until']}: waiting at, people, predicted, actual,")
    print("  Brier (plain rate)")
    for step, tally in test["steps"].items():
        print(
            f"  {step:<12} {tally['people']:>5} {tally['predicted']:>7.1f} {tally['actual']:>5}"
            f"  {tally['brier']} ({tally['brier_plain_rate']})"
        )
    stages = test["stage_probabilities"]
    print(f"open deals on the cutoff day: {stages['deals']}, won within 90 days {stages['won']}")
    for side in ("ours", "stage_probabilities"):
        score = stages[side]
        print(f"  {side:<20} predicted {score['predicted']:>6.1f}  Brier {score['brier']}")
    for row in stages["by_stage"]:
        print(
            f"  {row['stage']:<26} at {row['probability']:.0%}: {row['deals']} deals, "
            f"ours {row['ours_predicted']}, won {row['won']}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    main_(args.contacts, args.seed)
