"""What the HubSpot request handlers need from the server that calls them.

``hubspot.objects`` and ``hubspot.meta`` take a ``Portal`` rather than the server class,
so the server module can import them without them importing it back.
"""

from __future__ import annotations

from typing import Any, Protocol

from milestones.sandbox.hubspot.rules import Rules
from milestones.sandbox.server.faults import FaultPlan
from milestones.sandbox.world.store import World


class Portal(Protocol):
    """The HubSpot portal state a handler reads and the one write path it uses."""

    world: World
    faults: FaultPlan
    # Property groups created through the API, per object kind (built-in ones are implied).
    property_groups: dict[str, dict[str, dict[str, Any]]]
    # The portal's property validation rules (format and conditional-required).
    rules: Rules

    def count_history_read(self, kind: str) -> None:
        """Count one request that asked for ``propertiesWithHistory``."""
        ...

    def write(self, kind: str, record_id: int, updates: dict[str, Any]) -> None:
        """Apply an API write to the world and count it."""
        ...
