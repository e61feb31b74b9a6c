"""A parser for the subset of SOQL the sandbox serves.

Supported: `SELECT` field lists (dotted parent fields such as `Account.Name`, one level of
parent-to-child subqueries such as `(SELECT ContactId FROM OpportunityContactRoles)`, or a
lone `COUNT()`), `FROM` one object, `WHERE` with AND/OR/NOT and parentheses, the comparison
operators `= != <> < <= > >=`, `IN`/`NOT IN`, `LIKE`, `NULL`, `TRUE`/`FALSE`, numbers,
string literals with SOQL's backslash escapes, unquoted date and datetime literals (`Z` or
`+hh:mm`/`-hh:mm`, optional milliseconds), the relative date literals `TODAY`,
`YESTERDAY`, `TOMORROW`, `LAST_N_DAYS:n`, `NEXT_N_DAYS:n` and `N_DAYS_AGO:n`,
`ORDER BY` several fields with `ASC`/`DESC` and `NULLS FIRST|LAST`, `LIMIT` and `OFFSET`.
Keywords and names are case-insensitive.

Like real SOQL, and unlike SQL, AND and OR may not be mixed at one level without
parentheses, a literal may not stand on the left of an operator, and quote doubling is no
escape (reference/salesforce-api.md, section 1.6). Anything else raises `SoqlError` with
`MALFORMED_QUERY` and a message in Salesforce's "ERROR at Row:1:Column:N" style. Field
names are checked later, against a schema, by `salesforce.soql.evaluator`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from milestones.sandbox.salesforce.soql.lexer import (
    MALFORMED_QUERY,
    DateTimeValue,
    DateValue,
    RelativeDate,
    SoqlError,
    StringValue,
    Token,
    format_datetime,
    malformed,
    parse_datetime,
    tokenize,
)

__all__ = [
    "MALFORMED_QUERY",
    "BoolOp",
    "Comparison",
    "DateTimeValue",
    "DateValue",
    "Not",
    "OrderItem",
    "Query",
    "RelativeDate",
    "SoqlError",
    "StringValue",
    "format_datetime",
    "parse",
    "parse_datetime",
]


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Any  # StringValue, DateValue, DateTimeValue, int, float, bool, None or tuple


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND or OR
    operands: tuple[Any, ...]


@dataclass(frozen=True)
class OrderItem:
    path: tuple[str, ...]
    descending: bool = False
    nulls_last: bool = False


@dataclass(frozen=True)
class Query:
    fields: tuple[tuple[str, ...], ...]
    sobject: str
    where: Any = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int = 0
    count_only: bool = False
    text: str = field(default="", compare=False)
    subqueries: tuple[Query, ...] = ()  # parent-to-child: sobject is the relationship name


def parse(text: str) -> Query:
    """Parse one SOQL statement into a `Query`, or raise `SoqlError`."""
    return _Parser(text).query()


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    # token helpers ---------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def is_keyword(self, *words: str) -> bool:
        return self.token.kind == "ident" and self.token.text.upper() in words

    def advance(self) -> Token:
        token = self.token
        self.pos += 1
        return token

    def unexpected(self) -> SoqlError:
        shown = self.token.text or "<EOF>"
        return malformed(self.text, self.token.offset, f"unexpected token: '{shown}'")

    def expect_keyword(self, word: str) -> None:
        if not self.is_keyword(word):
            raise self.unexpected()
        self.advance()

    def expect(self, kind: str) -> Token:
        if self.token.kind != kind:
            raise self.unexpected()
        return self.advance()

    def name(self) -> tuple[str, ...]:
        if self.token.kind != "ident" or self.token.text.upper() in _RESERVED:
            raise self.unexpected()
        return tuple(self.advance().text.split("."))

    # grammar ---------------------------------------------------------------------
    def query(self, nested: bool = False) -> Query:
        self.expect_keyword("SELECT")
        fields, count_only, subqueries = self.select_list(nested)
        self.expect_keyword("FROM")
        sobject = self.name()
        if len(sobject) != 1:
            raise malformed(self.text, self.tokens[self.pos - 1].offset, "invalid object name")
        where = None
        if self.is_keyword("WHERE"):
            self.advance()
            where = self.condition()
        order_by: tuple[OrderItem, ...] = ()
        if self.is_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order_by = self.order_list()
        limit = self.count_clause("LIMIT")
        offset = self.count_clause("OFFSET") or 0
        if self.token.kind != ("rparen" if nested else "eof"):
            raise self.unexpected()
        return Query(
            fields, sobject[0], where, order_by, limit, offset, count_only, self.text, subqueries
        )

    def select_list(
        self, nested: bool
    ) -> tuple[tuple[tuple[str, ...], ...], bool, tuple[Query, ...]]:
        if self.is_keyword("COUNT") and self.tokens[self.pos + 1].kind == "lparen":
            self.advance()
            self.advance()
            self.expect("rparen")
            return (), True, ()
        fields: list[tuple[str, ...]] = []
        subqueries: list[Query] = []
        while True:
            if self.token.kind == "lparen" and not nested:
                self.advance()
                subqueries.append(self.query(nested=True))
                self.expect("rparen")
            else:
                fields.append(self.name())
            if self.token.kind != "comma":
                return tuple(fields), False, tuple(subqueries)
            self.advance()

    def count_clause(self, word: str) -> int | None:
        if not self.is_keyword(word):
            return None
        self.advance()
        token = self.expect("number")
        if not isinstance(token.value, int) or token.value < 0:
            raise malformed(self.text, token.offset, f"unexpected token: '{token.text}'")
        return int(token.value)

    def order_list(self) -> tuple[OrderItem, ...]:
        items = [self.order_item()]
        while self.token.kind == "comma":
            self.advance()
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        path = self.name()
        descending = False
        if self.is_keyword("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls_last = descending
        if self.is_keyword("NULLS"):
            self.advance()
            if not self.is_keyword("FIRST", "LAST"):
                raise self.unexpected()
            nulls_last = self.advance().text.upper() == "LAST"
        return OrderItem(path, descending, nulls_last)

    def condition(self) -> Any:
        """A chain of terms joined by one conjunction; mixing needs parentheses."""
        first = self.term()
        if not self.is_keyword("AND", "OR"):
            return first
        joiner = self.token.text.upper()
        operands = [first]
        while self.is_keyword("AND", "OR"):
            if self.token.text.upper() != joiner:
                raise self.unexpected()
            self.advance()
            operands.append(self.term())
        return BoolOp(joiner, tuple(operands))

    def term(self) -> Any:
        if self.is_keyword("NOT"):
            self.advance()
            return Not(self.term())
        if self.token.kind == "lparen":
            self.advance()
            inner = self.condition()
            self.expect("rparen")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        path = self.name()
        if self.token.kind == "op":
            op = self.advance().value
            return Comparison(path, op, self.literal())
        if self.is_keyword("LIKE"):
            self.advance()
            token = self.expect("string")
            return Comparison(path, "LIKE", token.value)
        op = "IN"
        if self.is_keyword("NOT"):
            self.advance()
            op = "NOT IN"
        if not self.is_keyword("IN"):
            raise self.unexpected()
        self.advance()
        return Comparison(path, op, self.literal_list())

    def literal_list(self) -> tuple[Any, ...]:
        self.expect("lparen")
        if self.is_keyword("SELECT"):
            raise malformed(self.text, self.token.offset, "semi-join subqueries are not supported")
        values = [self.literal()]
        while self.token.kind == "comma":
            self.advance()
            values.append(self.literal())
        self.expect("rparen")
        return tuple(values)

    def literal(self) -> Any:
        token = self.token
        if token.kind in ("string", "number", "date", "datetime"):
            self.advance()
            return token.value
        if self.is_keyword("NULL", "TRUE", "FALSE"):
            self.advance()
            return {"NULL": None, "TRUE": True, "FALSE": False}[token.text.upper()]
        if self.is_keyword(*DAY_LITERALS):
            self.advance()
            return RelativeDate(token.text.upper())
        if self.is_keyword(*N_DAY_LITERALS):
            self.advance()
            self.expect("colon")
            count = self.expect("number")
            if not isinstance(count.value, int) or count.value < 0:
                raise malformed(self.text, count.offset, f"unexpected token: '{count.text}'")
            return RelativeDate(token.text.upper(), count.value)
        raise self.unexpected()


DAY_LITERALS = ("TODAY", "YESTERDAY", "TOMORROW")
N_DAY_LITERALS = ("LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO")
_RESERVED = frozenset(
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "NULL",
        "TRUE",
        "FALSE",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "LIMIT",
        "OFFSET",
        "GROUP",
        "HAVING",
        "INCLUDES",
        "EXCLUDES",
    ]
)
