"""The other sObject Collections verbs: create, retrieve and delete up to 200 records.

`POST composite/sobjects` creates (Contacts, Leads, Tasks and the permission objects here),
`GET composite/sobjects/{Type}?ids=&fields=` reads (null for an id not found) and
`DELETE composite/sobjects?ids=&allOrNone=` moves records to the recycle bin. Like the
update verb they answer 200 with one result per record (reference section 2.1).
"""

from __future__ import annotations

from typing import Any

from milestones.sandbox.salesforce.ids import normalize_id
from milestones.sandbox.salesforce.org import Org
from milestones.sandbox.salesforce.setup import SetupError
from milestones.sandbox.salesforce.soql.parser import SoqlError
from milestones.sandbox.salesforce.tasks import create_task
from milestones.sandbox.salesforce.writes import MAX_RECORDS, RequestError

ROLLED_BACK = (
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header"
)


def _error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"statusCode": code, "message": message, "fields": fields or []}],
    }


def create_records(server: Org, body: Any) -> list[dict[str, Any]]:
    """Create each record on its own (allOrNone is honoured by checking all first)."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise RequestError(400, "JSON_PARSER_ERROR", "Expected {'records': [...]}")
    if len(body["records"]) > MAX_RECORDS:
        raise RequestError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    results = []
    for record in body["records"]:
        fields = (
            {k: v for k, v in record.items() if k != "attributes"}
            if isinstance(record, dict)
            else {}
        )
        sobject = (
            str(((record or {}).get("attributes") or {}).get("type") or "")
            if isinstance(record, dict)
            else ""
        )
        if "id" in {k.lower() for k in fields}:
            results.append(_error("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]))
            continue
        try:
            if sobject in ("Contact", "Lead"):
                new_id = server.writer.create_person(sobject, fields)
            elif sobject == "Task":
                new_id = create_task(server.world, server.catalog, fields)
            else:
                new_id = server.setup.create(server.objects, sobject, fields)
        except RequestError as exc:
            item = exc.body[0]
            results.append(_error(item["errorCode"], item["message"], item.get("fields")))
            continue
        except SetupError as exc:
            results.append(_error(exc.code, exc.message, exc.fields))
            continue
        results.append({"id": new_id, "success": True, "errors": []})
    return results


def retrieve_records(server: Org, sobject: str, ids: list[str], names: list[str]) -> list[Any]:
    try:
        obj = server.catalog.object_named(sobject)
    except SoqlError as exc:
        raise RequestError(404, "NOT_FOUND", "The requested resource does not exist") from exc
    if not names:
        raise RequestError(400, "MALFORMED_QUERY", "fields parameter is required")
    if len(ids) > 2000:
        raise RequestError(400, "EXCEEDED_ID_LIMIT", "too many ids")
    out: list[Any] = []
    for raw in ids:
        normal = normalize_id(raw)
        row = obj.lookup(normal) if normal is not None and normal[:3] == obj.prefix else None
        out.append(
            None if row is None else server.record_json(obj, row, [n.lower() for n in names])
        )
    return out


def delete_records(server: Org, ids: list[str], all_or_none: bool) -> list[dict[str, Any]]:
    if len(ids) > MAX_RECORDS:
        raise RequestError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    found = []
    for raw in ids:
        normal = normalize_id(raw)
        obj = next((o for o in server.objects.values() if normal and o.prefix == normal[:3]), None)
        row = obj.lookup(normal) if obj is not None and normal is not None else None
        if row is None or getattr(row, "kind", None) is None:
            found.append(
                (raw, None, _error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
            )
        elif obj is not None and obj.is_deleted is not None and obj.is_deleted(row):
            found.append((normal, None, _error("ENTITY_IS_DELETED", "entity is deleted")))
        else:
            found.append((normal, row, None))
    if all_or_none and any(error for _, _, error in found):
        return [
            {
                "id": rid,
                **(
                    error
                    or _error(
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        ROLLED_BACK,
                    )
                ),
            }
            for rid, _, error in found
        ]
    results = []
    for rid, row, error in found:
        if error is not None:
            results.append({"id": rid, **error})
            continue
        server.world.archive(row.kind, row.id)
        results.append({"id": rid, "success": True, "errors": []})
    return results
