"""HubSpot's API versions in the sandbox: legacy numbered paths and the dated 2026-09 set.

HubSpot moved to date-based versions (reference/crm-api-changes-2026.md §2): the version
comes after the API's name, ``/crm/objects/2026-09/contacts``, where the legacy path put
a number before it, ``/crm/v3/objects/contacts``. Each served API is listed once here
with its legacy number, so one route table serves both families. Every request is also
counted by family: ``legacy`` for any ``/v1``..``/v4`` path, the date (``2026-09``) for
dated ones, ``other`` for the rest.

The dated answers differ from the legacy ones in a few places, all about the shape:
batch answers never use 207, property definitions lose three display fields, and the
dated association batch read carries what its schema requires (``startedAt``,
``completedAt``, and ``errors``/``links`` in each per-input error).
"""

from __future__ import annotations

import re
from typing import Any

LEGACY = "legacy"
DATED = "2026-09"
# The number each API has on the legacy side.
LEGACY_NUMBERS = {
    "objects": "v3",
    "associations": "v4",
    "pipelines": "v3",
    "properties": "v3",
    "owners": "v3",
}
# Property definition fields the 2026-09 answers no longer carry (reference §2.4).
DROPPED_PROPERTY_FIELDS = ("currencyPropertyName", "numberDisplayHint", "textDisplayHint")

_LEGACY_SEGMENT = re.compile(r"^v[1-4]$")
_DATED_SEGMENT = re.compile(r"^\d{4}-\d{2}(-beta)?$")


def api_path(api: str, version: str, rest: str = "") -> str:
    """The route pattern of ``rest`` under an API in a version.

    ``api_path("objects", LEGACY, "/{type}")`` is ``/crm/v3/objects/{type}``;
    ``api_path("objects", DATED, "/{type}")`` is ``/crm/objects/2026-09/{type}``.
    """
    if version == LEGACY:
        return f"/crm/{LEGACY_NUMBERS[api]}/{api}{rest}"
    return f"/crm/{api}/{version}{rest}"


def family(path: str) -> str:
    """The path family a request is counted under: ``legacy``, a date, or ``other``."""
    for segment in path.split("/"):
        if _LEGACY_SEGMENT.match(segment):
            return LEGACY
        if _DATED_SEGMENT.match(segment):
            return segment
    return "other"


def is_dated(version: str) -> bool:
    return version != LEGACY


def batch_status(version: str, has_errors: bool) -> int:
    """Legacy batches answer 207 when any input failed; dated ones always 200 (§2.1)."""
    return 207 if has_errors and not is_dated(version) else 200


def property_answer(definition: dict[str, Any], version: str) -> dict[str, Any]:
    """A property definition as the version answers it."""
    if not is_dated(version):
        return definition
    return {k: v for k, v in definition.items() if k not in DROPPED_PROPERTY_FIELDS}
