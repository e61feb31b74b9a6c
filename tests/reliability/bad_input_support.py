"""Shared pieces of the bad-input tests: the reference run, its twins, and the checks.

A module-scoped reference run per CRM gives the values every case compares with; ``twin``
starts a fresh copy of that CRM (same seed) for one case. ``broken_answer`` builds the usual
API-answer case: the answer is broken until fixed, the run says so clearly, and once the
tamper is removed the next run restores everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    Crm,
    CrmValues,
    Outcome,
    Tamper,
    differing,
    path_is,
    start_crm,
)

from milestones.sandbox.server.core import Request, Response

CONTACTS = 60
ORDER = ("target", "prospect", "opportunity", "client", "advocate")
CONTACTS_LIST = path_is("GET", "/crm/objects/2026-09/contacts")
DEALS_LIST = path_is("GET", "/crm/objects/2026-09/deals")
EMAILS_LIST = path_is("GET", "/crm/objects/2026-09/emails")
HS_WRITE = path_is("POST", "/crm/objects/2026-09/contacts/batch/update")
SF_QUERY = path_is("GET", "/query")
SF_WRITE = path_is("PATCH", "/composite/sobjects")


@dataclass
class Reference:
    """The fault-free run every case is compared with."""

    provider: str
    values: CrmValues
    root: Path

    def people(self, milestone: str) -> list[int]:
        """World ids of people the reference run put on ``milestone``."""
        field = "sales_milestone" if self.provider == "hubspot" else "Sales_Milestone__c"
        return sorted(
            rid
            for (kind, rid), v in self.values.items()
            if kind == "person" and v.get(field) == milestone
        )


Case = Callable[[Crm, Reference], None]


def _reference(provider: str, root: Path) -> Iterator[Reference]:
    crm = start_crm(provider, root / "reference", CONTACTS)
    try:
        crm.ensure_fields()
        assert crm.cli("sync").code == 0
        yield Reference(provider, crm.crm_values(), root)
    finally:
        crm.stop()


@pytest.fixture(scope="module")
def hubspot_ref(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    yield from _reference("hubspot", tmp_path_factory.mktemp("hubspot"))


@pytest.fixture(scope="module")
def salesforce_ref(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    yield from _reference("salesforce", tmp_path_factory.mktemp("salesforce"))


@pytest.fixture
def twin(request: pytest.FixtureRequest) -> Iterator[tuple[Crm, Reference]]:
    """A fresh twin of the reference CRM named by the test's ``provider`` parameter."""
    ref: Reference = request.getfixturevalue(f"{request.node.callspec.params['provider']}_ref")
    crm = start_crm(ref.provider, ref.root / request.node.name.replace("/", "_"), CONTACTS)
    try:
        crm.ensure_fields()
        yield crm, ref
    finally:
        crm.stop()


def assert_clean(outcome: Outcome) -> None:
    """No traceback and no Python exception name leak to the user."""
    assert "Traceback" not in outcome.text, outcome.text[-2000:]


def assert_intact(crm: Crm, ref: Reference, allowed: set[tuple[str, int]] = frozenset()) -> None:  # type: ignore[assignment]
    """Every record outside ``allowed`` holds exactly the reference's values."""
    diff = differing(ref.values, crm.crm_values())
    stray = {k: v for k, v in diff.items() if k not in allowed}
    assert not stray, list(stray.items())[:3]


def assert_valid_milestones(crm: Crm, ids: set[int]) -> None:
    field = "sales_milestone" if crm.provider == "hubspot" else "Sales_Milestone__c"
    values = crm.crm_values()
    for rid in ids:
        assert values[("person", rid)].get(field) in ORDER, (rid, values[("person", rid)])


def set_property(name: str, value: Any, only: set[str] | None = None) -> Callable[[Any], Any]:
    """Edit one property of the listed records (all of them when ``only`` is None)."""

    def edit(payload: Any) -> None:
        for record in payload.get("results", []):
            if only is None or str(record["id"]) in only:
                record.setdefault("properties", {})[name] = value

    return edit


def persons_of_emails(crm: Crm) -> set[tuple[str, int]]:
    with crm.world.lock:
        return {("person", pid) for email in crm.world.iter("email") for pid in email.contact_ids}


def persons_of_activities(crm: Crm) -> set[tuple[str, int]]:
    with crm.world.lock:
        return {
            ("person", pid)
            for kind in ("call", "meeting", "note", "task")
            for activity in crm.world.iter(kind)
            for pid in activity.contact_ids
        }


def persons_of_deals(crm: Crm) -> set[tuple[str, int]]:
    with crm.world.lock:
        return {("person", pid) for deal in crm.world.iter("deal") for pid in deal.contact_ids}


def broken_answer(
    matches: Callable[[Request], bool],
    rewrite: Callable[[Request, Response | None], Response | None],
    message: str,
    *,
    serve: bool = True,
    code: int = 1,
) -> Callable[[Crm, Reference], None]:
    """The API answers badly until fixed: a clear message now, everything after the fix."""

    def case(crm: Crm, ref: Reference) -> None:
        tamper = Tamper(crm.server, matches, rewrite, serve=serve)
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == code, outcome.text
        assert message in outcome.text, outcome.text[-1500:]
        tamper.remove()
        crm.settle()
        again = crm.cli("sync")
        assert again.code == 0, again.text
        assert_intact(crm, ref)

    return case


def truncated(req: Request, answer: Response | None) -> Response | None:
    assert answer is not None
    return Response(
        200, answer.body[: len(answer.body) // 2], [("Content-Type", "application/json")]
    )


def dropped(req: Request, answer: Response | None) -> Response | None:
    return None  # the connection is reset
