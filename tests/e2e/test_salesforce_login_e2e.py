"""`milestones sync` against an org that refuses SOAP login(), through the real CLI in its
own process: exit 2, the reason and the way forward on stderr, nothing written; and the
same org synced with the default auth, client credentials through the External Client App."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import SEED, Sandbox

from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.salesforce.auth import Credentials
from milestones.sandbox.world.gen import generate_world

PASSWORD = "Pw-e2e-soap-3c9a"
TOKEN = "Tok-e2e-soap-77d1"


def refusing_org(tmp: Path, **options: bool) -> Sandbox:
    """An org with SOAP login() refused as ``options`` say, and a password-mode config."""
    world = generate_world(seed=SEED, contacts=30)
    creds = Credentials(password=PASSWORD, security_token=TOKEN)
    server = SalesforceServer(world, credentials=creds, **options).start()
    config, state = tmp / "milestones.toml", tmp / "state.db"
    config.write_text(
        f'provider = "salesforce"\n[salesforce]\ninstance_url = "{server.url}"\n'
        f'auth = "password"\nusername = "{creds.username}"\npassword = "${{SF_PASSWORD}}"\n'
        f'security_token = "${{SF_SECURITY_TOKEN}}"\nca_bundle = "{server.ca_bundle}"\n'
        f'[state]\npath = "{state}"\n[sync]\nlag_seconds = 0\n'
    )
    env = {"SF_PASSWORD": PASSWORD, "SF_SECURITY_TOKEN": TOKEN}
    return Sandbox("salesforce", server, world, config, state, env)


@pytest.fixture(
    params=[
        ({"soap_login": False}, "SOAP login() is switched off in this org"),
        ({"use_any_api_auth": False}, 'the user lacks the "Use Any API Auth" permission'),
    ],
    ids=["login-off", "no-use-any-api-auth"],
)
def refused(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Sandbox, str]]:
    options, says = request.param
    box = refusing_org(tmp_path, **options)
    try:
        yield box, says
    finally:
        box.server.stop()


def test_sync_exits_2_says_why_and_writes_nothing(refused: tuple[Sandbox, str]) -> None:
    box, says = refused
    before = box.written_values()

    done = box.spawn("sync")

    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert 'switch to auth = "client_credentials" with an External Client App' in done.stderr
    assert "Summer '27" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr and TOKEN not in done.stdout + done.stderr
    endpoints = box.server.stats()["endpoints"]
    assert set(endpoints) == {"POST /services/Soap/u/{version}"}, endpoints  # only the login
    assert box.write_calls() == 0
    assert box.written_values() == before


def test_the_same_org_syncs_with_client_credentials(tmp_path: Path) -> None:
    box = refusing_org(tmp_path, soap_login=False)
    creds = box.server.login.credentials  # type: ignore[attr-defined]
    text = box.config.read_text().replace('auth = "password"\n', "")  # the default auth
    text = text.replace(f'username = "{creds.username}"\n', "")
    text = text.replace('password = "${SF_PASSWORD}"\n', 'consumer_key = "${SF_CONSUMER_KEY}"\n')
    text = text.replace(
        'security_token = "${SF_SECURITY_TOKEN}"\n', 'consumer_secret = "${SF_CONSUMER_SECRET}"\n'
    )
    box.config.write_text(text)
    box.env = {"SF_CONSUMER_KEY": creds.client_id, "SF_CONSUMER_SECRET": creds.client_secret}
    try:
        assert "auth =" not in text
        fields = box.spawn("fields", "--create")
        assert fields.returncode == 0, fields.stderr
        done = box.spawn("sync")
        assert done.returncode == 0, done.stderr
        assert box.write_calls() > 0
    finally:
        box.server.stop()


def test_the_same_org_syncs_with_a_jwt_bearer_assertion(tmp_path: Path) -> None:
    box = refusing_org(tmp_path, soap_login=False)
    server = box.server
    creds = server.login.credentials  # type: ignore[attr-defined]
    text = box.config.read_text().replace('auth = "password"\n', 'auth = "jwt"\n')
    text = text.replace('password = "${SF_PASSWORD}"\n', 'consumer_key = "${SF_CONSUMER_KEY}"\n')
    text = text.replace(
        'security_token = "${SF_SECURITY_TOKEN}"\n',
        f'private_key_file = "{server.jwt_key_file}"\n',  # type: ignore[attr-defined]
    )
    box.config.write_text(text)
    box.env = {"SF_CONSUMER_KEY": creds.client_id}
    try:
        fields = box.spawn("fields", "--create")
        assert fields.returncode == 0, fields.stderr
        done = box.spawn("sync")
        assert done.returncode == 0, done.stderr
        assert box.write_calls() > 0
        endpoints = box.server.stats()["endpoints"]
        assert "POST /services/Soap/u/{version}" not in endpoints  # no SOAP login at all
        assert endpoints["POST /services/oauth2/token"] >= 1  # the signed assertion's grant
    finally:
        box.server.stop()
