"""The outbox's answer to a batch: the planned values join the mirror, failures stay kept."""

from __future__ import annotations

from milestones.mapping.fields import Change
from milestones.store import codec
from milestones.store.rows import FailedWrite
from milestones.store.sqlite import Store

STAMP = "2026-01-01T00:00:00+00:00"


def test_a_batch_shares_equal_values_and_records_what_the_crm_took(state: Store) -> None:
    same = {"milestone": "target", "milestone_date": None}
    with state.transaction() as db:
        for rid, crm in (("c1", None), ("c2", '{"milestone":"lead","is_advocate":"true"}')):
            db.execute(
                "INSERT INTO contacts (id, kind, data, crm) VALUES (?, 'contact', '[]', ?)",
                (rid, crm),
            )
        state.outbox.plan(
            [
                Change("contact", "c1", same),
                Change("contact", "c2", {"milestone": "client", "is_advocate": None}),
                Change("contact", "c3", dict(same)),
            ],
            1,
            STAMP,
        )
    changes = state.outbox.batch("contact", ("", ""), 10, "first", 1)
    assert [(c.record_id, dict(c.fields)) for c in changes] == [
        ("c1", same),
        ("c2", {"milestone": "client", "is_advocate": None}),
        ("c3", same),
    ]
    with state.transaction():
        failed = FailedWrite("c3", "UNABLE_TO_LOCK_ROW", "locked", True, False, None)
        state.outbox.record("contact", ["c1", "c2"], [failed], 1, STAMP)
    crm = {
        rid: codec.decode_fields(text)
        for rid, text in state.db.execute("SELECT id, crm FROM contacts ORDER BY id").fetchall()
    }
    # The planned text patches the mirror (RFC 7396: a null removes the key), on both engines.
    assert crm == {"c1": {"milestone": "target"}, "c2": {"milestone": "client"}}
    [kept] = state.outbox.rows()
    assert (kept.record_id, kept.status, kept.code, kept.attempts) == (
        "c3",
        "failed",
        "UNABLE_TO_LOCK_ROW",
        1,
    )
