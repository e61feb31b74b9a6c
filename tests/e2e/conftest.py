"""End-to-end fixtures (the support code is in e2e_support.py, importable by name)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Sandbox, start_sandbox


@pytest.fixture(params=["hubspot", "salesforce"])
def sandbox(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    """A fresh sandbox per test, with its fields created."""
    box = start_sandbox(request.param, tmp_path)
    for name, value in box.env.items():
        monkeypatch.setenv(name, value)
    try:
        assert box.run("fields", "--create") == 0
        yield box
    finally:
        box.server.stop()
