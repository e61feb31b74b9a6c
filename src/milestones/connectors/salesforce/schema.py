"""What the org has: one describe per object per connector, cached.

Describe reflects the running user's field-level security (reference section 4), so a
field absent from it is either missing or invisible to us; either way a query must not
name it (``INVALID_FIELD``). Pulls therefore ask only for fields describe lists, and the
written fields may be created later (``fields --create``) without breaking earlier pulls.

With a ``cache`` file, what pulls need from describe (field names, child relationships, and
whether the object exists) is kept between runs for ``CACHE_MAX_AGE``: seven describes a
run would otherwise be most of an incremental run's calls. When the pulls find an object
missing from the cache (a first run, a cache a day old), they describe every object they
read that the cache lacks in one Composite call instead of one call each. Field checks
always describe afresh (and refresh the file); ``forget`` drops an object from it, and a
pull whose query names a field the org no longer shows describes that object again
(``is_cached``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from milestones.connectors.base import StreamError
from milestones.connectors.salesforce.client import SalesforceClient

log = logging.getLogger("milestones.salesforce")

COMPOSITE_DOC = (
    "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
    "resources_composite_composite_post.htm"
)
COMPOSITE_SINCE = 38.0  # the API version that brought the Composite resource
COMPOSITE_MAX = 25  # subrequests per Composite call
CACHE_MAX_AGE = 24 * 3600.0  # seconds: fields an admin adds are seen within a day
_CACHE_VERSION = 1


class Schema:
    """Describe results by object name; a missing object (404) is remembered as None."""

    def __init__(
        self, client: SalesforceClient, cache: Path | None = None, together: Sequence[str] = ()
    ) -> None:
        self.client = client
        self._fields: dict[str, dict[str, dict[str, Any]] | None] = {}
        self._children: dict[str, set[str]] = {}
        self._cache = cache
        self._key = f"{client.settings.instance_url}|{client.settings.api_version}"
        self._saved: dict[str, Any] | None = None  # sobject -> summary, read lazily
        self._together = tuple(together)  # described in one Composite call when one is missed

    def describe(self, sobject: str) -> dict[str, dict[str, Any]] | None:
        """Field name -> describe entry, or None when the org has no such object."""
        if sobject not in self._fields:
            sf = self.client.sf
            try:
                answer = self.client.call(
                    "meta", lambda: sf.restful(f"sobjects/{sobject}/describe")
                )
            except StreamError as error:
                if error.status != 404:
                    raise
                answer = None
            self._remember(sobject, answer)
        return self._fields[sobject]

    def describe_together(self, sobjects: Sequence[str]) -> None:
        """Describe every object of ``sobjects`` this run does not know, in one request.

        The Composite resource runs up to 25 subrequests and counts as one call toward the
        API limits (``COMPOSITE_DOC``), where separate describes of a sync's seven objects
        would cost seven. A subrequest that answers neither 200 nor 404 is left to a plain
        describe, which reports its error the usual way.
        """
        missing = [o for o in dict.fromkeys(sobjects) if o not in self._fields]
        version = self.client.settings.api_version
        if len(missing) < 2 or float(version) < COMPOSITE_SINCE:
            return
        sf = self.client.sf
        requests = [
            {
                "method": "GET",
                "url": f"/services/data/v{version}/sobjects/{o}/describe",
                "referenceId": o,
            }
            for o in missing[:COMPOSITE_MAX]
        ]
        body = {"allOrNone": False, "compositeRequest": requests}
        try:
            answer = self.client.call(
                "meta", lambda: sf.restful("composite", method="POST", json=body)
            )
        except StreamError as error:  # e.g. a proxy without it: describe one by one
            log.info("salesforce: composite describe refused (%s); describing singly", error)
            return
        for result in (answer or {}).get("compositeResponse") or []:
            if not isinstance(result, dict) or result.get("referenceId") not in missing:
                continue
            status = result.get("httpStatusCode")
            if status == 200 and isinstance(result.get("body"), dict):
                self._remember(str(result["referenceId"]), result["body"])
            elif status == 404:
                self._remember(str(result["referenceId"]), None)

    def _remember(self, sobject: str, answer: dict[str, Any] | None) -> None:
        """Keep one describe answer (None: no such object) for this run and the cache."""
        fields = (answer or {}).get("fields") if answer else None
        self._children[sobject] = {
            str(c.get("relationshipName"))
            for c in (answer or {}).get("childRelationships") or []
            if isinstance(c, dict) and c.get("relationshipName")
        }
        self._fields[sobject] = (
            {f["name"]: f for f in fields if isinstance(f, dict) and "name" in f}
            if fields is not None
            else None
        )
        described = self._fields[sobject]
        summary = None
        if described is not None:
            summary = {"fields": sorted(described), "children": sorted(self._children[sobject])}
        self._save(sobject, summary, drop=False)

    def exists(self, sobject: str) -> bool:
        """True when the org (and the running user) can see ``sobject``."""
        return self._summary(sobject) is not None

    def names(self, sobject: str) -> set[str]:
        """The field names describe lists; an object we must read but cannot is an error."""
        summary = self._summary(sobject)
        if summary is None:
            raise StreamError(
                f"the org has no {sobject} object visible to this user",
                connector="salesforce",
                object_name=sobject,
                status=404,
            )
        return set(summary["fields"])

    def children(self, sobject: str) -> set[str]:
        """The parent-to-child relationship names describe lists (for subqueries)."""
        summary = self._summary(sobject)
        return set(summary["children"]) if summary is not None else set()

    def is_cached(self, sobject: str) -> bool:
        """Whether this run knows ``sobject`` from the cache file, not from a describe."""
        return sobject not in self._fields and sobject in self._read_cache()

    # -- the cache file -------------------------------------------------------------------
    def _summary(self, sobject: str) -> dict[str, list[str]] | None:
        """Field and child relationship names: from this run's describe, else the cache."""
        if sobject not in self._fields:
            saved = self._read_cache()
            if sobject in saved:
                entry: dict[str, list[str]] | None = saved[sobject]
                return entry
            if sobject in self._together:  # a first run: the others are missing too
                self.describe_together([sobject, *(o for o in self._together if o not in saved)])
        fields = self.describe(sobject)
        if fields is None:
            return None
        return {"fields": sorted(fields), "children": sorted(self._children.get(sobject, ()))}

    def _read_cache(self) -> dict[str, Any]:
        if self._saved is None:
            self._saved = {}
            if self._cache is not None:
                try:
                    data = json.loads(self._cache.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    data = None
                fresh = isinstance(data, dict) and data.get("version") == _CACHE_VERSION
                if fresh and data["key"] == self._key:
                    age = time.time() - float(data.get("saved_at", 0))
                    if 0 <= age < CACHE_MAX_AGE:
                        self._saved = dict(data["objects"])
        return self._saved

    def _save(self, sobject: str, summary: dict[str, list[str]] | None, drop: bool) -> None:
        saved = self._read_cache()
        if drop:
            saved.pop(sobject, None)
        else:
            saved[sobject] = summary
        if self._cache is None:
            return
        data = {"version": _CACHE_VERSION, "key": self._key, "saved_at": time.time()}
        data["objects"] = saved
        try:
            partial = self._cache.with_name(self._cache.name + ".tmp")
            # Owner-only like the state file beside it (it names the org's fields).
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(data))
            os.replace(partial, self._cache)
        except OSError as error:  # a cache: the next run describes again
            log.warning("salesforce: cannot save describe results to %s: %s", self._cache, error)

    def field(self, sobject: str, name: str) -> dict[str, Any] | None:
        """One field's describe entry, or None."""
        return (self.describe(sobject) or {}).get(name)

    def forget(self, sobject: str) -> None:
        """Drop a cached describe (after creating fields or granting access)."""
        self._fields.pop(sobject, None)
        self._save(sobject, None, drop=True)
