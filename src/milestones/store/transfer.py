"""Copying a whole state from one store to another: an SQLite file into an org's schema.

``copy_state`` moves every table row for row (the mirror, cursors, dirty sets, ledger, the
outbox with its failed and refused writes, the run log, the forgotten ids and the meta rows,
among them the key that hashes email addresses and forgotten ids, without which the copy
could not match what the original matched). Both stores are at the same schema version
(opening them migrated them), the target must hold no state yet, and the copy is one
transaction on the target: it is all there or not at all. Each table's row counts on both
sides are returned, so the caller can show they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

from milestones.store.sqlite import Store

CHUNK = 1000


@dataclass(slots=True)
class CopyResult:
    """Rows per table in the source and, after the copy, in the target."""

    source: dict[str, int] = field(default_factory=dict)
    target: dict[str, int] = field(default_factory=dict)

    @property
    def is_complete(self) -> bool:
        """True when every table holds as many rows in the target as in the source."""
        return self.source == self.target


class TargetNotEmpty(Exception):
    """The target already holds a state: a copy would mix two."""


def copy_state(source: Store, target: Store) -> CopyResult:
    """Copy every row of ``source`` into the empty ``target``; see the module docstring."""
    if source.version != target.version:
        raise TargetNotEmpty(
            f"schema versions differ ({source.version} and {target.version}): "
            "run `milestones migrate` on both first"
        )
    tables = source.tables()
    if any(target.row_count(t) for t in target.tables() if t != "meta"):
        raise TargetNotEmpty(f"{target.label} already holds a state; nothing was copied")
    result = CopyResult()
    with target.transaction():
        for table in tables:
            columns = source.columns(table)
            target.db.execute(f"DELETE FROM {table}")  # the meta rows opening it wrote
            rows = iter(source.db.execute(f"SELECT {', '.join(columns)} FROM {table}"))
            insert = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            while chunk := list(islice(rows, CHUNK)):
                target.db.executemany(insert, chunk)
            target.identity_follows(table)
    for table in tables:
        result.source[table] = source.row_count(table)
        result.target[table] = target.row_count(table)
    return result
