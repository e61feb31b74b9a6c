"""The fleet's deployment examples in deploy/: each renders or loads, one job per org.

Kubernetes: ``deploy/kubernetes/fleet/generate.py`` over a folder of three configs writes one
CronJob per org (``concurrencyPolicy: Forbid``, secrets from a Secret, never a value), and
``kubectl kustomize`` renders it where kubectl is installed. Airflow: the DAG file compiles
and, run with a minimal stand-in for Airflow's two classes (Airflow itself is not installed
here), defines one task per config. systemd: ``systemd-analyze verify`` accepts the template
units for an org.
"""

from __future__ import annotations

import py_compile
import runpy
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GENERATE = ROOT / "deploy" / "kubernetes" / "fleet" / "generate.py"
DAG = ROOT / "deploy" / "airflow" / "milestones_fleet.py"
SECRET = "pat-na1-0000-sentinel-secret-value"


@pytest.fixture
def orgs(tmp_path: Path) -> Path:
    folder = tmp_path / "orgs"
    folder.mkdir()
    for stem, org in (("acme", None), ("globex", None), ("client-3", "initech")):
        key = f'org = "{org}"\n' if org else ""
        (folder / f"{stem}.toml").write_text(
            f'{key}provider = "hubspot"\n[hubspot]\naccess_token = "${{TOKEN_{stem.upper()}}}"\n'
            f'[state]\npath = "/state/{org or stem}.db"\n',
            encoding="utf-8",
        )
    return folder


def _generate(orgs: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATE), "--orgs", str(orgs), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"TOKEN_ACME": SECRET, "PATH": "/usr/bin:/bin"},
    )


def _cronjobs(documents: list[Any]) -> dict[str, Any]:
    return {d["metadata"]["name"]: d for d in documents if d and d["kind"] == "CronJob"}


def test_one_cronjob_per_org_with_forbid_and_no_secret(orgs: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    done = _generate(orgs, out)
    assert done.returncode == 0, done.stderr
    text = (out / "cronjobs.yaml").read_text(encoding="utf-8")
    jobs = _cronjobs(list(yaml.safe_load_all(text)))
    assert sorted(jobs) == ["milestones-acme", "milestones-globex", "milestones-initech"]
    minutes = set()
    for name, job in jobs.items():
        spec = job["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["envFrom"] == [{"secretRef": {"name": name}}]
        assert all(
            set(env) == {"name", "value"} and env["name"] == "HOME" for env in container["env"]
        )
        config = container["args"][container["args"].index("--config") + 1]
        assert (orgs / Path(config).name).exists() and container["args"][-1] == "sync"
        minutes.add(spec["schedule"].split()[0])
    assert len(minutes) == 3  # staggered: each org starts at its own minute
    everything = text + (out / "kustomization.yaml").read_text(encoding="utf-8")
    everything += "".join(p.read_text(encoding="utf-8") for p in (out / "orgs").iterdir())
    assert SECRET not in everything and "kind: Secret" not in everything


def test_names_kubernetes_cannot_take_are_refused(orgs: Path, tmp_path: Path) -> None:
    (orgs / "bad.toml").write_text('org = "Acme Corp!"\nprovider = "hubspot"\n', encoding="utf-8")
    done = _generate(orgs, tmp_path / "out")
    assert done.returncode != 0 and "'Acme Corp!'" in done.stderr
    (orgs / "bad.toml").write_text('org = "acme"\nprovider = "hubspot"\n', encoding="utf-8")
    done = _generate(orgs, tmp_path / "out")
    assert done.returncode != 0 and "same org" in done.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_the_configmap_the_cronjobs_mount(orgs: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    assert _generate(orgs, out).returncode == 0
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(out)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    documents = list(yaml.safe_load_all(rendered))
    (configmap,) = [d for d in documents if d["kind"] == "ConfigMap"]
    assert configmap["metadata"]["name"].startswith("milestones-orgs-")  # hashed: rolls out
    assert sorted(configmap["data"]) == ["acme.toml", "client-3.toml", "globex.toml"]
    jobs = _cronjobs(documents)
    assert len(jobs) == 3
    for job in jobs.values():
        volumes = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "config", "configMap": {"name": configmap["metadata"]["name"]}} in volumes
    assert SECRET not in rendered


def test_airflow_dag_has_one_task_per_config(orgs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    py_compile.compile(str(DAG), doraise=True)
    tasks: list[dict[str, Any]] = []
    dags: list[dict[str, Any]] = []

    class StandInDAG:
        def __init__(self, **kwargs: Any) -> None:
            dags.append(kwargs)

        def __enter__(self) -> StandInDAG:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def bash_operator(**kwargs: Any) -> None:
        tasks.append(kwargs)

    airflow = types.ModuleType("airflow")
    airflow.DAG = StandInDAG  # type: ignore[attr-defined]
    operators = types.ModuleType("airflow.operators")
    bash = types.ModuleType("airflow.operators.bash")
    bash.BashOperator = bash_operator  # type: ignore[attr-defined]
    for name, module in (
        ("airflow", airflow),
        ("airflow.operators", operators),
        ("airflow.operators.bash", bash),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("MILESTONES_FLEET_DIR", str(orgs))
    runpy.run_path(str(DAG))
    assert len(dags) == 1 and dags[0]["max_active_runs"] == 1
    assert sorted(t["task_id"] for t in tasks) == ["sync_acme", "sync_globex", "sync_initech"]
    for task in tasks:
        assert task["bash_command"].endswith("--log-format json sync")
        assert str(orgs) in task["bash_command"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_template_units_verify(tmp_path: Path) -> None:
    for unit in ("milestones@.service", "milestones@.timer"):
        text = (ROOT / "deploy" / "systemd" / unit).read_text(encoding="utf-8")
        # verify checks that ExecStart exists: point it at a program this machine has.
        text = text.replace("/opt/milestones/.venv/bin/milestones", "/bin/true")
        (tmp_path / unit).write_text(text, encoding="utf-8")
    done = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            "--man=no",
            str(tmp_path / "milestones@acme.timer"),
            str(tmp_path / "milestones@acme.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
