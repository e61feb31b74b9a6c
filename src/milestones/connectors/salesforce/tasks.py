"""Tasks on Salesforce: Task records through sObject Collections, their state through SOQL.

Task fields (Object Reference, Task:
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm):
``WhoId`` (the Contact or Lead), ``OwnerId``, ``Subject``, ``Description``, ``ActivityDate``
(the due date), ``Status``, ``Priority``, ``TaskSubtype`` (create only). sObject Collections
create (``POST composite/sobjects``, up to 200 records, ``allOrNone: false``) answers 200
with one SaveResult per record in request order (salesforce-api.md section 2.1), so
outcomes are matched by position. A Task's ``IsClosed`` says whether its status is a closed
one (the org may name its statuses differently); a deleted Task is not returned by query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from milestones.connectors.base import StreamError
from milestones.connectors.salesforce.client import CONNECTOR, SalesforceClient
from milestones.connectors.salesforce.soql import id_chunks
from milestones.connectors.salesforce.write import BATCH_SIZE
from milestones.connectors.tasks import TaskOutcome
from milestones.mapping.plays import TaskDraft

PRIORITIES = {"low": "Low", "normal": "Normal", "high": "High"}
OPEN_TASKS = "SELECT Id FROM Task WHERE IsClosed = false AND Id IN {ids}"
Pages = Callable[[str], Iterator[tuple[list[dict[str, Any]], bool]]]


class SalesforceTasks:
    """``TaskApi`` for one org, through the connector's client and query pages."""

    def __init__(
        self, client: SalesforceClient, pages: Pages, *, completed_status: str = "Completed"
    ) -> None:
        self._client = client
        self._pages = pages
        self._completed = completed_status

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[TaskOutcome]:
        """One outcome per draft, in order, 200 records a call."""
        outcomes: list[TaskOutcome] = []
        for start in range(0, len(drafts), BATCH_SIZE):
            batch = drafts[start : start + BATCH_SIZE]
            outcomes += self._collection("POST", [_task_record(d) for d in batch])
        return outcomes

    def open_task_ids(self, task_ids: Sequence[str]) -> set[str]:
        """Ids among ``task_ids`` of Tasks that exist and are not closed (SOQL, chunked)."""
        found: set[str] = set()
        base = self._client.sf.base_url + "query/"
        for soql, _chunk in id_chunks(OPEN_TASKS, list(task_ids), base):
            for rows, _last in self._pages(soql):
                found.update(str(row["Id"]) for row in rows if row.get("Id"))
        # Salesforce answers with 18-character ids; the ones kept may be either length, and
        # the first 15 characters identify a record.
        found_keys = {f[:15] for f in found}
        return {i for i in task_ids if i[:15] in found_keys}

    def complete_tasks(self, task_ids: Sequence[str]) -> list[TaskOutcome]:
        """``Status = Completed`` for each id; one outcome per id, in order."""
        outcomes: list[TaskOutcome] = []
        for start in range(0, len(task_ids), BATCH_SIZE):
            batch = task_ids[start : start + BATCH_SIZE]
            records = [
                {"attributes": {"type": "Task"}, "id": i, "Status": self._completed} for i in batch
            ]
            answered = self._collection("PATCH", records)
            outcomes += [
                TaskOutcome(i, o.ok, o.message) for i, o in zip(batch, answered, strict=True)
            ]
        return outcomes

    def _collection(self, method: str, records: list[dict[str, Any]]) -> list[TaskOutcome]:
        sf = self._client.sf
        payload = {"allOrNone": False, "records": records}
        answer = self._client.call(
            "write", lambda: sf.restful("composite/sobjects", method=method, json=payload)
        )
        if not isinstance(answer, list) or len(answer) != len(records):
            raise StreamError(
                "sObject Collections answered with a different number of results",
                connector=CONNECTOR,
                object_name="composite/sobjects",
            )
        return [_outcome(item) for item in answer]


def _task_record(draft: TaskDraft) -> dict[str, Any]:
    return {
        "attributes": {"type": "Task"},
        "WhoId": draft.contact_id,
        "OwnerId": draft.owner_id,
        "Subject": draft.subject,
        "Description": draft.body,
        "ActivityDate": draft.due_on.isoformat(),
        "Status": "Not Started",
        "Priority": PRIORITIES[draft.priority],
        "TaskSubtype": "Task",
    }


def _outcome(item: Any) -> TaskOutcome:
    if isinstance(item, dict) and item.get("success"):
        return TaskOutcome(str(item.get("id")), ok=True)
    errors = (item.get("errors") if isinstance(item, dict) else None) or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = first.get("statusCode") or "UNKNOWN_EXCEPTION"
    return TaskOutcome(None, ok=False, message=f"{code}: {str(first.get('message') or '')[:300]}")
