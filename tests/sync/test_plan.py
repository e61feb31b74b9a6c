"""The plan's quick comparisons agree with comparing normalised values, field type by type."""

from __future__ import annotations

import itertools

import pytest

from milestones.connectors.fields import FIELD_TYPES
from milestones.mapping.fields import FieldKey
from milestones.sync.plan import diff_fields, normalise

VALUES = [None, "", "  ", "true", "True ", "0", "40", "40.0", "2025-03-04", "1741046400000", "x"]


@pytest.mark.parametrize("key", sorted(FIELD_TYPES))
def test_diff_fields_is_a_difference_of_normalised_values(key: FieldKey) -> None:
    """No value, blanks and values against no value skip ``normalise``: the answer must
    be the one comparing normalised forms gives, for every pair and every field type."""
    for ours, theirs in itertools.product(VALUES, repeat=2):
        differs = normalise(key, ours) != normalise(key, theirs)
        expected = {key: ours} if differs else {}
        assert diff_fields({key: ours}, {key: theirs}) == expected, (ours, theirs)
