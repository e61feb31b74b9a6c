"""The dated 2026-09 paths beside the legacy ones, over real HTTP (plain requests).

What differs (crm-api-changes-2026.md §2): batches answer 200 with ``errors`` and
``numErrors`` where legacy answers 207; association batch read likewise; property answers
lose three display fields and a dated create needs option ``displayOrder``. The rest is
the legacy answer under another path. Requests are counted per path family, and legacy
paths can be turned off.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World

OBJ = "/crm/objects/2026-09"


class Client:
    """A bearer-token JSON client for one sandbox."""

    def __init__(self, srv: HubSpotServer) -> None:
        self.url, self.session = srv.url, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {srv.token}"

    def __call__(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        return self.session.request(method, self.url + path, json=body, params=params or None)


@pytest.fixture
def http(hubspot_server: HubSpotServer) -> Iterator[Client]:
    client = Client(hubspot_server)
    yield client
    client.session.close()


def _people(world: World, n: int) -> list[str]:
    return [str(p.id) for p in list(world.iter("person"))[:n]]


def _legacy(path: str) -> str:
    """The legacy twin of a dated objects path."""
    return path.replace(OBJ, "/crm/v3/objects")


def _strip_times(body: Any) -> Any:
    if isinstance(body, dict):
        skip = {"startedAt", "completedAt", "updatedAt", "lastmodifieddate"}
        return {k: _strip_times(v) for k, v in body.items() if k not in skip}
    if isinstance(body, list):
        return [_strip_times(v) for v in body]
    return body


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{OBJ}/contacts?limit=3", None),
        ("GET", f"{OBJ}/0-3?limit=2&properties=dealstage&associations=contacts", None),
        ("GET", f"{OBJ}/contacts/2000001?properties=email", None),
        ("POST", f"{OBJ}/contacts/search", {"limit": 2, "sorts": ["hs_object_id"]}),
        ("POST", f"{OBJ}/contacts/batch/read", {"inputs": [{"id": "2000001"}]}),
    ],
)
def test_dated_reads_answer_as_legacy(http: Client, method: str, path: str, body: Any) -> None:
    dated, legacy = http(method, path, body), http(method, _legacy(path), body)
    assert dated.status_code == legacy.status_code == 200
    assert _strip_times(dated.json()) == _strip_times(legacy.json())
    assert "warnings" not in str(dated.json())


def test_dated_batch_read_with_missing_ids_is_200_with_errors(http: Client) -> None:
    body = {"inputs": [{"id": "2000001"}, {"id": "999"}], "properties": ["email"]}
    dated = http("POST", f"{OBJ}/contacts/batch/read", body)
    legacy = http("POST", "/crm/v3/objects/contacts/batch/read", body)
    assert (dated.status_code, legacy.status_code) == (200, 207)
    got = dated.json()
    assert [r["id"] for r in got["results"]] == ["2000001"]
    assert got["numErrors"] == 1 and got["errors"][0]["context"] == {"ids": ["999"]}
    assert _strip_times(got) == _strip_times(legacy.json())


def test_dated_batch_update_partial_and_total_failure_are_200(
    http: Client, hs_world: World
) -> None:
    a, b = _people(hs_world, 2)
    body = {"inputs": [{"id": a, "properties": {"firstname": "Ada"}}, {"id": "999"}]}
    got = http("POST", f"{OBJ}/contacts/batch/update", body)
    assert got.status_code == 200
    payload = got.json()
    assert [r["id"] for r in payload["results"]] == [a]
    assert payload["results"][0]["properties"]["firstname"] == "Ada"
    assert payload["numErrors"] == 1
    assert payload["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert payload["errors"][0]["context"] == {"ids": ["999"]}
    assert hs_world.get("person", int(a)).first_name == "Ada"
    # every input failing is still 200, with no results
    none = http("POST", f"{OBJ}/contacts/batch/update", {"inputs": [{"id": "998"}, {"id": "x"}]})
    assert none.status_code == 200
    assert none.json()["results"] == [] and none.json()["numErrors"] == 1
    assert none.json()["errors"][0]["context"] == {"ids": ["998", "x"]}
    # a clean batch: 200 without errors; legacy twin with a missing id: 207
    clean = http("POST", f"{OBJ}/contacts/batch/update", {"inputs": [{"id": b}]})
    assert clean.status_code == 200 and "errors" not in clean.json()
    assert http("POST", _legacy(f"{OBJ}/contacts/batch/update"), body).status_code == 207


def test_dated_batch_update_malformed_is_400(http: Client, hs_world: World) -> None:
    (a,) = _people(hs_world, 1)
    too_many = {"inputs": [{"id": str(i)} for i in range(101)]}
    assert http("POST", f"{OBJ}/contacts/batch/update", too_many).status_code == 400
    dupes = {"inputs": [{"id": a}, {"id": a}]}
    assert http("POST", f"{OBJ}/contacts/batch/update", dupes).status_code == 400
    unknown = {"inputs": [{"id": a, "properties": {"no_such_property": "x"}}]}
    got = http("POST", f"{OBJ}/contacts/batch/update", unknown)
    assert got.status_code == 400 and got.json()["category"] == "VALIDATION_ERROR"
    assert http("POST", f"{OBJ}/nothings/batch/update", {"inputs": []}).status_code == 404


def test_dated_get_and_patch_one(http: Client, hs_world: World) -> None:
    (a,) = _people(hs_world, 1)
    patched = http("PATCH", f"{OBJ}/contacts/{a}", {"properties": {"lastname": "Lovelace"}})
    assert patched.status_code == 200
    assert patched.json()["properties"]["lastname"] == "Lovelace"
    got = http("GET", f"{OBJ}/contacts/{a}", properties="lastname")
    assert got.status_code == 200 and got.json()["properties"] == {"lastname": "Lovelace"}
    assert http("GET", f"{OBJ}/contacts/999").status_code == 404


def test_dated_association_batch_read_is_200_with_errors(http: Client, hs_world: World) -> None:
    person = next(p for p in hs_world.iter("person") if hs_world.deals_of(p.id))
    lonely = next(p for p in hs_world.iter("person") if not hs_world.deals_of(p.id))
    body = {"inputs": [{"id": str(person.id)}, {"id": str(lonely.id)}]}
    dated = http("POST", "/crm/associations/2026-09/contacts/deals/batch/read", body)
    legacy = http("POST", "/crm/v4/associations/contacts/deals/batch/read", body)
    assert (dated.status_code, legacy.status_code) == (200, 207)
    got = dated.json()
    assert got["results"][0]["from"] == {"id": str(person.id)}
    for link in got["results"][0]["to"]:
        for spec in link["associationTypes"]:
            assert set(spec) == {"category", "typeId", "label"}
    assert got["numErrors"] == 1
    assert got["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    # what the 2026-09 schema requires beyond the legacy answer
    assert got["startedAt"] and got["completedAt"]
    assert got["errors"][0]["errors"] == [] and got["errors"][0]["links"] == {}
    old = legacy.json()
    assert got["results"] == old["results"] and got["numErrors"] == old["numErrors"]
    assert [
        {k: v for k, v in e.items() if k not in ("errors", "links")} for e in got["errors"]
    ] == (old["errors"])
    # the version goes after "associations"; the other order is no route
    wrong = http("POST", "/crm/2026-09/associations/contacts/deals/batch/read", body)
    assert wrong.status_code == 404


def test_dated_pipelines_and_owners_answer_as_legacy(http: Client) -> None:
    for dated, legacy in [
        ("/crm/pipelines/2026-09/deals", "/crm/v3/pipelines/deals"),
        ("/crm/pipelines/2026-09/0-3/default", "/crm/v3/pipelines/0-3/default"),
        ("/crm/owners/2026-09", "/crm/v3/owners"),
    ]:
        got = http("GET", dated)
        assert got.status_code == 200 and got.json() == http("GET", legacy).json()
    stages = http("GET", "/crm/pipelines/2026-09/deals").json()["results"][0]["stages"]
    assert all(s["writePermissions"] for s in stages)
    assert http("GET", "/crm/pipelines/2026-09/deals/nope").status_code == 404


def _definition(**extra: Any) -> dict[str, Any]:
    return {
        "name": "sales_milestone",
        "label": "Sales milestone",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "contactinformation",
        "options": [{"label": "Client", "value": "client", "displayOrder": 0, "hidden": False}],
        **extra,
    }


def test_dated_properties_drop_display_hints(http: Client) -> None:
    hints = {"numberDisplayHint": "formatted", "textDisplayHint": "unformatted_single_line"}
    created = http("POST", "/crm/properties/2026-09/contacts", _definition(**hints))
    assert created.status_code == 201
    assert not set(hints) & set(created.json())
    dated = http("GET", "/crm/properties/2026-09/contacts/sales_milestone").json()
    legacy = http("GET", "/crm/v3/properties/contacts/sales_milestone").json()
    assert legacy["numberDisplayHint"] == "formatted"  # legacy answers keep them
    assert dated == {k: v for k, v in legacy.items() if k not in hints}
    listed = http("GET", "/crm/properties/2026-09/contacts").json()["results"]
    assert not any(set(hints) & set(p) for p in listed)
    patched = http("PATCH", "/crm/properties/2026-09/contacts/sales_milestone", {"label": "M"})
    assert patched.status_code == 200 and patched.json()["label"] == "M"
    assert not set(hints) & set(patched.json())
    assert http("GET", "/crm/properties/2026-09/contacts/nope").status_code == 404


def test_dated_property_create_needs_option_display_order(http: Client) -> None:
    unordered = _definition(options=[{"label": "Client", "value": "client", "hidden": False}])
    refused = http("POST", "/crm/properties/2026-09/contacts", unordered)
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
    assert "displayOrder" in refused.json()["message"]
    assert http("POST", "/crm/v3/properties/contacts", unordered).status_code == 201


def test_dated_property_groups(http: Client) -> None:
    made = http("POST", "/crm/properties/2026-09/deals/groups", {"name": "ms", "label": "MS"})
    assert made.status_code == 201
    assert http("GET", "/crm/properties/2026-09/deals/groups/ms").json()["label"] == "MS"
    names = [
        g["name"] for g in http("GET", "/crm/properties/2026-09/deals/groups").json()["results"]
    ]
    assert names == ["dealinformation", "ms"]
    assert http("GET", "/crm/v3/properties/deals/groups/ms").status_code == 200


def test_calls_are_counted_per_path_family(http: Client, hubspot_server: HubSpotServer) -> None:
    hubspot_server.reset_stats()
    assert hubspot_server.stats()["families"] == {"legacy": 0, "2026-09": 0}
    http("GET", f"{OBJ}/contacts")
    http("POST", f"{OBJ}/contacts/search", {})
    http("GET", "/crm/v3/objects/contacts")
    http("GET", "/crm/v4/objects/contacts/2000001/associations/deals")
    http("GET", "/crm/v1/nothing")  # unknown, still a legacy path
    requests.get(hubspot_server.url + "/_sandbox/stats")  # inspection is never counted
    stats = hubspot_server.stats()
    assert stats["families"] == {"legacy": 3, "2026-09": 2}
    assert stats["endpoints"]["GET /crm/objects/2026-09/contacts"] == 1
    assert stats["total"] == 5
    over_http = requests.get(hubspot_server.url + "/_sandbox/stats").json()
    assert over_http["families"] == {"legacy": 3, "2026-09": 2}


@pytest.fixture
def dated_only() -> Iterator[HubSpotServer]:
    with HubSpotServer(generate_world(seed=11, contacts=50), legacy_paths=False) as srv:
        yield srv


def test_legacy_paths_off_answer_as_unknown_routes(dated_only: HubSpotServer) -> None:
    http = Client(dated_only)
    unknown = http("GET", "/crm/nowhere/contacts")
    for method, path in [
        ("GET", "/crm/v3/objects/contacts"),
        ("POST", "/crm/v3/objects/contacts/batch/update"),
        ("POST", "/crm/v4/associations/contacts/deals/batch/read"),
        ("GET", "/crm/v3/pipelines/deals"),
        ("GET", "/crm/v3/owners"),
        ("GET", "/crm/v4/objects/contacts/2000001/associations/deals"),
    ]:
        got = http(method, path, {"inputs": []} if method == "POST" else None)
        assert got.status_code == unknown.status_code == 404
        body = got.json()
        assert body["category"] == unknown.json()["category"] == "OBJECT_NOT_FOUND"
        assert body["message"] == f"Unknown path {path}"
    assert http("GET", f"{OBJ}/contacts").status_code == 200
    stats = dated_only.stats()
    assert stats["families"] == {"legacy": 6, "2026-09": 1, "other": 1}
    assert stats["endpoints"]["GET (unknown)"] == 5


def test_a_dated_only_run_uses_no_legacy_path(dated_only: HubSpotServer) -> None:
    http = Client(dated_only)
    dated_only.reset_stats()
    assert http("GET", f"{OBJ}/deals?limit=5").status_code == 200
    assert http("GET", "/crm/properties/2026-09/deals").status_code == 200
    assert dated_only.stats()["families"]["legacy"] == 0
