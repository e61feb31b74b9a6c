"""A fleet: a folder of per-org config files, one org per file, read by ``milestones fleet``.

Each ``*.toml`` file directly in the folder is one org, named by its ``[state] org`` key or
else by the file's stem. The fleet commands only read each org's state, so a config's ``${VAR}``
need not be set where they run (an operator's laptop holds none of the orgs' secrets): a
missing variable reads as a placeholder that is never sent anywhere. A file that is still
malformed, or a name that two files claim, makes that org a problem the commands show
beside the others; it never stops them from reading the rest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from milestones.config.errors import ConfigError
from milestones.config.settings import Config, load_config

UNSET = "unset-for-reading"
"""What a missing ``${VAR}`` reads as in a fleet command: the states are read, no CRM is called."""


@dataclass(slots=True)
class FleetMember:
    """One org of the fleet: its name, its config file, and the config or what is wrong."""

    org: str
    path: Path
    config: Config | None = None
    problems: list[str] = field(default_factory=list)


class FleetError(Exception):
    """The folder cannot be read as a fleet (missing, or no config in it)."""


def load_fleet(folder: Path, environ: Mapping[str, str] | None = None) -> list[FleetMember]:
    """Every org of the folder, sorted by name; malformed ones carry their problems."""
    if not folder.is_dir():
        raise FleetError(f"{folder} is not a folder of org configs")
    files = sorted(p for p in folder.glob("*.toml") if p.is_file())
    if not files:
        raise FleetError(f"{folder} holds no org config (*.toml)")
    env = os.environ if environ is None else environ
    members = [_load_member(path, env) for path in files]
    _flag_shared_names(members)
    return sorted(members, key=lambda m: (m.org, str(m.path)))


def _load_member(path: Path, environ: Mapping[str, str]) -> FleetMember:
    try:
        config = load_config(path, environ, unset=UNSET)
    except ConfigError as exc:
        return FleetMember(path.stem, path, None, list(exc.problems))
    return FleetMember(config.state.org or path.stem, path, config)


def _flag_shared_names(members: list[FleetMember]) -> None:
    """Two files naming the same org would share its state: both become problems."""
    by_name: dict[str, list[FleetMember]] = {}
    for member in members:
        by_name.setdefault(member.org, []).append(member)
    for name, same in by_name.items():
        if len(same) > 1:
            files = ", ".join(m.path.name for m in same)
            for member in same:
                member.problems.append(f"org: {name!r} is named by more than one file ({files})")
