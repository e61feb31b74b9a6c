"""The property-validations API (2026-09): read and set a portal's format rules.

``GET /crm/property-validations/2026-09/{objectTypeId}``: every property with rules,
``{"results": [{"propertyName", "propertyValidationRules": [rule, ...]}]}``;
``GET .../{propertyName}``: ``{"results": [rule, ...]}`` (empty when it has none);
``GET .../{propertyName}/rule-type/{ruleType}``: one rule;
``PUT .../{propertyName}/rule-type/{ruleType}`` with ``{"ruleArguments": [...],
"shouldApplyNormalization"?}``: 204. A rule is ``{"ruleType", "ruleArguments",
"shouldApplyNormalization"}``; arguments are strings. Conditional-required rules are not
readable here (crm-api-changes-2026.md §2.2).
"""

from __future__ import annotations

from milestones.sandbox.hubspot import errors as err
from milestones.sandbox.hubspot.portal import Portal
from milestones.sandbox.hubspot.rules import FormatRule, check_arguments
from milestones.sandbox.hubspot.values import property_type
from milestones.sandbox.server.http import Request, Response


def all_rules(srv: Portal, req: Request, kind: str) -> Response:
    results = [
        {"propertyName": name, "propertyValidationRules": [r.as_json() for r in rules.values()]}
        for name, rules in srv.rules.format.get(kind, {}).items()
        if rules
    ]
    return err.ok(200, {"results": results})


def _missing(srv: Portal, kind: str, name: str) -> Response | None:
    if property_type(srv.world, kind, name) is None:
        return err.not_found(f"Unable to find property {name}")
    return None


def property_rules(srv: Portal, req: Request, kind: str, name: str) -> Response:
    missing = _missing(srv, kind, name)
    if missing is not None:
        return missing
    return err.ok(200, {"results": [r.as_json() for r in srv.rules.of(kind, name)]})


def get_rule(srv: Portal, req: Request, kind: str, name: str, rule_type: str) -> Response:
    missing = _missing(srv, kind, name)
    if missing is not None:
        return missing
    found = next((r for r in srv.rules.of(kind, name) if r.rule_type == rule_type), None)
    if found is None:
        return err.not_found(f"Property {name} has no {rule_type} validation rule")
    return err.ok(200, found.as_json())


def put_rule(srv: Portal, req: Request, kind: str, name: str, rule_type: str) -> Response:
    missing = _missing(srv, kind, name)
    if missing is not None:
        return missing
    body = req.json() or {}
    arguments = body.get("ruleArguments")
    if not isinstance(arguments, list):
        return err.validation("Missing required field ruleArguments")
    problem = check_arguments(rule_type, arguments)
    if problem:
        return err.validation(problem)
    normalize = bool(body.get("shouldApplyNormalization", False))
    srv.rules.put(kind, name, FormatRule(rule_type, tuple(arguments), normalize))
    return Response(204)
