"""HubSpot's API versions: every path the connector calls, built here from the configured one.

HubSpot dates its APIs since 2026-03-30 (``/crm/objects/2026-09/contacts``): a new version
each March and September, each supported for 18 months after its release. The worker speaks
the newest dated version it is tested with (``DEFAULT_VERSION``), or ``legacy``, the numbered
paths of 2024 (``/crm/v3/...`` and the v4 associations), until their end of support.
Moving to the next version is a config change (``[hubspot] api_version``) plus this table.

Sources (crm-api-changes-2026.md §1): HubSpot's versioning policy (18 months of support);
"Deprecating support for HubSpot v4 APIs" (v4 unsupported 2027-03-30); "Legacy APIs and
legacy apps: what's going unsupported and when" (v1-v3 and legacy private apps, September 2027).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from milestones.connectors.base import ApiSupport

LEGACY = "legacy"
DEFAULT_VERSION = "2026-09"
WARN_DAYS = 90


@dataclass(frozen=True, slots=True)
class Version:
    """One API version the worker is tested with, and when HubSpot stops supporting it."""

    name: str
    ends: date
    source: str


VERSIONS: dict[str, Version] = {
    "2026-09": Version(
        "2026-09",
        date(2028, 3, 8),  # released 2026-09-08; unsupported 18 months later
        "HubSpot's versioning policy: 18 months of support after the version's release",
    ),
    LEGACY: Version(
        LEGACY,
        date(2027, 3, 30),  # v4 associations first; v1-v3 follow in September 2027
        "HubSpot changelog: v4 APIs unsupported from 2027-03-30, v1-v3 from September 2027",
    ),
}


class Paths:
    """The path of every endpoint the connector calls, in one API version."""

    def __init__(self, version: str) -> None:
        if version not in VERSIONS:
            known = ", ".join(sorted(VERSIONS))
            raise ValueError(f"HubSpot API version {version!r} is not one of: {known}")
        self.version = version
        self.is_legacy = version == LEGACY

    def _crm(self, api: str, legacy: str) -> str:
        return f"/crm/{legacy}/{api}" if self.is_legacy else f"/crm/{api}/{self.version}"

    def objects(self, object_type: str) -> str:
        """List (GET) and the root of search and batch calls."""
        return f"{self._crm('objects', 'v3')}/{object_type}"

    def search(self, object_type: str) -> str:
        return f"{self.objects(object_type)}/search"

    def batch_read(self, object_type: str) -> str:
        return f"{self.objects(object_type)}/batch/read"

    def batch_create(self, object_type: str) -> str:
        return f"{self.objects(object_type)}/batch/create"

    def batch_update(self, object_type: str) -> str:
        return f"{self.objects(object_type)}/batch/update"

    def associations(self, from_type: str, to_type: str) -> str:
        """Association batch read (v4 on the legacy paths)."""
        return f"{self._crm('associations', 'v4')}/{from_type}/{to_type}/batch/read"

    def pipelines(self, object_type: str) -> str:
        return f"{self._crm('pipelines', 'v3')}/{object_type}"

    def owners(self) -> str:
        return self._crm("owners", "v3")

    def properties(self, object_type: str) -> str:
        return f"{self._crm('properties', 'v3')}/{object_type}"

    def property(self, object_type: str, name: str) -> str:
        return f"{self.properties(object_type)}/{name}"

    def groups(self, object_type: str) -> str:
        return f"{self.properties(object_type)}/groups"

    def group(self, object_type: str, name: str) -> str:
        return f"{self.groups(object_type)}/{name}"

    def property_validations(self, object_type_id: str) -> str | None:
        """The portal's property validation rules (dated versions only)."""
        if self.is_legacy:
            return None
        return f"/crm/property-validations/{self.version}/{object_type_id}"


def api_support(version: str) -> list[ApiSupport]:
    """When the configured API version stops being supported, and what to do then."""
    known = VERSIONS[version]
    if known.name == LEGACY:
        step = f'set [hubspot] api_version = "{DEFAULT_VERSION}"'
        api = "CRM API legacy paths (v3, v4 associations)"
    else:
        step = "set [hubspot] api_version to a newer version this release of the worker knows"
        api = f"CRM API {known.name}"
    return [ApiSupport("hubspot", api, known.ends, WARN_DAYS, step, known.source)]
