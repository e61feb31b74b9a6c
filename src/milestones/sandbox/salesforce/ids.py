"""Salesforce record ids: 15-character case-sensitive bodies plus a 3-character checksum.

Salesforce hands out 18-character ids whose last three characters encode, for each
5-character chunk of the body, which positions are upper-case letters
(reference/salesforce-api.md, section 1.1). Clients may send either form, and the
18-character form is accepted in any letter case because the suffix restores it.

The sandbox numbers records sequentially; the counter is written in base 62 with the
alphabet in ASCII order, so string order of ids equals creation order (keyset paging
on `Id > '...'` then agrees with `ORDER BY Id`).
"""

from __future__ import annotations

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_CHARS = frozenset(_BASE62)

# Key prefixes (the first three characters) of the objects the sandbox serves.
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "OpportunityHistory": "008",
    "Organization": "00D",
    "OpportunityContactRole": "00K",
    "CustomField": "00N",
    "Lead": "00Q",
    "ContactHistory": "017",
    "Task": "00T",
    "Event": "00U",
    "OpportunityStage": "01J",
    "LeadStatus": "01J",
    "FieldPermissions": "01k",
    "EmailMessage": "02s",
    "EmailMessageRelation": "0Ed",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "QueryLocator": "01g",
}

# Two "pod" characters and a reserved zero, as in real ids (e.g. 003RO0000035WQgYAM).
_POD = "5g0"
_COUNTER_WIDTH = 15 - 3 - len(_POD)


def checksum(body: str) -> str:
    """Return the 3-character suffix for a 15-character id body."""
    suffix = []
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(body[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix.append(_CHECKSUM_ALPHABET[bits])
    return "".join(suffix)


def make_id(prefix: str, number: int) -> str:
    """Return the 18-character id of record `number` (>= 0) under a key prefix."""
    if len(prefix) != 3:
        raise ValueError(f"key prefix must have 3 characters: {prefix!r}")
    digits = []
    while True:
        number, remainder = divmod(number, 62)
        digits.append(_BASE62[remainder])
        if number == 0:
            break
    counter = "".join(reversed(digits)).rjust(_COUNTER_WIDTH, "0")
    if len(counter) > _COUNTER_WIDTH:
        raise ValueError("id counter overflow")
    body = prefix + _POD + counter
    return body + checksum(body)


def id_for(sobject: str, number: int) -> str:
    """Return the id of record `number` of an object type named in KEY_PREFIXES."""
    return make_id(KEY_PREFIXES[sobject], number)


def normalize_id(value: str) -> str | None:
    """Return the canonical 18-character form of an id, or None if it is not one.

    A 15-character id gets its checksum appended; an 18-character id has the case of its
    body restored from the suffix (so `003...aaa` and `003...AAA` name the same record) and
    must then carry the checksum that body produces.
    """
    if len(value) == 15 and all(c in _ID_CHARS for c in value):
        return value + checksum(value)
    if len(value) != 18 or not all(c in _ID_CHARS for c in value):
        return None
    suffix = value[15:].upper()
    if any(c not in _CHECKSUM_ALPHABET for c in suffix):
        return None
    chars = list(value[:15])
    for chunk, code in enumerate(suffix):
        bits = _CHECKSUM_ALPHABET.index(code)
        for position in range(5):
            index = chunk * 5 + position
            upper = bool(bits & (1 << position))
            if chars[index].isalpha():
                chars[index] = chars[index].upper() if upper else chars[index].lower()
            elif upper:
                return None
    body = "".join(chars)
    return body + suffix if checksum(body) == suffix else None


def key_prefix(record_id: str) -> str:
    """Return the key prefix (first three characters) of an id."""
    return record_id[:3]
