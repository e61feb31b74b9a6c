"""Start the Salesforce sandbox for `milestones sandbox --provider salesforce`.

Prints what a user needs to point the worker at it: the instance URL, the CA bundle
to trust (simple-salesforce always speaks https), a config for the default auth mode
(client credentials through the sandbox's External Client App) and the sandbox-only
credentials of the others: the JWT signing key, a session id, the legacy password login.
`--soap-login off` starts an org with SOAP login() switched off, as orgs created since
Winter '26 are; `--soap-login no-api-auth` one whose user lacks "Use Any API Auth".
"""

from __future__ import annotations

from milestones.sandbox.salesforce.api import DEFAULT_DAILY_MAX, SalesforceServer
from milestones.sandbox.server.faults import FaultPlan
from milestones.sandbox.world.store import World

DEVELOPER_EDITION_DAILY = 15_000  # daily API requests of a Developer Edition org (reference 5.1)


SOAP_LOGIN_CHOICES = ("on", "off", "no-api-auth")


def start_salesforce(
    world: World,
    *,
    port: int = 0,
    faults: FaultPlan | None = None,
    rate_limits: bool = False,
    soap_login: str = "on",
) -> tuple[SalesforceServer, list[str]]:
    """Serve `world` as a Salesforce org; returns the started server and lines to print.

    With `rate_limits`, the org has a Developer Edition's 15,000 daily API requests;
    without, 100,000. `soap_login` is one of `SOAP_LOGIN_CHOICES`: `off` refuses SOAP
    login() as a new org does, `no-api-auth` refuses it for lack of "Use Any API Auth".
    """
    daily = DEVELOPER_EDITION_DAILY if rate_limits else DEFAULT_DAILY_MAX
    server = SalesforceServer(
        world,
        port=port,
        faults=faults,
        daily_api_max=daily,
        soap_login=soap_login != "off",
        use_any_api_auth=soap_login != "no-api-auth",
    ).start()
    return server, describe(server)


def describe(server: SalesforceServer) -> list[str]:
    """Lines telling a user how to reach the server."""
    creds = server.login.credentials
    soap = "on" if server.login.soap_login_enabled else "off (as on orgs since Winter '26)"
    if server.login.soap_login_enabled and not server.login.use_any_api_auth:
        soap = "refused: the user lacks Use Any API Auth"
    return [
        f"instance URL: {server.url}",
        f"CA bundle:    {server.ca_bundle}",
        f"daily API requests: {server.daily_api_max}",
        f"SOAP login(): {soap}",
        "",
        "# milestones.toml (auth = client_credentials, the default)",
        'provider = "salesforce"',
        "[salesforce]",
        f'instance_url = "{server.url}"',
        'auth = "client_credentials"',
        'consumer_key = "${SF_CONSUMER_KEY}"',
        'consumer_secret = "${SF_CONSUMER_SECRET}"',
        f'ca_bundle = "{server.ca_bundle}"',
        "",
        f"export SF_CONSUMER_KEY='{creds.client_id}' SF_CONSUMER_SECRET='{creds.client_secret}'",
        "",
        f'# auth = "jwt": username = "{creds.username}", consumer_key as above,',
        f'#   private_key_file = "{server.jwt_key_file}"',
        f'# auth = "session": session_id = "${{SF_SESSION_ID}}" with SF_SESSION_ID={server.token}',
        '# auth = "password" (legacy SOAP login) with:',
        f"#   username {creds.username}, password {creds.password},"
        f" security token {creds.security_token}",
        "# Other https clients: trust the CA bundle; with REQUESTS_CA_BUNDLE set, requests"
        " ignores session.verify.",
    ]
