"""Every command takes the group's options after its name too: `milestones check --config X`."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from milestones.cli.app import AppContext
from milestones.cli.main import cli


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The name path of every command that runs something (nested groups walked)."""
    paths: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


def parsed_app(args: list[str]) -> AppContext:
    """Parse ``args`` down to the last command, as the real command line does; its AppContext."""
    ctx = cli.make_context("milestones", list(args))
    group: click.Command = cli
    rest = [*ctx._protected_args, *ctx.args]
    while isinstance(group, click.Group) and rest:
        name, command, rest = group.resolve_command(ctx, rest)
        assert command is not None
        ctx = command.make_context(name or "", rest, parent=ctx)
        rest = [*ctx._protected_args, *ctx.args] if isinstance(command, click.Group) else []
        group = command
    return ctx.ensure_object(AppContext)  # the group's callback makes it when nothing did


cli.load_all()  # the group imports a command's module only when it runs
PATHS = command_paths(cli)


def test_the_walk_finds_every_command() -> None:
    assert len(PATHS) >= len(cli.commands) and ("check",) in PATHS and ("sandbox",) in PATHS


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) for p in PATHS])
def test_config_after_the_command_is_accepted_and_used(path: tuple[str, ...]) -> None:
    needs_arg = {
        ("explain",): ["2000020"],
        ("backfill",): ["--since", "2026-01-01"],
        ("state", "import"): [__file__],
        ("fleet", "status"): ["--dir", "orgs"],
        ("fleet", "report"): ["--dir", "orgs"],
        ("state", "copy"): ["--to", "postgresql://u@db/state"],
    }.get(path, [])
    app = parsed_app([*path, *needs_arg, "--config", "after.toml", "-v"])
    assert app.config_path == "after.toml" and app.verbose
    result = CliRunner().invoke(cli, [*path, "--config", "after.toml", "--help"])
    assert result.exit_code == 0, result.output


def test_after_the_name_wins_and_absent_keeps_the_group_value() -> None:
    assert parsed_app(["--config", "before.toml", "status", "--config", "x.toml"]).config_path == (
        "x.toml"
    )
    kept = parsed_app(["--config", "before.toml", "-q", "status"])
    assert kept.config_path == "before.toml" and kept.quiet
    assert parsed_app(["status", "--log-format", "json"]).log_format == "json"
    assert parsed_app(["status"]).config_path is None  # $MILESTONES_CONFIG, else ./milestones.toml


def test_a_bad_config_after_the_command_is_named_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "milestones.toml"
    config.write_text('provider = "hubspot"\n', encoding="utf-8")
    for args in (["check", "--config", str(config)], ["--config", str(config), "check"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code != 0  # ConfigError: main() turns it into exit 2
        assert isinstance(result.exception, Exception) and str(config) in str(
            getattr(result.exception, "source", "")
        )


def test_environment_variable_still_finds_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from milestones.config.source import resolve_path

    monkeypatch.setenv("MILESTONES_CONFIG", str(tmp_path / "env.toml"))
    app = parsed_app(["status"])
    assert resolve_path(app.config_path) == tmp_path / "env.toml"
