"""Bad API answers: HTML error pages, truncated JSON, bodies of the wrong shape, 207s naming
unknown ids or leaving ours out, the SDK's empty answer, a field deleted mid-run.

Each must end the run with a clear message and an exit code that says what happened, move
no cursor past unread records, and lose nothing: once the API answers properly again, the
next run brings the CRM to the reference run's values. Shared pieces: ``bad_input_support``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from bad_input_support import (
    CONTACTS_LIST,
    DEALS_LIST,
    HS_WRITE,
    SF_QUERY,
    SF_WRITE,
    Case,
    Reference,
    assert_clean,
    assert_intact,
    broken_answer,
    dropped,
    hubspot_ref,
    salesforce_ref,
    truncated,
    twin,
)
from reliability_support import Crm, Tamper, answer_with, edit_json, failed_writes, path_is

from milestones.sandbox.server.core import Request, Response

__all__ = ["hubspot_ref", "salesforce_ref", "twin"]  # fixtures used by the tests below


def batch_with_unknown_ids(crm: Crm, ref: Reference) -> None:
    """A 207 naming ids we never sent: ours are still judged on their own."""

    def add_unknown(payload: Any) -> None:
        payload.setdefault("errors", []).append(
            {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "gone",
             "context": {"ids": ["99999999"]}}
        )  # fmt: skip

    def rewrite(req: Request, answer: Response | None) -> Response | None:
        edited = edit_json(add_unknown)(req, answer)
        assert edited is not None
        edited.status = 207
        return edited

    Tamper(crm.server, HS_WRITE, rewrite)
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.text
    assert not failed_writes(crm.state)
    assert_intact(crm, ref)


def batch_omitting_ids(crm: Crm, ref: Reference) -> None:
    """A 207 whose results leave some of our records out: those are kept as failed."""

    def drop_half(payload: Any) -> None:
        payload["results"] = payload["results"][: len(payload["results"]) // 2]

    def rewrite(req: Request, answer: Response | None) -> Response | None:
        edited = edit_json(drop_half)(req, answer)
        assert edited is not None
        edited.status = 207
        return edited

    tamper = Tamper(crm.server, HS_WRITE, rewrite)  # the in-run second try gets it too
    outcome = crm.cli("sync")
    assert outcome.code == 1, outcome.text
    failed = failed_writes(crm.state)
    assert failed and all(reason for _, reason in failed.values()), failed
    listed = json.loads(crm.cli("status", "--json").out)["failures"]
    assert {row["record_id"] for row in listed} == set(failed)
    assert all(row["message"] for row in listed), listed
    text = crm.cli("status").out
    assert "None" not in text, text
    assert sum(f"contact {rid}:" in text for rid in failed) == min(len(failed), 20), text
    assert len(failed) <= 20 or f"and {len(failed) - 20} more" in text, text
    tamper.remove()
    assert crm.cli("sync").code == 0
    assert not failed_writes(crm.state)
    assert_intact(crm, ref)


def field_deleted_mid_run(crm: Crm, ref: Reference) -> None:
    """Our milestone property is deleted in HubSpot between the pull and the write."""

    def delete(req: Request) -> None:
        crm.world.defined_fields["person"].pop("sales_milestone", None)

    Tamper(crm.server, HS_WRITE, times=1, before=delete)
    outcome = crm.cli("sync")
    assert_clean(outcome)
    assert outcome.code == 2, outcome.text
    assert "sales_milestone does not exist" in outcome.text
    assert "fields --create" in outcome.text
    assert crm.server.stats()["total"] < 40  # no record-by-record retry storm
    assert crm.cli("fields", "--create").code == 0
    assert crm.cli("sync").code == 0
    assert_intact(crm, ref)


def sf_collection_short_answer(crm: Crm, ref: Reference) -> None:
    """sObject Collections answers fewer results than records sent."""

    def drop_half(payload: Any) -> Any:
        return payload[: len(payload) // 2]

    tamper = Tamper(crm.server, SF_WRITE, edit_json(drop_half))
    outcome = crm.cli("sync")
    assert outcome.code == 1, outcome.text
    failed = failed_writes(crm.state)
    assert failed and all(reason for _, reason in failed.values())
    tamper.remove()
    assert crm.cli("sync").code == 0
    assert_intact(crm, ref)


HTML_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"
HUBSPOT_ANSWERS: dict[str, Case] = {
    "HTML 502 page on every contacts page": broken_answer(
        CONTACTS_LIST, answer_with(502, HTML_PAGE), "pull stopped for contacts", serve=False
    ),
    "truncated JSON": broken_answer(DEALS_LIST, truncated, "malformed answer"),
    "200 with an unexpected body": broken_answer(
        DEALS_LIST, answer_with(200, '{"status": "ok"}', "application/json"), "no results list"
    ),
    "200 with an HTML login page": broken_answer(
        CONTACTS_LIST, answer_with(200, "<html>Sign in</html>"), "malformed answer", serve=False
    ),
    "200 with an empty body": broken_answer(
        CONTACTS_LIST, answer_with(200, "", "application/json"), "malformed answer", serve=False
    ),
    "connection reset on every deals page": broken_answer(
        DEALS_LIST, dropped, "connection failed", serve=False
    ),
    "association answer truncated": broken_answer(
        path_is("POST", "/crm/associations/2026-09/"), truncated, "malformed answer"
    ),
    "association answer without results": broken_answer(
        path_is("POST", "/crm/associations/2026-09/"),
        answer_with(200, '{"status": "COMPLETE"}', "application/json"),
        "no results list",
        serve=False,
    ),
    "pipelines answer without results": broken_answer(
        path_is("GET", "/crm/pipelines/2026-09/"),
        answer_with(200, '{"status": "ok"}', "application/json"),
        "no results list",
        serve=False,
    ),
    "pipelines answer unexpected": broken_answer(
        path_is("GET", "/crm/pipelines/2026-09/"),
        answer_with(200, "[]", "application/json"),
        "malformed answer",
        serve=False,
    ),
    "batch update answers 204 with no body (the SDK's None)": broken_answer(
        HS_WRITE, answer_with(204, "", "application/json"), "failed", serve=False
    ),
    "207 naming unknown ids": batch_with_unknown_ids,
    "207 omitting some of our ids": batch_omitting_ids,
    "a field deleted mid-run": field_deleted_mid_run,
}
SALESFORCE_ANSWERS: dict[str, Case] = {
    "query answers an HTML page": broken_answer(
        SF_QUERY, answer_with(200, "<html>Maintenance</html>"), "unreadable response", serve=False
    ),
    "query answer truncated": broken_answer(SF_QUERY, truncated, "unreadable response"),
    "query answers an unexpected body": broken_answer(
        SF_QUERY,
        answer_with(200, '{"size": 0}', "application/json"),
        "no records list",
        serve=False,
    ),
    "collections answer an object": broken_answer(
        SF_WRITE, answer_with(200, '{"ok": true}', "application/json"), "failed", serve=False
    ),
    "collections answer short": sf_collection_short_answer,
}


@pytest.mark.parametrize("provider", ["hubspot"])
@pytest.mark.parametrize("name", list(HUBSPOT_ANSWERS))
def test_hubspot_bad_answer(provider: str, name: str, twin: tuple[Crm, Reference]) -> None:
    HUBSPOT_ANSWERS[name](*twin)


@pytest.mark.parametrize("provider", ["salesforce"])
@pytest.mark.parametrize("name", list(SALESFORCE_ANSWERS))
def test_salesforce_bad_answer(provider: str, name: str, twin: tuple[Crm, Reference]) -> None:
    SALESFORCE_ANSWERS[name](*twin)
