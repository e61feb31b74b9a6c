"""A portal's property validation rules, and the check of a write against them.

Two kinds (reference/crm-api-changes-2026.md §2.2):

- format rules per (object kind, property), as HubSpot's property-validations API models
  them: a ``ruleType`` with string ``ruleArguments``. The sandbox enforces ``REGEX`` (the
  whole value must match the pattern), ``MAX_LENGTH`` and ``MIN_LENGTH``. HubSpot has
  applied format rules to API writes on every version since 2023.
- conditional-required rules: "when ``when`` is ``equals``, ``name`` is required". They
  are not readable through the property-validations API and apply only on 2026-09 paths.

A write is checked on the values after it: what the input writes (``""`` clears), else
what the record holds. Empty values pass format rules; they fail a required rule.
Format rules are checked on the properties the input writes; a conditional rule when the
input writes either of its two properties.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ENFORCED_RULE_TYPES = ("REGEX", "MAX_LENGTH", "MIN_LENGTH")
# Every rule type HubSpot's property-validations API names (spec enum, 2026-09).
KNOWN_RULE_TYPES = frozenset(
    {
        "AFTER_DATETIME_DURATION", "AFTER_DURATION", "ALPHANUMERIC", "BEFORE_DATETIME_DURATION",
        "BEFORE_DURATION", "DAYS_OF_WEEK", "DECIMAL", "DOMAIN", "EMAIL", "EMAIL_ALLOWED_DOMAINS",
        "EMAIL_BLOCKED_DOMAINS", "END_DATE", "END_DATETIME", "FORMAT", "MAX_LENGTH", "MAX_NUMBER",
        "MIN_LENGTH", "MIN_NUMBER", "PHONE_NUMBER_WITH_EXPLICIT_COUNTRY_CODE", "REGEX",
        "SPECIAL_CHARACTERS", "START_DATE", "START_DATETIME", "URL", "URL_ALLOWED_DOMAINS",
        "URL_BLOCKED_DOMAINS", "WHITESPACE",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FormatRule:
    rule_type: str
    arguments: tuple[str, ...]
    normalize: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "ruleType": self.rule_type,
            "ruleArguments": list(self.arguments),
            "shouldApplyNormalization": self.normalize,
        }

    def passes(self, value: str) -> bool:
        if self.rule_type == "REGEX":
            return re.fullmatch(self.arguments[0], value) is not None
        limit = int(self.arguments[0])
        return len(value) <= limit if self.rule_type == "MAX_LENGTH" else len(value) >= limit


@dataclass(frozen=True)
class RequiredWhen:
    name: str
    when: str
    equals: str


@dataclass(frozen=True)
class Violation:
    """One broken rule: the property, the rule, HubSpot-style wording and error code."""

    name: str
    rule: str
    message: str
    code: str


def check_arguments(rule_type: str, arguments: list[Any]) -> str | None:
    """Why ``arguments`` cannot make a rule of ``rule_type``, or None."""
    if rule_type not in KNOWN_RULE_TYPES:
        return f"Unknown rule type {rule_type!r}"
    if rule_type not in ENFORCED_RULE_TYPES:
        return f"The sandbox enforces only {', '.join(ENFORCED_RULE_TYPES)} rules"
    if len(arguments) != 1 or not isinstance(arguments[0], str):
        return f"A {rule_type} rule takes one string argument"
    if rule_type == "REGEX":
        try:
            re.compile(arguments[0])
        except re.error as exc:
            return f"Invalid regular expression {arguments[0]!r}: {exc}"
    elif not arguments[0].isdigit():
        return f"A {rule_type} rule takes a whole number, not {arguments[0]!r}"
    return None


class Rules:
    """The rules of one portal, per world kind."""

    def __init__(self) -> None:
        self.format: dict[str, dict[str, dict[str, FormatRule]]] = {}
        self.required: dict[str, list[RequiredWhen]] = {}

    @property
    def active(self) -> bool:
        """Whether any rule is set (writes skip the check otherwise)."""
        return bool(self.format or self.required)

    def put(self, kind: str, name: str, rule: FormatRule) -> None:
        self.format.setdefault(kind, {}).setdefault(name, {})[rule.rule_type] = rule

    def of(self, kind: str, name: str) -> list[FormatRule]:
        return list(self.format.get(kind, {}).get(name, {}).values())

    def require_when(self, kind: str, name: str, when: str, equals: str) -> None:
        self.required.setdefault(kind, []).append(RequiredWhen(name, when, equals))

    def check(
        self,
        kind: str,
        written: dict[str, str | None],
        current: Callable[[str], str | None],
        conditional: bool,
    ) -> list[Violation]:
        """The rules a write breaks; ``written``: wire values after it, per written name."""
        out: list[Violation] = []
        for name, value in written.items():
            for rule in self.of(kind, name):
                if value and not rule.passes(value):
                    message = f'Property "{name}" failed its {rule.rule_type} validation rule'
                    out.append(Violation(name, rule.rule_type, message, "INVALID_FORMAT"))
        if not conditional:
            return out

        def after(name: str) -> str | None:
            return written[name] if name in written else current(name)

        for req in self.required.get(kind, []):
            touched = req.name in written or req.when in written
            if touched and after(req.when) == req.equals and not after(req.name):
                message = f'Property "{req.name}" is required when "{req.when}" is "{req.equals}"'
                out.append(Violation(req.name, "REQUIRED", message, "REQUIRED"))
        return out
