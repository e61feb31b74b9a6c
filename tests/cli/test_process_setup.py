"""What the entry point sets up for the whole process before a command runs."""

from __future__ import annotations

import subprocess
import sys

from milestones.cli.main import YOUNG_COLLECTION_THRESHOLD

_PROBE = """
import gc, sys
from milestones.cli.main import main
try:
    main(["--help"])
except SystemExit:
    pass
print("THRESHOLD", *gc.get_threshold(), file=sys.stderr)
"""


def test_the_entry_point_collects_young_objects_less_often_and_keeps_older_defaults() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("THRESHOLD "))
    young, *older = (int(n) for n in line.split()[1:])
    assert young == YOUNG_COLLECTION_THRESHOLD > 700  # CPython's default is 700
    assert older == [10, 10]  # the older generations keep CPython's defaults
