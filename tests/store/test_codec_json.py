"""The mirror's JSON reads and writes exactly what the json module would, edge cases included."""

from __future__ import annotations

import json
import math

import pytest

from milestones.store import codec

VALUES = [
    ["é", "\u2028", 'tab\tquote"back\\slash', "\x00", "😀"],
    [2**70, -(2**64) - 1, 0.1, 1e300, -0.0, True, False, None],
    {"a": {"b": [1, [2, {}]], "": None}, "ключ": "значение"},
    {7: "int key", 2.5: "float key", True: "bool key", None: "null key"},
    ("a", "tuple"),
    [],
    {},
]


@pytest.mark.parametrize("value", VALUES)
def test_encoding_matches_json_dumps(value: object) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert codec.dumps(value) == expected
    assert codec.decode_values(expected) == json.loads(expected)


def test_non_finite_numbers_are_written_and_read_as_json_does() -> None:
    text = codec.dumps([math.inf, -math.inf, math.nan])
    assert text == "[Infinity,-Infinity,NaN]"
    inf, minus_inf, nan = codec.decode_fields(text)  # type: ignore[misc]
    assert (inf, minus_inf) == (math.inf, -math.inf) and math.isnan(nan)  # type: ignore[arg-type]


def test_an_unencodable_value_raises_as_json_does() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        codec.dumps([object()])


@pytest.mark.parametrize(
    "text", [' {"milestone": "client"}', '{"milestone": "client"} ', "\n[1, 2]\n"]
)
def test_texts_with_surrounding_blanks_read_as_json_reads_them(text: str) -> None:
    assert codec.decode_fields(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "   ", '{"a":1}x', '{"a":1}{}', "[1,", "nope"])
def test_a_damaged_text_raises_the_error_json_raises(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        codec.decode_fields(text)
    assert (got.value.msg, got.value.pos) == (expected.value.msg, expected.value.pos)
