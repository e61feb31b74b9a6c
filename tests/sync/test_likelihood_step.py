"""The likelihood write-back step: when bands are computed, and which people are replanned."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from milestones.mapping.derive import Derived
from milestones.mapping.records import Contact, Milestone
from milestones.store.sqlite import Store
from milestones.sync.likelihood import are_bands_due, mark_band_changes, note_bands_planned

DAY = date(2026, 6, 15)
NAMES = {"next_milestone_likelihood": "next_milestone_likelihood"}


def test_bands_are_due_on_a_new_day_or_after_records_were_read(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        assert are_bands_due(store, DAY, pulled=0)  # never planned
        note_bands_planned(store, DAY)
        assert not are_bands_due(store, DAY, pulled=0)  # an idle rerun computes nothing
        assert are_bands_due(store, DAY, pulled=3)
        assert are_bands_due(store, date(2026, 6, 16), pulled=0)


def test_only_people_whose_band_differs_from_the_crm_are_marked(tmp_path: Path) -> None:
    held = {"a": "40", "b": "40.0", "c": None, "d": "10", "e": None}
    wanted = {"a": "40", "b": "40", "c": "20", "d": "20"}  # e: no band, and none held
    with Store(tmp_path / "state.db") as store:
        people = [
            Contact(pid, properties={"next_milestone_likelihood": value})
            for pid, value in held.items()
        ]
        with store.transaction():
            store.mirror.apply_page("contacts", people, [], 1, NAMES)
            store.people.save_people([Derived(p, Milestone.PROSPECT) for p in held], list(held))
        assert not [ids for ids in store.people.dirty_people(10) if ids]
        assert mark_band_changes(store, wanted) == 2
        assert [sorted(ids) for ids in store.people.dirty_people(10)] == [["c", "d"]]
