"""``status`` reads the config's ``[state]`` table alone, and ``sync --help`` imports no engine.

Both start in a fresh interpreter, which reports what it imported (``startup_support``).
"""

from __future__ import annotations

from pathlib import Path

from milestones.store.sqlite import Store
from startup_support import imported_by

HEAVY = (
    "pydantic",
    "milestones.config.settings",
    "milestones.mapping.rules",
    "milestones.sync.engine",
    "milestones.connectors.base",
    "simple_salesforce",
    "hubspot",
)


def _start(*args: str) -> tuple[int, list[str], str]:
    return imported_by(args, HEAVY)


def test_sync_help_imports_neither_the_engine_nor_the_config_models() -> None:
    code, loaded, out = _start("sync", "--help")
    assert code == 0 and "--every" in out
    assert loaded == []


def test_status_reads_only_the_state_table_even_when_the_rest_is_wrong(tmp_path: Path) -> None:
    Store(tmp_path / "state.db").close()
    config = tmp_path / "milestones.toml"
    config.write_text(
        'provider = "hubspot"\n[hubspot]\naccess_token = "${NOT_SET_HERE}"\n'
        '[mapping.stages]\nclosedwon = "champion"\n[state]\npath = "state.db"\nbackups = 3\n',
        encoding="utf-8",
    )
    code, loaded, out = _start("--config", str(config), "status")
    assert code == 0, out
    assert f"state {tmp_path / 'state.db'}: 0 people" in out
    assert loaded == []


def test_status_names_each_bad_state_key_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "milestones.toml"
    config.write_text(
        'provider = "hubspot"\n[state]\nbackups = 400\ncolour = "blue"\norg = "Sales Org"\n'
        'url = "postgresql://w:hunter2@db/fleet"\npath = "${NOT_SET_HERE}"\n',
        encoding="utf-8",
    )
    code, _, out = _start("--config", str(config), "status")
    assert code == 2
    for named in (
        "state.path: environment variable NOT_SET_HERE is not set",
        "state.colour: unknown key",
        "state.backups: must be a whole number from 0 to 365",
        "state.org: must be a lowercase identifier",
        "state.url: holds a password",
    ):
        assert named in out
    assert "hunter2" not in out
