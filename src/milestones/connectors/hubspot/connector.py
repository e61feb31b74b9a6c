"""The HubSpot connector: contacts, deals, engagements and stages in; milestone fields out.

It talks to HubSpot through hubspot-api-client, every call through ``HubSpotHttp``'s one
paced, retrying path. The work is split by job, one module each in this package:

- ``http``     the request path: SDK API objects, pacing, retries, error mapping, usage;
- ``paging``   list pages for full pulls, keyset search pages for increments;
- ``pull``     segments, associations and the resume token;
- ``records``  wire format <-> canonical records, and which properties to request;
- ``write``    batch update with 207 mapping and splitting, the lifecycle mirror;
- ``fields``   ``ensure_fields``;
- ``settings`` the ``[hubspot]`` table of the config.

In ``rollups`` mode (``HubSpotSettings.activities``) no engagement is read: contact-level date
properties (the last reply date...) become synthesized inbound email activities inside the
contacts pages, and ``activities`` is not among ``kinds``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from milestones.connectors.base import (
    FieldStatus,
    OnWait,
    Page,
    RecordKind,
    StreamError,
    Usage,
    Window,
    WriteResult,
)
from milestones.connectors.fields import WriteSpec
from milestones.connectors.hubspot.fields import ensure_fields, rules_version
from milestones.connectors.hubspot.history import History, read_history
from milestones.connectors.hubspot.http import PROVIDER, HubSpotHttp, results_of
from milestones.connectors.hubspot.pull import HubSpotPuller
from milestones.connectors.hubspot.records import PropertyPlan, to_stages
from milestones.connectors.hubspot.settings import HubSpotSettings
from milestones.connectors.hubspot.write import BATCH_LIMIT, HubSpotWriter
from milestones.connectors.transport import Clock, Sleep
from milestones.mapping.fields import Change
from milestones.mapping.records import Stage

if TYPE_CHECKING:  # the plays' tasks are loaded by the runs that create them only
    from milestones.connectors.hubspot.tasks import HubSpotTasks


class HubSpotConnector:
    """A ``Connector`` for one HubSpot portal."""

    provider = PROVIDER
    write_batch_size = BATCH_LIMIT
    writes_by_parent = False  # HubSpot locks no company while its contacts are updated

    def __init__(
        self,
        settings: HubSpotSettings,
        spec: WriteSpec,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.settings = settings
        self.spec = spec
        self.kinds: tuple[RecordKind, ...] = (
            ("contacts", "deals", "activities")
            if settings.activities == "engagements"
            else ("contacts", "deals")
        )
        self.http = HubSpotHttp(settings, sleep=sleep, clock=clock)
        self._stages: list[Stage] | None = None
        self._plan: PropertyPlan | None = None
        self._puller = HubSpotPuller(self.http, self._property_plan, self._stage_map)
        self._writer = HubSpotWriter(self.http, settings, spec)

    def stages(self) -> list[Stage]:
        """Every deal pipeline's stages, keyed on stage id: one call, each time asked."""
        path = self.http.paths.pipelines("deals")
        response = self.http.call("meta", "GET", path)
        self._stages = to_stages(results_of(response, path))
        self._plan = None
        return list(self._stages)

    def use_stages(self, stages: Sequence[Stage]) -> None:
        """Take a catalogue read earlier: deals pulls then make no pipelines call."""
        self._stages = list(stages)
        self._plan = None

    def pull(self, kind: RecordKind, window: Window, resume: str | None = None) -> Iterator[Page]:
        """Pages of ``kind`` inside ``window`` (full list or keyset search), resumable."""
        if kind not in self.kinds:
            raise StreamError(f"no {kind!r} stream in this mode", connector=PROVIDER)
        if kind == "deals" and self._stages is None:
            self.stages()  # stage ids name the stage-entry properties; closed/won fallback
        yield from self._puller.pull(kind, window, resume)

    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        """Batch-update the changes; one result per change, in order."""
        return self._writer.write(changes)

    def property_history(self, ids: Sequence[str], names: Sequence[str]) -> History:
        """Each contact's history of ``names``: batch reads of 50 with ``propertiesWithHistory``."""
        return read_history(self.http, "contacts", ids, names)

    def owners(self) -> dict[str, str]:
        """Owner id -> "First Last" (else the email), from the owners API, page by page.

        The owners API (``Paths.owners``): ``limit`` up to 500, ``after`` from
        ``paging.next.after`` (reference/crm-api-changes-2026.md section 2.4).
        """
        names: dict[str, str] = {}
        after: str | None = None
        path = self.http.paths.owners()
        while True:
            query: dict[str, Any] = {"limit": 500, **({"after": after} if after else {})}
            data = self.http.call("meta", "GET", path, query=query).data or {}
            for owner in data.get("results") or []:
                full = " ".join(p for p in (owner.get("firstName"), owner.get("lastName")) if p)
                name = full or owner.get("email")
                if owner.get("id") is not None and name:
                    names[str(owner["id"])] = str(name)
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return names

    def ensure_fields(self, dry_run: bool) -> list[FieldStatus]:
        """Check and (unless ``dry_run``) create the ``milestones`` group and our properties."""
        return ensure_fields(self.http, self.spec, dry_run)

    def tasks(self) -> HubSpotTasks:
        """Create, check and complete the plays' tasks (``connectors.tasks.TaskApi``)."""
        from milestones.connectors.hubspot.tasks import HubSpotTasks

        return HubSpotTasks(self.http)

    def usage(self) -> Usage:
        """Calls per category (read, search, associations, write, meta), 429s, daily quota."""
        return self.http.usage

    def rules_version(self) -> str | None:
        """The portal's validation rules on our properties, fingerprinted (two calls)."""
        return rules_version(self.http, self.spec)

    def watch_waits(self, on_wait: OnWait | None) -> None:
        """Tell ``on_wait`` of every pacing and retry wait on the request path."""
        self.http.transport.on_wait = on_wait

    def close(self) -> None:
        """Release the shared connection pool."""
        self.http.close()

    def _stage_map(self) -> Mapping[str, Stage]:
        return {s.id: s for s in (self.stages() if self._stages is None else self._stages)}

    def _property_plan(self) -> PropertyPlan:
        if self._plan is None:
            stage_ids = [s.id for s in self._stages or []]
            self._plan = PropertyPlan.build(self.settings, self.spec, stage_ids)
        return self._plan
