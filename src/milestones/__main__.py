"""``python -m milestones`` runs the CLI."""

from milestones.cli.main import main

main()
