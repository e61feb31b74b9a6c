"""The progress display of a long run on a terminal: one line that rewrites itself.

It shows the records read per type, the records written, the API calls spent and the waits
for rate limits with the last one's reason. The engine tells it where the run stands after
each page, chunk and batch (``Checkpoints.report``); the connector tells it before each wait
(``Connector.watch_waits``). It is only built for a terminal: cron and Kubernetes get the
run's one summary line, and ``--json`` nothing but the JSON.
"""

from __future__ import annotations

import shutil
import time

from milestones.cli.app import say, say_over
from milestones.sync.run import RunReport

REFRESH_SECONDS = 0.2
LONG_WAIT_SECONDS = 1.0  # a wait this long is shown at once, whatever the refresh pace


class ProgressLine:
    """Where a run stands, on one rewritten line of stderr."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.read: dict[str, int] = {}
        self.written = 0
        self.calls = 0
        self.waits = 0
        self.waited = 0.0
        self.last_reason = ""
        self._read_total = 0
        self._shown_at = 0.0

    def __call__(self, kind: str, report: RunReport, calls: int) -> None:
        """The engine's report after a unit of work: ``kind`` is a record type or ``writes``."""
        total = report.figures.get("records_read", 0)
        if total > self._read_total:
            self.read[kind] = self.read.get(kind, 0) + total - self._read_total
            self._read_total = total
        self.written = report.figures.get("written", 0)
        self.calls = calls
        self.refresh()

    def on_wait(self, reason: str, seconds: float) -> None:
        """The connector is about to wait ``seconds`` for ``reason`` (a limit, a retry)."""
        self.waits += 1
        self.waited += seconds
        self.last_reason = reason
        self.refresh(now=seconds >= LONG_WAIT_SECONDS)

    def text(self) -> str:
        """The line as it stands: read per type, written, calls, waits."""
        read = ", ".join(f"{kind} {count:,}" for kind, count in self.read.items()) or "0"
        text = f"{self.label}: read {read}; wrote {self.written:,}; {self.calls:,} API calls"
        if self.waits:
            text += f"; waited {self.waited:.1f}s ({self.waits}x, last: {self.last_reason})"
        return text

    def refresh(self, now: bool = False) -> None:
        """Rewrite the line, at most every ``REFRESH_SECONDS`` unless ``now``."""
        clock = time.monotonic()
        if not now and clock - self._shown_at < REFRESH_SECONDS:
            return
        self._shown_at = clock
        width = max(20, shutil.get_terminal_size().columns - 1)
        text = self.text()
        # A line longer than the terminal wraps, and the carriage return rewrites only its tail.
        say_over(text if len(text) <= width else text[: width - 3] + "...")

    def finish(self) -> None:
        """Show the last figures and end the line, so the summary starts a line of its own."""
        if self._shown_at:
            self.refresh(now=True)
            say("", err=True)
