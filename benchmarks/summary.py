"""One table of the goals from every result in ``benchmarks/results``, for the README.

    python -m benchmarks.summary

Each row is one benchmark command's result; each goal column shows the measured figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _run(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in result["runs"] if r["run"] == name)


def _worst(result: dict[str, Any], names: tuple[str, ...], key: str) -> Any:
    return max(r[key] for r in result["runs"] if r["run"] in names)


def sync_rows(results: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| provider | contacts | full calls/floor | incremental calls/floor | rerun and idle "
        "calls/floor | writes on reruns | full CPU s per 1,000 contacts | peak RSS MB | 429s "
        "| full wall/pacing floor |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sorted(results, key=lambda r: (r["provider"], r["contacts"])):
        full, incremental = _run(r, "full"), _run(r, "incremental")
        pacing = full["wall_per_pacing"] if full["wall_per_pacing"] is not None else "n/a"
        rows.append(
            f"| {r['provider']} | {r['contacts']:,} | {full['calls_per_floor']} | "
            f"{incremental['calls_per_floor']} | "
            f"{_worst(r, ('rerun', 'idle'), 'calls_per_floor')} | "
            f"{_worst(r, ('rerun', 'idle'), 'write_calls')} | "
            f"{r['full_cpu_s_per_1000_contacts']} | {r['peak_rss_mb']} | "
            f"{sum(run['rate_limited'] for run in r['runs'])} | {pacing} |"
        )
    return rows


def main() -> None:
    results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("sync-*.json"))]
    print("\n".join(sync_rows(results)))
    for path in sorted(RESULTS.glob("derive-*.json")):
        d = json.loads(path.read_text())
        print(
            f"\nderive(): {d['first_sync_contacts_per_s']:,} contacts/s without a prior result, "
            f"{d['with_prior_contacts_per_s']:,} with one ({d['people_derived']:,} people)"
        )


if __name__ == "__main__":
    main()
