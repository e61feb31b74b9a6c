"""The `milestones` command line: click commands only, one module per command group."""
