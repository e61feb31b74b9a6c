"""Validation rules on writes and the property-validations API, over real HTTP.

2026-09 refuses the breaking input alone (``VALIDATION_ERROR`` in ``errors``, the rest of
the batch written, 200); legacy paths refuse the whole batch with HubSpot's 400 for format
rules and know nothing of conditional-required rules (crm-api-changes-2026.md §2.2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.store import World

DATED = "/crm/objects/2026-09/contacts"
LEGACY = "/crm/v3/objects/contacts"
PV = "/crm/property-validations/2026-09"


@pytest.fixture
def srv(hubspot_server: HubSpotServer) -> HubSpotServer:
    """A portal with the milestone properties: a text and a date."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {hubspot_server.token}"
    for name, type_, field in [("sales_milestone", "string", "text"),
                               ("sales_milestone_date", "date", "date")]:  # fmt: skip
        body = {"name": name, "label": name, "type": type_, "fieldType": field,
                "groupName": "contactinformation"}  # fmt: skip
        assert s.post(f"{hubspot_server.url}/crm/properties/2026-09/contacts", json=body).ok
    return hubspot_server


@pytest.fixture
def http(srv: HubSpotServer) -> Iterator[Any]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {srv.token}"

    def call(method: str, path: str, body: Any = None) -> requests.Response:
        return session.request(method, srv.url + path, json=body)

    yield call
    session.close()


def _ids(world: World, n: int) -> list[str]:
    return [str(p.id) for p in list(world.iter("person"))[:n]]


def _put(http: Any, prop: str, rule: str, *args: str) -> None:
    got = http("PUT", f"{PV}/0-1/{prop}/rule-type/{rule}", {"ruleArguments": list(args)})
    assert got.status_code == 204, got.text
    assert got.content == b""


def _milestone(world: World, rid: str) -> Any:
    return (world.get("person", int(rid)).extra or {}).get("sales_milestone")


@pytest.mark.parametrize(
    ("rule", "args", "bad", "good"),
    [
        ("REGEX", ("[a-z_]+",), "Client!", "client"),
        ("MAX_LENGTH", ("6",), "customer", "client"),
        ("MIN_LENGTH", ("3",), "ab", "abc"),
    ],
)
def test_each_format_rule_refuses_only_its_input_on_2026_09(
    http: Any, srv: HubSpotServer, rule: str, args: tuple[str, ...], bad: str, good: str
) -> None:
    _put(http, "sales_milestone", rule, *args)
    a, b = _ids(srv.world, 2)
    body = {"inputs": [{"id": a, "properties": {"sales_milestone": bad}},
                       {"id": b, "properties": {"sales_milestone": good}}]}  # fmt: skip
    got = http("POST", f"{DATED}/batch/update", body)
    assert got.status_code == 200
    payload = got.json()
    assert [r["id"] for r in payload["results"]] == [b]
    assert payload["numErrors"] == 1
    error = payload["errors"][0]
    assert error["category"] == "VALIDATION_ERROR" and error["status"] == "error"
    assert error["message"] == f'Property "sales_milestone" failed its {rule} validation rule'
    assert error["context"] == {"ids": [a], "propertyName": ["sales_milestone"]}
    assert _milestone(srv.world, a) is None and _milestone(srv.world, b) == good


def test_a_cleared_value_passes_format_rules(http: Any, srv: HubSpotServer) -> None:
    _put(http, "sales_milestone", "MIN_LENGTH", "3")
    (a,) = _ids(srv.world, 1)
    body = {"inputs": [{"id": a, "properties": {"sales_milestone": ""}}]}
    got = http("POST", f"{DATED}/batch/update", body)
    assert got.status_code == 200 and "errors" not in got.json()


def test_conditional_required_on_2026_09(http: Any, srv: HubSpotServer) -> None:
    srv.require_when("contacts", "sales_milestone_date", "sales_milestone", "client")
    a, b, c, d = _ids(srv.world, 4)
    dated = {"sales_milestone": "client", "sales_milestone_date": "2026-03-01"}
    body = {"inputs": [
        {"id": a, "properties": {"sales_milestone": "client"}},
        {"id": b, "properties": dated},
        {"id": c, "properties": {"sales_milestone": "lead"}},
    ]}  # fmt: skip
    got = http("POST", f"{DATED}/batch/update", body).json()
    assert sorted(r["id"] for r in got["results"]) == sorted([b, c])
    (error,) = got["errors"]
    assert error["category"] == "VALIDATION_ERROR"
    assert error["message"] == (
        'Property "sales_milestone_date" is required when "sales_milestone" is "client"'
    )
    assert error["context"] == {"ids": [a], "propertyName": ["sales_milestone_date"]}
    # evaluated on the values after the write: clearing the date of a client breaks it
    clear = {"inputs": [
        {"id": b, "properties": {"sales_milestone_date": ""}},
        {"id": d, "properties": {"sales_milestone_date": "2026-03-02"}},
    ]}  # fmt: skip
    got = http("POST", f"{DATED}/batch/update", clear).json()
    assert [r["id"] for r in got["results"]] == [d]
    assert got["errors"][0]["context"]["ids"] == [b]
    assert srv.world.get("person", int(b)).extra["sales_milestone_date"] == "2026-03-01"


def test_every_input_breaking_a_rule_is_200_with_no_results(http: Any, srv: HubSpotServer) -> None:
    _put(http, "sales_milestone", "MAX_LENGTH", "2")
    a, b = _ids(srv.world, 2)
    body = {"inputs": [{"id": i, "properties": {"sales_milestone": "long"}} for i in (a, b)]}
    got = http("POST", f"{DATED}/batch/update", body)
    assert got.status_code == 200
    assert got.json()["results"] == [] and got.json()["numErrors"] == 2


def test_dated_patch_breaking_a_rule_is_400(http: Any, srv: HubSpotServer) -> None:
    _put(http, "sales_milestone", "REGEX", "[a-z]+")
    (a,) = _ids(srv.world, 1)
    got = http("PATCH", f"{DATED}/{a}", {"properties": {"sales_milestone": "Nope1"}})
    assert got.status_code == 400
    body = got.json()
    assert body["category"] == "VALIDATION_ERROR" and body["correlationId"]
    assert body["message"] == 'Property "sales_milestone" failed its REGEX validation rule'
    assert body["context"] == {"ids": [a], "propertyName": ["sales_milestone"]}
    assert http("PATCH", f"{DATED}/{a}", {"properties": {"sales_milestone": "ok"}}).ok


def test_legacy_batch_with_a_format_breach_is_refused_whole(http: Any, srv: HubSpotServer) -> None:
    _put(http, "sales_milestone", "REGEX", "[a-z_]+")
    a, b = _ids(srv.world, 2)
    body = {"inputs": [{"id": a, "properties": {"sales_milestone": "Bad!"}},
                       {"id": b, "properties": {"sales_milestone": "client"}}]}  # fmt: skip
    got = http("POST", f"{LEGACY}/batch/update", body)
    assert got.status_code == 400
    payload = got.json()
    assert payload["category"] == "VALIDATION_ERROR" and payload["status"] == "error"
    prefix = "Property values were not valid: "
    assert payload["message"].startswith(prefix)
    (detail,) = json.loads(payload["message"][len(prefix) :])
    assert detail["isValid"] is False and detail["name"] == "sales_milestone"
    assert detail["error"] == "INVALID_FORMAT"
    assert detail["message"] == 'Property "sales_milestone" failed its REGEX validation rule'
    assert _milestone(srv.world, b) is None  # nothing written
    single = http("PATCH", f"{LEGACY}/{a}", {"properties": {"sales_milestone": "Bad!"}})
    assert single.status_code == 400 and single.json()["message"].startswith(prefix)


def test_conditional_rules_do_not_apply_on_legacy_paths(http: Any, srv: HubSpotServer) -> None:
    srv.require_when("0-1", "sales_milestone_date", "sales_milestone", "client")
    (a,) = _ids(srv.world, 1)
    body = {"inputs": [{"id": a, "properties": {"sales_milestone": "client"}}]}
    got = http("POST", f"{LEGACY}/batch/update", body)
    assert got.status_code == 200 and _milestone(srv.world, a) == "client"


def test_property_validations_read_back_what_was_put(http: Any, srv: HubSpotServer) -> None:
    assert http("GET", f"{PV}/contacts").json() == {"results": []}
    assert http("GET", f"{PV}/0-1/sales_milestone").json() == {"results": []}
    _put(http, "sales_milestone", "REGEX", "[a-z_]+")
    got = http("PUT", f"{PV}/contacts/sales_milestone/rule-type/MAX_LENGTH",
               {"ruleArguments": ["20"], "shouldApplyNormalization": True})  # fmt: skip
    assert got.status_code == 204
    regex = {"ruleType": "REGEX", "ruleArguments": ["[a-z_]+"], "shouldApplyNormalization": False}
    longest = {"ruleType": "MAX_LENGTH", "ruleArguments": ["20"], "shouldApplyNormalization": True}
    assert http("GET", f"{PV}/0-1").json() == {
        "results": [
            {"propertyName": "sales_milestone", "propertyValidationRules": [regex, longest]}
        ]
    }
    assert http("GET", f"{PV}/contacts/sales_milestone").json() == {"results": [regex, longest]}
    one = http("GET", f"{PV}/contacts/sales_milestone/rule-type/MAX_LENGTH")
    assert one.status_code == 200 and one.json() == longest
    _put(http, "sales_milestone", "MAX_LENGTH", "30")  # replaces, not adds
    assert http("GET", f"{PV}/0-1/sales_milestone/rule-type/MAX_LENGTH").json()[
        "ruleArguments"
    ] == ["30"]
    srv.require_when("contacts", "sales_milestone_date", "sales_milestone", "client")
    assert http("GET", f"{PV}/0-1/sales_milestone_date").json() == {"results": []}
    assert http("GET", f"{PV}/0-3").json() == {"results": []}


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (f"{PV}/0-1/nope/rule-type/REGEX", {"ruleArguments": ["x"]}, 404),
        (f"{PV}/widgets/sales_milestone/rule-type/REGEX", {"ruleArguments": ["x"]}, 404),
        (f"{PV}/0-1/sales_milestone/rule-type/REGEX", {}, 400),
        (f"{PV}/0-1/sales_milestone/rule-type/REGEX", {"ruleArguments": ["("]}, 400),
        (f"{PV}/0-1/sales_milestone/rule-type/MAX_LENGTH", {"ruleArguments": ["ten"]}, 400),
        (f"{PV}/0-1/sales_milestone/rule-type/NOT_A_RULE", {"ruleArguments": ["1"]}, 400),
        (f"{PV}/0-1/sales_milestone/rule-type/EMAIL", {"ruleArguments": []}, 400),
    ],
)
def test_property_validations_refusals(http: Any, path: str, body: Any, status: int) -> None:
    got = http("PUT", path, body)
    assert got.status_code == status, got.text
    assert got.json()["category"] in ("VALIDATION_ERROR", "OBJECT_NOT_FOUND")


def test_missing_rule_and_property_are_404(http: Any) -> None:
    assert http("GET", f"{PV}/0-1/sales_milestone/rule-type/REGEX").status_code == 404
    assert http("GET", f"{PV}/0-1/nope").status_code == 404


def test_set_format_rule_from_python(srv: HubSpotServer, http: Any) -> None:
    srv.set_format_rule("contacts", "sales_milestone", "MIN_LENGTH", ["2"])
    assert http("GET", f"{PV}/0-1/sales_milestone").json()["results"][0]["ruleType"] == (
        "MIN_LENGTH"
    )
    with pytest.raises(ValueError):
        srv.set_format_rule("contacts", "nope", "MIN_LENGTH", ["2"])
