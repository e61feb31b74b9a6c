"""``[state]``: where the state lives, read on its own.

``Config`` validates this table like every other (``config.settings.StateSettings``, with the
checks below); ``load_state`` reads only this table, for the commands that read the state and
nothing else (``status``), so they start without pydantic or the rest of the config.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from milestones.config.errors import ConfigError
from milestones.config.source import expand, read_toml
from milestones.logs import register_secret
from milestones.store.location import StateLocation

_ORG = re.compile(r"[a-z_][a-z0-9_]{0,62}")
STATE_URL_ENV = "MILESTONES_STATE_URL"
STATE_KEYS = ("path", "backups", "url", "org")
DEFAULT_STATE_PATH = "milestones.db"
DEFAULT_BACKUPS = 7


def check_state_url(url: str) -> None:
    """Raise ``ValueError`` unless ``url`` is a PostgreSQL URL without a password."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("must be a postgresql:// URL (or leave it out to keep the SQLite file)")
    if parts.password or "password=" in parts.query:
        raise ValueError(
            "holds a password: give it in PGPASSWORD, a libpq service file or ~/.pgpass"
        )


def apply_state_url(raw: dict[str, Any], env: Mapping[str, str], problems: list[str]) -> None:
    """``MILESTONES_STATE_URL`` overrides ``[state] url`` (checked here, to name the variable)."""
    url = env.get(STATE_URL_ENV)
    if not url:
        return
    try:
        check_state_url(url)
    except ValueError as exc:
        problems.append(f"{STATE_URL_ENV}: {exc}")
        return
    state = raw.get("state")
    raw["state"] = {**(state if isinstance(state, dict) else {}), "url": url}


def check_org(value: str) -> None:
    """Raise ``ValueError`` unless ``value`` can name an org (and its PostgreSQL schema)."""
    if not _ORG.fullmatch(value) or value.startswith("pg_"):
        raise ValueError(
            "must be a lowercase identifier: a letter or _, then letters, digits or _ "
            "(at most 63, not starting with pg_)"
        )


def check_org_with_url(url: str | None, org: str | None) -> None:
    """Raise ``ValueError`` when a database is named without the org whose schema it holds."""
    if url is not None and org is None:
        raise ValueError("state.org is required when state.url is set (the org's schema)")


def load_state(path: Path, environ: Mapping[str, str] | None = None) -> StateLocation:
    """Where the state is, from the ``[state]`` table of the config at ``path`` alone: its
    ``${VAR}``s expanded, ``MILESTONES_STATE_URL`` applied, its file resolved beside the
    config. Raise ``ConfigError`` naming each bad key; the rest of the file is not read.

    The same checks as ``config.settings.StateSettings`` (which the whole config validates
    with pydantic), made directly: the commands that read only the state start without
    importing pydantic or building any of the config's validators.
    """
    env = os.environ if environ is None else environ
    source = str(path)
    table = read_toml(path).get("state", {})
    if not isinstance(table, dict):
        raise ConfigError(source, ["state: must be a table"])
    problems: list[str] = []
    raw: dict[str, Any] = {"state": expand(table, env, ("state",), problems)}
    apply_state_url(raw, env, problems)
    state = raw["state"]
    problems += [f"state.{key}: unknown key" for key in state if key not in STATE_KEYS]
    file = state.get("path", DEFAULT_STATE_PATH)
    backups = state.get("backups", DEFAULT_BACKUPS)
    url, org = state.get("url"), state.get("org")
    if not isinstance(file, str):
        problems.append("state.path: must be a string")
    if isinstance(backups, bool) or not isinstance(backups, int) or not 0 <= backups <= 365:
        problems.append("state.backups: must be a whole number from 0 to 365")
    for key, value, check in (("url", url, check_state_url), ("org", org, check_org)):
        if value is None:
            continue
        try:
            if not isinstance(value, str):
                raise ValueError("must be a string")
            check(value)
        except ValueError as exc:
            problems.append(f"state.{key}: {exc}")
    try:
        check_org_with_url(url, org)
    except ValueError as exc:
        problems.append(f"state: {exc}")
    if problems:
        raise ConfigError(source, problems)
    if url is not None and env.get("PGPASSWORD"):
        register_secret(env["PGPASSWORD"])  # libpq's password: never in a log line either
    return StateLocation(path.parent / Path(file), url, org, backups)
