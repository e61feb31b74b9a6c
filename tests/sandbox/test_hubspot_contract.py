"""Contract: the sandbox's 2026-09 answers against models of what the worker reads.

The models are written here from HubSpot's 2026-09 schemas as summarised in
crm-api-changes-2026.md §2 (required fields, types, enums), not from the sandbox. Objects
whose schema is closed forbid extra keys, so a legacy-only field (per-record
``warnings``, ``fromObjectTypeId``) fails the contract; maps and echoed definitions allow
more. Calls go through the real SDK's ``ApiClient.call_api``, as the worker's connector
reaches paths the SDK has no method for.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts.exceptions import ApiException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from milestones.sandbox.hubspot.api import HubSpotServer

Status = Literal["CANCELED", "COMPLETE", "PENDING", "PROCESSING"]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class NextPage(Closed):
    after: str
    link: str | None = None


class Paging(Closed):
    next: NextPage | None = None


class SimplePublicObject(Closed):
    id: str
    properties: dict[str, str | None]
    createdAt: datetime
    updatedAt: datetime
    archived: bool
    archivedAt: datetime | None = None
    propertiesWithHistory: dict[str, list[dict[str, Any]]] | None = None
    objectWriteTraceId: str | None = None
    url: str | None = None


class AssociatedId(Closed):
    id: str
    type: str


class AssociatedIds(Closed):
    results: list[AssociatedId]
    paging: Paging | None = None


class SimplePublicObjectWithAssociations(SimplePublicObject):
    associations: dict[str, AssociatedIds] | None = None


class ListPage(Closed):
    results: list[SimplePublicObjectWithAssociations]
    paging: Paging | None = None


class SearchPage(Closed):
    total: int
    results: list[SimplePublicObject]
    paging: Paging | None = None


class StandardError(Closed):
    status: str
    category: str
    message: str
    context: dict[str, list[str]]
    errors: list[dict[str, Any]]
    links: dict[str, str]
    id: str | None = None
    subCategory: Any = None


class Batch(Closed):
    """The fields every 2026-09 batch answer shares; errors only when some input failed."""

    status: Status
    startedAt: datetime
    completedAt: datetime
    requestedAt: datetime | None = None
    links: dict[str, str] | None = None
    errors: list[StandardError] | None = None
    numErrors: int | None = None

    @model_validator(mode="after")
    def _counted(self) -> Batch:
        assert (self.errors is None) == (self.numErrors is None)
        return self


class BatchObjects(Batch):
    results: list[SimplePublicObject]


class ObjectId(Closed):
    id: str


class AssociationSpec(Closed):
    category: Literal["HUBSPOT_DEFINED", "INTEGRATOR_DEFINED", "USER_DEFINED", "WORK"]
    typeId: int
    label: str | None = None


class AssociatedObject(Closed):
    toObjectId: int | str  # the spec says string; HubSpot has answered numbers
    associationTypes: list[AssociationSpec]


class AssociationRow(Closed):
    from_: ObjectId = Field(alias="from")
    to: list[AssociatedObject]
    paging: Paging | None = None


class BatchAssociations(Batch):
    results: list[AssociationRow]


class Stage(Closed):
    id: str
    label: str
    displayOrder: int
    metadata: dict[str, str]
    createdAt: datetime
    updatedAt: datetime
    archived: bool
    archivedAt: datetime | None = None
    writePermissions: Literal["CRM_PERMISSIONS_ENFORCEMENT", "INTERNAL_ONLY", "READ_ONLY"]


class Pipeline(Closed):
    id: str
    label: str
    displayOrder: int
    stages: list[Stage]
    createdAt: datetime
    updatedAt: datetime
    archived: bool
    archivedAt: datetime | None = None


class Pipelines(Closed):
    results: list[Pipeline]


class Option(Open):
    label: str
    value: str
    hidden: bool
    displayOrder: int | None = None
    description: str | None = None


class Property(Open):
    """Open: a definition echoes what its creator sent; the dropped hints must be gone."""

    name: str
    label: str
    type: str
    fieldType: str
    description: str
    groupName: str
    options: list[Option]
    modificationMetadata: dict[str, bool] | None = None
    calculated: bool | None = None

    @model_validator(mode="after")
    def _no_display_hints(self) -> Property:
        dropped = {"currencyPropertyName", "numberDisplayHint", "textDisplayHint"}
        assert not dropped & set(self.model_extra or {}), self.model_extra
        return self


class Properties(Closed):
    results: list[Property]


class PropertyGroup(Closed):
    name: str
    label: str
    archived: bool
    displayOrder: int | None = None


class Rule(Closed):
    ruleType: str = Field(pattern=r"^[A-Z_]+$")
    ruleArguments: list[str]
    shouldApplyNormalization: bool | None = None


class RuleMap(Closed):
    propertyName: str
    propertyValidationRules: list[Rule]


class RuleMaps(Closed):
    results: list[RuleMap]


class Rules(Closed):
    results: list[Rule]


class Error(Open):
    category: str
    correlationId: str
    message: str
    context: dict[str, list[str]] | None = None


# ---- the calls -----------------------------------------------------------------------------


@pytest.fixture
def call(hubspot: HubSpot) -> Any:
    """``(method, path, body) -> (status, json)`` through the SDK's generic ``call_api``."""
    client = hubspot.crm.contacts.basic_api.api_client

    def send(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        resp = client.call_api(
            path, method, header_params=headers, body=body, auth_settings=["oauth2"],
            _preload_content=False, _request_timeout=10,
        )  # fmt: skip
        return resp.status, json.loads(resp.data) if resp.data else None

    return send


def _define(call: Any) -> None:
    body = {"name": "sales_milestone", "label": "Milestone", "type": "enumeration",
            "fieldType": "select", "groupName": "contactinformation",
            "numberDisplayHint": "formatted",
            "options": [{"label": v, "value": v, "displayOrder": n, "hidden": False}
                        for n, v in enumerate(["lead", "client"])]}  # fmt: skip
    status, created = call("POST", "/crm/properties/2026-09/contacts", body)
    assert status == 201
    Property.model_validate(created)


def test_object_answers_keep_the_contract(call: Any, hubspot_server: HubSpotServer) -> None:
    _define(call)
    ListPage.model_validate(call("GET", "/crm/objects/2026-09/contacts?limit=5")[1])
    page = call("GET", "/crm/objects/2026-09/deals?limit=3&associations=contacts")[1]
    assert ListPage.model_validate(page).paging is not None
    status, found = call("POST", "/crm/objects/2026-09/contacts/search", {"limit": 3})
    assert status == 200 and SearchPage.model_validate(found).total > 0
    body = {"inputs": [{"id": "2000001"}, {"id": "404"}], "properties": ["sales_milestone"]}
    status, read = call("POST", "/crm/objects/2026-09/contacts/batch/read", body)
    assert status == 200 and BatchObjects.model_validate(read).numErrors == 1
    status, one = call("GET", "/crm/objects/2026-09/contacts/2000001")
    SimplePublicObjectWithAssociations.model_validate(one)


def test_write_answers_keep_the_contract(call: Any, hubspot_server: HubSpotServer) -> None:
    _define(call)
    hubspot_server.require_when("contacts", "lastname", "sales_milestone", "client")
    status, _ = call(
        "PUT",
        "/crm/property-validations/2026-09/0-1/firstname/rule-type/MAX_LENGTH",
        {"ruleArguments": ["5"]},
    )
    assert status == 204
    inputs = [
        {"id": "2000001", "properties": {"sales_milestone": "lead"}},
        {"id": "2000002", "properties": {"firstname": "Bartholomew"}},
        {"id": "2000003", "properties": {"sales_milestone": "client", "lastname": ""}},
        {"id": "404", "properties": {"sales_milestone": "lead"}},
    ]
    status, wrote = call("POST", "/crm/objects/2026-09/contacts/batch/update", {"inputs": inputs})
    assert status == 200
    batch = BatchObjects.model_validate(wrote)
    assert [r.id for r in batch.results] == ["2000001"]
    assert batch.errors is not None and batch.numErrors == 3
    assert [e.category for e in batch.errors] == ["VALIDATION_ERROR"] * 2 + ["OBJECT_NOT_FOUND"]
    clean = {"inputs": [{"id": "2000004", "properties": {"sales_milestone": "lead"}}]}
    status, wrote = call("POST", "/crm/objects/2026-09/contacts/batch/update", clean)
    assert status == 200 and BatchObjects.model_validate(wrote).errors is None
    too_long = {"properties": {"firstname": "Bartholomew"}}
    with pytest.raises(ApiException) as refused:
        call("PATCH", "/crm/objects/2026-09/contacts/2000002", too_long)
    assert refused.value.status == 400
    error = Error.model_validate(json.loads(refused.value.body))
    assert error.category == "VALIDATION_ERROR" and error.context == {
        "ids": ["2000002"],
        "propertyName": ["firstname"],
    }
    status, patched = call("PATCH", "/crm/objects/2026-09/contacts/2000002", {"properties": {}})
    assert status == 200 and SimplePublicObject.model_validate(patched)


def test_association_answers_keep_the_contract(call: Any, hubspot_server: HubSpotServer) -> None:
    world = hubspot_server.world
    people = [p.id for p in world.iter("person")]
    linked = next(i for i in people if world.deals_of(i))
    lonely = next(i for i in people if not world.deals_of(i))
    body = {"inputs": [{"id": str(linked)}, {"id": str(lonely)}]}
    status, got = call("POST", "/crm/associations/2026-09/contacts/deals/batch/read", body)
    assert status == 200
    answer = BatchAssociations.model_validate(got)
    assert answer.results[0].from_.id == str(linked) and answer.numErrors == 1


def test_meta_answers_keep_the_contract(call: Any, hubspot_server: HubSpotServer) -> None:
    _define(call)
    pipelines = Pipelines.model_validate(call("GET", "/crm/pipelines/2026-09/deals")[1])
    Pipeline.model_validate(
        call("GET", f"/crm/pipelines/2026-09/deals/{pipelines.results[0].id}")[1]
    )
    Properties.model_validate(call("GET", "/crm/properties/2026-09/contacts")[1])
    Property.model_validate(call("GET", "/crm/properties/2026-09/contacts/sales_milestone")[1])
    status, group = call(
        "POST", "/crm/properties/2026-09/deals/groups", {"name": "g", "label": "G"}
    )
    assert status == 201 and PropertyGroup.model_validate(group)
    PropertyGroup.model_validate(call("GET", "/crm/properties/2026-09/deals/groups/g")[1])
    for g in call("GET", "/crm/properties/2026-09/deals/groups")[1]["results"]:
        PropertyGroup.model_validate(g)


def test_property_validation_answers_keep_the_contract(
    call: Any, hubspot_server: HubSpotServer
) -> None:
    _define(call)
    base = "/crm/property-validations/2026-09/0-1/sales_milestone"
    assert call("PUT", f"{base}/rule-type/REGEX", {"ruleArguments": ["[a-z]+"]})[0] == 204
    assert call("PUT", f"{base}/rule-type/MIN_LENGTH", {"ruleArguments": ["2"]})[0] == 204
    maps = RuleMaps.model_validate(call("GET", "/crm/property-validations/2026-09/contacts")[1])
    assert [m.propertyName for m in maps.results] == ["sales_milestone"]
    rules = Rules.model_validate(call("GET", base)[1])
    assert [r.ruleType for r in rules.results] == ["REGEX", "MIN_LENGTH"]
    assert Rule.model_validate(call("GET", f"{base}/rule-type/REGEX")[1]).ruleArguments == [
        "[a-z]+"
    ]
