"""Run the CLI in a fresh interpreter and see which of some modules it imported.

What a command imports is its start-up cost; the benchmarks give the figures, these checks
say what the start-up is made of.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

_REPORT_IMPORTS = """
import sys
from milestones.cli.main import main
code = 0
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code or 0
loaded = sorted(m for m in sys.argv[1].split(",") if m in sys.modules)
print("LOADED", code, ",".join(loaded), file=sys.stderr)
"""


def imported_by(
    args: Sequence[str], modules: Sequence[str], env: Mapping[str, str] | None = None
) -> tuple[int, list[str], str]:
    """Run ``milestones ARGS``: its exit code, which of ``modules`` it imported, its output."""
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_IMPORTS, ",".join(modules), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED "))
    _, code, loaded = [*line.split(" "), ""][:3]
    return int(code), [m for m in loaded.split(",") if m], done.stdout + done.stderr
