"""HubSpot answers read exactly as JSON says: no number rounded, NaN kept, non-objects refused.

(orjson 3.13 reads an integer past 64 bits as a float: a faster parser must pass these.)
"""

from __future__ import annotations

import json
import math

import pytest

from milestones.connectors.hubspot.http import _json_object


@pytest.mark.parametrize(
    "body",
    [
        b'{"results": [{"id": "1", "properties": {"email": "a@example.com"}}]}',
        '{"results": [], "note": "caf\u00e9"}'.encode(),
        b'{"total": 123456789012345678901234567890}',  # past 64 bits: stays an int
        b'\xef\xbb\xbf{"results": []}',  # a byte-order mark
    ],
)
def test_an_answer_reads_as_the_standard_library_reads_it(body: bytes) -> None:
    assert _json_object(body, 200) == json.loads(body)


def test_nan_still_reads_and_what_is_no_object_is_none() -> None:
    data = _json_object(b'{"score": NaN}', 200)
    assert data is not None and math.isnan(data["score"])
    assert _json_object(b"<html>busy</html>", 200) is None
    assert _json_object(b"[1, 2]", 200) is None
    assert _json_object(b"\xff\xfe{", 200) is None
    assert _json_object(b"", 204) == {} and _json_object(b"", 200) is None
