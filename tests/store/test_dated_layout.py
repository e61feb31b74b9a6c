"""Stage entries and inferred dates survive the state file, and older rows still read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from milestones.mapping.derive import Derived, Evidence
from milestones.mapping.records import Deal, Milestone
from milestones.store import codec
from milestones.store.rows import LedgerEntry
from milestones.store.sqlite import Store

WON = datetime(2026, 4, 20, 9, 30, tzinfo=UTC)


def test_a_deals_stage_entries_round_trip_and_older_deals_have_none() -> None:
    deal = Deal("d1", stage_id="closedwon", stage_entered={"contractsent": WON, "closedwon": WON})
    text = codec.encode_deal(deal)
    assert codec.decode_deal("d1", text).stage_entered == deal.stage_entered
    older = text[: text.rindex(",{")] + "]"  # the 13-element layout of earlier releases
    assert codec.decode_deal("d1", older).stage_entered == {}


def test_inferred_dates_round_trip_and_older_results_read_as_observed() -> None:
    reached = {
        Milestone.PROSPECT: Evidence(date(2026, 3, 1), "deal_created", "deal", "d1", True),
        Milestone.OPPORTUNITY: Evidence(date(2026, 3, 15), "deal_stage:x", "deal", "d1"),
    }
    result = Derived("p", Milestone.OPPORTUNITY, reached)
    text = codec.encode_derived(result)
    decoded = codec.decode_derived("p", text)
    assert decoded is not None and decoded.reached == reached
    older = codec.decode_derived("p", '[1,[[1,"2025-01-02","inbound_email","activity","a"]],0,0]')
    assert older is not None and not older.reached[Milestone.PROSPECT].is_inferred


def test_the_ledger_keeps_each_dates_basis_and_redate_counts_changed_dates(tmp_path: Path) -> None:
    def entry(on: str, basis: str) -> LedgerEntry:
        return LedgerEntry("contact", "p", "target", "prospect", on, "e", 1, "t", basis)

    with Store(tmp_path / "state.db") as store:
        with store.transaction():
            store.ledger.add([entry("2026-04-20", "observed")])
            store.ledger.add([entry("2026-01-01", "inferred")])  # recorded once: ignored
        assert [(e.reached_on, e.basis) for e in store.ledger.of("p")] == [
            ("2026-04-20", "observed")
        ]
        with store.transaction():
            assert store.ledger.redate([entry("2026-03-01", "inferred")]) == 1
            assert store.ledger.redate([entry("2026-03-01", "inferred")]) == 0
        assert [(e.reached_on, e.basis) for e in store.ledger.of("p")] == [
            ("2026-03-01", "inferred")
        ]


def test_state_rows_keep_every_number_as_written() -> None:
    # NaN and integers past 64 bits: a faster parser (orjson 3.13) would round the integer.
    assert codec.decode_values('{"milestone":"client","n":NaN}')["milestone"] == "client"
    assert codec.decode_fields('{"milestone":"x","big":123456789012345678901234567890}') == {
        "milestone": "x",
        "big": 123456789012345678901234567890,
    }
