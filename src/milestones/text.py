"""Text from the CRM is data: the one place that makes untrusted text safe to show a person.

Anyone can type into a CRM (a public web form creates a contact with whatever name the visitor
types), so a name, a deal name, a stage label or an error message may carry terminal escape
sequences, a bell, a carriage return that overwrites a line, a newline that forges a log line,
or bidi controls that reorder what a reader sees. ``printable`` shows every such character
visibly (``\\x1b``, ``\\n``, ``<U+202E>``) and leaves printable text, in any script, as it is;
with a ``limit`` it also cuts a long value with an ellipsis.

Every human text output goes through it: the CLI's one writer (``cli/app.py`` ``say``), the
terminal report's cells (``report/text.py``) and text-format log lines (``logs.py``).
Machine outputs stay machine outputs: ``json_text`` is JSON whose strings round-trip exactly,
with the few characters a terminal would act on written as ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import json
import re
import traceback
import unicodedata
from typing import Any

NAME_LIMIT = 80
"""Terminal width of a name, deal name, stage label or owner name before it is cut."""
MESSAGE_LIMIT = 400
"""Length of an error or refusal message before it is cut."""
ELLIPSIS = "…"

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Categories a terminal acts on or hides: controls (C0, DEL, C1), format characters (bidi
# overrides and isolates, zero-width spaces and joiners, BOM), lone surrogates, and the line
# and paragraph separators some terminals and editors treat as line breaks.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NON_ASCII = re.compile("[^\x00-\x7e]")


def _shown(char: str) -> str:
    """One character as a person should see it: itself, or a visible escape."""
    if char in _NAMED:
        return _NAMED[char]
    if unicodedata.category(char) not in _HIDDEN_CATEGORIES:
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0x9F else f"<U+{code:04X}>"


def printable(value: object, limit: int | None = None) -> str:
    """``value`` as one line of printable text; cut to ``limit`` characters with an ellipsis.

    Control characters (C0, DEL, C1, including ESC, BEL, NUL, CR, LF and TAB), bidi
    overrides and isolates, zero-width and other invisible format characters become visible
    escapes, so a value can neither act on a terminal nor start a new line. Printable text,
    names in any script included, is unchanged. ``None`` is the empty string.
    """
    text = "" if value is None else str(value)
    if not any(_is_hidden(char) for char in text):
        shown = text
    else:
        shown = "".join(_shown(char) for char in text)
    if limit is not None and len(shown) > limit:
        return _cut(shown, limit)
    return shown


def _is_hidden(char: str) -> bool:
    return char in _NAMED or unicodedata.category(char) in _HIDDEN_CATEGORIES


def _cut(shown: str, limit: int) -> str:
    """``shown`` cut to at most ``limit`` characters, never inside an escape."""
    keep = max(limit - 1, 0)
    head = shown[:keep]
    # Do not leave half an escape (``\x1`` or ``<U+20``) before the ellipsis.
    head = re.sub(r"(\\x[0-9a-f]?|\\|<(U\+[0-9A-F]{0,6})?)$", "", head)
    return head + ELLIPSIS


def traceback_text(error: BaseException) -> str:
    """The traceback of ``error`` with each exception's message made ``printable``.

    The line breaks left are Python's own (frames, source lines, the chain), so a message
    from the CRM cannot start a line of its own.
    """
    text = "".join(traceback.format_exception(error))
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = str(current)
        if message and printable(message) != message:
            text = text.replace(message, printable(message))
        current = current.__cause__ or current.__context__
    return text


def json_text(data: Any, indent: int | None = None) -> str:
    """``data`` as JSON that round-trips exactly and that a terminal cannot act on.

    ``json.dumps`` already escapes C0 controls; the other characters ``printable`` would
    show (DEL, C1, bidi and zero-width controls, separators) are written as ``\\uXXXX``
    escapes too. Printable non-ASCII text stays readable.
    """
    encoded = json.dumps(data, indent=indent, default=str, ensure_ascii=False)
    return _NON_ASCII.sub(_json_escape, encoded)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if not _is_hidden(char):
        return char
    return json.dumps(char)[1:-1]  # ASCII-only: \uXXXX, a surrogate pair above the BMP


__all__ = [
    "ELLIPSIS",
    "MESSAGE_LIMIT",
    "NAME_LIMIT",
    "json_text",
    "printable",
    "traceback_text",
]
