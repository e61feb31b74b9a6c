"""Hostile input the bad-input suite had not covered yet, each case one test.

Config values that look like query syntax (quotes, backslashes, SOQL and HubSpot filter
fragments) in stage ids, lead statuses and field names, and 10 KB ones: a field name is
refused with exit 2 naming its key before any request; a value compared in our own code is
never sent, which every request the sandbox saw proves. CRM dates in other ISO forms or as
epoch strings read as the same instants; a page that repeats its cursor ends the run with
exit 1 and a message, through the CLI. The sandbox itself answers malformed HTTP, a huge or
lying Content-Length, bad JSON and bad auth with an HTTP error, and keeps serving.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import pytest
from bad_input_support import (
    CONTACTS_LIST,
    Reference,
    assert_clean,
    assert_intact,
    hubspot_ref,
    salesforce_ref,
    twin,
)
from reliability_support import HUBSPOT_TOKEN, Crm, Tamper, edit_json, start_crm

from milestones.sandbox.server.core import Request

__all__ = ["hubspot_ref", "salesforce_ref", "twin"]  # fixtures used by the tests below

SOQL = "x' OR Name LIKE '%' --"
FILTER = 'x","operator":"HAS_PROPERTY","propertyName":"email'
BACKSLASH = "a\\'b\\\\c\\"
TEN_KB = "Ω" * 10240


def _toml(value: str) -> str:
    """``value`` as a TOML basic string (quotes and backslashes escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _record_requests(crm: Crm) -> list[str]:
    """Every request line and body the sandbox is sent from now on, decoded."""
    seen: list[str] = []

    def note(req: Request) -> bool:
        seen.append(unquote(req.raw_path) + " " + req.body.decode("utf-8", "replace"))
        return False

    Tamper(crm.server, note)
    return seen


def _with_config(crm: Crm, extra: str) -> None:
    crm.config.write_text(crm.config.read_text() + extra)


# -- config values that look like query syntax --------------------------------------------

FIELD_CASES = {
    "SOQL fragment in a written field": ("writeback.fields.milestone", "milestone", SOQL),
    "HubSpot filter fragment in a written field": (
        "writeback.fields.disqualified_reason",
        "disqualified_reason",
        FILTER,
    ),
    "backslashes in the NPS property": ("mapping.advocate.nps_property", "nps_property", BACKSLASH),
    "10 KB written field name": ("writeback.fields.milestone", "milestone", TEN_KB),
}


@pytest.mark.parametrize("provider", ["hubspot", "salesforce"])
@pytest.mark.parametrize("case", list(FIELD_CASES))
def test_a_field_name_with_query_syntax_is_refused_before_any_request(
    case: str, provider: str, tmp_path: Any
) -> None:
    key, name, value = FIELD_CASES[case]
    crm = start_crm(provider, tmp_path, 5)
    try:
        table = key.rsplit(".", 1)[0]
        _with_config(crm, f"[{table}]\n{name} = {_toml(value)}\n")
        seen = _record_requests(crm)
        outcome = crm.cli("sync")
    finally:
        crm.stop()
    assert outcome.code == 2, outcome.text
    # A scalar key is named whole; a key of the [writeback.fields] table by its table.
    assert key.rsplit(".", 1)[0] in outcome.err and "not a field name" in outcome.err
    assert max(len(line) for line in outcome.err.splitlines()) < 1000  # the 10 KB value is cut
    assert_clean(outcome)
    assert seen == []


DEFAULT_STATUS = {"hubspot": "UNQUALIFIED", "salesforce": "Closed - Not Converted"}
VALUE_CASES = {  # a lead status is added to the provider's default one (written as {})
    "SOQL fragment in a lead status": ("disqualify", "lead_statuses", f"[{{}}, {_toml(SOQL)}]"),
    "backslashes in a lead status": ("disqualify", "lead_statuses", f"[{{}}, {_toml(BACKSLASH)}]"),
    "10 KB lead status": ("disqualify", "lead_statuses", f"[{{}}, {_toml(TEN_KB)}]"),
    "filter fragment as a stage id": ("stages", _toml(FILTER), '"client"'),
    "SOQL fragment as a stage id": ("stages", _toml(SOQL), '"client"'),
    "10 KB unicode stage id": ("stages", _toml(TEN_KB), '"client"'),
}


@pytest.mark.parametrize("provider", ["hubspot", "salesforce"])
@pytest.mark.parametrize("case", list(VALUE_CASES))
def test_a_value_with_query_syntax_is_never_sent_and_the_run_goes_on(
    case: str, provider: str, twin: tuple[Crm, Reference]
) -> None:
    crm, ref = twin
    table, key, value = VALUE_CASES[case]
    value = value.replace("{}", _toml(DEFAULT_STATUS[provider]))
    _with_config(crm, f"[mapping.{table}]\n{key} = {value}\n")
    seen = _record_requests(crm)
    outcome = crm.cli("sync")
    assert_clean(outcome)
    assert outcome.code == 0, outcome.text
    assert seen, "the run sent nothing"
    raw = (SOQL if "SOQL" in case else FILTER if "filter" in case else BACKSLASH)[:20]
    probe = TEN_KB[:50] if "10 KB" in case else raw
    assert not [line for line in seen if probe in line], "a config value reached a request"
    if table == "stages":  # a mapped stage the CRM lacks is named, printable and short
        assert "mapping.stages" in outcome.err and len(outcome.err) < 5000, outcome.err
    assert_intact(crm, ref)


# -- CRM dates in other forms --------------------------------------------------------------


def _reformat(form: Callable[[datetime], str]) -> Callable[[Any], None]:
    def edit(payload: Any) -> None:
        for record in payload.get("results", []):
            props = record.get("properties") or {}
            for name in ("createdate", "lastmodifieddate"):
                if props.get(name):
                    moment = datetime.fromisoformat(props[name].replace("Z", "+00:00"))
                    props[name] = form(moment)

    return edit


DATE_FORMS: dict[str, Callable[[datetime], str]] = {
    "no millis": lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "+02:00 offset": lambda m: m.astimezone(timezone(timedelta(hours=2))).isoformat(),
    "epoch milliseconds string": lambda m: str(int(m.timestamp() * 1000)),
}


@pytest.mark.parametrize("provider", ["hubspot"])
@pytest.mark.parametrize("form", list(DATE_FORMS))
def test_dates_in_other_forms_read_as_the_same_instants(
    form: str, provider: str, twin: tuple[Crm, Reference]
) -> None:
    crm, ref = twin
    tamper = Tamper(crm.server, CONTACTS_LIST, edit_json(_reformat(DATE_FORMS[form])))
    outcome = crm.cli("sync")
    assert tamper.hits >= 1
    assert_clean(outcome)
    assert outcome.code == 0, outcome.text
    assert_intact(crm, ref)


# -- a page that repeats its cursor ----------------------------------------------------------


def _repeat_cursor(req: Request, answer: Any) -> Any:
    """A page answers with the very cursor that asked for it: it would page forever."""
    after = req.param("after") or "1"  # the first page hands out cursor 1, then it repeats

    def edit(payload: Any) -> None:
        payload["paging"] = {"next": {"after": after, "link": f"?after={after}"}}

    return edit_json(edit)(req, answer)


@pytest.mark.parametrize("provider", ["hubspot"])
def test_a_page_repeating_its_cursor_ends_the_run_with_a_message(
    provider: str, twin: tuple[Crm, Reference]
) -> None:
    crm, ref = twin
    tamper = Tamper(crm.server, CONTACTS_LIST, _repeat_cursor)
    outcome = crm.cli("sync")
    assert_clean(outcome)
    assert outcome.code == 1, outcome.text
    assert "paging cursor after='1' came twice" in outcome.out, outcome.text
    assert crm.crm_values() == {key: {} for key in crm.crm_values()}  # writes held back
    tamper.remove()
    assert crm.cli("sync").code == 0
    assert_intact(crm, ref)  # the next clean run catches up: nothing lost


# -- the sandbox fed malformed HTTP --------------------------------------------------------

AUTH = f"Authorization: Bearer {HUBSPOT_TOKEN}\r\n".encode()
SEARCH = b"POST /crm/objects/2026-09/contacts/search HTTP/1.1\r\nHost: x\r\n"
WIRE_CASES: dict[str, tuple[bytes, bytes]] = {
    "garbage request line": (b"GARBAGE\r\n\r\n", b"400"),
    "binary bytes": (b"\x00\xff\x16\x03\x01" * 20, b"400"),
    "Content-Length far too large": (
        SEARCH + AUTH + b"Content-Length: 999999999999\r\n\r\n{}",
        b"HTTP/1.1 413",
    ),
    "negative Content-Length": (SEARCH + AUTH + b"Content-Length: -5\r\n\r\n", b"HTTP/1.1 400"),
    "Content-Length not a number": (
        SEARCH + AUTH + b"Content-Length: ten\r\n\r\n",
        b"HTTP/1.1 400",
    ),
    "bad JSON body": (SEARCH + AUTH + b'Content-Length: 9\r\n\r\n{"filter', b"HTTP/1.1 400"),
    "6 MB body of filters": (b"", b"HTTP/1.1 400"),  # built below: too many filter groups
    "bad token": (
        b"GET /crm/objects/2026-09/contacts HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer no\r\n\r\n",
        b"HTTP/1.1 401",
    ),
    "no auth header": (b"GET /crm/objects/2026-09/contacts HTTP/1.1\r\nHost: x\r\n\r\n", b"401"),
}


def _huge_search() -> bytes:
    body = b'{"filterGroups": [' + b'{"filters": []},' * 400_000 + b"{}]}"
    return SEARCH + AUTH + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _send_raw(address: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Any:
    crm = start_crm("hubspot", tmp_path_factory.mktemp("wire"), 5)
    try:
        yield crm
    finally:
        crm.stop()


@pytest.mark.parametrize("case", list(WIRE_CASES))
def test_the_sandbox_answers_malformed_http_with_an_error_and_keeps_serving(
    case: str, sandbox: Crm
) -> None:
    host, port = sandbox.server.url.split("//")[1].rstrip("/").split(":")
    data, expected = WIRE_CASES[case]
    answer = _send_raw((host, int(port)), data or _huge_search())
    assert expected in answer[:400], answer[:400]
    fine = _send_raw(
        (host, int(port)),
        b"GET /crm/objects/2026-09/contacts?limit=1 HTTP/1.1\r\nHost: x\r\n"
        + AUTH
        + b"Connection: close\r\n\r\n",
    )
    assert fine.startswith(b"HTTP/1.1 200"), fine[:200]
