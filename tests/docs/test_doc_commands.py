"""Every `milestones ...` command line in the docs parses: its command and options exist."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import click
import pytest

from milestones.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
_FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)
_CALL = re.compile(r"(?:^|[\s/=])milestones\s+([a-z-].*)$")
_SHELL_END = re.compile(r"\s(?:#|\||>>?|&&|2>&1)(?:\s|$).*$")


def command_lines(text: str) -> list[list[str]]:
    """The argument lists of the `milestones` calls inside fenced code blocks."""
    calls = []
    for block in _FENCE.findall(text):
        for line in block.splitlines():
            match = _CALL.search(line)
            if match and not line.lstrip().startswith("#"):
                args = _SHELL_END.sub("", " " + match.group(1)).strip()
                calls.append(shlex.split(args))
    return calls


def parse(args: list[str]) -> None:
    """Parse like the real command line, without running anything."""
    try:
        ctx = cli.make_context("milestones", list(args))
        with warnings.catch_warnings():  # protected_args: the command name, until Click 9
            warnings.simplefilter("ignore", DeprecationWarning)
            remaining = [*ctx.protected_args, *ctx.args]
        name, command, rest = cli.resolve_command(ctx, remaining)
        assert command is not None
        command.make_context(name or "", rest, parent=ctx)
    except click.BadParameter:
        pass  # a value the example leaves to the shell, e.g. "$(date ...)"


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_documented_command_lines_parse(doc: Path) -> None:
    calls = command_lines(doc.read_text(encoding="utf-8"))
    if doc.name != "configuration.md":
        assert len(calls) >= 3, f"{doc.name}: no command lines found"
    for args in calls:
        if args and args[0] in ("demo", "sandbox") and args[0] not in cli.lazy_commands:
            continue  # provided by another part of the package as it lands
        try:
            parse(args)
        except click.UsageError as exc:
            pytest.fail(f"{doc.name}: `milestones {' '.join(args)}`: {exc.format_message()}")


def test_the_parser_catches_a_misplaced_option() -> None:
    with pytest.raises(click.UsageError, match="No such option"):
        parse(["report", "--no-such-option"])
    assert ["--quiet", "report"] in command_lines("```sh\nmilestones --quiet report > x\n```\n")
