"""The error a config that cannot be used raises: importable without the settings models."""

from __future__ import annotations


class ConfigError(Exception):
    """The config cannot be used; ``problems`` lists each with its TOML path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems
