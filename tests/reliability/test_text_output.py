"""The one function and the one writer: ``printable``, ``json_text``, log lines, no bypass.

``printable`` shows what a terminal would act on and leaves readable text alone; JSON gives
values back exactly; a text log line keeps a value on its line. The static check proves no
module in ``cli/`` or ``report/`` prints except through the writer in ``cli/app.py``.
"""

from __future__ import annotations

import ast
import io
import json
import logging
from pathlib import Path

import pytest

import milestones
from milestones.logs import configure_logging
from milestones.text import ELLIPSIS, json_text, printable

PACKAGE = Path(milestones.__file__).parent
WRITER = PACKAGE / "cli" / "app.py"
WRITER_FUNCTIONS = {"say", "say_over", "say_error", "write_json"}
PRINTERS = {"echo", "secho", "echo_via_pager", "print", "write", "show", "get_text_stream"}


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;PWNED\x07", "\\x1b]0;PWNED\\x07"),
        ("\x1b]52;c;cm0=\x07", "\\x1b]52;c;cm0=\\x07"),
        ("a\nERROR x", "a\\nERROR x"),
        ("a\rb\tc\x00", "a\\rb\\tc\\x00"),
        ("\x7f\x9b2J", "\\x7f\\x9b2J"),
        ("\u202eexe.pdf\u2066\u2069", "<U+202E>exe.pdf<U+2066><U+2069>"),
        ("a\u200db\u200bc\ufeff", "a<U+200D>b<U+200B>c<U+FEFF>"),
        ("line\u2028sep", "line<U+2028>sep"),
        ("山田 太郎", "山田 太郎"),
        ("Zoë Ñúñez-Ångström", "Zoë Ñúñez-Ångström"),
        ("محمد علي", "محمد علي"),
        (None, ""),
        (42, "42"),
    ],
)
def test_printable_shows_what_a_terminal_would_act_on(raw: object, shown: str) -> None:
    assert printable(raw) == shown
    assert printable(shown) == shown  # already printable: unchanged


def test_a_long_value_is_cut_with_an_ellipsis_never_inside_an_escape() -> None:
    assert printable("x" * 10_000, 80) == "x" * 79 + ELLIPSIS
    assert printable("short", 80) == "short"
    for cut in range(1, 12):
        text = printable("ab\x1b\u202ecd", cut)
        assert len(text) <= cut
        assert not text.rstrip(ELLIPSIS).endswith(("\\", "\\x", "\\x1", "<U+20", "<"))


def test_json_round_trips_and_escapes_what_a_terminal_acts_on() -> None:
    value = "Eve\x1b]0;t\x07\x00\r\n\x9b\u202e\u200d\ud800 山田 Zoë \U0001f600"
    encoded = json_text({"name": value}, indent=2)
    assert json.loads(encoded) == {"name": value}
    assert not any(
        (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u200d"
        for c in encoded
    )
    assert "山田 Zoë \U0001f600" in encoded  # readable text stays readable


def _log(fmt: str, message: str, *args: object) -> str:
    stream = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stderr", stream)
        configure_logging(fmt=fmt)
        logging.getLogger("milestones.sync").warning(message, *args)
    configure_logging()
    return stream.getvalue()


def test_a_text_log_line_keeps_a_value_on_its_line() -> None:
    written = _log("text", "contact %s: %s", "2000052", "x\x1b[2J\nERROR milestones.sync: forged")
    assert written == "WARNING milestones.sync: contact 2000052: x\\x1b[2J\\nERROR " + (
        "milestones.sync: forged\n"
    )


def test_a_json_log_line_gives_the_value_back() -> None:
    value = "x\x1b[2J\nERROR forged\u202e\x9b"
    written = _log("json", "name %s", value)
    assert written.count("\n") == 1
    assert json.loads(written)["message"] == f"name {value}"


def printing_calls(source: str, path: str) -> list[str]:
    """Calls in ``source`` that print without the writer: ``echo``, ``print``, ``.write``...

    Inside ``cli/app.py`` the writer's own functions may print; nothing else may.
    """
    tree = ast.parse(source, path)
    allowed: set[int] = set()
    if path == str(WRITER):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in WRITER_FUNCTIONS:
                allowed.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("click", "sys", "builtins"):
            names = {alias.name for alias in node.names}
            if names & (PRINTERS | {"stdout", "stderr"}):
                found.append(f"{path}:{node.lineno} imports {sorted(names)}")
        if not isinstance(node, ast.Call) or id(node) in allowed:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in PRINTERS:
            found.append(f"{path}:{node.lineno} calls {ast.unparse(func)}")
    return found


def test_no_command_or_report_view_prints_but_through_the_writer() -> None:
    modules = sorted((PACKAGE / "cli").glob("*.py")) + sorted((PACKAGE / "report").glob("*.py"))
    assert WRITER in modules and len(modules) > 10
    found = [hit for path in modules for hit in printing_calls(path.read_text(), str(path))]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "import click\nclick.echo(name)\n",
        "import click\nclick.secho(name, fg='red')\n",
        "print(name)\n",
        "import sys\nsys.stdout.write(name)\n",
        "from click import echo\n",
        "def f(exc):\n    exc.show()\n",
    ],
)
def test_the_bypass_check_sees_a_stray_printer(source: str) -> None:
    assert printing_calls(source, "cli/stray.py")
