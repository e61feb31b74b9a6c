"""Bad input: malformed records, misbehaving API answers and broken config, each answered
with a clear message and nothing lost.

Every case starts a twin of a reference sandbox CRM (same seed), breaks one thing, and runs
the real ``milestones`` command in-process. It then checks what the user sees (exit code, a
message naming the problem, no traceback) and what the CRM holds: every record the bad
input does not concern gets exactly the reference run's values, and once the API behaves
again (the tamper removed) the next run restores the rest. Record cases are mostly
HubSpot (its wire values are strings, so anything can arrive); API cases cover both CRMs.

Together with the 20 malformed files of ``tests/sync/test_config.py`` these are the
project's bad-input cases; ``BAD_INPUTS`` below counts this file's share.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    Crm,
    CrmValues,
    Outcome,
    Tamper,
    answer_with,
    differing,
    edit_json,
    failed_writes,
    path_is,
    run_cli,
    start_crm,
)

from milestones.sandbox.server import Request, Response

CONTACTS = 60
ORDER = ("target", "prospect", "opportunity", "client", "advocate")
CONTACTS_LIST = path_is("GET", "/crm/v3/objects/contacts")
DEALS_LIST = path_is("GET", "/crm/v3/objects/deals")
EMAILS_LIST = path_is("GET", "/crm/v3/objects/emails")
HS_WRITE = path_is("POST", "/crm/v3/objects/contacts/batch/update")
SF_QUERY = path_is("GET", "/query")
SF_WRITE = path_is("PATCH", "/composite/sobjects")


@dataclass
class Reference:
    """The fault-free run every case is compared with."""

    provider: str
    values: CrmValues
    root: Path

    def people(self, milestone: str) -> list[int]:
        """World ids of people the reference run put on ``milestone``."""
        field = "sales_milestone" if self.provider == "hubspot" else "Sales_Milestone__c"
        return sorted(
            rid
            for (kind, rid), v in self.values.items()
            if kind == "person" and v.get(field) == milestone
        )


def _reference(provider: str, root: Path) -> Iterator[Reference]:
    crm = start_crm(provider, root / "reference", CONTACTS)
    try:
        crm.ensure_fields()
        assert crm.cli("sync").code == 0
        yield Reference(provider, crm.crm_values(), root)
    finally:
        crm.stop()


@pytest.fixture(scope="module")
def hubspot_ref(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    yield from _reference("hubspot", tmp_path_factory.mktemp("hubspot"))


@pytest.fixture(scope="module")
def salesforce_ref(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    yield from _reference("salesforce", tmp_path_factory.mktemp("salesforce"))


@pytest.fixture
def twin(request: pytest.FixtureRequest) -> Iterator[tuple[Crm, Reference]]:
    """A fresh twin of the reference CRM named by the test's ``provider`` parameter."""
    ref: Reference = request.getfixturevalue(f"{request.node.callspec.params['provider']}_ref")
    crm = start_crm(ref.provider, ref.root / request.node.name.replace("/", "_"), CONTACTS)
    try:
        crm.ensure_fields()
        yield crm, ref
    finally:
        crm.stop()


def assert_clean(outcome: Outcome) -> None:
    """No traceback and no Python exception name leak to the user."""
    assert "Traceback" not in outcome.text, outcome.text[-2000:]


def assert_intact(crm: Crm, ref: Reference, allowed: set[tuple[str, int]] = frozenset()) -> None:  # type: ignore[assignment]
    """Every record outside ``allowed`` holds exactly the reference's values."""
    diff = differing(ref.values, crm.crm_values())
    stray = {k: v for k, v in diff.items() if k not in allowed}
    assert not stray, list(stray.items())[:3]


def assert_valid_milestones(crm: Crm, ids: set[int]) -> None:
    field = "sales_milestone" if crm.provider == "hubspot" else "Sales_Milestone__c"
    values = crm.crm_values()
    for rid in ids:
        assert values[("person", rid)].get(field) in ORDER, (rid, values[("person", rid)])


def set_property(name: str, value: Any, only: set[str] | None = None) -> Callable[[Any], Any]:
    """Edit one property of the listed records (all of them when ``only`` is None)."""

    def edit(payload: Any) -> None:
        for record in payload.get("results", []):
            if only is None or str(record["id"]) in only:
                record.setdefault("properties", {})[name] = value

    return edit


def persons_of_emails(crm: Crm) -> set[tuple[str, int]]:
    with crm.world.lock:
        return {("person", pid) for email in crm.world.iter("email") for pid in email.contact_ids}


def persons_of_deals(crm: Crm) -> set[tuple[str, int]]:
    with crm.world.lock:
        return {("person", pid) for deal in crm.world.iter("deal") for pid in deal.contact_ids}


# --- records ------------------------------------------------------------------------------


def nps_answer(value: Any) -> Callable[[Crm, Reference], None]:
    """A client's promoter score arrives as ``value``: unreadable scores prove nothing."""

    def case(crm: Crm, ref: Reference) -> None:
        client = ref.people("client")[0]
        crm.server.mutate("update", kind="person", id=client, values={"nps": 3})
        Tamper(
            crm.server,
            CONTACTS_LIST,
            edit_json(set_property("hs_feedback_last_nps_rating", value, {str(client)})),
        )
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        if value in ("ten", "-3", "999", "nine and a half"):
            assert f"hs_feedback_last_nps_rating={value!r}" in outcome.text, outcome.text
            assert "NPS ignored" in outcome.text
        if value in ("ten", "", "-3", "999", "nine and a half"):
            assert_intact(crm, ref)  # still a client, like everyone else unchanged
        else:
            assert_intact(crm, ref, {("person", client)})
            assert_valid_milestones(crm, {client})

    return case


def nps_promoter_control(crm: Crm, ref: Reference) -> None:
    """The control: a readable 10 does make the client an advocate (the check can fail)."""
    client = ref.people("client")[0]
    crm.server.mutate("update", kind="person", id=client, values={"nps": 3})
    Tamper(
        crm.server,
        CONTACTS_LIST,
        edit_json(set_property("hs_feedback_last_nps_rating", "10", {str(client)})),
    )
    assert crm.cli("sync").code == 0
    assert crm.crm_values()[("person", client)]["sales_milestone"] == "advocate"
    assert_intact(crm, ref, {("person", client)})


def email_time(value: Any) -> Callable[[Crm, Reference], None]:
    """Every email's timestamp arrives as ``value``: milestones stand, only dates may move."""

    def case(crm: Crm, ref: Reference) -> None:
        Tamper(crm.server, EMAILS_LIST, edit_json(set_property("hs_timestamp", value)))
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        touched = persons_of_emails(crm)
        assert_intact(crm, ref, touched)
        assert_valid_milestones(crm, {rid for _, rid in touched})

    return case


def contact_time(name: str, value: Any) -> Callable[[Crm, Reference], None]:
    """A contact date property is garbage on every contact: nothing changes, nothing lost."""

    def case(crm: Crm, ref: Reference) -> None:
        Tamper(crm.server, CONTACTS_LIST, edit_json(set_property(name, value)))
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        assert_intact(crm, ref)

    return case


def deal_close_date_null(crm: Crm, ref: Reference) -> None:
    Tamper(crm.server, DEALS_LIST, edit_json(set_property("closedate", None)))
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.text
    touched = persons_of_deals(crm)
    assert_intact(crm, ref, touched)
    assert_valid_milestones(crm, {rid for _, rid in touched})


def empty_id(crm: Crm, ref: Reference) -> None:
    """A record arrives without an id: skipped with a warning; a full sync recovers it."""
    blanked: list[str] = []

    def blank(payload: Any) -> None:
        blanked.append(str(payload["results"][0]["id"]))
        payload["results"][0]["id"] = ""

    Tamper(crm.server, CONTACTS_LIST, edit_json(blank), times=1)
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.text
    assert "without an id" in outcome.text
    assert_intact(crm, ref, {("person", int(blanked[0]))})
    with sqlite3.connect(crm.state) as db:
        assert db.execute("SELECT count(*) FROM contacts WHERE id = ''").fetchone() == (0,)
    assert crm.cli("sync", "--full").code == 0
    assert_intact(crm, ref)


def duplicate_ids(crm: Crm, ref: Reference) -> None:
    def duplicate(payload: Any) -> None:
        payload["results"].append(json.loads(json.dumps(payload["results"][0])))

    Tamper(crm.server, CONTACTS_LIST, edit_json(duplicate))
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.text
    assert_intact(crm, ref)


def null_properties(crm: Crm, ref: Reference) -> None:
    def nullify(payload: Any) -> None:
        payload["results"][1]["properties"] = None

    Tamper(crm.server, CONTACTS_LIST, edit_json(nullify), times=1)
    outcome = crm.cli("sync")
    assert_clean(outcome)
    assert outcome.code == 0, outcome.text
    assert_intact(crm, ref)


def strange_names(values: dict[str, Any]) -> Callable[[Crm, Reference], None]:
    """Unicode, control characters or megabyte strings in a client's own fields."""

    def case(crm: Crm, ref: Reference) -> None:
        client = ref.people("client")[0]
        crm.server.mutate("update", kind="person", id=client, values=values)
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        assert_intact(crm, ref)
        explained = crm.cli("explain", str(client), "--json")
        assert explained.code == 0 and json.loads(explained.out)["milestone"] == "client"

    return case


def referrer_text(value: str) -> Callable[[Crm, Reference], None]:
    """A referrer reference that names nobody (or injects SQL): nobody becomes an advocate."""

    def case(crm: Crm, ref: Reference) -> None:
        target = ref.people("target")[0]
        Tamper(
            crm.server, CONTACTS_LIST, edit_json(set_property("referred_by", value, {str(target)}))
        )
        outcome = crm.cli("sync")
        assert outcome.code == 0, outcome.text
        assert_intact(crm, ref)

    return case


def self_referral(crm: Crm, ref: Reference) -> None:
    """A client named as their own referrer is no advocate for it."""
    client = ref.people("client")[0]
    Tamper(
        crm.server,
        CONTACTS_LIST,
        edit_json(set_property("referred_by", str(client), {str(client)})),
    )
    assert crm.cli("sync").code == 0
    assert_intact(crm, ref)


def unknown_lead_status(crm: Crm, ref: Reference) -> None:
    Tamper(crm.server, CONTACTS_LIST, edit_json(set_property("hs_lead_status", "SOMETHING_NEW")))
    assert crm.cli("sync").code == 0
    diff = differing(ref.values, crm.crm_values())
    for before, after in diff.values():  # only the UNQUALIFIED ones lose the flag
        assert "lead status" in str(before.get("sales_disqualified_reason")), (before, after)
        assert after.get("sales_milestone") == before.get("sales_milestone")


def association_to_nobody(crm: Crm, ref: Reference) -> None:
    """A deal associated with a contact id that does not exist."""

    def add_ghost(payload: Any) -> None:
        for result in payload.get("results", []):
            result.setdefault("to", []).append({"toObjectId": 99999999, "associationTypes": []})

    Tamper(crm.server, path_is("POST", "/crm/v4/associations/deals/contacts"), edit_json(add_ghost))
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.text
    assert_intact(crm, ref)


# --- API answers ---------------------------------------------------------------------------


def broken_answer(
    matches: Callable[[Request], bool],
    rewrite: Callable[[Request, Response | None], Response | None],
    message: str,
    *,
    serve: bool = True,
    code: int = 1,
) -> Callable[[Crm, Reference], None]:
    """The API answers badly until fixed: a clear message now, everything after the fix."""

    def case(crm: Crm, ref: Reference) -> None:
        tamper = Tamper(crm.server, matches, rewrite, serve=serve)
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == code, outcome.text
        assert message in outcome.text, outcome.text[-1500:]
        assert crm.names.get("milestone", "") and crm.env
        tamper.remove()
        crm.settle()
        again = crm.cli("sync")
        assert again.code == 0, again.text
        assert_intact(crm, ref)

    return case


def truncated(req: Request, answer: Response | None) -> Response | None:
    assert answer is not None
    return Response(
        200, answer.body[: len(answer.body) // 2], [("Content-Type", "application/json")]
    )


def dropped(req: Request, answer: Response | None) -> Response | None:
    return None  # the connection is reset


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


def sf_nps_text(crm: Crm, ref: Reference) -> None:
    """NPS_Score__c arrives as text ('ten') in the query answer."""

    def score(payload: Any) -> None:
        for row in payload.get("records") or []:
            if "NPS_Score__c" in row:
                row["NPS_Score__c"] = "ten"

    Tamper(crm.server, SF_QUERY, edit_json(score))
    outcome = crm.cli("sync")
    assert_clean(outcome)
    assert outcome.code == 0, outcome.text
    with crm.world.lock:
        scored = {p.id for p in crm.world.iter("person") if p.nps is not None}
    assert_intact(crm, ref, {("person", pid) for pid in scored})
    assert_valid_milestones(crm, scored)


HTML_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"
HUBSPOT_CASES: dict[str, Callable[[Crm, Reference], None]] = {
    "nps 'ten'": nps_answer("ten"),
    "nps empty string": nps_answer(""),
    "nps negative": nps_answer("-3"),
    "nps '9.5'": nps_answer("9.5"),
    "nps 999": nps_answer("999"),
    "nps as a sentence": nps_answer("nine and a half"),
    "email timestamp malformed": email_time("2024-13-45T99:00:00Z"),
    "email timestamp null": email_time(None),
    "email timestamp empty": email_time(""),
    "contact createdate garbage": contact_time("createdate", "yesterday"),
    "contact modified date garbage": contact_time("lastmodifieddate", "not a date"),
    "deal close date null": deal_close_date_null,
    "empty record id": empty_id,
    "duplicate record ids": duplicate_ids,
    "properties null": null_properties,
    "unicode and control characters": strange_names(
        {"firstname": "Zoë 👩‍💼 ‮ʇxǝʇ\u0000", "lastname": "Ñúñez-Łódź 李"}
    ),
    "megabyte strings": strange_names({"lastname": "x" * 1_000_000, "jobtitle": "é" * 100_000}),
    "referrer names nobody": referrer_text("no-such-person@example.invalid"),
    "referrer injects SQL": referrer_text("'; DROP TABLE contacts; --"),
    "self referral": self_referral,
    "unknown lead status": unknown_lead_status,
    "association to a missing contact": association_to_nobody,
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
        path_is("POST", "/crm/v4/associations/"), truncated, "malformed answer"
    ),
    "association answer without results": broken_answer(
        path_is("POST", "/crm/v4/associations/"),
        answer_with(200, '{"status": "COMPLETE"}', "application/json"),
        "no results list",
        serve=False,
    ),
    "pipelines answer without results": broken_answer(
        path_is("GET", "/crm/v3/pipelines/"),
        answer_with(200, '{"status": "ok"}', "application/json"),
        "no results list",
        serve=False,
    ),
    "pipelines answer unexpected": broken_answer(
        path_is("GET", "/crm/v3/pipelines/"),
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
SALESFORCE_CASES: dict[str, Callable[[Crm, Reference], None]] = {
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
    "NPS as text": sf_nps_text,
}


@pytest.mark.parametrize("provider", ["hubspot"])
@pytest.mark.parametrize("name", list(HUBSPOT_CASES))
def test_hubspot_bad_input(provider: str, name: str, twin: tuple[Crm, Reference]) -> None:
    crm, ref = twin
    HUBSPOT_CASES[name](crm, ref)


@pytest.mark.parametrize("provider", ["hubspot"])
def test_a_readable_promoter_score_is_seen(provider: str, twin: tuple[Crm, Reference]) -> None:
    nps_promoter_control(*twin)


@pytest.mark.parametrize("provider", ["salesforce"])
@pytest.mark.parametrize("name", list(SALESFORCE_CASES))
def test_salesforce_bad_input(provider: str, name: str, twin: tuple[Crm, Reference]) -> None:
    crm, ref = twin
    SALESFORCE_CASES[name](crm, ref)


# --- config the existing tests/sync/test_config.py does not cover --------------------------


@pytest.mark.parametrize("provider", ["hubspot"])
def test_a_mapped_stage_the_crm_lacks_is_named_and_the_rest_still_syncs(
    provider: str, twin: tuple[Crm, Reference]
) -> None:
    crm, ref = twin
    config = crm.config.read_text() + '[mapping.stages]\nclosedwonn = "client"\n'
    crm.config.write_text(config)
    checked = crm.cli("check")
    assert checked.code == 1 and "'closedwonn', which the CRM does not have" in checked.text
    synced = crm.cli("sync")
    assert synced.code == 0 and "'closedwonn', which the CRM does not have" in synced.text
    assert_intact(crm, ref)


@pytest.mark.parametrize("provider", ["hubspot"])
def test_an_empty_token_asks_for_a_config_fix(provider: str, twin: tuple[Crm, Reference]) -> None:
    crm, _ = twin
    before = crm.server.stats()["total"]
    outcome = crm.cli("sync", env={"HUBSPOT_ACCESS_TOKEN": ""})
    assert_clean(outcome)
    assert outcome.code == 2 and "hubspot.access_token: is empty" in outcome.text
    assert crm.server.stats()["total"] == before  # refused before any request


CONFIG_FILES: dict[str, tuple[bytes | None, str]] = {
    "not UTF-8": (b'provider = "hubspot"\n# caf\xe9\n', "cannot read the file"),
    "a directory": (None, "directory"),
    "provider of the wrong type": (b"provider = 5\n", "provider:"),
    "a stage mapped to a list": (
        b'provider = "hubspot"\n[hubspot]\naccess_token = "x"\n'
        b'[mapping.stages]\nclosedwon = ["client"]\n',
        "mapping.stages.closedwon",
    ),
    "derive chunk of zero": (
        b'provider = "hubspot"\n[hubspot]\naccess_token = "x"\n[sync]\nderive_chunk = 0\n',
        "sync.derive_chunk",
    ),
    "base_url with another scheme": (
        b'provider = "hubspot"\n[hubspot]\naccess_token = "x"\nbase_url = "ftp://127.0.0.1/"\n',
        "hubspot.base_url",
    ),
}


@pytest.mark.parametrize("name", list(CONFIG_FILES))
def test_config_files_that_cannot_be_used(name: str, tmp_path: Path) -> None:
    content, message = CONFIG_FILES[name]
    path = tmp_path / "milestones.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    outcome = run_cli(["--config", str(path), "sync"], {})
    assert_clean(outcome)
    assert outcome.code == 2, outcome.text
    assert message in outcome.text, outcome.text


BAD_INPUTS = len(HUBSPOT_CASES) + len(SALESFORCE_CASES) + len(CONFIG_FILES) + 2


def test_the_suite_tries_at_least_thirty_bad_inputs() -> None:
    assert BAD_INPUTS >= 30, BAD_INPUTS
