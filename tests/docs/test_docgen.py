"""The configuration reference is generated from the config models and must not drift."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from milestones.config.docs import generate, tables
from milestones.config.settings import Config

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "configuration.md"
REGENERATE = "python -m milestones.config.docs > docs/configuration.md"


def test_committed_reference_matches_the_models() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == generate(), f"docs drifted: run {REGENERATE}"


def test_module_prints_the_reference() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "milestones.config.docs"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out == generate()


def _keys(table: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in table.items():
        if isinstance(value, dict) and (*path, key) not in _FREE_TABLES:
            yield from _keys(value, (*path, key))
        else:
            yield (*path, key)


_FREE_TABLES = {
    ("mapping", "stages"),
    ("writeback", "fields"),
    ("accounts", "fields"),
    ("hubspot", "lifecycle_mirror"),
}


def test_every_key_of_the_example_config_is_documented() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    text = generate()
    documented = {path for path, _, _ in tables(Config)}
    for key in _keys(example):
        table, name = key[:-1], key[-1]
        assert table in documented, f"[{'.'.join(table)}] is not in the reference"
        heading = f"`[{'.'.join(table)}]`" if table else "Top level"
        section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
        assert f"| `{name}` |" in section, f"{'.'.join(key)} is not in the reference"


def test_every_table_and_default_appears() -> None:
    text = generate()
    for heading in ("`[report]`", "`[mapping.advocate]`", '`[salesforce]` with `auth = "jwt"`'):
        assert f"## {heading}" in text
    assert "| `silent_days` | integer, ≥ 1, ≤ 3650 | `90` |" in text
    assert 'salesforce: `"Referred_By__c"`' in text  # provider defaults are shown
