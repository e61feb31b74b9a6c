"""Plays' tasks on HubSpot, through hubspot-api-client against the sandbox over HTTP."""

from __future__ import annotations

from datetime import date

import pytest
from hubspot_support import MakeConnector

from milestones.mapping.plays import TaskDraft
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.store import World


def draft(contact_id: int, owner_id: int, subject: str = "[milestones] Reach out") -> TaskDraft:
    return TaskDraft(
        play="reach_target",
        contact_id=str(contact_id),
        owner_id=str(owner_id),
        subject=subject,
        body="Open a conversation.",
        due_on=date(2026, 7, 1),
        priority="high",
    )


@pytest.mark.parametrize("api_version", ["2026-09", "legacy"])
def test_tasks_are_created_linked_read_and_completed(
    make_hubspot: MakeConnector,
    hubspot_server: HubSpotServer,
    hubspot_world: World,
    api_version: str,
) -> None:
    people = hubspot_world.ids("person")[:3]
    owner = hubspot_world.ids("owner")[0]
    tasks = make_hubspot(api_version=api_version).tasks()

    outcomes = tasks.create_tasks([draft(p, owner, f"[milestones] Reach {p}") for p in people])

    assert [o.ok for o in outcomes] == [True, True, True]
    ids = [o.task_id for o in outcomes]
    assert None not in ids and len(set(ids)) == 3
    for person_id, task_id in zip(people, ids, strict=True):
        task = hubspot_world.get("task", int(str(task_id)))
        assert task.contact_ids == (person_id,)  # each result matched to its own input
        assert task.subject == f"[milestones] Reach {person_id}"
        assert task.owner_id == owner and task.status == "NOT_STARTED"
        assert task.extra["hs_task_priority"] == "HIGH"
        assert int(str(task_id)) in hubspot_world.activities_of(person_id, "task")
    open_ids = tasks.open_task_ids([str(i) for i in ids])
    assert open_ids == set(ids)

    completed = tasks.complete_tasks([str(ids[0])])
    assert [c.ok for c in completed] == [True]
    assert tasks.open_task_ids([str(i) for i in ids]) == set(ids[1:])


def test_a_refused_batch_fails_its_drafts_with_the_reason(
    make_hubspot: MakeConnector, hubspot_world: World
) -> None:
    person = hubspot_world.ids("person")[0]
    bad = TaskDraft("p", str(person), "not-a-number", "s", "b", date(2026, 7, 1), "low")
    [outcome] = make_hubspot().tasks().create_tasks([bad])
    assert not outcome.ok and outcome.task_id is None
    assert outcome.message and "hubspot_owner_id" in outcome.message


def test_a_deleted_task_is_not_open(make_hubspot: MakeConnector, hubspot_world: World) -> None:
    person, owner = hubspot_world.ids("person")[0], hubspot_world.ids("owner")[0]
    tasks = make_hubspot().tasks()
    [made] = tasks.create_tasks([draft(person, owner)])
    hubspot_world.archive("task", int(str(made.task_id)))
    assert tasks.open_task_ids([str(made.task_id), "59999999"]) == set()


def test_the_sandbox_refuses_a_task_linked_by_another_engagements_type(
    hubspot_server: HubSpotServer, hubspot_world: World
) -> None:
    """The connector's type id 204 is the one the sandbox (like HubSpot) takes for a task."""
    import json
    import urllib.error
    import urllib.request

    person = hubspot_world.ids("person")[0]
    body = {
        "inputs": [
            {
                "properties": {"hs_timestamp": "2026-07-01T12:00:00Z", "hs_task_subject": "x"},
                "associations": [
                    {
                        "to": {"id": str(person)},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 198}
                        ],
                    }
                ],
            }
        ]
    }
    request = urllib.request.Request(
        f"{hubspot_server.url}/crm/v3/objects/tasks/batch/create",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {hubspot_server.token}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400
    assert "198 is not a valid association type id" in refused.value.read().decode()
