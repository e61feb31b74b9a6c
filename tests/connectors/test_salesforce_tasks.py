"""Plays' tasks on Salesforce, through simple-salesforce against the sandbox org over TLS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sf_fixtures import spec

from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.settings import SalesforceSession
from milestones.connectors.salesforce.tasks import SalesforceTasks
from milestones.mapping.plays import TaskDraft
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world


@pytest.fixture
def org() -> Iterator[SalesforceServer]:
    with SalesforceServer(generate_world(seed=5, contacts=60)) as server:
        yield server


def tasks_of(server: SalesforceServer) -> SalesforceTasks:
    settings = SalesforceSession(
        auth="session", instance_url=server.url, session_id=server.token, ca_bundle=server.ca_bundle
    )
    return SalesforceConnector(settings, spec(), sleep=lambda s: None).tasks()


def who_ids(server: SalesforceServer, n: int) -> list[str]:
    contacts = server.objects["Contact"]
    return [contacts.row_id(r) for r in list(contacts.rows(False))[:n]]


def owner_id(server: SalesforceServer) -> str:
    users = server.objects["User"]
    return str(users.row_id(next(iter(users.rows(False)))))


def draft(who: str, owner: str, subject: str = "[milestones] Reach out") -> TaskDraft:
    return TaskDraft(
        "reach_target", who, owner, subject, "Open a conversation.", date(2026, 7, 1), "high"
    )


def test_tasks_are_created_read_and_completed(org: SalesforceServer) -> None:
    people, owner = who_ids(org, 3), owner_id(org)
    tasks = tasks_of(org)

    outcomes = tasks.create_tasks([draft(p, owner, f"[milestones] Reach {p}") for p in people])

    assert [o.ok for o in outcomes] == [True, True, True]
    ids = [str(o.task_id) for o in outcomes]
    task_object = org.objects["Task"]
    for who, task_id in zip(people, ids, strict=True):
        row = task_object.lookup(task_id)
        fields = task_object.fields
        assert fields["WhoId"].get(row) == who  # outcomes come back in request order
        assert fields["Subject"].get(row) == f"[milestones] Reach {who}"
        assert fields["OwnerId"].get(row) == owner
        assert fields["ActivityDate"].get(row) == "2026-07-01"
        assert fields["Status"].get(row) == "Not Started"
        assert fields["Priority"].get(row) == "High"
        assert fields["TaskSubtype"].get(row) == "Task"
    assert tasks.open_task_ids(ids) == set(ids)

    done = tasks.complete_tasks([ids[0]])
    assert [d.ok for d in done] == [True]
    assert tasks.open_task_ids(ids) == set(ids[1:])


def test_one_bad_task_fails_alone_with_its_reason(org: SalesforceServer) -> None:
    [good_who] = who_ids(org, 1)
    owner = owner_id(org)
    missing_person = "003" + "0" * 11 + "ZZZ"
    outcomes = tasks_of(org).create_tasks([draft(missing_person, owner), draft(good_who, owner)])
    assert [o.ok for o in outcomes] == [False, True]
    assert outcomes[0].message and outcomes[0].message.startswith(
        ("INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID", "FIELD_INTEGRITY_EXCEPTION")
    )


def test_a_deleted_task_is_not_open(org: SalesforceServer) -> None:
    [who] = who_ids(org, 1)
    tasks = tasks_of(org)
    [made] = tasks.create_tasks([draft(who, owner_id(org))])
    row = org.objects["Task"].lookup(str(made.task_id))
    org.world.archive("task", row.id)
    assert tasks.open_task_ids([str(made.task_id)]) == set()
