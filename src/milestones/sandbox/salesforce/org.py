"""What the Salesforce route handlers need from the server that registers them.

``salesforce.routes`` and ``salesforce.collections`` take an ``Org`` rather than the
server class, so the server module can import them without them importing it back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from milestones.sandbox.salesforce.auth import LoginService
from milestones.sandbox.salesforce.query import Catalog, QueryService
from milestones.sandbox.salesforce.schema import SObject
from milestones.sandbox.salesforce.setup import OrgSetup
from milestones.sandbox.salesforce.writes import Writer
from milestones.sandbox.server.http import Request, Response
from milestones.sandbox.world.store import World


class Org(Protocol):
    """The org's services and objects, its answers to shared errors, and its router."""

    world: World
    objects: dict[str, SObject]
    catalog: Catalog
    setup: OrgSetup
    writer: Writer
    queries: QueryService
    tooling_queries: QueryService
    login: LoginService

    @property
    def url(self) -> str: ...

    def route(
        self, method: str, pattern: str, handler: Callable[..., Any], name: str | None = None
    ) -> None: ...

    def limits(self) -> dict[str, Any]: ...

    def not_found(self, req: Request) -> Response: ...

    def record_json(
        self, obj: SObject, row: Any, names: list[str] | None = None
    ) -> dict[str, Any]: ...
