"""The previous release's figures, kept in the repository and set beside every new run.

``benchmarks/baseline.json`` holds, per benchmark configuration (provider, contacts, seed,
share changed, rate limits), what the previous release's worker did in each of the five
runs: its API calls, CPU seconds and peak memory. The world is generated from the seed, so
the same configuration has the same floor: a new result divides the previous release's calls
by *its own* floor, and a regression shows as a calls/floor ratio above the previous one.

Record a baseline by running the benchmark with the previous release's worker::

    git worktree add /tmp/previous v0.2.0
    python -m benchmarks.sync --provider salesforce --contacts 10000 \\
        --worker-src /tmp/previous/src --save-baseline 0.2.0
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PATH = Path(__file__).parent / "baseline.json"


def key(result: dict[str, Any]) -> str:
    """The configuration a result was measured in: only equal ones are compared."""
    limits = "on" if result["rate_limits"] else "off"
    return (
        f"{result['provider']}-{result['contacts']}-seed{result['seed']}"
        f"-changed{result['changed']}-limits-{limits}"
    )


def load(path: Path = PATH) -> dict[str, Any]:
    """Every kept baseline by configuration key (empty when there is no file)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return data


def save(result: dict[str, Any], release: str, path: Path = PATH) -> None:
    """Keep ``result`` as ``release``'s figures for its configuration."""
    data = load(path)
    data[key(result)] = {
        "release": release,
        "date": result["date"],
        "full_cpu_s_per_1000_contacts": result["full_cpu_s_per_1000_contacts"],
        "startup_cpu_s": result["startup_cpu_s"],
        "peak_rss_mb": result["peak_rss_mb"],
        "runs": [
            {
                "run": r["run"],
                "calls": r["calls"],
                "write_calls": r["write_calls"],
                "worker_cpu_s": r["worker_cpu_s"],
                "peak_rss_mb": r["peak_rss_mb"],
                "endpoints": r["endpoints"],
            }
            for r in result["runs"]
        ],
    }
    path.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def attach(result: dict[str, Any], path: Path = PATH) -> None:
    """Set the previous release's figures beside ``result``'s, when it has them."""
    base = load(path).get(key(result))
    if base is None:
        return
    result["baseline"] = {k: v for k, v in base.items() if k != "runs"}
    for run, before in zip(result["runs"], base["runs"], strict=True):
        assert run["run"] == before["run"]
        run["baseline_calls"] = before["calls"]
        run["baseline_calls_per_floor"] = round(before["calls"] / run["floor"], 3)
        run["baseline_cpu_s"] = before["worker_cpu_s"]
        run["baseline_peak_rss_mb"] = before["peak_rss_mb"]


def replay_key(result: dict[str, Any]) -> str:
    """The set-up a replay (``benchmarks.replay``) was measured in."""
    return f"replay-{result['provider']}-{result['contacts']}-seed{result['seed']}"


def save_replay(result: dict[str, Any], release: str, path: Path = PATH) -> None:
    """Keep a replay's figures per part as ``release``'s, with the state hash it left."""
    data = load(path)
    data[replay_key(result)] = {
        "release": release,
        "date": result["date"],
        "repeat": result["repeat"],
        "phases": result["phases"],
        "total_s": result["total_s"],
        "spread": result["spread"],
        "state_hash": result["state_hashes"][0],
        "state_tables": result["state_tables"],
    }
    path.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def attach_replay(result: dict[str, Any], path: Path = PATH) -> None:
    """Set the previous release's replay figures beside ``result``'s, when kept."""
    base = load(path).get(replay_key(result))
    if base is not None:
        result["baseline"] = base
