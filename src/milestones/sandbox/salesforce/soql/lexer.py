"""The lexer of the sandbox's SOQL subset: tokens, literals and Salesforce datetimes.

String literals decode SOQL's backslash escapes (`\\n \\t \\' \\\\ \\uXXXX`, and `\\%` /
`\\_` kept literal for LIKE); anything else after a backslash is an error, and quote
doubling is no escape (reference/salesforce-api.md, section 1.6). Date literals are
`YYYY-MM-DD`; datetime literals need `Z` or an `+hh:mm`/`-hh:mm` offset and may carry
milliseconds. Errors are `SoqlError`s in Salesforce's "ERROR at Row:1:Column:N" style.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
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
class RelativeDate:
    """A date literal such as TODAY or LAST_N_DAYS:30 (UTC days, evaluated at query time)."""

    name: str
    n: int | None = None


@dataclass(frozen=True)
class DateTimeValue:
    epoch_ms: int  # UTC milliseconds since 1970, the form rows compare in


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\dT:])")
_NUMBER = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?![\w.])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCT = {"(": "lparen", ")": "rparen", ",": "comma", ":": "colon"}


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
