"""Headless Chromium for the HTML reports' browser tests: one page laid out, its DOM back.

A test adds a small inline script (it fetches nothing) that writes what it measures into the
DOM; Chromium dumps the DOM after layout. The tests skip only when Chromium is missing
outside CI; CI installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (CI installs it: apt-get install chromium)",
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def laid_out_dom(html: str, script: str, tmp_path: Path) -> str:
    """``html`` with ``script`` at the end of its body, as Chromium has laid it out."""
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", script + "</body>"), encoding="utf-8")
    assert CHROMIUM is not None, "CI must install chromium (apt-get install chromium)"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
