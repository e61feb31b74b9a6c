"""The benchmarks live beside ``src/``, not inside the package: their smoke tests import them
from the repository's root, which this puts on the path before any of them is collected."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
