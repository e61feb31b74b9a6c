"""What the org has: one describe per object per connector, cached.

Describe reflects the running user's field-level security (reference section 4), so a
field absent from it is either missing or invisible to us; either way a query must not
name it (``INVALID_FIELD``). Pulls therefore ask only for fields describe lists, and the
written fields may be created later (``fields --create``) without breaking earlier pulls.

With a ``cache`` file, what pulls need from describe (field names, child relationships, and
whether the object exists) is kept between runs for ``CACHE_MAX_AGE``: seven describes a
run would otherwise be most of an incremental run's calls. Field checks always describe
afresh (and refresh the file); ``forget`` drops an object from it, and a pull whose query
names a field the org no longer shows describes that object again (``is_cached``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from milestones.connectors.base import StreamError
from milestones.connectors.salesforce.client import SalesforceClient

log = logging.getLogger("milestones.salesforce")

CACHE_MAX_AGE = 24 * 3600.0  # seconds: fields an admin adds are seen within a day
_CACHE_VERSION = 1


class Schema:
    """Describe results by object name; a missing object (404) is remembered as None."""

    def __init__(self, client: SalesforceClient, cache: Path | None = None) -> None:
        self.client = client
        self._fields: dict[str, dict[str, dict[str, Any]] | None] = {}
        self._children: dict[str, set[str]] = {}
        self._cache = cache
        self._key = f"{client.settings.instance_url}|{client.settings.api_version}"
        self._saved: dict[str, Any] | None = None  # sobject -> summary, read lazily

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
                children = sorted(self._children[sobject])
                summary = {"fields": sorted(described), "children": children}
            self._save(sobject, summary, drop=False)
        return self._fields[sobject]

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
