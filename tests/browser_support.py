"""Headless Chromium for the HTML reports' browser tests: one page laid out, its DOM back.

A test adds a small inline script (it fetches nothing) that writes what it measures into the
DOM; Chromium dumps the DOM after layout. The tests skip only when Chromium is missing
outside CI; CI installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

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


class KeyedElements(HTMLParser):
    """Every element of a laid-out page with a ``data-key``: its tag, attributes and text, in
    document order, and the body's attributes (where the measuring script says it ran)."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.found: list[dict[str, Any]] = []
        self.body: dict[str, str | None] = {}
        self._open: list[dict[str, Any]] = []
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "body":
            self.body = values
        if values.get("data-key"):
            element = {"tag": tag, "attrs": values, "text": ""}
            self.found.append(element)
            if tag != "rect":
                self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1]["tag"] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data

    @property
    def measured(self) -> bool:
        """Whether the measuring script ran to its end."""
        return self.body.get("data-measured") == "yes"

    def by_key(self, tag: str | None = None) -> dict[str, dict[str, Any]]:
        """The elements (of ``tag``) by their key; a key used twice gives its last element."""
        return {e["attrs"]["data-key"]: e for e in self.found if tag is None or e["tag"] == tag}
