"""Tasks for the plays: what both CRMs' task APIs offer the sync, in canonical terms.

A connector's ``tasks()`` gives an object satisfying ``TaskApi``: create tasks from the
plays' drafts (in the largest batches the API takes), tell which of the tasks created before
are still open, and complete the ones whose situation cleared. Each call reports one outcome
per input, in order; a failure keeps its reason and never sinks the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from milestones.mapping.plays import TaskDraft


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """One task's fate: its id when it exists, or why the CRM refused it."""

    task_id: str | None
    ok: bool
    message: str | None = None


class TaskApi(Protocol):
    """Create, check and complete the worker's own tasks."""

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[TaskOutcome]:
        """Create one task per draft, assigned to its owner and linked to its person."""
        ...

    def open_task_ids(self, task_ids: Sequence[str]) -> set[str]:
        """Which of ``task_ids`` are still open (a deleted task is not)."""
        ...

    def complete_tasks(self, task_ids: Sequence[str]) -> list[TaskOutcome]:
        """Mark the tasks completed."""
        ...
