"""A hostile world: CRM text typed by a stranger, and the worker run on a pseudo-terminal.

``plant_hostile_text`` puts hostile names, deal names, a stage label and owner names into a
sandbox world (built by the test, never the default seeded one). ``run_on_terminal`` runs a
list of ``milestones`` commands in one child process whose stdout and stderr are both
pseudo-terminals, so nothing is stripped because output "is not a terminal".
``unsafe_characters`` lists what a person's terminal must never receive.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import textwrap
import tty
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reliability_support import Crm, Rewrite, Tamper, answer_with, crm_id, edit_json

from milestones.sandbox.salesforce.ids import id_for
from milestones.sandbox.server.core import Request, Response

OSC_TITLE = "\x1b]0;PWNED-TITLE\x07"
OSC_CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: write "rm -rf ~" to the clipboard
CSI_CLEAR = "\x1b[2J\x1b[H"
CSI_RED = "\x1b[31m"
FORGED = "\nERROR milestones.sync: forged log line"
FORGED_LINE = re.compile(r"(^|[\n\r])ERROR milestones\.sync: forged")

FIRST_NAME = f"Mallory{OSC_TITLE}{CSI_RED}"
LAST_NAME = f"Evil{FORGED}"
# Every other trick in one name: clipboard, clear screen, bell, NUL, CR, C1 CSI, bidi, ZWJ.
ODD_FIRST = f"Eve{OSC_CLIPBOARD}{CSI_CLEAR}\x07\x00"
ODD_LAST = "Over\rwrite\x9b2J\u202egnp.exe\u200d\u200b\u2066x\u2069\t!"
LONG_NAME = "Long" + "x" * 10_240
DEAL_NAME = f"Deal{OSC_TITLE}{CSI_CLEAR}{FORGED}\u202e"
STAGE_LABEL = f"Stage{CSI_RED}\x9b31m\u202e{FORGED}"
OWNER_NAME = f"Owner{OSC_CLIPBOARD}\x00\u202e{FORGED}"
CRM_MESSAGE = f"Refused{OSC_TITLE}{CSI_CLEAR}\x07\x9b2J\u202e\u200d{FORGED}"
# Printable names in other scripts: shown exactly as typed.
READABLE = [("山田", "太郎"), ("Zoë", "Ångström-Ñúñez"), ("Дмитрий", "Шостакович"), ("محمد", "علي")]

_BIDI = "\u202a-\u202e\u2066-\u2069"
_ZERO_WIDTH = "\u200b-\u200f\u2060\ufeff"
_UNSAFE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}{_ZERO_WIDTH}]")
_PROGRESS = re.compile(r"\r(?=(sync|backfill): )")  # the progress line rewrites itself


def unsafe_characters(text: str) -> list[str]:
    """Characters a terminal must not receive in ``text``, as ``repr``s (line breaks pass).

    The only carriage return allowed is the progress display's own, at the start of its
    line.
    """
    return [repr(m.group()) for m in _UNSAFE.finditer(_PROGRESS.sub("", text))]


@dataclass
class Planted:
    """Ids (as the CRM shows them) of the records that carry hostile text."""

    mallory: str
    eve: str
    long: str
    deal: str
    readable: list[str]
    names: dict[str, str]  # CRM id -> the full name as typed


def plant_hostile_text(crm: Crm) -> Planted:
    """Hostile names on three people, a deal and a stage; readable names on four more."""
    world = crm.world
    people = [p for p in world.iter("person") if not p.archived and not p.is_lead_only]
    deals = [d for d in world.iter("deal") if d.contact_ids]
    ids: dict[str, str] = {}
    planted = []
    names = [(FIRST_NAME, LAST_NAME), (ODD_FIRST, ODD_LAST), ("", LONG_NAME), *READABLE]
    for person, (first, last) in zip(people[: len(names)], names, strict=True):
        world.update("person", person.id, {"first_name": first, "last_name": last})
        planted.append(crm_id(crm, "person", person))
        ids[planted[-1]] = f"{first} {last}".strip()
    deal = deals[0]
    world.update("deal", deal.id, {"name": DEAL_NAME})
    for pipeline in world.pipelines:
        for stage in pipeline.stages:
            if stage.id == deal.stage:
                stage.label = STAGE_LABEL
    return Planted(*planted[:3], crm_id(crm, "deal", world.get("deal", deal.id)), planted[3:], ids)


def owner_names_config(crm: Crm) -> str:
    """A ``[report]`` table naming every owner with the hostile owner name."""
    owners = [str(o.id) for o in crm.world.iter("owner")]
    if crm.provider == "salesforce":
        owners = [id_for("User", o.id) for o in crm.world.iter("owner")]
    rows = "".join(f'"{owner}" = {_toml_string(OWNER_NAME)}\n' for owner in owners)
    return f"[report.owner_names]\n{rows}"


def _toml_string(value: str) -> str:
    escaped = "".join(
        c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in value
    )
    return f'"{escaped}"'


_DRIVER = textwrap.dedent(
    """
    import os, sys
    from milestones.cli.main import main
    for argv in {commands!r}:
        for fd in (1, 2):
            os.write(fd, b"=== " + " ".join(argv).encode() + b" ===\\n")
        try:
            main(["--config", {config!r}, *argv])
        except SystemExit as exc:
            code = exc.code
        else:
            code = 0
        sys.stdout.flush(); sys.stderr.flush()
        os.write(1, b"=== exit " + str(code).encode() + b" ===\\n")
    """
)


@dataclass
class Printed:
    """What one command printed on each terminal."""

    argv: tuple[str, ...]
    out: str
    err: str
    code: Any


def run_on_terminal(
    crm: Crm, commands: Sequence[Sequence[str]], env: Mapping[str, str] | None = None
) -> list[Printed]:
    """Run ``commands`` in one child process with stdout and stderr on pseudo-terminals."""
    script = _DRIVER.format(commands=[list(c) for c in commands], config=str(crm.config))
    masters, slaves = [], []
    for _ in range(2):
        master, slave = pty.openpty()
        tty.setraw(slave)  # no "\n" -> "\r\n": the bytes are exactly what was written
        masters.append(master)
        slaves.append(slave)
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=slaves[0],
        stderr=slaves[1],
        env={**os.environ, **crm.env, **(env or {}), "COLUMNS": "120"},
    )
    for slave in slaves:
        os.close(slave)
    chunks: dict[int, list[bytes]] = {m: [] for m in masters}
    open_fds = set(masters)
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], 60)
        if not ready:
            child.kill()
            raise AssertionError("the commands stopped printing for 60 s")
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its end
                data = b""
            if data:
                chunks[fd].append(data)
            else:
                open_fds.discard(fd)
    child.wait(timeout=60)
    for master in masters:
        os.close(master)
    out = b"".join(chunks[masters[0]]).decode("utf-8")
    err = b"".join(chunks[masters[1]]).decode("utf-8")
    return _split(commands, out, err)


def _split(commands: Sequence[Sequence[str]], out: str, err: str) -> list[Printed]:
    outs = re.split(r"^=== .* ===\n", out, flags=re.M)[1:]
    errs = re.split(r"^=== .* ===\n", err, flags=re.M)[1:]
    codes = re.findall(r"^=== exit (.*) ===$", out, flags=re.M)
    # stdout has two markers per command (its name, its exit code): keep the first part.
    return [Printed(tuple(argv), outs[2 * i], errs[i], codes[i]) for i, argv in enumerate(commands)]


def refuse_with_message(crm: Crm, count: int = 2) -> Rewrite:
    """A write answer in which the first ``count`` records are refused with ``CRM_MESSAGE``."""

    def hubspot(payload: Any) -> Any:
        refused, payload["results"] = payload["results"][:count], payload["results"][count:]
        payload["errors"] = [
            {"status": "error", "category": "VALIDATION_ERROR", "message": CRM_MESSAGE,
             "context": {"ids": [row["id"]]}}
            for row in refused
        ]  # fmt: skip
        return payload

    def salesforce(payload: Any) -> Any:
        for row in payload[:count]:
            row["success"] = False
            row["errors"] = [
                {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": CRM_MESSAGE,
                 "fields": []}
            ]  # fmt: skip
        return payload

    edit = edit_json(hubspot if crm.provider == "hubspot" else salesforce)

    def rewrite(req: Request, answer: Response | None) -> Response | None:
        edited = edit(req, answer)
        if edited is not None and crm.provider == "hubspot":
            edited.status = 207
        return edited

    return rewrite


def writes(crm: Crm) -> Any:
    """The requests that write our fields (HubSpot batch updates, sObject collections)."""
    if crm.provider == "hubspot":
        return lambda req: req.method == "POST" and "batch/update" in req.path
    return lambda req: req.method == "PATCH" and "composite/sobjects" in req.path


def refusal_of_everything(crm: Crm) -> Rewrite:
    """Every API request answered 400 with ``CRM_MESSAGE``, in the vendor's error shape."""
    if crm.provider == "hubspot":
        body: Any = {"status": "error", "message": CRM_MESSAGE, "category": "VALIDATION_ERROR",
                     "correlationId": "0"}  # fmt: skip
    else:
        body = [{"message": CRM_MESSAGE, "errorCode": "MALFORMED_QUERY"}]
    return answer_with(400, json.dumps(body), "application/json")


def relabel_stage(crm: Crm) -> Tamper | None:
    """Salesforce names its stages from its own vocabulary: relabel one in the answers."""
    if crm.provider == "hubspot":
        return None  # the world's label is served as it is (``plant_hostile_text``)

    def relabel(payload: Any) -> None:
        for row in payload.get("records", []):
            if row.get("MasterLabel") == "Closed Won":
                row["MasterLabel"] = STAGE_LABEL

    def matches(req: Request) -> bool:
        return "/query" in req.path and "OpportunityStage" in (req.param("q") or "")

    return Tamper(crm.server, matches, edit_json(relabel))


def reading_records(crm: Crm) -> Any:
    """The requests that page through contacts (not the stage catalogue or the fields)."""
    if crm.provider == "hubspot":
        return lambda req: "/search" in req.path
    return lambda req: "/query" in req.path and "FROM Contact" in (req.param("q") or "")
