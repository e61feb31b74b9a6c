"""``propertiesWithHistory``: every value a property held, newest first, as HubSpot serves it.

Each entry is a ``ValueWithTimestamp``: ``value`` (a string, as every property value),
``timestamp`` (ISO-8601 UTC), ``sourceType`` (``API``, ``CRM_UI``, ``IMPORT``...) and
``sourceId`` where known (reference/hubspot-api.md sections 1.1-1.3; the schema's
``PropertyHistory`` in HubSpot's CRM object API specs). The world keeps each change made
through the API or by the world itself (``World.record_change``); the value a record was
created with counts as set at its creation. Unset values leave no entry; a cleared value
shows as an empty string.
"""

from __future__ import annotations

from typing import Any

from milestones.sandbox.hubspot.props import CATALOGUE, as_wire, iso
from milestones.sandbox.world.store import World


class _AsOf:
    """A record as it stood before some of its changes: ``values`` override its own."""

    __slots__ = ("_rec", "_values")

    def __init__(self, rec: Any, values: dict[str, Any]) -> None:
        self._rec, self._values = rec, values

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        return getattr(object.__getattribute__(self, "_rec"), name)


def render_history(world: World, kind: str, rec: Any, names: list[str]) -> dict[str, Any]:
    """Property name -> its history, newest first; unknown properties are left out."""
    out: dict[str, Any] = {}
    for name in names:
        entries = _history(world, kind, rec, name)
        if entries is not None:
            out[name] = entries
    return out


def _history(world: World, kind: str, rec: Any, name: str) -> list[dict[str, Any]] | None:
    prop = CATALOGUE[kind].get(name)
    if prop is None and name not in world.defined_fields[kind]:
        return None
    slots = {s for c in type(rec).__mro__ for s in getattr(c, "__slots__", ())}

    def value(state: dict[str, Any]) -> str | None:
        if prop is not None:
            return prop.getter(world, _AsOf(rec, state))
        extra = {**(rec.extra or {}), **{k: v for k, v in state.items() if k not in slots}}
        return as_wire(extra.get(name))

    changes = sorted(world.changes.get(rec.id, ()), key=lambda c: c[0])
    timeline: list[tuple[int, str | None, str]] = []
    state: dict[str, Any] = {}
    for at, attr, old, _new in reversed(changes):
        timeline.append((at, value(state), "API"))
        if attr in slots:
            state[attr] = old
        else:
            state = {**state, attr: old}
    timeline.append((rec.created, value(state), "IMPORT"))
    timeline.reverse()  # oldest first
    kept: list[tuple[int, str | None, str]] = []
    for at, shown, source in timeline:
        held = kept[-1][1] if kept else None
        if shown != held:
            kept.append((at, shown, source))
    return [
        {"value": "" if shown is None else shown, "timestamp": iso(at), "sourceType": source}
        for at, shown, source in reversed(kept)
    ]
