"""The Composite resource: several REST subrequests in one call, answered side by side.

``POST /services/data/vXX.X/composite`` with ``{"allOrNone": false, "compositeRequest":
[{"method", "url", "referenceId"}]}`` answers 200 with ``{"compositeResponse": [{"body",
"httpHeaders", "httpStatusCode", "referenceId"}]}``, one entry per subrequest in order, each
with the status and body its own request would have had. The entire series counts as a single
call toward the API limits; at most 25 subrequests; available from API version 38.0
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm,
and the Composite Subrequest Result of
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite.htm).

The sandbox serves the subrequests a sync sends this way, an sObject's describe; any other
subrequest is answered in its own slot with 400 rather than served half-right.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from milestones.sandbox.server.http import Request, Response, json_response

MAX_SUBREQUESTS = 25
FIRST_VERSION = 38.0
_DESCRIBE = re.compile(r"^/services/data/v(\d+\.\d+)/sobjects/(\w+)/describe/?$")
Describe = Callable[[Request, str, str], Response]


def composite(describe: Describe) -> Callable[[Request, str], Response]:
    """The handler of ``POST .../composite``, serving describe subrequests with ``describe``."""

    def handle(req: Request, version: str) -> Response:
        if float(version) < FIRST_VERSION:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            body = req.json()
        except ValueError as exc:
            return _error(400, "JSON_PARSER_ERROR", f"Unexpected character in the body: {exc}")
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subrequests, list) or not subrequests:
            return _error(400, "INVALID_INPUT", "compositeRequest must be a non-empty array")
        if len(subrequests) > MAX_SUBREQUESTS:
            return _error(
                400, "INVALID_INPUT", f"a composite request takes at most {MAX_SUBREQUESTS}"
            )
        results = [_answer(req, sub, describe) for sub in subrequests]
        if any(r is None for r in results):
            return _error(400, "INVALID_INPUT", "every subrequest needs method, url, referenceId")
        return json_response(200, {"compositeResponse": results})

    return handle


def _answer(req: Request, sub: Any, describe: Describe) -> dict[str, Any] | None:
    if not isinstance(sub, dict):
        return None
    method, url, reference = sub.get("method"), sub.get("url"), sub.get("referenceId")
    if not (isinstance(method, str) and isinstance(url, str) and isinstance(reference, str)):
        return None
    match = _DESCRIBE.match(url)
    if method != "GET" or match is None:
        status, payload, headers = 400, _errors("INVALID_INPUT", "not served by the sandbox"), {}
    else:
        inner = Request("GET", url, req.headers, b"")
        response = describe(inner, match.group(1), match.group(2))
        status = response.status
        payload = json.loads(response.body) if response.body else None
        headers = {k: v for k, v in response.headers if k.lower() != "content-type"}
    return {
        "body": payload,
        "httpHeaders": headers,
        "httpStatusCode": status,
        "referenceId": reference,
    }


def _errors(code: str, message: str) -> list[dict[str, str]]:
    return [{"errorCode": code, "message": message}]


def _error(status: int, code: str, message: str) -> Response:
    return json_response(status, _errors(code, message))
