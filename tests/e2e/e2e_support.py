"""End-to-end support: a sandbox CRM on 127.0.0.1, a config pointing at it, the real CLI.

Every test here runs ``milestones`` (in-process through ``main()``, or as a subprocess when
it must be killed) against the sandbox over HTTP(S), through the real connectors and their
client libraries, and checks the outcome in the sandbox's own records.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milestones.cli.main import main
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES
from milestones.connectors.salesforce.settings import SALESFORCE_FIELD_NAMES
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.server.core import SandboxServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World

WORLD_SIZE = 120
SEED = 11
# The HubSpot portal these tests play: a Professional one (190 calls per 10 s, 19 a second),
# as a revops team's usually is. The Starter portal's tighter pacing is tested where pacing
# is the subject (reliability, benchmarks, the sandbox's own limit tests).
HUBSPOT_TIER = "professional"


def settle(box: Sandbox) -> None:
    """Salesforce's SystemModstamp has one-second granularity: let a changed second pass."""
    if box.provider == "salesforce":
        time.sleep(1.1)


@dataclass
class Sandbox:
    """One running sandbox CRM and a config file for it."""

    provider: str
    server: SandboxServer
    world: World
    config: Path
    state: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> dict[str, str]:
        """Canonical key -> this CRM's field name."""
        return dict(HUBSPOT_FIELD_NAMES if self.provider == "hubspot" else SALESFORCE_FIELD_NAMES)

    def run(self, *args: str) -> int:
        """``milestones --config <config> <args>`` in-process; its exit code."""
        try:
            main(["--config", str(self.config), *args])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    def spawn(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The same as a separate process (it can be killed, it holds its own lock)."""
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from milestones.cli.main import main; main()",
                "--config",
                str(self.config),
                *args,
            ],
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``milestones`` as a separate process and return at once."""
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from milestones.cli.main import main; main()",
                "--config",
                str(self.config),
                *args,
            ],
            env={**os.environ, **self.env, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def write_calls(self) -> int:
        """Write requests the CRM has received (HubSpot batch updates, sObject collections)."""
        endpoints: dict[str, int] = self.server.stats()["endpoints"]
        return sum(
            n
            for name, n in endpoints.items()
            if "batch/update" in name or "composite/sobjects" in name
        )

    def value(self, kind: str, record_id: int, key: str) -> Any:
        """The CRM's value of one of our fields on a world record (None when unset)."""
        with self.world.lock:
            record = self.world.get(kind, record_id)
            assert record is not None
            return (record.extra or {}).get(self.names[key])

    def written_values(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Every person's and deal's values of our fields, as the CRM holds them."""
        ours = set(self.names.values())
        result = {}
        with self.world.lock:
            for kind in ("person", "deal"):
                for rid in self.world.ids(kind):
                    record = self.world.get(kind, rid)
                    extra = (record.extra or {}) if record is not None else {}
                    result[(kind, rid)] = {k: v for k, v in extra.items() if k in ours}
        return result


def start_sandbox(
    provider: str, tmp: Path, contacts: int = WORLD_SIZE, **server_options: Any
) -> Sandbox:
    """Generate a world, serve it as ``provider``, write a config for it.

    ``server_options`` go to the sandbox server (``legacy_paths=False``, say).
    """
    tmp.mkdir(parents=True, exist_ok=True)
    world = generate_world(seed=SEED, contacts=contacts)
    state = tmp / "state.db"
    config = tmp / "milestones.toml"
    common = f'[state]\npath = "{state}"\n[sync]\nlag_seconds = 0\n'
    if provider == "hubspot":
        options = {"tier": HUBSPOT_TIER, **server_options}
        server: SandboxServer = HubSpotServer(world, **options).start()
        config.write_text(
            f'provider = "hubspot"\n[hubspot]\naccess_token = "${{HUBSPOT_ACCESS_TOKEN}}"\n'
            f'base_url = "{server.url}"\n{common}'
        )
        env = {"HUBSPOT_ACCESS_TOKEN": server.token}
    else:
        sf = SalesforceServer(world, **server_options).start()
        server = sf
        config.write_text(
            f'provider = "salesforce"\n[salesforce]\ninstance_url = "{sf.url}"\n'
            f'auth = "session"\nsession_id = "${{SF_SESSION_ID}}"\n'
            f'ca_bundle = "{sf.ca_bundle}"\n{common}'
        )
        env = {"SF_SESSION_ID": sf.token}
    return Sandbox(provider, server, world, config, state, env)
