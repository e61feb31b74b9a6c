"""Owner (sales rep) names read from the CRM, kept in the state's ``meta`` table.

The names are what the report and the likelihood show instead of owner ids. They are read
at most once a day, or sooner when a person's owner is an id the last read did not cover
(``sync/owners.py`` decides); ``[report] owner_names`` overrides any of them.
"""

from __future__ import annotations

import json

from milestones.store.dialect import Connection

NAMES_META = "owner_names"
ASKED_META = "owner_ids_asked"
_LIVE_OWNERS = (
    "SELECT DISTINCT json_extract(data, '$[4]') FROM contacts "
    "WHERE is_deleted = 0 AND converted_to IS NULL AND json_extract(data, '$[4]') IS NOT NULL"
)


class OwnerNames:
    """The CRM's owner names as last read, and the owner ids that read covered."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def _get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def names(self) -> dict[str, str]:
        """Owner id -> name, as the CRM gave them (empty before the first read)."""
        names: dict[str, str] = json.loads(self._get(NAMES_META) or "{}")
        return names

    def unasked(self) -> set[str]:
        """Owner ids of live people that the last read did not cover (a new rep)."""
        asked = set(json.loads(self._get(ASKED_META) or "[]"))
        return {str(row[0]) for row in self.db.execute(_LIVE_OWNERS)} - asked

    def save(self, names: dict[str, str], asked: set[str]) -> None:
        """Keep a read's names and the owner ids it covered; call inside a transaction."""
        for key, value in (
            (NAMES_META, json.dumps(names, sort_keys=True)),
            (ASKED_META, json.dumps(sorted(asked))),
        ):
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
