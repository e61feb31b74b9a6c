"""Security: secrets stay secret, files stay private, config cannot inject query syntax, and
requests go to the configured host only.

- Tokens, passwords and session ids never appear in any output (text, ``--json``, ``-v``
  logs, JSON logs, error messages, a ``--verbose`` traceback), in the state file or in any
  file the run leaves behind; the suite greps all of them.
- The state file, its WAL and lock files, and the sandbox's CA and key files are 0600.
- Names from the config that would carry SOQL or HubSpot syntax are refused before any
  request; values are sent only as quoted literals.
- Every socket the worker opens goes to the configured host, even when an answer names
  another one (a login's server URL, a page's next link).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from reliability_support import (
    HUBSPOT_TOKEN,
    SALESFORCE_SESSION,
    Crm,
    Outcome,
    Tamper,
    connections,
    edit_json,
    path_is,
    run_cli,
    start_crm,
)

from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.salesforce.auth import Credentials
from milestones.sandbox.server.core import Request, Response
from milestones.sandbox.server.tls import create_tls_files
from milestones.sandbox.world.gen import generate_world
from milestones.sync.run import CRASH_ENV

CONTACTS = 50
SF_PASSWORD = "Pw-reliability-7f2a91c4e0"
SF_SECURITY_TOKEN = "StReliability5b9e03d1aa"
WRONG_TOKEN = "pat-na1-wrong-2c71f0e9-secret"
SESSION_SHAPE = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{8,}")


def password_crm(tmp: Path) -> Crm:
    """A Salesforce sandbox the worker logs in to with a username, password and token."""
    credentials = Credentials(
        username="integration@reliability.example",
        password=SF_PASSWORD,
        security_token=SF_SECURITY_TOKEN,
    )
    world = generate_world(seed=23, contacts=CONTACTS)
    server = SalesforceServer(world, session_id=SALESFORCE_SESSION, credentials=credentials)
    server.start()
    tmp.mkdir(parents=True, exist_ok=True)
    config, state = tmp / "milestones.toml", tmp / "state.db"
    config.write_text(
        f'provider = "salesforce"\n[salesforce]\ninstance_url = "{server.url}"\n'
        f'auth = "password"\nusername = "integration@reliability.example"\n'
        f'password = "${{SF_PASSWORD}}"\nsecurity_token = "${{SF_SECURITY_TOKEN}}"\n'
        f'ca_bundle = "{server.ca_bundle}"\n[state]\npath = "{state}"\n[sync]\nlag_seconds = 0\n'
    )
    env = {"SF_PASSWORD": SF_PASSWORD, "SF_SECURITY_TOKEN": SF_SECURITY_TOKEN}
    return Crm("salesforce", server, world, config, state, env)


def secrets_of(crm: Crm) -> list[str]:
    if crm.provider == "hubspot":
        return [HUBSPOT_TOKEN, WRONG_TOKEN]
    return [SF_PASSWORD, SF_SECURITY_TOKEN, SALESFORCE_SESSION]


def leaks(text: str, secrets: list[str]) -> list[str]:
    found = [s for s in secrets if s in text]
    found += SESSION_SHAPE.findall(text)
    return found


def files_under(root: Path) -> Iterator[tuple[Path, str]]:
    for path in root.rglob("*"):
        if path.is_file() and path.suffix != ".toml":
            yield path, path.read_bytes().decode("latin-1")


def every_output(crm: Crm) -> list[Outcome]:
    """A tour of the commands, quiet and verbose, text and JSON, good runs and bad ones."""
    outputs = [crm.cli("fields", "--create"), crm.cli("check")]
    outputs.append(crm.cli("-v", "--log-format", "json", "sync", "--json"))
    if crm.provider == "salesforce":
        crm.server.expire_sessions()  # the next run logs in again mid-way
    crm.server.configure(faults="429=0.1,503=0.1,reset=0.05,seed=4")
    outputs.append(crm.cli("-v", "sync", "--full"))
    crm.server.configure(faults="")
    person = str(next(iter(crm.world.ids("person"))))
    outputs += [
        crm.cli("status", "--json"),
        crm.cli("status"),
        crm.cli("explain", person, "--json"),
    ]
    outputs += [crm.cli("stages", "--json"), crm.cli("report", "--json")]
    wrong = {"HUBSPOT_ACCESS_TOKEN": WRONG_TOKEN} if crm.provider == "hubspot" else {}
    if crm.provider == "salesforce":
        wrong = {"SF_PASSWORD": SF_PASSWORD + "-wrong"}
    outputs.append(crm.cli("-v", "sync", env=wrong))  # refused credentials
    outputs.append(crashed_with_a_traceback(crm))
    return outputs


def crashed_with_a_traceback(crm: Crm) -> Outcome:
    """An unexpected error whose message carries the secrets, shown with --verbose."""
    secrets = " ".join(secrets_of(crm))

    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError(f"boom: Authorization: Bearer {secrets} password={secrets}")

    with mock.patch("milestones.sync.derivation.Deriver.derive_people", explode):
        outcome = crm.cli("--verbose", "sync")
    assert outcome.code == 1 and "Traceback" in outcome.text and "boom" in outcome.text
    return outcome


@pytest.mark.parametrize("provider", ["hubspot", "salesforce"])
def test_secrets_never_leave_the_environment(provider: str, tmp_path: Path) -> None:
    crm = start_crm(provider, tmp_path, CONTACTS) if provider == "hubspot" else None
    crm = crm or password_crm(tmp_path)
    try:
        outputs = every_output(crm)
        secrets = secrets_of(crm)
        assert outputs[2].code == 0, outputs[2].text[-2000:]
        assert any(
            "login refused" in o.text or "refused the access token" in o.text for o in outputs
        )
        for outcome in outputs:
            assert not leaks(outcome.text, secrets), outcome.text[-3000:]
        for path, content in files_under(tmp_path):
            assert not leaks(content, secrets), path
        json.loads(outputs[2].out)  # --json stays JSON with -v logs on stderr
    finally:
        crm.stop()


# --- files ---------------------------------------------------------------------------------


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_state_wal_lock_and_tls_files_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: anything not made private would be world-readable
    try:
        crm = start_crm("hubspot", tmp_path / "crm", CONTACTS)
        try:
            crm.ensure_fields()
            pid = os.fork()
            if pid == 0:  # a worker killed mid-write leaves its WAL behind
                try:
                    os.environ[CRASH_ENV] = "write:1"
                    crm.sync("full")
                finally:
                    os._exit(3)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == -9
            left = sorted(p.name for p in tmp_path.joinpath("crm").iterdir())
            assert "state.db-wal" in left, left
            for name in left:
                if name.startswith("state.db"):
                    assert private(tmp_path / "crm" / name), name
        finally:
            crm.stop()
        crm = start_crm("salesforce", tmp_path / "sf", CONTACTS)
        try:
            crm.ensure_fields()
            assert crm.sync("full").outcome == "ok"
            left = sorted(p.name for p in tmp_path.joinpath("sf").iterdir())
            assert len([n for n in left if n.startswith("state.db")]) >= 2, left
            for name in left:
                if name.startswith("state.db"):  # the describe cache beside it too
                    assert private(tmp_path / "sf" / name), name
        finally:
            crm.stop()
        files = create_tls_files(tmp_path / "tls")
        try:
            for path in (files.ca_bundle, files.cert_chain, files.private_key):
                assert private(Path(path)), path
        finally:
            files.remove()
    finally:
        os.umask(old)


# --- injection -----------------------------------------------------------------------------

INJECTED_NAMES = {
    "salesforce": "[mapping.advocate]\n"
    'nps_property = "NPS_Score__c FROM Contact WHERE Id != null --"\n',
    "hubspot": '[mapping.advocate]\nreferred_by_property = "referred_by&archived=true"\n'
    '[writeback.fields]\nmilestone = "sales_milestone\\",\\"operator\\":\\"HAS_PROPERTY"\n',
}


@pytest.mark.parametrize("provider", ["hubspot", "salesforce"])
def test_names_carrying_query_syntax_are_refused_before_any_request(
    provider: str, tmp_path: Path
) -> None:
    crm = start_crm(provider, tmp_path, CONTACTS, extra_config=INJECTED_NAMES[provider])
    try:
        outcome = crm.cli("sync")
        assert outcome.code == 2, outcome.text
        assert "is not a field name" in outcome.text
        assert crm.server.stats()["total"] == 0
    finally:
        crm.stop()


def soql_of(req: Request) -> str:
    return " ".join(req.query.get("q", []))


def test_salesforce_config_values_never_reach_soql_unquoted(tmp_path: Path) -> None:
    quote_laden = "x' OR Name != '"
    extra = (
        f'[mapping.disqualify]\nlead_statuses = ["{quote_laden}"]\n'
        f'[mapping.stages]\n"Closed Won\' OR IsDeleted = false OR StageName = \'" = "client"\n'
    )
    crm = start_crm("salesforce", tmp_path, CONTACTS, extra_config=extra)
    queries: list[str] = []

    def record(req: Request) -> None:
        queries.append(soql_of(req) or req.raw_path)

    try:
        Tamper(crm.server, lambda req: "/query" in req.path, before=record)
        crm.ensure_fields()
        assert crm.cli("sync").code == 0
        assert queries
        for soql in queries:
            assert "' OR Name != '" not in soql.replace("\\'", ""), soql
            assert "OR IsDeleted = false OR" not in soql.replace("\\'", "") or "\\'" in soql
    finally:
        crm.stop()


def test_hubspot_search_bodies_carry_only_plain_names(tmp_path: Path) -> None:
    extra = '[mapping.stages]\n"closedwon\\",\\"operator\\":\\"NEQ" = "client"\n'
    crm = start_crm("hubspot", tmp_path, CONTACTS, extra_config=extra)
    bodies: list[dict[str, Any]] = []
    try:
        crm.ensure_fields()
        assert crm.cli("sync").code == 0
        Tamper(
            crm.server,
            path_is("POST", "/search"),
            before=lambda req: bodies.append(json.loads(req.body)),
        )
        crm.server.mutate("add_inbound_email", person_id=crm.world.ids("person")[0])
        assert crm.cli("sync").code == 0
        assert bodies
        for body in bodies:
            for group in body.get("filterGroups", []):
                for condition in group["filters"]:
                    assert re.fullmatch(r"[a-z_0-9]+", condition["propertyName"]), condition
                    assert "NEQ" not in json.dumps(condition), condition
    finally:
        crm.stop()


# --- hosts ---------------------------------------------------------------------------------


def point_elsewhere(req: Request, answer: Response | None) -> Response | None:
    assert answer is not None
    answer.body = answer.body.replace(b"127.0.0.1", b"127.0.0.2")
    return answer


def test_hubspot_requests_go_to_the_configured_host_only(tmp_path: Path) -> None:
    crm = start_crm("hubspot", tmp_path, CONTACTS)
    try:

        def add_foreign_link(payload: Any) -> None:
            nxt = (payload.get("paging") or {}).get("next")
            if nxt:
                nxt["link"] = (
                    "http://127.0.0.2:9/crm/objects/2026-09/contacts?after=" + nxt["after"]
                )

        Tamper(crm.server, path_is("GET", "/crm/objects/2026-09/"), edit_json(add_foreign_link))
        with connections() as seen:
            crm.ensure_fields()
            assert crm.cli("sync").code == 0
        assert seen and set(seen) == {"127.0.0.1"}, set(seen)
    finally:
        crm.stop()


def test_salesforce_never_follows_a_login_answer_to_another_host(tmp_path: Path) -> None:
    crm = password_crm(tmp_path / "good")
    try:
        with connections() as seen:
            crm.ensure_fields()
            assert crm.cli("sync").code == 0
        assert seen and set(seen) == {"127.0.0.1"}, set(seen)
    finally:
        crm.stop()
    crm = password_crm(tmp_path / "elsewhere")
    try:
        Tamper(crm.server, lambda req: "/services/Soap/" in req.path, point_elsewhere)
        with connections() as seen:
            outcome = crm.cli("sync")
        assert outcome.code == 2 and "not the configured instance_url" in outcome.text
        assert set(seen) == {"127.0.0.1"}, set(seen)
        assert urlsplit(str(crm.server.url)).hostname == "127.0.0.1"
    finally:
        crm.stop()


def test_verbose_logs_mask_authorization_headers(tmp_path: Path) -> None:
    """Whatever logs a request with -v (ours, urllib3, the SDKs), the header is masked."""
    import logging

    from milestones.logs import configure_logging

    crm = start_crm("hubspot", tmp_path, CONTACTS)
    try:
        crm.ensure_fields()
        outcome = crm.cli("-v", "sync")
        assert outcome.code == 0
        assert HUBSPOT_TOKEN not in outcome.text
        configure_logging(verbose=True)
        handler = logging.getLogger("milestones").handlers[0]
        records = []
        for name in ("milestones.connectors", "urllib3.connectionpool", "hubspot"):
            record = logging.LogRecord(
                name, logging.DEBUG, __file__, 1,
                "send: headers {'Authorization': 'Bearer %s'} Authorization: Bearer %s",
                ("unregistered-token-abcdef123", "another-token-0987654321"), None,
            )  # fmt: skip
            for log_filter in handler.filters + logging.getLogger(name).filters:
                log_filter.filter(record)
            records.append(record.getMessage())
        for message in records:
            assert "unregistered-token" not in message and "another-token" not in message
            assert "***" in message
    finally:
        crm.stop()


def test_salesforce_never_follows_a_next_records_url_to_another_host(tmp_path: Path) -> None:
    """simple-salesforce prefixes the instance host: '@host/...' would name another host."""
    crm = start_crm("salesforce", tmp_path, CONTACTS)

    def redirect(payload: Any) -> None:
        if isinstance(payload, dict) and "records" in payload:
            payload["done"] = False
            payload["nextRecordsUrl"] = "@127.0.0.2:9/services/data/v62.0/query/01gX-2000"

    try:
        crm.ensure_fields()
        Tamper(crm.server, path_is("GET", "/query"), edit_json(redirect))
        with connections() as seen:
            outcome = crm.cli("sync")
        assert outcome.code == 1 and "nextRecordsUrl" in outcome.text, outcome.text
        assert set(seen) == {"127.0.0.1"}, set(seen)
    finally:
        crm.stop()


def test_init_writes_no_secret_into_the_config(tmp_path: Path) -> None:
    """``init`` reads which CRM from the environment but writes ``${VAR}``, never the value."""
    config = tmp_path / "milestones.toml"
    outcome = run_cli(
        ["--config", str(config), "init", "--no-input"], {"HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN}
    )
    assert outcome.code == 0, outcome.text
    text = config.read_text()
    assert "${HUBSPOT_ACCESS_TOKEN}" in text and HUBSPOT_TOKEN not in text
    assert HUBSPOT_TOKEN not in outcome.text
