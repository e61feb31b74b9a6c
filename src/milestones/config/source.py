"""Reading a config file: TOML, every ``${VAR}`` from the environment, and pydantic's errors
as lines that name the key.

Shared by the whole config (``config.settings``) and the state-only read (``config.state``)
that ``status`` uses, so both report a problem the same way.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from milestones.config.errors import ConfigError

CONFIG_ENV = "MILESTONES_CONFIG"
DEFAULT_CONFIG = Path("milestones.toml")
AUTH_TAGS = ("client_credentials", "jwt", "password", "session")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def resolve_path(explicit: str | os.PathLike[str] | None) -> Path:
    """``--config PATH``, else ``$MILESTONES_CONFIG``, else ``./milestones.toml``."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    return Path(from_env) if from_env else DEFAULT_CONFIG


def read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML table; raise ``ConfigError`` when it is missing, unreadable or not TOML."""
    source = str(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            source, ["file not found (give --config or set MILESTONES_CONFIG)"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [f"cannot read the file: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None


def expand(
    value: Any,
    env: Mapping[str, str],
    path: tuple[str, ...],
    problems: list[str],
    unset: str | None = None,
) -> Any:
    """Replace ``${VAR}`` in every string; a missing variable is a problem, or reads as
    ``unset`` when that is given."""
    if isinstance(value, dict):
        return {k: expand(v, env, (*path, str(k)), problems, unset) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, env, (*path, str(i)), problems, unset) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            if unset is not None:
                return unset
            problems.append(f"{'.'.join(path)}: environment variable {name} is not set")
            return ""
        return env[name]

    return _VAR.sub(substitute, value)


def describe_error(error: Any) -> str:
    """One line per pydantic error: its TOML path and message, never the input value."""
    parts: list[str] = []
    loc = [str(item) for item in error["loc"]]
    if len(loc) > 1 and loc[0] == "salesforce" and loc[1] in AUTH_TAGS:
        del loc[1]  # the discriminated union's tag, not a key the user wrote
    for text in loc:
        if text.startswith("function-after") or text.startswith("function-before"):
            continue
        parts.append(text)
    where = ".".join(parts) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    elif error["type"] == "union_tag_invalid":
        message = "auth must be one of: " + ", ".join(AUTH_TAGS)
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return f"{where}: {message}"
