"""The progress display of a run: on a terminal, and never in cron or with ``--json``.

On a pseudo-terminal a sync rewrites one progress line with the records read per type, the
writes, the API calls and the rate-limit waits with their reason; with stderr a pipe (cron,
Kubernetes) the run prints its one summary line and nothing else; with ``--json`` on a
terminal only the JSON. The unit tests pin the seam: the transport tells ``on_wait`` of the
pacers' waits and of the retries', with a reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_support import run_on_terminal
from reliability_support import Crm, Tamper, start_crm

from milestones.cli.progress import ProgressLine
from milestones.connectors.base import RetryableError, Usage
from milestones.connectors.settings import Pacing
from milestones.connectors.transport import Pacer, Transport
from milestones.sandbox.server.core import Request, Response
from milestones.sync.run import RunReport

CONTACTS = 20
MAIN = "import sys; from milestones.cli.main import main; main(sys.argv[1:])"


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crm]:
    """A HubSpot sandbox whose first contacts page is refused once with a 429."""
    crm = start_crm("hubspot", tmp_path_factory.mktemp("progress"), CONTACTS)
    crm.server.retry_after_s = 1  # type: ignore[attr-defined]
    crm.ensure_fields()
    try:
        yield crm
    finally:
        crm.stop()


def _rate_limit_once(crm: Crm) -> Tamper:
    def rewrite(req: Request, answer: Response | None) -> Response | None:
        return crm.server.rate_limited(req, "contacts")

    def reads_contacts(req: Request) -> bool:  # the list (sync --full) or a search (backfill)
        return "/contacts" in req.path and "batch" not in req.path

    return Tamper(crm.server, reads_contacts, rewrite, times=1)


def _reset(crm: Crm) -> None:
    crm.state.unlink(missing_ok=True)


def test_a_terminal_sees_reads_per_type_writes_and_the_wait_with_its_reason(crm: Crm) -> None:
    _reset(crm)
    tamper = _rate_limit_once(crm)
    try:
        (printed,) = run_on_terminal(crm, [["sync", "--full"]])
    finally:
        tamper.remove()
    assert tamper.hits == 1
    assert printed.code == "0", printed.err
    lines = printed.err.split("\r")
    progress = [line for line in lines if line.startswith("sync: read ")]
    assert progress, printed.err
    last = progress[-1].rstrip("\n")
    assert "contacts " in last and "deals " in last and "activities " in last, last
    assert "wrote " in last and "API calls" in last, last
    # The 429 holds the pacers: the wait that follows names the limit and why it holds.
    reasons = ("HTTP 429 (TEN_SECONDLY_ROLLING)", "the server says its window is spent")
    assert any(reason in line for line in progress for reason in reasons), progress
    assert len(printed.out.strip().splitlines()) == 1  # the summary, on stdout
    assert printed.out.startswith("sync run ")


def test_json_on_a_terminal_prints_no_progress(crm: Crm) -> None:
    _reset(crm)
    (printed,) = run_on_terminal(crm, [["sync", "--full", "--json"]])
    assert printed.code == "0", printed.err
    assert "\r" not in printed.err and "sync: read" not in printed.err
    assert json.loads(printed.out)["outcome"] == "ok"


@pytest.mark.parametrize("command", [["sync", "--full"], ["backfill", "--since", "2020-01-01"]])
def test_cron_gets_one_summary_line_per_run(crm: Crm, command: list[str], tmp_path: Path) -> None:
    _reset(crm)
    tamper = _rate_limit_once(crm)
    try:
        done = subprocess.run(
            [sys.executable, "-c", MAIN, "--config", str(crm.config), *command],
            capture_output=True,
            text=True,
            env={**os.environ, **crm.env},
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    finally:
        tamper.remove()
    assert tamper.hits == 1 and done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and ": read " not in done.stderr, done.stderr
    assert len(done.stdout.splitlines()) == 1, done.stdout
    assert done.stdout.startswith(f"{command[0]} run ")


def test_the_line_counts_reads_per_type_and_keeps_the_last_wait() -> None:
    line = ProgressLine("backfill")
    report = RunReport(run_id=1)
    report.bump("records_read", 100)
    line("contacts", report, 3)
    report.bump("records_read", 40)
    line("deals", report, 4)
    report.bump("written", 7)
    line("writes", report, 5)
    line.on_wait("10-second limit", 0.5)
    line.on_wait("retry after HTTP 429 (TEN_SECONDLY_ROLLING)", 2.0)
    text = line.text()
    assert text.startswith("backfill: read contacts 100, deals 40; wrote 7; 5 API calls")
    assert "waited 2.5s (2x, last: retry after HTTP 429 (TEN_SECONDLY_ROLLING))" in text


def test_the_transport_tells_of_pacer_and_retry_waits() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(1, 10.0, clock=lambda: now[0], sleep=sleep, name="10-second limit")
    transport = Transport("hubspot", Pacing(), Usage(), counts_tries=False, sleep=sleep)
    heard: list[tuple[str, float]] = []
    transport.on_wait = lambda reason, seconds: heard.append((reason, seconds))
    tries = iter([RetryableError("slow down", connector="hubspot", status=429, retry_after=3)])

    def request() -> str:
        error = next(tries, None)
        if error is not None:
            raise error
        return "ok"

    assert transport.send("read", request, classify=lambda exc: None, pacers=[pacer]) == "ok"
    assert heard[0] == ("retry after HTTP 429, as the server asked", 3.0)
    assert heard[1][0] == "10-second limit" and heard[1][1] == pytest.approx(7.0)
    assert slept == [pytest.approx(s) for _, s in heard]
