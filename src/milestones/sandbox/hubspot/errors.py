"""HubSpot's error bodies (reference/hubspot-api.md §6.2, §6.4) and response helpers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from milestones.sandbox.server.http import Response, json_response

JSON = "application/json;charset=utf-8"

# 401 for a missing or wrong token; category INVALID_AUTHENTICATION (reference §6.4).
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def correlation_id() -> str:
    return str(uuid.uuid4())


def ok(status: int, payload: Any) -> Response:
    return json_response(status, payload, JSON)


def error(status: int, category: str, message: str, **extra: Any) -> Response:
    """The standard error shape: status, message, correlationId, category (+ extras)."""
    body = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
        **extra,
    }
    return json_response(status, body, JSON)


def validation(message: str, **extra: Any) -> Response:
    return error(400, "VALIDATION_ERROR", message, **extra)


def not_found(message: str) -> Response:
    return error(404, "OBJECT_NOT_FOUND", message)


def unauthorized() -> Response:
    return error(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)


def ten_secondly(portal_id: int) -> Response:
    """Real ten-secondly 429 (hubspot-api-python#117, reference §6.2); no Retry-After."""
    return json_response(
        429,
        {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": "TEN_SECONDLY_ROLLING",
            "groupName": f"publicapi:private-app-api-calls-ten-secondly:{portal_id}",
        },
        JSON,
    )


def daily() -> Response:
    """Documented daily-limit 429 (reference §6.2)."""
    return json_response(
        429,
        {
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": "DAILY",
            "requestId": correlation_id(),
        },
        JSON,
    )


def search_secondly() -> Response:
    """Real search 429: ``category`` RATE_LIMITS, no errorType/policyName (reference §6.2)."""
    return error(429, "RATE_LIMITS", "You have reached your secondly limit.")


def property_errors(
    problems: list[tuple[str, str]], codes: list[str | None] | None = None
) -> Response:
    """Whole-batch 400 for unknown, read-only or invalid property values (reference §1.4).

    The message embeds a JSON list of ``{isValid, message, error, name}``, as HubSpot's
    format-rule refusals do (crm-api-changes-2026.md §2.2); ``codes`` gives each
    problem's ``error`` when it is not derived from the message.
    """
    details = [
        {
            "isValid": False,
            "message": message,
            "error": (codes[n] if codes else None)
            or ("PROPERTY_DOESNT_EXIST" if "does not exist" in message else "INVALID_VALUE"),
            "name": name,
            "localizedErrorMessage": message,
        }
        for n, (name, message) in enumerate(problems)
    ]
    return validation(f"Property values were not valid: {json.dumps(details)}")


def rule_error(record_id: str, violations: list[Any]) -> dict[str, Any]:
    """The per-input ``VALIDATION_ERROR`` of a 2026-09 write that breaks validation rules.

    ``context`` names the input (``ids``, as every per-input error) and the properties.
    """
    body = batch_error("VALIDATION_ERROR", "; ".join(v.message for v in violations), [record_id])
    body["context"]["propertyName"] = list(dict.fromkeys(v.name for v in violations))
    return body


def rule_refusal(record_id: str, violations: list[Any]) -> Response:
    """A single 2026-09 write refused by validation rules: 400 with the same error."""
    body = rule_error(record_id, violations)
    body["correlationId"] = correlation_id()
    return json_response(400, body, JSON)


def batch_error(category: str, message: str, ids: list[str], **extra: Any) -> dict[str, Any]:
    """One ``StandardError`` inside a 207 body."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": {"ids": ids},
        "errors": [],
        "links": {},
        **extra,
    }
