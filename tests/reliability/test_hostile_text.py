"""Text from the CRM is data: a stranger's contact name never takes over an admin's terminal.

A hostile world in each sandbox (names, a deal name, a stage label, owner names and a CRM
error message carrying OSC title and OSC 52 sequences, CSI clear-screen and colour codes,
BEL, NUL, CR, LF, a C1 CSI, U+202E, zero-width joiners and a 10 KB name) goes through every
command with text output on pseudo-terminals (nothing stripped as "not a TTY") and with
JSON output: no control, C1, bidi or zero-width character reaches stdout, stderr or a text
log line (the only line breaks are the commands' own), JSON parses and gives the value back
exactly, and names in other scripts are shown as typed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_support import (
    CRM_MESSAGE,
    DEAL_NAME,
    FORGED_LINE,
    LONG_NAME,
    READABLE,
    STAGE_LABEL,
    Planted,
    Printed,
    owner_names_config,
    plant_hostile_text,
    reading_records,
    refusal_of_everything,
    refuse_with_message,
    relabel_stage,
    run_on_terminal,
    unsafe_characters,
    writes,
)
from reliability_support import Crm, Tamper, start_crm

from milestones.text import printable

CONTACTS = 30


@pytest.fixture(scope="module", params=["hubspot", "salesforce"])
def hostile(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Crm, Planted]]:
    """A synced hostile world whose CRM refused two writes with a hostile message."""
    crm = start_crm(request.param, tmp_path_factory.mktemp(request.param), CONTACTS)
    planted = plant_hostile_text(crm)
    crm.config.write_text(crm.config.read_text() + owner_names_config(crm))
    crm.ensure_fields()
    relabel_stage(crm)
    Tamper(crm.server, writes(crm), refuse_with_message(crm), times=1)
    try:
        yield crm, planted
    finally:
        crm.stop()


def _assert_safe(printed: Printed) -> None:
    for stream, text in (("stdout", printed.out), ("stderr", printed.err)):
        assert not unsafe_characters(text), (printed.argv, stream, unsafe_characters(text)[:5])
        assert not FORGED_LINE.search(text), (printed.argv, stream, "a value started a line")


def _text_commands(planted: Planted) -> list[list[str]]:
    people = [planted.mallory, planted.eve, planted.long, planted.deal, *planted.readable]
    return [
        ["sync"],
        ["status"],
        *(["explain", record_id] for record_id in people),
        ["report"],
        ["report", "--owner", "1"],  # no such owner: the error lists the owners' names
        ["stages"],
        ["check"],
        ["fields"],
    ]


def test_text_output_on_a_terminal_shows_hostile_text_visibly(
    hostile: tuple[Crm, Planted],
) -> None:
    crm, planted = hostile
    printed = run_on_terminal(crm, _text_commands(planted))
    for one in printed:
        _assert_safe(one)
    by_command = {one.argv: one for one in printed}
    assert by_command[("sync",)].code == "1"  # finished, with two refusals
    mallory = by_command[("explain", planted.mallory)].out
    assert "Mallory\\x1b]0;PWNED-TITLE\\x07\\x1b[31m Evil\\nERROR milestones.sync" in mallory
    eve = by_command[("explain", planted.eve)].out
    assert "\\x1b]52;c;" in eve and "\\x1b[2J" in eve and "\\x07\\x00" in eve
    assert "Over\\rwrite\\x9b2J<U+202E>" in eve
    long_line = by_command[("explain", planted.long)].out.splitlines()[0]
    assert "…" in long_line and len(long_line) < 200
    for record_id, (first, last) in zip(planted.readable, READABLE, strict=True):
        assert f"{first} {last}:" in by_command[("explain", record_id)].out
    report = by_command[("report",)].out
    assert any(f"{first} {last} (" in report for first, last in READABLE)  # the lists show some
    assert printable(DEAL_NAME)[:40] in by_command[("explain", planted.deal)].out
    assert "Stage\\x1b[31m\\x9b31m" in by_command[("stages",)].out
    assert "Owner\\x1b]52;c;" in by_command[("report",)].out
    assert "Owner\\x1b]52;c;" in by_command[("report", "--owner", "1")].err
    status = by_command[("status",)].out
    assert status.count(printable(CRM_MESSAGE)[:30]) == 2
    assert max(len(line) for one in printed for line in one.out.splitlines()) < 1000


def _json(crm: Crm, *args: str) -> Any:
    outcome = crm.cli(*args, "--json")
    assert not unsafe_characters(outcome.out), (args, unsafe_characters(outcome.out)[:5])
    return json.loads(outcome.out)


def test_json_output_gives_every_value_back_exactly(hostile: tuple[Crm, Planted]) -> None:
    crm, planted = hostile
    if not crm.state.exists():
        crm.cli("sync")
    for record_id, name in planted.names.items():
        assert _json(crm, "explain", record_id)["name"] == name
    assert planted.names[planted.long].endswith(LONG_NAME)
    assert _json(crm, "explain", planted.deal)["name"] == DEAL_NAME
    assert STAGE_LABEL in {row["label"] for row in _json(crm, "stages")["stages"]}
    status = _json(crm, "status")
    assert [row["message"] for row in status["failures"] + status["refusals"]] == [CRM_MESSAGE] * 2
    report = crm.cli("report", "--json").out
    assert not unsafe_characters(report)
    assert any(f"{first} {last}" in report for first, last in READABLE)  # not \u-escaped
    for args in (("check",), ("fields",)):
        assert isinstance(_json(crm, *args), dict)


def _refused(crm: Crm, matches: Any, commands: list[list[str]]) -> list[Printed]:
    tamper = Tamper(crm.server, matches, refusal_of_everything(crm))
    try:
        printed = run_on_terminal(crm, commands)
    finally:
        tamper.remove()
    for one in printed:
        _assert_safe(one)
        assert one.code != "0", one
    return printed


def test_crm_error_messages_stay_on_their_line(hostile: tuple[Crm, Planted]) -> None:
    crm, _ = hostile
    commands = [["sync"], ["stages"], ["--verbose", "stages"], ["check"], ["fields"]]
    sync, stages, verbose_stages, check, fields = _refused(crm, lambda req: True, commands)
    shown = printable(CRM_MESSAGE)[:30]
    for one in (sync, stages, verbose_stages, fields):
        # the command's one error line, or (a sync that kept its stage catalogue from an
        # earlier run, so its first refused call is a pull) the pull's error log line
        lines = [line for line in one.err.splitlines() if f"{crm.provider}: {shown}" in line]
        assert any(line.startswith(("error: ", "ERROR ")) for line in lines), one
    assert "Traceback" in verbose_stages.err
    assert shown in check.out


def test_log_lines_keep_a_crm_message_on_one_line(hostile: tuple[Crm, Planted]) -> None:
    crm, _ = hostile
    commands = [["sync"], ["--verbose", "sync"], ["--log-format", "json", "sync"]]
    text, verbose, as_json = _refused(crm, reading_records(crm), commands)
    shown = printable(CRM_MESSAGE)[:30]
    for one in (text, verbose):
        logged = [line for line in one.err.splitlines() if line.startswith("ERROR ")]
        assert any(shown in line for line in logged), one.err
    lines = as_json.err.splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    others = [line for line in lines if not line.startswith("{")]
    assert all(line.startswith(("sync: ", "\r", "error: ", "(run with")) for line in others), others
    assert any(CRM_MESSAGE in entry["message"] for entry in entries), entries


def test_the_check_of_this_file_can_fail(tmp_path: Path) -> None:
    """The terminal check sees a raw escape, a stray CR and a forged line."""
    assert unsafe_characters("a\x1b[2Jb") == ["'\\x1b'"]
    assert unsafe_characters("sync: 1 records\rsync: 2 records\n") == []
    assert unsafe_characters("name\rforged") == ["'\\r'"]
    assert unsafe_characters("\u202e\u200d\x9b") == ["'\\u202e'", "'\\u200d'", "'\\x9b'"]
    assert FORGED_LINE.search("x\nERROR milestones.sync: forged log line")
    assert not FORGED_LINE.search("x\\nERROR milestones.sync: forged log line")
