"""SOQL subset: parsing, escaping, error codes and evaluation over small row sets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from simple_salesforce import format_soql

from milestones.sandbox.salesforce.ids import make_id
from milestones.sandbox.salesforce.soql.evaluator import ResolvedField, compile_query
from milestones.sandbox.salesforce.soql.parser import (
    SoqlError,
    format_datetime,
    parse,
    parse_datetime,
)

SCHEMA = {
    "Contact": {
        "Id": "id",
        "FirstName": "string",
        "LastName": "string",
        "Email": "email",
        "AccountId": "reference",
        "HasOptedOutOfEmail": "boolean",
        "NPS_Score__c": "double",
        "CreatedDate": "datetime",
        "SystemModstamp": "datetime",
        "Birthdate": "date",
    },
    "Account": {"Id": "id", "Name": "string"},
}
ACCOUNTS = {
    make_id("001", 1): {"Id": make_id("001", 1), "Name": "Acme"},
    make_id("001", 2): {"Id": make_id("001", 2), "Name": "Globex"},
}


class DictResolver:
    """Resolves names case-insensitively against SCHEMA; `Account.` walks AccountId."""

    def resolve(self, sobject: str, path: Sequence[str]) -> ResolvedField:
        fields = {name.lower(): (name, kind) for name, kind in SCHEMA[sobject].items()}
        if len(path) == 2 and path[0].lower() == "account" and sobject == "Contact":
            inner = self.resolve("Account", path[1:])

            def get(row: dict) -> object:
                parent = ACCOUNTS.get(row.get("AccountId") or "")
                return None if parent is None else inner.get(parent)

            return ResolvedField(("Account", *inner.path), inner.type, get)
        if len(path) != 1 or path[0].lower() not in fields:
            raise SoqlError("INVALID_FIELD", f"No such column '{path[-1]}' on entity '{sobject}'")
        name, kind = fields[path[0].lower()]
        if kind == "datetime":
            return ResolvedField((name,), kind, lambda row: to_ms(row.get(name)))
        return ResolvedField((name,), kind, lambda row: row.get(name))


def to_ms(wire: str | None) -> int | None:
    return None if wire is None else parse_datetime(wire)


def contact(n: int, **values: object) -> dict:
    row = {"Id": make_id("003", n), "LastName": f"Person {n}", "HasOptedOutOfEmail": False}
    row.update(values)
    return row


ROWS = [
    contact(
        1,
        FirstName="Ann",
        Email="ann@acme.test",
        AccountId=make_id("001", 1),
        NPS_Score__c=10.0,
        SystemModstamp="2024-05-01T10:00:00.000+0000",
        Birthdate="1980-02-03",
    ),
    contact(
        2,
        FirstName="bob",
        Email="bob@globex.test",
        AccountId=make_id("001", 2),
        NPS_Score__c=6.0,
        SystemModstamp="2024-05-01T10:00:00.000+0000",
    ),
    contact(
        3,
        FirstName=None,
        LastName="O'Brien\\x",
        HasOptedOutOfEmail=True,
        SystemModstamp="2024-05-01T10:00:01.000+0000",
    ),
    contact(
        4,
        FirstName="Dan",
        Email="dan_50%@acme.test",
        AccountId=make_id("001", 1),
        SystemModstamp="2024-05-02T00:00:00.000+0000",
    ),
]


def run(soql: str, rows: list[dict] = ROWS) -> list[dict]:
    query = parse(soql)
    sobject = {name.lower(): name for name in SCHEMA}[query.sobject.lower()]
    return compile_query(query, sobject, DictResolver()).run(rows)


def ids(rows: list[dict]) -> list[int]:
    return [int(row["Id"][7:15].lstrip("0") or "0") for row in rows]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("FirstName = 'ANN'", [1]),
        ("FirstName != 'ann'", [2, 3, 4]),
        ("FirstName = null", [3]),
        ("FirstName != NULL", [1, 2, 4]),
        ("NPS_Score__c >= 9", [1]),
        ("NPS_Score__c < 9.5", [2]),
        ("HasOptedOutOfEmail = TRUE", [3]),
        ("HasOptedOutOfEmail = false", [1, 2, 4]),
        ("Email LIKE '%@ACME.test'", [1, 4]),
        ("Email LIKE 'dan\\_50\\%@%'", [4]),
        ("Email LIKE 'dan_50%'", [4]),
        ("FirstName IN ('ann', 'Dan')", [1, 4]),
        ("FirstName NOT IN ('ann', 'Dan')", [2, 3]),
        ("Account.Name = 'acme'", [1, 4]),
        ("Account.Name = null", [3]),
        ("SystemModstamp > 2024-05-01T10:00:00Z", [3, 4]),
        ("SystemModstamp >= 2024-05-01T12:00:00+02:00", [1, 2, 3, 4]),
        ("SystemModstamp > 2024-05-01T05:00:00.500-05:00", [3, 4]),
        ("Birthdate < 1990-01-01", [1]),
        ("NOT FirstName = 'ann'", [2, 3, 4]),
        ("(FirstName = 'ann' OR FirstName = 'bob') AND NPS_Score__c > 7", [1]),
        ("FirstName = 'ann' OR (FirstName = 'bob' AND NPS_Score__c > 7)", [1]),
        ("NOT (FirstName = 'ann' OR FirstName = null)", [2, 4]),
        ("LastName = 'O\\'Brien\\\\x'", [3]),
        ("Id = '0035g0000000002'", [2]),
        ("Id = '0035G0000000002AAA'", [2]),
        (
            "(SystemModstamp = 2024-05-01T10:00:00Z AND Id > '0035g0000000001AAA')"
            " OR SystemModstamp > 2024-05-01T10:00:00Z",
            [2, 3, 4],
        ),
    ],
)
def test_where_clauses_select_the_expected_rows(where: str, expected: list[int]) -> None:
    assert ids(run(f"SELECT Id FROM Contact WHERE {where}")) == expected


def test_keywords_and_names_ignore_case() -> None:
    rows = run("select id, email from contact where firstname = 'bob' order by lastname desc")
    assert ids(rows) == [2]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("FirstName", [3, 1, 2, 4]),
        ("FirstName DESC", [4, 2, 1, 3]),
        ("FirstName ASC NULLS LAST", [1, 2, 4, 3]),
        ("FirstName DESC NULLS FIRST", [3, 4, 2, 1]),
        ("SystemModstamp DESC, Id ASC", [4, 3, 1, 2]),
        ("SystemModstamp, Id DESC", [2, 1, 3, 4]),
        ("Account.Name DESC, NPS_Score__c", [2, 4, 1, 3]),
    ],
)
def test_order_by_several_fields(order: str, expected: list[int]) -> None:
    assert ids(run(f"SELECT Id FROM Contact ORDER BY {order}")) == expected


def test_limit_and_offset() -> None:
    assert ids(run("SELECT Id FROM Contact ORDER BY Id LIMIT 2")) == [1, 2]
    assert ids(run("SELECT Id FROM Contact ORDER BY Id LIMIT 2 OFFSET 1")) == [2, 3]


def test_select_list_and_count() -> None:
    query = parse("SELECT Id, Account.Name, Email FROM Contact")
    assert query.fields == (("Id",), ("Account", "Name"), ("Email",))
    assert parse("SELECT COUNT() FROM Contact").count_only
    nested = parse("SELECT Id, (SELECT Id FROM Contacts WHERE Email != null LIMIT 2) FROM Account")
    assert nested.fields == (("Id",),)
    assert (nested.subqueries[0].sobject, nested.subqueries[0].limit) == ("Contacts", 2)


def test_format_soql_output_round_trips_including_injection_attempts() -> None:
    """simple-salesforce's escaping keeps hostile values inside one literal."""
    hostile = "x' OR LastName != 'y"
    soql = format_soql(
        "SELECT Id FROM Contact WHERE LastName = {} AND SystemModstamp > {}",
        hostile,
        datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
    )
    assert run(soql) == []
    rows = [contact(9, LastName=hostile, SystemModstamp="2024-05-01T09:00:01.000+0000")]
    assert ids(run(soql, rows)) == [9]
    like = format_soql("SELECT Id FROM Contact WHERE Email LIKE '{:like}%'", "dan_50%")
    assert ids(run(like)) == [4]
    assert ids(run(format_soql("SELECT Id FROM Contact WHERE LastName = {}", "O'Brien\\x"))) == [3]


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id FROM Contact WHERE LastName = '' OR '1'='1'",
        "SELECT Id FROM Contact WHERE LastName = 'x'' OR ''1''=''1'",
        "SELECT Id FROM Contact WHERE LastName = 'x'; DELETE FROM Contact",
        "SELECT Id FROM Contact WHERE LastName = 'x' -- comment",
        "SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3",
        "SELECT Id FROM Contact WHERE LastName = 'unterminated",
        "SELECT Id FROM Contact WHERE LastName = 'bad \\q escape'",
        "SELECT Id, FROM Contact",
        "SELECT FROM Contact",
        "SELECT Id Contact",
        "SELECT Id FROM Contact LIMIT -1",
        "SELECT Id FROM Contact WHERE CreatedDate > 2024-05-01T10:00:00",
        "SELECT Id FROM Contact WHERE CreatedDate > 2024-13-01T10:00:00Z",
        "SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM OpportunityContactRole)",
        "SELECT Id FROM Contact ORDER BY",
        "SELECT Id FROM Contact WHERE FirstName NOT LIKE 'a%'",
        "SELECT Id, Id FROM Contact",
        "SELECT Id, (SELECT Id, (SELECT Id FROM Tasks) FROM Contacts) FROM Account",
        "SELECT Id, (SELECT Id FROM Contacts FROM Account",
    ],
)
def test_malformed_queries_are_refused(soql: str) -> None:
    with pytest.raises(SoqlError) as info:
        run(soql)
    assert info.value.code == "MALFORMED_QUERY"


def test_malformed_message_names_row_and_column() -> None:
    with pytest.raises(SoqlError) as info:
        parse("SELECT Id,\nName Email FROM Contact")
    assert "ERROR at Row:2:Column:6" in info.value.message
    assert "unexpected token: 'Email'" in info.value.message


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope__c FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE Nope__c = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact ORDER BY Nope__c", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE CreatedDate > 2024-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE Birthdate > 2024-01-01T00:00:00Z", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE NPS_Score__c > '9'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE LastName = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE HasOptedOutOfEmail = 'true'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Contact LIMIT 5 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ],
)
def test_schema_errors_carry_salesforce_codes(soql: str, code: str) -> None:
    with pytest.raises(SoqlError) as info:
        run(soql)
    assert info.value.code == code


def test_unicode_and_control_escapes_decode() -> None:
    rows = [contact(7, LastName="Zoë\tTab\nLine")]
    assert ids(run("SELECT Id FROM Contact WHERE LastName = 'Zo\\u00eb\\tTab\\nLine'", rows)) == [7]


def test_datetime_wire_format_round_trips() -> None:
    wire = "2021-07-21T04:13:15.250+0000"
    assert format_datetime(parse_datetime(wire)) == wire
    assert parse_datetime("1970-01-01T00:00:01.000Z") == 1000


NOW = parse_datetime("2024-05-02T15:30:00.000+0000")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("SystemModstamp = TODAY", [4]),
        ("SystemModstamp = YESTERDAY", [1, 2, 3]),
        ("SystemModstamp < TODAY", [1, 2, 3]),
        ("SystemModstamp >= YESTERDAY", [1, 2, 3, 4]),
        ("SystemModstamp > YESTERDAY", [4]),
        ("SystemModstamp = LAST_N_DAYS:1", [1, 2, 3, 4]),
        ("SystemModstamp = N_DAYS_AGO:1", [1, 2, 3]),
        ("SystemModstamp = NEXT_N_DAYS:3", []),
        ("Birthdate < LAST_N_DAYS:365", [1]),
        ("Birthdate != TODAY", [1, 2, 3, 4]),
    ],
)
def test_relative_date_literals(where: str, expected: list[int]) -> None:
    query = parse(f"SELECT Id FROM Contact WHERE {where}")
    rows = compile_query(query, "Contact", DictResolver(), now_ms=NOW).run(ROWS)
    assert ids(rows) == expected


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Contact WHERE LastName = TODAY", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:x", "MALFORMED_QUERY"),
    ],
)
def test_relative_date_literal_errors(soql: str, code: str) -> None:
    with pytest.raises(SoqlError) as info:
        run(soql)
    assert info.value.code == code
