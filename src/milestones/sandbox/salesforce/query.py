"""SOQL over the Salesforce objects: name resolution with FLS, paging cursors, rendering.

A query is parsed, resolved and evaluated once; the matching rows are kept in a
server-side cursor and served in pages of up to 2,000 (`Sforce-Query-Options:
batchSize=N`, clamped to 200-2,000) behind `nextRecordsUrl` =
`/services/data/v{ver}/query/{cursor}-{offset}` (reference/salesforce-api.md, 1.2-1.3).
Like Salesforce, a user keeps at most 10 open cursors (opening an 11th releases the
oldest), a cursor idle for 15 minutes expires, and a cursor serves only the session
that opened it; all then answer `INVALID_QUERY_LOCATOR`. Rows are rendered when their
page is served.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from milestones.sandbox.salesforce.children import ChildQuery, children_by_parent, compile_children
from milestones.sandbox.salesforce.schema import FieldDef, SObject, sf_id, wire_value
from milestones.sandbox.salesforce.setup import OrgSetup
from milestones.sandbox.salesforce.soql.evaluator import (
    INVALID_FIELD,
    CompiledQuery,
    ResolvedField,
    compile_query,
)
from milestones.sandbox.salesforce.soql.parser import SoqlError, parse

MAX_BATCH, MIN_BATCH = 2000, 200
MAX_CURSORS = 10
CURSOR_IDLE_S = 15 * 60


def no_such_column(name: str, sobject: str) -> SoqlError:
    return SoqlError(
        INVALID_FIELD,
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
    )


class Catalog:
    """The objects one API surface serves (data or tooling), seen through the user's FLS."""

    def __init__(self, objects: dict[str, SObject], setup: OrgSetup) -> None:
        self.objects, self.setup = objects, setup
        self._lower = {name.lower(): name for name in objects}

    def object_named(self, name: str) -> SObject:
        canonical = self._lower.get(name.lower())
        if canonical is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{name}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        return self.objects[canonical]

    def visible_field(self, obj: SObject, name: str) -> FieldDef | None:
        definition = obj.field(name)
        if definition is None or not self.setup.can_read(obj.name, definition):
            return None
        return definition

    def resolve(self, sobject: str, path: Sequence[str]) -> ResolvedField:
        """The SOQL evaluator's Resolver: a dotted path to a getter, following lookups."""
        obj = self.objects[sobject]
        if len(path) == 1:
            definition = self.visible_field(obj, path[0])
            if definition is None:
                raise no_such_column(path[0], sobject)
            return ResolvedField((definition.name,), definition.type, definition.get)
        ref = obj.by_relationship(path[0])
        if ref is None or not self.setup.can_read(sobject, ref):
            raise SoqlError(
                INVALID_FIELD,
                f"Didn't understand relationship '{path[0]}' in field path. If you are attempting "
                "to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name.",
            )
        targets = [self.objects[t] for t in ref.reference_to if t in self.objects]
        inner = {t.prefix: (t.lookup, self.resolve(t.name, path[1:])) for t in targets}
        first = next(iter(inner.values()))[1]
        return ResolvedField((ref.relationship or path[0], *first.path), first.type,
                             _parent_getter(ref.get, inner))  # fmt: skip


def _parent_getter(ref_get: Callable[[Any], Any], inner: dict[str, Any]) -> Callable[[Any], Any]:
    def get(row: Any) -> Any:
        parent_id = ref_get(row)
        if parent_id is None or parent_id[:3] not in inner:
            return None
        lookup, resolved = inner[parent_id[:3]]
        parent = lookup(parent_id)
        return None if parent is None else resolved.get(parent)

    return get


@dataclass
class Cursor:
    compiled: CompiledQuery
    obj: SObject
    rows: list[Any]
    batch: int
    endpoint: str  # "query" or "queryAll"
    used_at: float = field(default_factory=time.monotonic)
    owner: str | None = None  # the session that opened it
    children: tuple[ChildQuery, ...] = ()
    include_deleted: bool = False


class QueryService:
    """Runs queries for one catalog and serves their pages."""

    def __init__(
        self, catalog: Catalog, base_path: str, clock: Callable[[], float] = time.monotonic
    ):
        self.catalog, self.base_path, self.clock = catalog, base_path, clock
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def query(
        self, text: str, include_deleted: bool, batch: int, version: str, owner: str | None = None
    ) -> dict[str, Any]:
        """First page of a query (raises SoqlError for a refused query)."""
        parsed = parse(text)
        obj = self.catalog.object_named(parsed.sobject)
        compiled = compile_query(parsed, obj.name, self.catalog)
        rows = compiled.run(obj.rows(include_deleted))
        if parsed.count_only:
            return {"totalSize": len(rows), "done": True, "records": []}
        endpoint = "queryAll" if include_deleted else "query"
        children = compile_children(parsed, obj, self.catalog)
        cursor = Cursor(compiled, obj, rows, batch, endpoint, self.clock(), owner, children)
        cursor.include_deleted = include_deleted
        return self._page(cursor, None, 0, version)

    def more(self, locator: str, version: str, owner: str | None = None) -> dict[str, Any]:
        """A later page: `locator` is `{cursor id}-{offset}`.

        A cursor belongs to the session that opened it: after a re-login the old locator
        is invalid and the query must be restarted (reference section 1.3).
        """
        cursor_id, _, offset_text = locator.rpartition("-")
        with self._lock:
            self._expire()
            cursor = self.cursors.get(cursor_id)
        if cursor is not None and cursor.owner != owner:
            cursor = None
        if cursor is None or not offset_text.isdigit() or int(offset_text) > len(cursor.rows):
            raise SoqlError("INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.used_at = self.clock()
        return self._page(cursor, cursor_id, int(offset_text), version)

    def _page(
        self, cursor: Cursor, cursor_id: str | None, offset: int, version: str
    ) -> dict[str, Any]:
        end = min(offset + cursor.batch, len(cursor.rows))
        page = {
            "totalSize": len(cursor.rows),
            "done": end >= len(cursor.rows),
            "records": self.render(cursor, cursor.rows[offset:end], version),
        }
        with self._lock:
            if page["done"]:
                if cursor_id is not None:
                    self.cursors.pop(cursor_id, None)
                return page
            if cursor_id is None:
                cursor_id = sf_id("01g", next(self._numbers))[:15]
                self.cursors[cursor_id] = cursor
                while len(self.cursors) > MAX_CURSORS:
                    self.cursors.popitem(last=False)
        page["nextRecordsUrl"] = f"{self.base_path(version)}/{cursor.endpoint}/{cursor_id}-{end}"
        return page

    def _expire(self) -> None:
        cutoff = self.clock() - CURSOR_IDLE_S
        for key in [k for k, c in self.cursors.items() if c.used_at < cutoff]:
            del self.cursors[key]

    # ---- rendering -----------------------------------------------------------------------

    def render(self, cursor: Cursor, rows: list[Any], version: str) -> list[dict[str, Any]]:
        tree = _select_tree(self.catalog, cursor.obj, cursor.compiled.select)
        records = [render_record(cursor.obj, tree, row, version) for row in rows]
        if cursor.children:
            self._add_children(cursor, records, rows, version)
        return records

    def _add_children(
        self, cursor: Cursor, records: list[dict[str, Any]], rows: list[Any], version: str
    ) -> None:
        ids = [cursor.obj.row_id(row) for row in rows]
        for sub in cursor.children:
            grouped = children_by_parent(sub, set(ids), cursor.include_deleted)
            tree = _select_tree(self.catalog, sub.child, sub.compiled.select)
            for record, parent_id in zip(records, ids, strict=True):
                found = grouped.get(parent_id)
                record[sub.name] = (
                    {
                        "totalSize": len(found),
                        "done": True,
                        "records": [render_record(sub.child, tree, r, version) for r in found],
                    }
                    if found
                    else None
                )


def _select_tree(catalog: Catalog, obj: SObject, select: tuple[ResolvedField, ...]) -> list[Any]:
    """Selected paths as [(name, FieldDef)] leaves and [(relationship, ref, {prefix: subtree})]."""
    tree: list[Any] = []
    groups: dict[str, list[tuple[str, ...]]] = {}
    for resolved in select:
        if len(resolved.path) == 1:
            tree.append((resolved.path[0], obj.fields[resolved.path[0]], None))
        else:
            if resolved.path[0] not in groups:
                groups[resolved.path[0]] = []
                tree.append((resolved.path[0], None, groups[resolved.path[0]]))
            groups[resolved.path[0]].append(resolved.path[1:])
    out = []
    for name, definition, sub_paths in tree:
        if sub_paths is None:
            out.append((name, definition, None))
            continue
        ref = obj.by_relationship(name)
        assert ref is not None
        subtrees = {}
        for target in (catalog.objects[t] for t in ref.reference_to if t in catalog.objects):
            sub_select = tuple(catalog.resolve(target.name, p) for p in sub_paths)
            subtrees[target.prefix] = (target, _select_tree(catalog, target, sub_select))
        out.append((name, ref, subtrees))
    return out


def render_record(obj: SObject, tree: list[Any], row: Any, version: str) -> dict[str, Any]:
    """One record as the REST API shows it: attributes first, then the selected fields."""
    record: dict[str, Any] = {"attributes": attributes(obj, obj.row_id(row), version)}
    for name, definition, subtrees in tree:
        if subtrees is None:
            record[name] = wire_value(definition, definition.get(row))
            continue
        parent_id = definition.get(row)
        found = subtrees.get(parent_id[:3]) if parent_id else None
        parent = found[0].lookup(parent_id) if found else None
        record[name] = (
            None if parent is None else render_record(found[0], found[1], parent, version)
        )
    return record


def attributes(obj: SObject, record_id: str, version: str) -> dict[str, str]:
    return {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"}
