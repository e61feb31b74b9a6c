"""``python -m milestones`` runs the CLI."""

from milestones.sync.cli import main

main()
