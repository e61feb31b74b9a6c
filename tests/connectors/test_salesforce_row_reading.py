"""Reading Salesforce rows on the pull's hot path: datetimes read in place agree with
``parse_datetime``, and the keyset position is the greatest key inside the window."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from milestones.connectors.base import StreamError
from milestones.connectors.salesforce import records as convert
from milestones.connectors.salesforce.connector import advance
from milestones.connectors.salesforce.soql import Position, parse_datetime

READABLE = [
    "2024-05-01T10:00:00.000+0000",  # Salesforce's own form
    "2024-05-01T10:00:00.123Z",
    "2024-05-01T10:00:00+00:00",
    "2024-05-01T12:30:00.000+0230",  # another offset: converted to UTC
    "2024-05-01T05:00:00.000-0500",
]


@pytest.mark.parametrize("wire", READABLE)
def test_a_datetime_read_in_place_equals_parse_datetime(wire):
    row = {"Id": "00T000000000001AAA", "SystemModstamp": wire}
    moment = convert.task(row).modified_at
    assert moment == parse_datetime(wire) and moment is not None
    assert moment.tzinfo is UTC and moment.utcoffset() == parse_datetime(wire).utcoffset()


def test_an_unreadable_datetime_is_warned_about_and_left_out(caplog):
    row = {
        "attributes": {"type": "Task"},
        "Id": "00T000000000001AAA",
        "CompletedDateTime": "yesterday",
        "CreatedDate": "2024-05-01T10:00:00.000+0000",
        "SystemModstamp": "",
    }
    with caplog.at_level(logging.WARNING):
        activity = convert.task(row)
    assert activity.occurred_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert activity.modified_at is None  # empty: no value, no warning
    assert [r.getMessage() for r in caplog.records] == [
        "salesforce: Task 00T000000000001AAA: CompletedDateTime (9 characters) is not a "
        "datetime; ignored"
    ]


def test_property_values_are_strings_or_none_whatever_their_wire_type():
    row = {"Id": "0030000000000001AAA", "A": None, "B": "x", "C": 9.0, "D": 9.5, "E": True}
    person = convert.person(row, "Contact", ["A", "B", "C", "D", "E", "F"], "B")
    assert person.properties == {"A": None, "B": "x", "C": "9", "D": "9.5", "E": "true"}
    assert (person.referred_by, person.property_set_at) == ("x", {})


UNTIL = datetime(2024, 5, 2, tzinfo=UTC)


def row(record_id: str, stamp: str | None) -> dict[str, str | None]:
    return {"Id": record_id, "SystemModstamp": stamp}


def test_the_position_is_the_greatest_key_inside_the_window():
    rows = [
        row("00Q000000000002AAA", "2024-05-01T10:00:00.000+0000"),
        row("00Q000000000001AAA", "2024-05-01T10:00:00.000+0000"),  # a tie: the id decides
        row("00Q000000000009AAA", "2024-05-02T00:00:00.000+0000"),  # edited mid-pull: past
        row("00Q000000000003AAA", None),
        row("00Q000000000004AAA", "2024-05-01T11:00:00.000+0200"),  # 09:00 UTC: earlier
    ]
    position = advance(None, "Lead", rows, UNTIL)
    assert position == Position("Lead", "2024-05-01T10:00:00.000+0000", "00Q000000000002AAA")
    # A page whose keys are all at or before the position leaves it as it was.
    assert advance(position, "Lead", rows[1:], UNTIL) is position
    assert advance(None, "Lead", [rows[2], rows[3]], UNTIL) is None


def test_an_unreadable_stamp_stops_the_stream():
    with pytest.raises(StreamError, match="unreadable datetime 'yesterday'"):
        advance(None, "Opportunity", [row("0060000000000001AAA", "yesterday")], UNTIL)
