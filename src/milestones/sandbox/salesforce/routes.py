"""Route handlers of the Salesforce sandbox, registered on a server through its `Org` face.

Handlers translate between HTTP and the query, write and setup services, and turn their
exceptions into Salesforce's error arrays. Paths follow simple-salesforce's spelling
(trailing slashes accepted everywhere).
"""

from __future__ import annotations

from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from milestones.sandbox.salesforce import versions
from milestones.sandbox.salesforce.auth import bearer
from milestones.sandbox.salesforce.children import child_relationships
from milestones.sandbox.salesforce.collections import (
    create_records,
    delete_records,
    retrieve_records,
)
from milestones.sandbox.salesforce.composite import composite
from milestones.sandbox.salesforce.deleted import deleted_handler
from milestones.sandbox.salesforce.ids import normalize_id
from milestones.sandbox.salesforce.org import Org
from milestones.sandbox.salesforce.query import QueryService
from milestones.sandbox.salesforce.setup import SetupError
from milestones.sandbox.salesforce.soql.parser import SoqlError
from milestones.sandbox.salesforce.writes import RequestError
from milestones.sandbox.server.http import Request, Response, json_response

DATA = "/services/data/v{version}"
MAX_REQUEST = 16_384


def register_routes(server: Org) -> None:
    """Attach every endpoint to the server (more specific patterns first)."""
    r = server.route
    r("POST", "/services/oauth2/token", lambda req: server.login.oauth_token(req, server.url))
    r(
        "POST",
        "/services/Soap/u/{version}",
        lambda req, version: server.login.soap_login(req, server.url, version),
    )
    r("GET", "/services/oauth2/userinfo", lambda req: server.login.userinfo(req, server.url))
    r("GET", "/services/data", lambda req: json_response(200, versions.listing()))
    r("GET", DATA, lambda req, version: json_response(200, _resources(version)))
    for endpoint in ("query", "queryAll"):
        deleted = endpoint == "queryAll"
        r("GET", f"{DATA}/{endpoint}", _query(server.queries, deleted), f"GET {endpoint}")
        r("GET", f"{DATA}/{endpoint}/{{locator}}", _more(server.queries), f"GET {endpoint} more")
    r("GET", f"{DATA}/tooling/query", _query(server.tooling_queries, False), "GET tooling query")
    r(
        "GET",
        f"{DATA}/tooling/query/{{locator}}",
        _more(server.tooling_queries),
        "GET tooling query more",
    )
    r(
        "POST",
        f"{DATA}/tooling/sobjects/CustomField",
        _custom_field(server),
        "POST tooling CustomField",
    )
    r(
        "GET",
        f"{DATA}/limits",
        lambda req, version: json_response(200, server.limits()),
        "GET limits",
    )
    r("POST", f"{DATA}/composite", composite(_describe(server)), "POST composite")
    r("PATCH", f"{DATA}/composite/sobjects", _collection(server), "PATCH composite/sobjects")
    r(
        "POST",
        f"{DATA}/composite/sobjects",
        _guarded(lambda req, version: create_records(server, _body(req))),
        "POST composite/sobjects",
    )
    r(
        "DELETE",
        f"{DATA}/composite/sobjects",
        _guarded(
            lambda req, version: delete_records(server, req.params("ids"), req.flag("allOrNone"))
        ),
        "DELETE composite/sobjects",
    )
    r(
        "GET",
        f"{DATA}/composite/sobjects/{{sobject}}",
        _guarded(
            lambda req, version, sobject: retrieve_records(
                server, sobject, req.params("ids"), req.params("fields")
            )
        ),
        "GET composite/sobjects",
    )
    r(
        "GET",
        f"{DATA}/sobjects",
        lambda req, version: json_response(200, _global_describe(server, version)),
    )
    r("GET", f"{DATA}/sobjects/{{sobject}}/describe", _describe(server), "GET describe")
    r("GET", f"{DATA}/sobjects/{{sobject}}/deleted", deleted_handler(server), "GET deleted")
    r(
        "GET",
        f"{DATA}/sobjects/{{sobject}}/{{record_id}}",
        _get_record(server),
        "GET sobject record",
    )
    r(
        "PATCH",
        f"{DATA}/sobjects/{{sobject}}/{{record_id}}",
        _patch_record(server),
        "PATCH sobject record",
    )
    r(
        "DELETE",
        f"{DATA}/sobjects/{{sobject}}/{{record_id}}",
        _delete_record(server),
        "DELETE sobject record",
    )
    r("POST", f"{DATA}/sobjects/{{sobject}}", _create(server), "POST sobject")


def errors(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """Salesforce's error body: a JSON array of {message, errorCode[, fields]}."""
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return json_response(status, [item])


def _soql_error(exc: SoqlError) -> Response:
    return errors(400, exc.code, exc.message)


def _batch_size(req: Request) -> int:
    """`Sforce-Query-Options: batchSize=N`, clamped to 200-2,000 (reference 1.2)."""
    options = req.headers.get("Sforce-Query-Options", "") or ""
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(200, min(2000, int(value)))
    return 2000


def _query(service: QueryService, include_deleted: bool) -> Any:
    def handle(req: Request, version: str) -> Response:
        if len(req.raw_path) + sum(len(k) + len(v) for k, v in req.headers.items()) > MAX_REQUEST:
            # URI plus headers over 16 KB (reference 1.7): chunk long Id IN (...) lists.
            return Response(414, b"<html><body>414 URI Too Long</body></html>",
                            [("Content-Type", "text/html")])  # fmt: skip
        text = req.param("q")
        if not text:
            return _soql_error(SoqlError("MALFORMED_QUERY", "A query string has to be specified"))
        try:
            return json_response(
                200, service.query(text, include_deleted, _batch_size(req), version, bearer(req))
            )
        except SoqlError as exc:
            return _soql_error(exc)

    return handle


def _more(service: QueryService) -> Any:
    def handle(req: Request, version: str, locator: str) -> Response:
        try:
            return json_response(200, service.more(locator, version, bearer(req)))
        except SoqlError as exc:
            return _soql_error(exc)

    return handle


def _custom_field(server: Org) -> Any:
    def handle(req: Request, version: str) -> Response:
        try:
            row = server.setup.create_custom_field(server.objects, _body(req))
        except SetupError as exc:
            return _setup_error(exc)
        except RequestError as exc:
            return json_response(exc.status, exc.body)
        return json_response(
            201, {"id": row["Id"], "success": True, "errors": [], "warnings": [], "infos": []}
        )

    return handle


def _guarded(answer: Any) -> Any:
    """A handler answering 200 with `answer(...)`, or the error array of a RequestError."""

    def handle(req: Request, **params: str) -> Response:
        try:
            return json_response(200, answer(req, **params))
        except RequestError as exc:
            return json_response(exc.status, exc.body)

    return handle


def _collection(server: Org) -> Any:
    def handle(req: Request, version: str) -> Response:
        try:
            return json_response(200, server.writer.update_collection(_body(req)))
        except RequestError as exc:
            return json_response(exc.status, exc.body)

    return handle


def _describe(server: Org) -> Any:
    def handle(req: Request, version: str, sobject: str) -> Response:
        try:
            obj = server.catalog.object_named(sobject)
        except SoqlError:
            return server.not_found(req)
        # Describe honours If-Modified-Since with 304 (reference section 4); HTTP dates
        # have whole seconds, so a change within the same second still counts as newer.
        changed = int(server.setup.changed_at)
        since = req.headers.get("If-Modified-Since")
        if since:
            try:
                if parsedate_to_datetime(since).timestamp() >= changed:
                    return Response(304)
            except (TypeError, ValueError):
                pass
        fields = [
            d.describe(server.setup.can_edit(obj.name, d))
            for d in obj.fields.values()
            if server.setup.can_read(obj.name, d)
        ]
        body = {
            **_object_summary(obj, version),
            "fields": fields,
            "childRelationships": child_relationships(obj.name),
        }
        return json_response(200, body).header("Last-Modified", formatdate(changed, usegmt=True))

    return handle


def _get_record(server: Org) -> Any:
    def handle(req: Request, version: str, sobject: str, record_id: str) -> Response:
        found = _find(server, sobject, record_id)
        if found is None:
            return server.not_found(req)
        obj, row = found
        names = [n.strip().lower() for n in req.params("fields")] or None
        return json_response(200, server.record_json(obj, row, names))

    return handle


def _patch_record(server: Org) -> Any:
    def handle(req: Request, version: str, sobject: str, record_id: str) -> Response:
        if sobject == "FieldPermissions":
            try:
                server.setup.update_field_permission(
                    normalize_id(record_id) or record_id, _body(req)
                )
            except SetupError as exc:
                return _setup_error(exc)
            return Response(204)
        try:
            server.writer.update_one(sobject, record_id, _body(req))
        except RequestError as exc:
            return json_response(exc.status, exc.body)
        return Response(204)

    return handle


def _delete_record(server: Org) -> Any:
    def handle(req: Request, version: str, sobject: str, record_id: str) -> Response:
        found = _find(server, sobject, record_id)
        if found is None or getattr(found[1], "kind", None) is None:
            return server.not_found(req)
        obj, row = found
        if obj.is_deleted is not None and obj.is_deleted(row):
            return json_response(
                404, [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}]
            )
        server.world.archive(row.kind, row.id)
        return Response(204)

    return handle


def _create(server: Org) -> Any:
    def handle(req: Request, version: str, sobject: str) -> Response:
        try:
            body = _body(req)
            if not isinstance(body, dict):
                raise RequestError(
                    400, "JSON_PARSER_ERROR", "The request body must be a JSON object"
                )
            if sobject in ("Contact", "Lead"):
                new_id = server.writer.create_person(sobject, body)
            else:
                new_id = server.setup.create(server.objects, sobject, body)
        except SetupError as exc:
            return _setup_error(exc)
        except RequestError as exc:
            return json_response(exc.status, exc.body)
        return json_response(201, {"id": new_id, "success": True, "errors": []})

    return handle


def _find(server: Org, sobject: str, record_id: str) -> tuple[Any, Any] | None:
    try:
        obj = server.catalog.object_named(sobject)
    except SoqlError:
        return None
    normal = normalize_id(record_id)
    row = obj.lookup(normal) if normal is not None and normal[:3] == obj.prefix else None
    return None if row is None else (obj, row)


def _body(req: Request) -> Any:
    try:
        return req.json()
    except ValueError as exc:
        raise RequestError(
            400, "JSON_PARSER_ERROR", f"Unexpected character in the body: {exc}"
        ) from exc


def _setup_error(exc: SetupError) -> Response:
    return errors(exc.status, exc.code, exc.message, exc.fields)


def _object_summary(obj: Any, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "name": obj.name,
        "label": obj.label or obj.name,
        "keyPrefix": obj.prefix,
        "custom": False,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "updateable": obj.updateable,
        "createable": obj.createable,
        "deletable": obj.updateable,
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }


def _global_describe(server: Org, version: str) -> dict[str, Any]:
    sobjects = [_object_summary(o, version) for o in server.objects.values()]
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}


def _resources(version: str) -> dict[str, str]:
    base = f"/services/data/v{version}"
    names = ("sobjects", "query", "queryAll", "limits", "tooling", "composite")
    return {name: f"{base}/{name}" for name in names}
