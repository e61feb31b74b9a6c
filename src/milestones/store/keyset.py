"""Ids read a chunk at a time in key order (keyset paging), for steps that change the rows
they read: deleting a marked id or adding a row behind the last one seen never shifts a page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from milestones.store.dialect import Connection


def id_chunks(
    db: Connection, sql: str, size: int, params: Sequence[object] = ()
) -> Iterator[list[str]]:
    """The ids ``sql`` selects, ``size`` at a time. ``sql`` selects one id column, ordered by
    it; its placeholders take ``params``, then the last id seen (``id > ?``), then the limit."""
    after = ""
    while True:
        ids = [str(r[0]) for r in db.execute(sql, (*params, after, size)).fetchall()]
        if not ids:
            return
        yield ids
        after = ids[-1]
