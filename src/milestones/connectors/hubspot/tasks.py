"""Tasks on HubSpot: batch create with the contact association, batch read, batch complete.

Sources: the tasks guide (https://developers.hubspot.com/docs/api/crm/tasks): ``hs_timestamp``
is the task's due date and required, ``hs_task_status`` NOT_STARTED or COMPLETED,
``hs_task_priority`` LOW, MEDIUM or HIGH, ``hs_task_type`` EMAIL, CALL or TODO; batch create
(https://developers.hubspot.com/docs/api-reference/latest/crm/activities/tasks/batch/create-tasks):
up to 100 inputs, each with ``associations`` and an ``objectWriteTraceId`` that its result
echoes (results come in no set order); task -> contact is the HUBSPOT_DEFINED association
type 204 (hubspot-api.md section 4.2). Tasks use the contacts scopes
(crm-api-changes-2026.md section 2.1). A 2026-09 batch answers 201 or 200 with ``errors[]``
for the inputs it refused, so an input counts as done only when ``results`` holds it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time
from typing import Any

from milestones.connectors.hubspot.http import HubSpotApiError, HubSpotHttp
from milestones.connectors.tasks import TaskOutcome
from milestones.mapping.plays import TaskDraft

TASKS = "tasks"
BATCH_LIMIT = 100
TASK_TO_CONTACT = 204
OPEN_STATUSES = frozenset({"NOT_STARTED", "IN_PROGRESS", "WAITING", "DEFERRED"})
PRIORITIES = {"low": "LOW", "normal": "MEDIUM", "high": "HIGH"}
DUE_TIME = time(12, 0)  # noon UTC: the due day stays the same day across the Americas and Europe


class HubSpotTasks:
    """``TaskApi`` for one portal, through the connector's one request path."""

    def __init__(self, http: HubSpotHttp) -> None:
        self._http = http

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[TaskOutcome]:
        """One outcome per draft, in order; a refused batch fails its own drafts only."""
        outcomes: list[TaskOutcome] = []
        for batch in _chunks(drafts, BATCH_LIMIT):
            body = {"inputs": [_task_input(str(i), d) for i, d in enumerate(batch)]}
            try:
                response = self._http.call(
                    "write", "POST", self._http.paths.batch_create(TASKS), body=body
                )
            except HubSpotApiError as exc:  # the batch refused (4xx); quota and auth errors abort
                outcomes += [TaskOutcome(None, ok=False, message=str(exc))] * len(batch)
                continue
            by_trace = {
                str(r.get("objectWriteTraceId")): str(r["id"])
                for r in response.data.get("results") or []
                if r.get("id") is not None
            }
            refusal = _first_message(response.data.get("errors") or [])
            for i in range(len(batch)):
                task_id = by_trace.get(str(i))
                if task_id is None:
                    outcomes.append(TaskOutcome(None, ok=False, message=refusal))
                else:
                    outcomes.append(TaskOutcome(task_id, ok=True))
        return outcomes

    def open_task_ids(self, task_ids: Sequence[str]) -> set[str]:
        """Batch read of the status only; a task deleted in HubSpot is simply not open."""
        open_ids: set[str] = set()
        for batch in _chunks(task_ids, BATCH_LIMIT):
            response = self._http.call(
                "read",
                "POST",
                self._http.paths.batch_read(TASKS),
                query={"archived": False},
                body={"inputs": [{"id": i} for i in batch], "properties": ["hs_task_status"]},
            )
            for record in response.data.get("results") or []:
                status = (record.get("properties") or {}).get("hs_task_status")
                if status in OPEN_STATUSES:
                    open_ids.add(str(record["id"]))
        return open_ids

    def complete_tasks(self, task_ids: Sequence[str]) -> list[TaskOutcome]:
        """Batch update ``hs_task_status = COMPLETED``; one outcome per id, in order."""
        outcomes: list[TaskOutcome] = []
        for batch in _chunks(task_ids, BATCH_LIMIT):
            inputs = [{"id": i, "properties": {"hs_task_status": "COMPLETED"}} for i in batch]
            try:
                response = self._http.call(
                    "write",
                    "POST",
                    self._http.paths.batch_update(TASKS),
                    body={"inputs": inputs},
                )
            except HubSpotApiError as exc:  # the batch refused (4xx); quota and auth errors abort
                outcomes += [TaskOutcome(i, ok=False, message=str(exc)) for i in batch]
                continue
            done = {str(r.get("id")) for r in response.data.get("results") or []}
            refusal = _first_message(response.data.get("errors") or [])
            outcomes += [
                TaskOutcome(i, ok=True) if i in done else TaskOutcome(i, False, refusal)
                for i in batch
            ]
        return outcomes


def _task_input(trace: str, draft: TaskDraft) -> dict[str, Any]:
    due = datetime.combine(draft.due_on, DUE_TIME, tzinfo=UTC)
    properties = {
        "hs_timestamp": due.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "hs_task_subject": draft.subject,
        "hs_task_body": draft.body,
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": PRIORITIES[draft.priority],
        "hs_task_type": "TODO",
        "hubspot_owner_id": draft.owner_id,
    }
    association = {
        "to": {"id": draft.contact_id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_CONTACT}],
    }
    return {"properties": properties, "associations": [association], "objectWriteTraceId": trace}


def _first_message(errors: list[Any]) -> str:
    for error in errors:
        if isinstance(error, dict) and error.get("message"):
            return f"{error.get('category') or 'ERROR'}: {str(error['message'])[:300]}"
    return "not among the batch's results"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
