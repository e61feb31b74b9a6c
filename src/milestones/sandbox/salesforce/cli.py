"""Start the Salesforce sandbox for `milestones sandbox --provider salesforce`.

Prints what a user needs to point the worker at it: the instance URL, the CA bundle
to trust (simple-salesforce always speaks https), a session id and the sandbox-only
login credentials for the other auth modes.
"""

from __future__ import annotations

from milestones.sandbox.salesforce.api import DEFAULT_DAILY_MAX, SalesforceServer
from milestones.sandbox.server.faults import FaultPlan
from milestones.sandbox.world.store import World

DEVELOPER_EDITION_DAILY = 15_000  # daily API requests of a Developer Edition org (reference 5.1)


def start_salesforce(
    world: World, *, port: int = 0, faults: FaultPlan | None = None, rate_limits: bool = False
) -> tuple[SalesforceServer, list[str]]:
    """Serve `world` as a Salesforce org; returns the started server and lines to print.

    With `rate_limits`, the org has a Developer Edition's 15,000 daily API requests;
    without, 100,000.
    """
    daily = DEVELOPER_EDITION_DAILY if rate_limits else DEFAULT_DAILY_MAX
    server = SalesforceServer(world, port=port, faults=faults, daily_api_max=daily).start()
    return server, describe(server)


def describe(server: SalesforceServer) -> list[str]:
    """Lines telling a user how to reach the server."""
    creds = server.login.credentials
    return [
        f"instance URL: {server.url}",
        f"CA bundle:    {server.ca_bundle}",
        f"session id:   {server.token}",
        f"daily API requests: {server.daily_api_max}",
        "",
        "# milestones.toml",
        'provider = "salesforce"',
        "[salesforce]",
        f'instance_url = "{server.url}"',
        'auth = "session"',
        'session_id = "${SF_SESSION_ID}"',
        f'ca_bundle = "{server.ca_bundle}"',
        "",
        f"export SF_SESSION_ID='{server.token}'",
        "",
        '# auth = "password" logs in at the instance URL (SOAP) with:',
        f"#   username {creds.username}, password {creds.password},"
        f" security token {creds.security_token}",
        '# auth = "client_credentials" (OAuth) with:',
        f"#   consumer key {creds.client_id}, consumer secret {creds.client_secret}",
        "# Other https clients: trust the CA bundle; with REQUESTS_CA_BUNDLE set, requests"
        " ignores session.verify.",
    ]
