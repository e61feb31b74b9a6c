"""An Airflow DAG that runs one ``milestones sync`` task per org, from a folder of configs.

Copy this file into the DAGs folder of an Airflow whose workers have crm-milestones
installed, and point ``MILESTONES_FLEET_DIR`` at the folder of per-org configs (one
``*.toml`` per org). Each config becomes one task, ``sync_<org>``, that runs
``milestones --config <file> --log-format json sync``; the org's secrets come from the
worker's environment (an Airflow connection or a secrets backend exporting them), never
from this file.

Exit codes map onto task states: 0 succeeds; 1 (records kept for the next run, a quota stop,
another run holding the org) and 2 (a configuration error) fail the task, so alerting sees
them. ``max_active_runs=1`` and the worker's own lock keep two runs of one org apart;
``max_active_tasks`` bounds how many orgs sync at once (see docs/operations.md, "Fleets",
for two orgs sharing one CRM app). ``milestones fleet status --dir <folder>`` shows them all.

Written for Airflow 2.x and 3.x (their imports differ; both are tried).
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.bash import BashOperator

FLEET_DIR = Path(os.environ.get("MILESTONES_FLEET_DIR", "/etc/milestones/orgs"))
MILESTONES = os.environ.get("MILESTONES_BIN", "milestones")
PARALLEL = int(os.environ.get("MILESTONES_PARALLEL", "4"))


def org_configs(folder: Path) -> list[tuple[str, Path]]:
    """(org, config file) for each ``*.toml`` in ``folder``: its ``org`` key, else the stem."""
    found = []
    for path in sorted(folder.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        found.append((str(data.get("org", path.stem)), path))
    return found


def task_id(org: str) -> str:
    """``sync_<org>`` with anything Airflow refuses in a task id replaced by ``_``."""
    return "sync_" + re.sub(r"[^A-Za-z0-9_.-]", "_", org)


with DAG(
    dag_id="milestones_fleet",
    description="crm-milestones: one incremental sync per org",
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=PARALLEL,
    default_args={"retries": 0, "execution_timeout": timedelta(hours=2)},
    tags=["crm-milestones"],
) as dag:
    for org, config in org_configs(FLEET_DIR):
        BashOperator(
            task_id=task_id(org),
            bash_command=(
                f"{shlex.quote(MILESTONES)} --config {shlex.quote(str(config))} "
                "--log-format json sync"
            ),
        )
