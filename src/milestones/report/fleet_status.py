"""``fleet status``: one row per org, read from each org's state alone (no API call).

A row says how the org's last run ended (its time, outcome and the exit code it gave), how
old the mirror is (the age of the oldest ``sync`` cursor), the writes waiting and failed,
and the people in the mirror. An org whose config is malformed, or whose state is missing
or damaged, gets a row saying so, and the others are still read.

Every org's state is opened by ``open_org_state``: the one place that knows where a config
keeps its state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from milestones.config.fleet import FleetMember
from milestones.config.settings import Config
from milestones.store.health import StateError, is_state_failure
from milestones.store.rows import RunRow
from milestones.store.sqlite import Store

StateStatus = Literal["ok", "missing", "damaged", "config"]
FINISHED_OK = ("ok", "dry-run")


def open_org_state(config: Config) -> Store:
    """The org's state, opened read-only (a running sync is not disturbed).

    Raises ``FileNotFoundError`` when there is none yet and ``StateError`` when it is damaged.
    """
    return Store(config.state.path, read_only=True)


def run_exit_code(run: RunRow) -> int | None:
    """The exit code a finished run gave (as ``sync`` picks it), None while it runs.

    A run still marked running in a state nobody writes was killed: it has no exit code.
    """
    if run.outcome in (None, "running"):
        return None
    if run.outcome in FINISHED_OK:
        return 0 if not run.failed else 1
    if run.outcome == "error" and not run.detail:
        return 2  # the CRM refused the credentials or names: a configuration error
    return 1


@dataclass(slots=True)
class LastRun:
    """The org's most recent run."""

    id: int
    command: str
    started_at: str
    finished_at: str | None
    outcome: str | None
    exit_code: int | None


@dataclass(slots=True)
class OrgStatus:
    """One org's row of ``fleet status``."""

    org: str
    config: str
    provider: str | None
    state: StateStatus
    problem: str | None = None
    last_run: LastRun | None = None
    cursor_age_seconds: int | None = None
    people: int | None = None
    writes_pending: int | None = None
    writes_failed: int | None = None
    writes_refused: int | None = None

    @property
    def is_healthy(self) -> bool:
        """The state was read and the org's last run ended with exit code 0."""
        return self.state == "ok" and self.last_run is not None and self.last_run.exit_code == 0

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return asdict(self)


def org_status(member: FleetMember, now: datetime) -> OrgStatus:
    """One org's row; a malformed config or an unreadable state is the row's ``problem``."""
    config = member.config
    if config is None or member.problems:
        return OrgStatus(
            member.org, str(member.path), None, "config", problem="; ".join(member.problems)
        )
    row = OrgStatus(member.org, str(member.path), config.provider, "ok")
    try:
        with open_org_state(config) as state:
            _read_state(state, row, now)
    except FileNotFoundError:
        row.state, row.problem = "missing", "no state yet: run `milestones sync` for this org"
    except StateError as exc:
        row.state, row.problem = "damaged", str(exc)
    except Exception as exc:
        if not is_state_failure(exc):  # damage found while reading: this org only
            raise
        row.state, row.problem = "damaged", f"unreadable ({exc})"
    return row


def _read_state(state: Store, row: OrgStatus, now: datetime) -> None:
    runs = state.runs.recent(1)
    if runs:
        run = runs[0]
        row.last_run = LastRun(
            run.id, run.command, run.started_at, run.finished_at, run.outcome, run_exit_code(run)
        )
    committed = [c.committed for c in state.cursors.all() if c.lane == "sync"]
    if committed and all(moment is not None for moment in committed):
        oldest = min(moment for moment in committed if moment is not None)
        row.cursor_age_seconds = max(0, int((now - oldest).total_seconds()))
    counts = state.counts()
    row.people = counts.people
    row.writes_pending = counts.writes_pending
    row.writes_failed = counts.writes_failed
    row.writes_refused = counts.writes_refused


def fleet_status(members: list[FleetMember], now: datetime) -> list[OrgStatus]:
    """Every org's row, in the fleet's order."""
    return [org_status(member, now) for member in members]
