"""Helpers shared by the HubSpot connector tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from milestones.connectors.base import Page, Window
from milestones.connectors.fields import WriteSpec
from milestones.connectors.hubspot.connector import HubSpotConnector
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES

HUBSPOT_SPEC = WriteSpec(
    names=dict(HUBSPOT_FIELD_NAMES),
    extra_properties=("referred_by", "hs_feedback_last_nps_rating", "reference_customer"),
)
MakeConnector = Callable[..., HubSpotConnector]


class VirtualTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        # At least a microsecond: a wait that rounds away (1000.0 + 1e-13 == 1000.0) would
        # leave a pacer asking to wait again forever.
        seconds = max(1e-6, seconds)
        self.now += seconds
        self.slept += seconds


def full_window() -> Window:
    return Window(since=None, until=datetime.now(UTC) - timedelta(seconds=1))


def collect(pages: Iterator[Page]) -> tuple[list[Any], list[str], list[Page]]:
    """Every record and deleted id of a pull, and its pages."""
    records: list[Any] = []
    deleted: list[str] = []
    seen: list[Page] = []
    for page in pages:
        records.extend(page.records)
        deleted.extend(page.deleted_ids)
        seen.append(page)
    return records, deleted, seen
