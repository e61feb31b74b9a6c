"""``milestones demo`` (placeholder until written)."""

from __future__ import annotations

import click

COMMANDS: tuple[click.Command, ...] = ()
