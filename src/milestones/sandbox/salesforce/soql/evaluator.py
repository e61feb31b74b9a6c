"""Evaluates parsed SOQL (`salesforce.soql.parser.Query`) over rows held as dicts.

Getters return comparable values: ids as 18-character strings, datetimes as epoch
milliseconds (UTC), dates as `YYYY-MM-DD` strings, booleans, numbers, strings or None.
Field names are resolved through a caller-supplied `Resolver`, which knows the schema
(and field-level security) and turns a
dotted path into a getter; unknown names raise `INVALID_FIELD` like Salesforce does.

Semantics follow SOQL rather than SQL: text comparisons and LIKE ignore case, `= null`
and `!= null` test for nulls, a null never satisfies `<`/`>`, ids may be given in their
15- or 18-character form, and ascending order puts nulls first unless told otherwise.
A compiled query is evaluated once; callers keep the resulting row list for paging.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from milestones.sandbox.salesforce.ids import normalize_id
from milestones.sandbox.salesforce.soql.parser import (
    MALFORMED_QUERY,
    Comparison,
    DateTimeValue,
    DateValue,
    Not,
    Query,
    RelativeDate,
    SoqlError,
    StringValue,
)

INVALID_FIELD = "INVALID_FIELD"
DAY_MS = 86_400_000
INVALID_QUERY_FILTER_OPERATOR = "INVALID_QUERY_FILTER_OPERATOR"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"

Row = dict[str, Any]
Getter = Callable[[Row], Any]
Predicate = Callable[[Row], bool]

TEXT_TYPES = frozenset(
    {"string", "picklist", "email", "phone", "textarea", "url", "multipicklist", "combobox"}
)
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


@dataclass(frozen=True)
class ResolvedField:
    """A selectable field: canonical path (e.g. ("Account", "Name")), type and getter."""

    path: tuple[str, ...]
    type: str
    get: Getter
    filterable: bool = True


class Resolver(Protocol):
    def resolve(self, sobject: str, path: Sequence[str]) -> ResolvedField:
        """Return the field, or raise SoqlError(INVALID_FIELD, ...)."""
        ...


@dataclass(frozen=True)
class CompiledQuery:
    query: Query
    sobject: str
    select: tuple[ResolvedField, ...]
    predicate: Predicate | None
    order: tuple[tuple[ResolvedField, bool, bool], ...]

    def run(self, rows: Iterable[Row]) -> list[Row]:
        """Filter, sort, offset and limit the rows; returns a new list."""
        predicate = self.predicate
        result = [row for row in rows if predicate(row)] if predicate else list(rows)
        directions = {descending for _, descending, _ in self.order}
        if len(directions) == 1:
            # One direction: a single sort on a tuple of keys.
            keys = [_sort_key(*item) for item in self.order]
            result.sort(key=lambda row: tuple(k(row) for k in keys), reverse=directions.pop())
        else:
            # Stable multi-pass sort: last key first, so earlier keys take precedence.
            for resolved, descending, nulls_last in reversed(self.order):
                result.sort(key=_sort_key(resolved, descending, nulls_last), reverse=descending)
        offset = self.query.offset
        end = None if self.query.limit is None else offset + self.query.limit
        return result[offset:end] if offset or end is not None else result


def compile_query(
    query: Query, sobject: str, resolver: Resolver, now_ms: int | None = None
) -> CompiledQuery:
    """Resolve every name in the query and build its predicate and sort keys.

    `sobject` is the canonical object name (the caller has already checked the type);
    `now_ms` anchors relative date literals such as TODAY (default: the wall clock).
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if query.offset > 2000:
        # OFFSET tops out at 2,000 (reference/salesforce-api.md, section 1.7).
        raise SoqlError(NUMBER_OUTSIDE_VALID_RANGE, "Maximum SOQL offset allowed is 2000")
    select = tuple(resolver.resolve(sobject, path) for path in query.fields)
    seen: set[tuple[str, ...]] = set()
    for resolved in select:
        if resolved.path in seen:
            raise SoqlError(MALFORMED_QUERY, f"duplicate field selected: {'.'.join(resolved.path)}")
        seen.add(resolved.path)
    predicate = _compile_condition(query.where, sobject, resolver, now) if query.where else None
    order = tuple(
        (resolver.resolve(sobject, item.path), item.descending, item.nulls_last)
        for item in query.order_by
    )
    return CompiledQuery(query, sobject, select, predicate, order)


def _compile_condition(node: Any, sobject: str, resolver: Resolver, now: int) -> Predicate:
    if isinstance(node, Comparison):
        resolved = resolver.resolve(sobject, node.path)
        if isinstance(node.value, RelativeDate):
            return _compile_relative(node.op, resolved, node.value, now)
        return _compile_comparison(node, resolved)
    if isinstance(node, Not):
        inner = _compile_condition(node.operand, sobject, resolver, now)
        return lambda row: not inner(row)
    parts = tuple(_compile_condition(operand, sobject, resolver, now) for operand in node.operands)
    if node.op == "AND":
        return lambda row: all(part(row) for part in parts)
    return lambda row: any(part(row) for part in parts)


def _compile_comparison(node: Comparison, resolved: ResolvedField) -> Predicate:
    if not resolved.filterable:
        raise SoqlError(
            INVALID_FIELD, f"field '{resolved.path[-1]}' can not be filtered in a query call"
        )
    get = resolved.get
    if node.op == "LIKE":
        if resolved.type not in TEXT_TYPES and resolved.type not in ID_TYPES:
            raise SoqlError(
                INVALID_FIELD, f"invalid operator on {resolved.type} field: {resolved.path[-1]}"
            )
        pattern = _like_regex(node.value)
        return lambda row: (value := get(row)) is not None and bool(pattern.fullmatch(value))
    if node.op in ("IN", "NOT IN"):
        members = frozenset(_coerce(resolved, value) for value in node.value)
        fold = _folder(resolved)
        if node.op == "IN":
            return lambda row: fold(get(row)) in members
        return lambda row: fold(get(row)) not in members
    return _compile_operator(node.op, resolved, _coerce(resolved, node.value))


def _compile_relative(
    op: str, resolved: ResolvedField, literal: RelativeDate, now: int
) -> Predicate:
    """A date literal is a range of whole UTC days [start, end); operators compare to it."""
    if resolved.type not in ("date", "datetime"):
        raise _type_error(resolved.path[-1], resolved.type)
    today = now - now % DAY_MS
    n = literal.n or 0
    start, end = {
        "TODAY": (today, today + DAY_MS),
        "YESTERDAY": (today - DAY_MS, today),
        "TOMORROW": (today + DAY_MS, today + 2 * DAY_MS),
        "LAST_N_DAYS": (today - n * DAY_MS, today + DAY_MS),
        "NEXT_N_DAYS": (today + DAY_MS, today + (n + 1) * DAY_MS),
        "N_DAYS_AGO": (today - n * DAY_MS, today - (n - 1) * DAY_MS),
    }[literal.name]
    low: Any = start
    high: Any = end
    if resolved.type == "date":
        low, high = (time.strftime("%Y-%m-%d", time.gmtime(b / 1000)) for b in (start, end))
    get = resolved.get
    test = {
        "=": lambda v: low <= v < high,
        "!=": lambda v: not low <= v < high,
        "<": lambda v: v < low,
        "<=": lambda v: v < high,
        ">": lambda v: v >= high,
        ">=": lambda v: v >= low,
    }.get(op)
    if test is None:
        raise SoqlError(MALFORMED_QUERY, f"{op} does not take a date literal")

    def predicate(row: Row) -> bool:
        value = get(row)
        return op == "!=" if value is None else bool(test(value))

    return predicate


def _compile_operator(op: str, resolved: ResolvedField, literal: Any) -> Predicate:
    get = resolved.get
    fold = _folder(resolved)
    if op == "=":
        return lambda row: fold(get(row)) == literal
    if op == "!=":
        return lambda row: fold(get(row)) != literal
    if literal is None:
        return lambda row: False
    if resolved.type == "boolean":
        raise SoqlError(INVALID_FIELD, f"invalid operator on boolean field: {resolved.path[-1]}")
    compare = {
        "<": lambda a: a < literal,
        "<=": lambda a: a <= literal,
        ">": lambda a: a > literal,
        ">=": lambda a: a >= literal,
    }[op]
    return lambda row: (value := fold(get(row))) is not None and compare(value)


def _folder(resolved: ResolvedField) -> Callable[[Any], Any]:
    """How a row value is normalised before comparing (text ignores case)."""
    if resolved.type in TEXT_TYPES:
        return lambda value: value.casefold() if isinstance(value, str) else value
    return _identity


def _identity(value: Any) -> Any:
    return value


def _coerce(resolved: ResolvedField, literal: Any) -> Any:
    """Check a literal against the field's type and return its comparable form."""
    name = resolved.path[-1]
    kind = resolved.type
    if literal is None:
        return None
    if kind in ID_TYPES:
        if not isinstance(literal, StringValue):
            raise _type_error(name, "id")
        normal = normalize_id(literal.text)
        if normal is None:
            raise SoqlError(INVALID_QUERY_FILTER_OPERATOR, f"invalid ID field: {literal.text}")
        return normal
    if kind in TEXT_TYPES:
        if not isinstance(literal, StringValue):
            raise _type_error(name, "string")
        return literal.text.casefold()
    if kind == "boolean" and isinstance(literal, bool):
        return literal
    if kind in NUMBER_TYPES and isinstance(literal, int | float) and not isinstance(literal, bool):
        return literal
    if kind == "date" and isinstance(literal, DateValue):
        return literal.iso
    if kind == "datetime" and isinstance(literal, DateTimeValue):
        return literal.epoch_ms
    raise _type_error(name, {"datetime": "dateTime"}.get(kind, kind))


def _type_error(name: str, wanted: str) -> SoqlError:
    # Salesforce's wording for a literal of the wrong kind, e.g. a quoted date.
    return SoqlError(
        INVALID_FIELD,
        f"value of filter criterion for field '{name}' must be of type {wanted} "
        "and should not be enclosed in quotes"
        if wanted in ("date", "dateTime", "boolean", "double", "int", "currency", "percent")
        else f"value of filter criterion for field '{name}' must be of type {wanted}",
    )


def _like_regex(value: Any) -> re.Pattern[str]:
    """Translate a LIKE pattern: % any run, _ one character, \\% and \\_ literal."""
    if not isinstance(value, StringValue):
        raise SoqlError(MALFORMED_QUERY, "LIKE needs a string literal")
    parts = []
    for index, char in enumerate(value.text):
        if index in value.like_literals:
            parts.append(re.escape(char))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _sort_key(resolved: ResolvedField, descending: bool, nulls_last: bool) -> Callable[[Row], Any]:
    """Key that places nulls where asked whatever the direction of the sort."""
    get = resolved.get
    fold = _folder(resolved)
    # With reverse=True the list is flipped, so the null rank flips too.
    null_rank = 2 if nulls_last != descending else 0

    def key(row: Row) -> tuple[int, Any]:
        value = get(row)
        if value is None:
            return (null_rank, 0)
        return (1, fold(value))

    return key
