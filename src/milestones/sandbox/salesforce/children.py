"""Parent-to-child subqueries: `SELECT Id, (SELECT ContactId FROM OpportunityContactRoles)
FROM Opportunity`.

Each parent record gets the relationship as a nested QueryResult
`{"totalSize": n, "done": true, "records": [...]}`, or null when it has no children
(reference/salesforce-api.md, section 1.1). The subquery's WHERE, ORDER BY and LIMIT apply
per parent. Children are gathered once per page for the page's parents.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from milestones.sandbox.salesforce.schema import SObject
from milestones.sandbox.salesforce.soql.evaluator import CompiledQuery, compile_query
from milestones.sandbox.salesforce.soql.parser import Query, SoqlError

# (parent object, relationship name) -> (child object, child field holding the parent id)
CHILD_RELATIONSHIPS: dict[tuple[str, str], tuple[str, str]] = {
    ("Account", "Contacts"): ("Contact", "AccountId"),
    ("Account", "Opportunities"): ("Opportunity", "AccountId"),
    ("Contact", "OpportunityContactRoles"): ("OpportunityContactRole", "ContactId"),
    ("Contact", "Histories"): ("ContactHistory", "ContactId"),
    ("Contact", "Tasks"): ("Task", "WhoId"),
    ("Contact", "Events"): ("Event", "WhoId"),
    ("Lead", "Tasks"): ("Task", "WhoId"),
    ("Lead", "Events"): ("Event", "WhoId"),
    ("Opportunity", "OpportunityContactRoles"): ("OpportunityContactRole", "OpportunityId"),
    ("Opportunity", "OpportunityHistories"): ("OpportunityHistory", "OpportunityId"),
    ("Opportunity", "Tasks"): ("Task", "WhatId"),
    ("Opportunity", "Events"): ("Event", "WhatId"),
    ("EmailMessage", "EmailMessageRelations"): ("EmailMessageRelation", "EmailMessageId"),
}


@dataclass(frozen=True)
class ChildQuery:
    name: str  # relationship name as Salesforce spells it
    child: SObject
    parent_field: str
    compiled: CompiledQuery  # without LIMIT/OFFSET: those apply per parent
    limit: int | None


def child_relationships(sobject: str, known: Container[str]) -> list[dict[str, Any]]:
    """describe's childRelationships entries of an object (to the ``known`` objects only)."""
    return [
        {"childSObject": child, "field": field, "relationshipName": name, "cascadeDelete": False}
        for (parent, name), (child, field) in CHILD_RELATIONSHIPS.items()
        if parent == sobject and child in known
    ]


def compile_children(query: Query, parent: SObject, catalog: Any) -> tuple[ChildQuery, ...]:
    """Resolve each subquery's relationship and fields against the child object."""
    compiled = []
    for sub in query.subqueries:
        found = next(
            (
                (name, target)
                for (owner, name), target in CHILD_RELATIONSHIPS.items()
                if owner == parent.name and name.lower() == sub.sobject.lower()
            ),
            None,
        )
        if found is None or found[1][0] not in catalog.objects:
            raise SoqlError(
                "INVALID_TYPE",
                f"Didn't understand relationship '{sub.sobject}' in FROM part of query call.",
            )
        name, (child_name, parent_field) = found
        child = catalog.objects[child_name]
        unlimited = dataclasses.replace(sub, limit=None, offset=0)
        compiled.append(
            ChildQuery(
                name, child, parent_field, compile_query(unlimited, child.name, catalog), sub.limit
            )
        )
    return tuple(compiled)


def children_by_parent(
    sub: ChildQuery, parent_ids: set[str], include_deleted: bool
) -> dict[str, list[Any]]:
    """Matching child rows of the given parents, in the subquery's order, per parent id."""
    get_parent = sub.child.fields[sub.parent_field].get
    mine = (row for row in sub.child.rows(include_deleted) if get_parent(row) in parent_ids)
    grouped: dict[str, list[Any]] = {}
    for row in sub.compiled.run(mine):
        rows = grouped.setdefault(get_parent(row), [])
        if sub.limit is None or len(rows) < sub.limit:
            rows.append(row)
    return grouped
