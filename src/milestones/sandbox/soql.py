"""A parser for the subset of SOQL the sandbox serves.

Supported: `SELECT` field lists (dotted parent fields such as `Account.Name`, one level of
parent-to-child subqueries such as `(SELECT ContactId FROM OpportunityContactRoles)`, or a
lone `COUNT()`), `FROM` one object, `WHERE` with AND/OR/NOT and parentheses, the comparison
operators `= != <> < <= > >=`, `IN`/`NOT IN`, `LIKE`, `NULL`, `TRUE`/`FALSE`, numbers,
string literals with SOQL's backslash escapes, unquoted date and datetime literals (`Z` or
`+hh:mm`/`-hh:mm`, optional milliseconds), `ORDER BY` several fields with `ASC`/`DESC` and
`NULLS FIRST|LAST`, `LIMIT` and `OFFSET`. Keywords and names are case-insensitive.

Like real SOQL, and unlike SQL, AND and OR may not be mixed at one level without
parentheses, a literal may not stand on the left of an operator, and quote doubling is no
escape (reference/salesforce-api.md, section 1.6). Anything else raises `SoqlError` with
`MALFORMED_QUERY` and a message in Salesforce's "ERROR at Row:1:Column:N" style. Field
names are checked later, against a schema, by `soql_eval`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MALFORMED_QUERY = "MALFORMED_QUERY"


class SoqlError(Exception):
    """A query Salesforce would refuse; `code` is the errorCode of the 400 response."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, date, datetime, op, lparen, rparen, comma, eof
    text: str
    value: Any
    offset: int


@dataclass(frozen=True)
class StringValue:
    """A decoded string literal; `like_literals` are indexes of `\\%` / `\\_` escapes."""

    text: str
    like_literals: frozenset[int] = frozenset()


@dataclass(frozen=True)
class DateValue:
    iso: str  # YYYY-MM-DD


@dataclass(frozen=True)
class DateTimeValue:
    epoch_ms: int  # UTC milliseconds since 1970, the form rows compare in


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


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\dT:])")
_NUMBER = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?![\w.])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCT = {"(": "lparen", ")": "rparen", ",": "comma"}


def position(text: str, offset: int) -> str:
    """Describe an offset the way Salesforce does: `Row:R:Column:C`, both 1-based."""
    row = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"Row:{row}:Column:{column}"


def malformed(text: str, offset: int, detail: str) -> SoqlError:
    return SoqlError(MALFORMED_QUERY, f"ERROR at {position(text, offset)}\n{detail}")


def _read_string(text: str, start: int) -> tuple[StringValue, int]:
    """Decode the quoted literal starting at text[start] == "'"; return it and the end."""
    chars: list[str] = []
    like_literals: set[int] = set()
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "'":
            return StringValue("".join(chars), frozenset(like_literals)), i + 1
        if char != "\\":
            chars.append(char)
            i += 1
            continue
        escape = text[i + 1 : i + 2]
        if escape.lower() in _ESCAPES:
            chars.append(_ESCAPES[escape.lower()])
            i += 2
        elif escape in ("%", "_"):
            like_literals.add(len(chars))
            chars.append(escape)
            i += 2
        elif escape == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
            chars.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise malformed(text, i, f"Invalid string literal: illegal escape sequence \\{escape}")
    raise malformed(text, start, "unterminated string literal")


def _datetime_value(match: re.Match[str]) -> DateTimeValue:
    year, month, day, hour, minute, second, millis, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as exc:
        raise SoqlError(MALFORMED_QUERY, f"invalid datetime literal: {match.group(0)}") from exc
    micros = int((millis or "0").ljust(3, "0")) * 1000
    moment = moment.replace(microsecond=micros)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    moment = moment.replace(tzinfo=UTC)
    return DateTimeValue(int(moment.timestamp()) * 1000 + micros // 1000)


def format_datetime(epoch_ms: int) -> str:
    """Salesforce's wire format for a datetime: UTC, milliseconds, `+0000` offset."""
    # time.gmtime and %-formatting: several times faster than datetime.strftime, and a
    # 2,000-row page formats thousands of these.
    seconds, millis = divmod(epoch_ms, 1000)
    t = time.gmtime(seconds)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000" % (*t[:6], millis)  # noqa: UP031


def parse_datetime(wire: str) -> int:
    """Epoch milliseconds of a wire-format datetime (`...T04:13:15.000+0000` or `Z`)."""
    moment = datetime.strptime(wire.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(moment.timestamp() * 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tokenize(text: str) -> list[Token]:
    """Split a SOQL statement into tokens, raising MALFORMED_QUERY on stray characters."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char == "'":
            value, end = _read_string(text, i)
            tokens.append(Token("string", text[i:end], value, i))
            i = end
            continue
        if char in _PUNCT:
            tokens.append(Token(_PUNCT[char], char, None, i))
            i += 1
            continue
        token, i = _read_other(text, i)
        tokens.append(token)
    tokens.append(Token("eof", "", None, len(text)))
    return tokens


def _read_other(text: str, i: int) -> tuple[Token, int]:
    """Read an operator, a date/datetime literal, a number or a name at text[i]."""
    for op in _OPERATORS:
        if text.startswith(op, i):
            return Token("op", op, "!=" if op == "<>" else op, i), i + len(op)
    if match := _DATETIME.match(text, i):
        return Token("datetime", match.group(0), _datetime_value(match), i), match.end()
    if match := _DATE.match(text, i):
        try:
            datetime.strptime(match.group(0), "%Y-%m-%d")
        except ValueError as exc:
            raise malformed(text, i, f"invalid date literal: {match.group(0)}") from exc
        return Token("date", match.group(0), DateValue(match.group(0)), i), match.end()
    if match := _NUMBER.match(text, i):
        raw = match.group(0)
        number: float | int = float(raw) if "." in raw else int(raw)
        return Token("number", raw, number, i), match.end()
    if match := _IDENT.match(text, i):
        return Token("ident", match.group(0), match.group(0), i), match.end()
    raise malformed(text, i, f"unexpected token: '{text[i]}'")


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
        raise self.unexpected()


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
