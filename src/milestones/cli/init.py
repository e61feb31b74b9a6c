"""``milestones init``: write a commented config for one CRM, asking only what it cannot see.

What the environment already tells is used without a question: which CRM (the variables
``HUBSPOT_ACCESS_TOKEN`` or ``SF_*`` that are set), the Salesforce auth mode (a session id,
a JWT key, client credentials or a password) and the instance URL (``SF_INSTANCE_URL``).
Only what remains is asked, and nothing at all with ``--no-input`` (defaults then: for
Salesforce, client credentials through an External Client App). Secrets
are never written: the file reads them from the environment with ``${VAR}``.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

import click

from milestones.cli.app import AppContext, pass_app
from milestones.config.settings import parse_config
from milestones.config.source import resolve_path
from milestones.connectors.hubspot.versions import DEFAULT_VERSION
from milestones.connectors.salesforce.settings import (
    DATA_API_VERSION,
    DEFAULT_AUTH,
    LAST_SOAP_LOGIN_VERSION,
)

HUBSPOT_STAGES = {
    "appointmentscheduled": "prospect",
    "qualifiedtobuy": "prospect",
    "presentationscheduled": "opportunity",
    "decisionmakerboughtin": "opportunity",
    "contractsent": "opportunity",
    "closedwon": "client",
}
# Salesforce's standard Opportunity stages (StageName API names).
SALESFORCE_STAGES = {
    "Prospecting": "prospect",
    "Qualification": "prospect",
    "Needs Analysis": "prospect",
    "Value Proposition": "opportunity",
    "Id. Decision Makers": "opportunity",
    "Perception Analysis": "opportunity",
    "Proposal/Price Quote": "opportunity",
    "Negotiation/Review": "opportunity",
    "Closed Won": "client",
}
SF_AUTH_VARS = {  # the order new integrations should consider them
    "client_credentials": ("SF_CONSUMER_KEY", "SF_CONSUMER_SECRET"),
    "jwt": ("SF_USERNAME", "SF_CONSUMER_KEY", "SF_PRIVATE_KEY_FILE"),
    "password": ("SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"),
    "session": ("SF_SESSION_ID",),
}
PLACEHOLDER_URL = "https://acme.my.salesforce.com"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def detect_provider(env: Mapping[str, str]) -> str | None:
    """The CRM whose credentials are in the environment; None when neither or both."""
    hubspot = "HUBSPOT_ACCESS_TOKEN" in env
    salesforce = any(name.startswith("SF_") for name in env)
    if hubspot == salesforce:
        return None
    return "hubspot" if hubspot else "salesforce"


def detect_sf_auth(env: Mapping[str, str]) -> str | None:
    """The Salesforce auth mode the environment's variables make possible, if one is clear."""
    if "SF_SESSION_ID" in env:
        return "session"
    if "SF_CONSUMER_KEY" in env and "SF_PRIVATE_KEY_FILE" in env:
        return "jwt"
    if "SF_CONSUMER_KEY" in env and "SF_CONSUMER_SECRET" in env:
        return "client_credentials"
    if "SF_USERNAME" in env:
        return "password"
    return None


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else '"' + name.replace('"', '\\"') + '"'


def _stages(stages: Mapping[str, str]) -> list[str]:
    width = max(len(_key(k)) for k in stages)
    return [f'{_key(k).ljust(width)} = "{v}"' for k, v in stages.items()]


def _hubspot_section(env: Mapping[str, str]) -> list[str]:
    base = env.get("HUBSPOT_BASE_URL", "https://api.hubapi.com")
    return [
        "[hubspot]",
        "# A service key's token with the crm.objects.contacts/deals read and write,",
        "# crm.schemas.contacts/deals write and sales-email-read scopes, from the env.",
        'access_token = "${HUBSPOT_ACCESS_TOKEN}"',
        f'api_version = "{DEFAULT_VERSION}"      # HubSpot\'s dated API version; `check` says '
        "when its support ends",
        f'base_url = "{base}"         # a sandbox or proxy may replace it',
        '# ca_bundle = "/path/to/ca.pem"   # trust a private CA (a proxy, the sandbox)',
        "ten_second_limit = 100          # requests per rolling 10 s your app's tier allows",
    ]


def _salesforce_section(auth: str, instance_url: str) -> list[str]:
    lines = [
        "[salesforce]",
        f'instance_url = "{instance_url}"'
        + ("   # change me: your My Domain URL" if instance_url == PLACEHOLDER_URL else ""),
        f'auth = "{auth}"   # client_credentials (default) | jwt | password (legacy) | session',
    ]
    if auth == "client_credentials":
        lines.append("# The External Client App's key and secret; it runs as its Run As user.")
    elif auth == "password":
        lines += [
            "# Legacy SOAP login(): off on orgs created since Winter '26, retired in Summer '27.",
            '# Move to auth = "client_credentials" (README.md, "Quick start: Salesforce").',
        ]
    if auth in ("password", "jwt"):
        lines.append('username = "${SF_USERNAME}"')
    if auth == "password":
        lines += ['password = "${SF_PASSWORD}"', 'security_token = "${SF_SECURITY_TOKEN}"']
    elif auth == "jwt":
        lines += [
            'consumer_key = "${SF_CONSUMER_KEY}"',
            'private_key_file = "${SF_PRIVATE_KEY_FILE}"',
        ]
    elif auth == "client_credentials":
        lines += [
            'consumer_key = "${SF_CONSUMER_KEY}"',
            'consumer_secret = "${SF_CONSUMER_SECRET}"',
        ]
    else:
        lines.append('session_id = "${SF_SESSION_ID}"  # an existing session; cannot log in again')
    if auth == "password":
        version = f'login_api_version = "{LAST_SOAP_LOGIN_VERSION}"'
        lines.append(f"{version}       # SOAP login() only; 65.0 and later have none")
    if auth in ("password", "jwt"):
        domain = "test" if ".sandbox." in instance_url else "login"
        lines.append(f'domain = "{domain}"                # "test" for a sandbox org')
    lines += [
        f'api_version = "{DATA_API_VERSION}"              # data calls; the newest tested',
        "budget_share = 0.5               # share of the daily API requests left a run may spend",
    ]
    return lines


def render_config(provider: str, env: Mapping[str, str], auth: str, instance_url: str) -> str:
    """The commented TOML text for ``provider``."""
    is_hubspot = provider == "hubspot"
    crm = _hubspot_section(env) if is_hubspot else _salesforce_section(auth, instance_url)
    stages = HUBSPOT_STAGES if is_hubspot else SALESFORCE_STAGES
    nps = "hs_feedback_last_nps_rating" if is_hubspot else "NPS_Score__c"
    referrer = "referred_by" if is_hubspot else "Referred_By__c"
    lines = [
        "# crm-milestones configuration, written by `milestones init`.",
        "# Secrets are never written here: ${VAR} reads the environment variable VAR.",
        "# Every key: docs/configuration.md. Next: `milestones check`, then `milestones sync`.",
        "",
        f'provider = "{provider}"',
        "",
        *crm,
        "",
        "[state]",
        'path = "milestones.db"             # SQLite file, relative to this config file',
        "",
        "# Stage id (HubSpot) or API name (Salesforce) -> the milestone it proves. Stages not",
        "# listed fall back on their metadata; `milestones stages` shows what each one proves.",
        "[mapping.stages]",
        *_stages(stages),
        "",
        "[mapping.advocate]",
        f'referred_by_property = "{referrer}"   # the referrer\'s record id (or email)',
        f'nps_property = "{nps}"',
        "nps_min = 9                         # promoters: 9 and 10",
        'flag_properties = []                # e.g. ["reference_customer"]',
        "lapse_days = 365                    # is_advocate turns false when evidence is older",
        "",
        "[writeback]",
        "enabled = true                      # false: derive and plan, never write",
        "",
        "[report]",
        "silent_days = 90                    # clients with no two-way contact for longer: at risk",
        "lapse_warning_days = 30             # warn about advocates lapsing this soon",
        '# owner_names = { "101" = "Ann Lee" }   # CRM owner id -> name shown in the report',
        "",
    ]
    return "\n".join(lines)


def validate_template(text: str) -> None:
    """Check the written text against the config models (variables stand in as ``x``)."""
    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
    parse_config(tomllib.loads(text), source="template", environ=dict.fromkeys(names, "x"))


def is_terminal() -> bool:
    """Whether someone can answer questions (stdin is a terminal)."""
    return sys.stdin.isatty()


def _ask(question: str, choices: list[str], default: str, interactive: bool) -> str:
    if not interactive:
        return default
    answer: str = click.prompt(question, type=click.Choice(choices), default=default)
    return answer


@click.command()
@click.option(
    "--provider", type=click.Choice(["hubspot", "salesforce"]), help="Which CRM (else detected)."
)
@click.option(
    "--auth",
    type=click.Choice(list(SF_AUTH_VARS)),
    help="Salesforce auth mode (else detected from the SF_* variables; "
    "client_credentials when nothing tells).",
)
@click.option("--instance-url", help="Salesforce My Domain URL (else $SF_INSTANCE_URL).")
@click.option("--no-input", is_flag=True, help="Never ask; use defaults for what is unknown.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@pass_app
def init(
    app: AppContext,
    provider: str | None,
    auth: str | None,
    instance_url: str | None,
    no_input: bool,
    force: bool,
) -> None:
    """Write a commented config file for HubSpot or Salesforce.

    It goes to --config PATH, else $MILESTONES_CONFIG, else ./milestones.toml. The CRM,
    the Salesforce auth mode and URL are read from the environment when they are there
    (HUBSPOT_ACCESS_TOKEN; SF_INSTANCE_URL, SF_USERNAME, SF_SESSION_ID, SF_CONSUMER_KEY...);
    only the rest is asked. Secrets stay in the environment: the file says ${VAR}.

    \b
    Examples:
      milestones init                                 detect, ask the rest
      milestones init --provider hubspot --no-input
      milestones init --provider salesforce --instance-url https://acme.my.salesforce.com
      milestones --config acme.toml init --provider salesforce --auth jwt \\
          --instance-url https://acme.my.salesforce.com
    """
    env = os.environ
    path = resolve_path(app.config_path)
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; use --force to overwrite it")
    interactive = not no_input and is_terminal()
    provider = provider or detect_provider(env)
    if provider is None:
        if not interactive:
            raise click.UsageError("give --provider hubspot or --provider salesforce")
        provider = _ask("Which CRM", ["hubspot", "salesforce"], "hubspot", True)
    auth = auth or detect_sf_auth(env)
    if provider == "salesforce" and auth is None:
        auth = _ask("Salesforce auth mode", list(SF_AUTH_VARS), DEFAULT_AUTH, interactive)
    url = instance_url or env.get("SF_INSTANCE_URL")
    if provider == "salesforce" and url is None:
        url = click.prompt("Salesforce My Domain URL") if interactive else PLACEHOLDER_URL
    text = render_config(provider, env, auth or DEFAULT_AUTH, url or PLACEHOLDER_URL)
    validate_template(text)
    Path(path).write_text(text, encoding="utf-8")
    needed = (
        ["HUBSPOT_ACCESS_TOKEN"]
        if provider == "hubspot"
        else list(SF_AUTH_VARS[auth or DEFAULT_AUTH])
    )
    missing = [name for name in needed if name not in env]
    message = f"wrote {path} for {provider}"
    if missing:
        message += f"; set {', '.join(missing)} before running"
    app.emit(None, False, [message, "next: milestones check, then milestones sync --dry-run"])


COMMANDS: tuple[click.Command, ...] = (init,)
