"""What the account roll-up costs: API calls, writes and time, with it on and off.

Two identical sandbox worlds are synced side by side, one with ``[accounts] enabled``: a full
sync, an incremental run with no change, and an incremental run after one person replied.
Printed per run: API calls, records written, seconds. The roll-up should add only the
account writes (one batch per 100 companies on HubSpot, 200 Accounts on Salesforce) and no
call at all to a run with no change.

    python -m benchmarks.accounts --provider hubspot --contacts 5000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from milestones.config.settings import load_config
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world
from milestones.store.sqlite import Store
from milestones.sync.factory import build_connector, build_engine
from milestones.sync.run import RunOptions


def _config(provider: str, server: Any, folder: Path, accounts: bool) -> Path:
    env = f"BENCH_TOKEN_{'ON' if accounts else 'OFF'}"
    os.environ[env] = server.token
    if provider == "hubspot":
        section = f'[hubspot]\naccess_token = "${{{env}}}"\nbase_url = "{server.url}"\n'
    else:
        section = (
            f'[salesforce]\ninstance_url = "{server.url}"\nauth = "session"\n'
            f'session_id = "${{{env}}}"\nca_bundle = "{server.ca_bundle}"\n'
        )
    path = folder / "milestones.toml"
    path.write_text(
        f'provider = "{provider}"\n{section}[state]\npath = "{folder / "state.db"}"\n'
        f"[sync]\nlag_seconds = 0\n[accounts]\nenabled = {'true' if accounts else 'false'}\n",
        encoding="utf-8",
    )
    return path


def _run(config_path: Path, mode: str) -> dict[str, float]:
    config = load_config(config_path)
    connector = build_connector(config, sleep=lambda _s: None)
    with Store(config.state.path) as state:
        engine = build_engine(config, state, connector)
        engine.puller.lag = timedelta(0)
        t0 = time.perf_counter()
        report = engine.run(RunOptions(mode=mode))  # type: ignore[arg-type]
        seconds = time.perf_counter() - t0
    connector.close()
    f = report.figures
    return {"calls": f["api_calls"], "written": f["written"], "seconds": round(seconds, 2)}


def _quiet_person(world: Any) -> int:
    """A target who can answer, at a company where everyone is a target: the reply moves
    the person and their account."""
    for company in world.ids("company"):
        people = [world.get("person", p) for p in world.people_of_company(company)]
        if people and all(p.journey == "target" for p in people):
            for p in people:
                if not (p.opted_out or p.is_lead_only or p.archived):
                    return int(p.id)
    raise SystemExit("no company of targets in this world")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=("hubspot", "salesforce"), default="hubspot")
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    servers = []
    try:
        for accounts in (False, True):
            world = generate_world(seed=args.seed, contacts=args.contacts)
            server_class = HubSpotServer if args.provider == "hubspot" else SalesforceServer
            server = server_class(world).start()
            servers.append(server)
            folder = Path(tempfile.mkdtemp(prefix="milestones-bench-accounts-"))
            path = _config(args.provider, server, folder, accounts)
            config = load_config(path)
            build_connector(config).ensure_fields(dry_run=False)
            label = "accounts on" if accounts else "accounts off"
            runs = results.setdefault(label, {})
            runs["full sync"] = _run(path, "full")
            time.sleep(1.1)  # Salesforce stamps to the second
            runs["rerun, no change"] = _run(path, "incremental")
            world.add_inbound_email(_quiet_person(world))
            time.sleep(1.1)
            runs["one reply"] = _run(path, "incremental")
    finally:
        for server in servers:
            server.stop()
    print(f"{args.provider}, {args.contacts} people (seed {args.seed})")
    print(f"{'run':<18} {'':<13} {'calls':>6} {'written':>8} {'seconds':>8}")
    for label, runs in results.items():
        for run, figures in runs.items():
            print(
                f"{run:<18} {label:<13} {figures['calls']:>6.0f} {figures['written']:>8.0f} "
                f"{figures['seconds']:>8.2f}"
            )


if __name__ == "__main__":
    main()
