"""What one run is and what it reports, and the checkpoints between its units of work.

A run is cut into units (a pulled page, a derive chunk, a write batch); each ends with a
checkpoint where a stop request ends the run cleanly and, in crash tests, a chosen point
kills the process. The clock is passed in: nothing in the engine reads the wall clock.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from milestones.mapping.fields import Change

CRASH_ENV = "MILESTONES_CRASH_AT"

Mode = Literal["incremental", "full", "backfill"]
Outcome = Literal["ok", "failures", "interrupted", "quota", "error", "dry-run"]
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, UTC, aware: the clock a run uses unless another is injected."""
    return datetime.now(UTC)


@dataclass(slots=True)
class RunOptions:
    """What kind of run: incremental, full (reconciles deletions) or a backfill window."""

    mode: Mode = "incremental"
    dry_run: bool = False
    writeback: bool = True
    since: datetime | None = None  # backfill only
    until: datetime | None = None  # backfill only
    rebuild_history: bool = False  # re-date every person's milestones from the evidence


@dataclass(slots=True)
class RunReport:
    """What a run did; ``figures`` are the run log's columns."""

    run_id: int
    outcome: Outcome = "ok"
    figures: dict[str, int] = field(default_factory=dict)
    duration: float = 0.0
    detail: str = ""
    plan: list[Change] = field(default_factory=list)  # dry runs only
    queued_retries: int = 0
    stream_errors: int = 0

    @property
    def exit_code(self) -> int:
        """0 all done (or a dry run); 1 record failures, a quota stop or an interruption."""
        if self.outcome in ("ok", "dry-run") and not self.figures.get("failed"):
            return 0
        return 1

    def bump(self, name: str, by: int = 1) -> None:
        """Add to one figure."""
        self.figures[name] = self.figures.get(name, 0) + by


Progress = Callable[[str, RunReport, int], None]  # (kind, report, api calls so far)


class Stopped(Exception):
    """Raised inside the engine when a stop was requested; the run ends cleanly."""


class CrashHook:
    """A signal at the n-th checkpoint of one phase, for tests of what survives a crash.

    The spec is ``<phase>:<n>[:TERM|INT]`` (phases: ``page``, ``chunk``, ``write``); SIGKILL
    by default (an abrupt death); TERM or INT send that signal instead, which the run handles
    like an operator's stop request. An empty spec never fires.
    """

    def __init__(self, spec: str | None = None) -> None:
        self.phase, self.at, self.signal = "", 0, signal.SIGKILL
        parts = (spec or "").split(":")
        if len(parts) >= 2:
            self.phase, self.at = parts[0].strip(), int(parts[1])
            if len(parts) == 3:
                self.signal = signal.Signals[f"SIG{parts[2].strip().upper()}"]
        self.seen = 0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> CrashHook:
        """The hook ``MILESTONES_CRASH_AT`` asks for (none when it is unset)."""
        return cls(environ.get(CRASH_ENV))

    def point(self, phase: str) -> None:
        """Count one ``phase`` point; send the signal when it is the chosen one."""
        if phase != self.phase:
            return
        self.seen += 1
        if self.seen == self.at:
            os.kill(os.getpid(), self.signal)


class Checkpoints:
    """The end of each unit of work: the crash hook's point, then any stop request."""

    def __init__(self, crash: CrashHook | None = None, progress: Progress | None = None) -> None:
        self.crash = crash or CrashHook()
        self.progress = progress
        self.stop_requested = False

    def request_stop(self) -> None:
        """Finish the current page, chunk or batch, checkpoint, and end the run."""
        self.stop_requested = True

    def check_stop(self) -> None:
        """Raise ``Stopped`` when a stop was requested (called between units of work)."""
        if self.stop_requested:
            raise Stopped

    def report(self, kind: str, report: RunReport, calls: int) -> None:
        """Tell the progress callback, if any, where the run stands."""
        if self.progress is not None:
            self.progress(kind, report, calls)
