"""SOQL for the Salesforce pulls: field lists checked against describe, queries built by
``format_soql`` (never f-strings), keyset resume tokens and URL-safe chunks of id lists.

Field and object names cannot be parameters in SOQL, so they are whitelisted: a name goes
into a query only when describe listed it (reference section 1.6). Values always pass
through ``format_soql``, which quotes and escapes strings and writes datetimes as literals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from simple_salesforce.format import format_soql, quote_soql_value

from milestones.connectors.base import StreamError

# Standard fields each pulled object is read with (when describe lists them).
BASE_FIELDS: dict[str, tuple[str, ...]] = {
    "Contact": (
        "Id",
        "FirstName",
        "LastName",
        "Email",
        "OwnerId",
        "AccountId",
        "CreatedDate",
        "HasOptedOutOfEmail",
        "IsDeleted",
        "SystemModstamp",
    ),
    "Lead": (
        "Id",
        "FirstName",
        "LastName",
        "Email",
        "OwnerId",
        "CreatedDate",
        "Status",
        "HasOptedOutOfEmail",
        "IsConverted",
        "ConvertedContactId",
        "ConvertedAccountId",
        "IsDeleted",
        "SystemModstamp",
    ),
    "Opportunity": (
        "Id",
        "Name",
        "StageName",
        "IsClosed",
        "IsWon",
        "CloseDate",
        "Amount",
        "OwnerId",
        "AccountId",
        "CreatedDate",
        "LastStageChangeDate",
        "IsDeleted",
        "SystemModstamp",
    ),
    "OpportunityContactRole": (
        "Id",
        "OpportunityId",
        "ContactId",
        "IsDeleted",
        "SystemModstamp",
    ),
    "Task": (
        "Id",
        "WhoId",
        "WhatId",
        "Status",
        "TaskSubtype",
        "CallType",
        "CallDisposition",
        "ActivityDate",
        "CompletedDateTime",
        "CreatedDate",
        "OwnerId",
        "IsDeleted",
        "SystemModstamp",
    ),
    "Event": (
        "Id",
        "WhoId",
        "WhatId",
        "StartDateTime",
        "EndDateTime",
        "CreatedDate",
        "OwnerId",
        "IsDeleted",
        "SystemModstamp",
    ),
    "EmailMessage": (
        "Id",
        "Incoming",
        "MessageDate",
        "ActivityId",
        "CreatedDate",
        "IsDeleted",
        "SystemModstamp",
    ),
}
STAGE_QUERY = (
    "SELECT ApiName, MasterLabel, IsActive, IsClosed, IsWon, DefaultProbability, SortOrder "
    "FROM OpportunityStage ORDER BY SortOrder, ApiName"
)
OWNER_QUERY = "SELECT Id, Name FROM User"
MAX_URL_BYTES = 16_384  # REST GET URI + headers limit (reference section 1.7)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a pull stands: the object being read and the last (SystemModstamp, Id) seen."""

    sobject: str
    stamp: str | None = None  # wire format, e.g. 2024-05-01T10:00:00.000+0000
    record_id: str | None = None

    def token(self) -> str:
        """The JSON resume token stored by the engine with each page."""
        body: dict[str, str] = {"object": self.sobject}
        if self.stamp is not None and self.record_id is not None:
            body.update(stamp=self.stamp, id=self.record_id)
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def parse(cls, token: str, allowed: Sequence[str]) -> Position:
        """Read a token back; a token from another kind or version is refused."""
        try:
            body = json.loads(token)
            position = cls(body["object"], body.get("stamp"), body.get("id"))
        except (ValueError, KeyError, TypeError):
            raise StreamError("unreadable resume token", connector="salesforce") from None
        if position.sobject not in allowed:
            raise StreamError(
                f"resume token names {position.sobject!r}, not one of {list(allowed)}",
                connector="salesforce",
            )
        if position.stamp is not None:
            parse_datetime(position.stamp)  # refuses anything but a datetime
            if not _RECORD_ID.match(position.record_id or ""):
                raise StreamError("resume token holds no record id", connector="salesforce")
        return position


def selectable(sobject: str, described: set[str], extra: Iterable[str] = ()) -> list[str]:
    """The base fields plus ``extra`` that describe lists, in a stable order."""
    fields: list[str] = []
    for name in (*BASE_FIELDS[sobject], *extra):
        if name in described and name not in fields and _NAME.match(name):
            fields.append(name)
    for required in ("Id", "SystemModstamp"):
        if required not in fields:
            raise StreamError(
                f"{sobject} has no readable {required}",
                connector="salesforce",
                object_name=sobject,
            )
    return fields


def window_query(
    sobject: str,
    fields: Sequence[str],
    until: datetime,
    since: datetime | None,
    after: Position | None = None,
    where: str | None = None,
) -> str:
    """One pull query, ordered by (SystemModstamp, Id) so ties at one-second granularity
    stay exact, after a keyset position if any.

    An incremental pull reads SystemModstamp in [since, until). A full pull (``since``
    None) has no time bounds: the engine takes any record it does not see as gone, so a
    record edited while the run reads (its stamp now past ``until``) must still be read.
    """
    clauses = []
    if since is not None:
        clauses.append(format_soql("SystemModstamp >= {}", _utc(since)))
        clauses.append(format_soql("SystemModstamp < {}", _utc(until)))
    if after is not None and after.stamp is not None:
        stamp = parse_datetime(after.stamp)
        keyset = "(SystemModstamp > {} OR (SystemModstamp = {} AND Id > {}))"
        clauses.append(format_soql(keyset, stamp, stamp, after.record_id))
    if where:
        clauses.append(where)
    condition = format_soql(" WHERE {:literal}", " AND ".join(clauses)) if clauses else ""
    return format_soql(
        "SELECT {:literal} FROM {:literal}{:literal} ORDER BY SystemModstamp, Id",
        ", ".join(fields),
        sobject,
        condition,
    )


def id_chunks(
    template: str, ids: Sequence[str], base_url: str, *, max_bytes: int = MAX_URL_BYTES
) -> Iterator[tuple[str, list[str]]]:
    """Split ``ids`` into queries ``format_soql(template, ids=chunk)`` whose URL fits.

    The template holds one ``{ids}`` slot. The whole GET (URI and headers) must stay under
    16 KB (reference section 1.7); a margin is kept for the headers.
    """
    budget = max_bytes - 2_048 - len(base_url) - len("?q=")
    fixed = len(quote(format_soql(template, ids=[]), safe=""))
    chunk: list[str] = []
    size = fixed
    for record_id in ids:
        cost = len(quote(quote_soql_value(record_id) + ",", safe=""))
        if chunk and size + cost > budget:
            yield format_soql(template, ids=chunk), chunk
            chunk, size = [], fixed
        chunk.append(record_id)
        size += cost
    if chunk:
        yield format_soql(template, ids=chunk), chunk


def parse_datetime(value: str) -> datetime:
    """Read a Salesforce datetime (``2024-05-01T10:00:00.000+0000``) as aware UTC.

    ``fromisoformat`` reads Salesforce's ``+0000`` offsets and ``Z`` since Python 3.11, at a
    fraction of ``strptime``'s cost (which was most of a full pull's CPU).
    """
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise StreamError(f"unreadable datetime {value[:40]!r}", connector="salesforce") from None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
