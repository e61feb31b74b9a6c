"""What the org has: one describe per object per connector, cached.

Describe reflects the running user's field-level security (reference section 4), so a
field absent from it is either missing or invisible to us; either way a query must not
name it (``INVALID_FIELD``). Pulls therefore ask only for fields describe lists, and the
written fields may be created later (``fields --create``) without breaking earlier pulls.
"""

from __future__ import annotations

from typing import Any

from milestones.connectors.base import StreamError
from milestones.connectors.salesforce_client import SalesforceClient


class Schema:
    """Describe results by object name; a missing object (404) is remembered as None."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self._fields: dict[str, dict[str, dict[str, Any]] | None] = {}
        self._children: dict[str, set[str]] = {}

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
        return self._fields[sobject]

    def exists(self, sobject: str) -> bool:
        """True when the org (and the running user) can see ``sobject``."""
        return self.describe(sobject) is not None

    def names(self, sobject: str) -> set[str]:
        """The field names describe lists; an object we must read but cannot is an error."""
        fields = self.describe(sobject)
        if fields is None:
            raise StreamError(
                f"the org has no {sobject} object visible to this user",
                connector="salesforce",
                object_name=sobject,
                status=404,
            )
        return set(fields)

    def children(self, sobject: str) -> set[str]:
        """The parent-to-child relationship names describe lists (for subqueries)."""
        self.describe(sobject)
        return self._children.get(sobject, set())

    def field(self, sobject: str, name: str) -> dict[str, Any] | None:
        """One field's describe entry, or None."""
        return (self.describe(sobject) or {}).get(name)

    def forget(self, sobject: str) -> None:
        """Drop a cached describe (after creating fields or granting access)."""
        self._fields.pop(sobject, None)
