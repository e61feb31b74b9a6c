"""The ``/_sandbox/`` inspection endpoints (see ``server.core`` for the list).

They need no token, are never faulted, rate-limited or counted, so a benchmark in
another process can read counters and change the world between runs.
"""

from __future__ import annotations

from typing import Any, Protocol

from milestones.sandbox.server.http import Request, Response, json_response
from milestones.sandbox.world.store import World


class Inspected(Protocol):
    """The server surface the inspection endpoints read and change (``SandboxServer``)."""

    flavour: str
    world: World

    @property
    def url(self) -> str: ...

    def stats(self) -> dict[str, Any]: ...

    def reset_stats(self) -> None: ...

    def record(self, kind: str, record_id: int | str) -> dict[str, Any] | None: ...

    def mutate(self, op: str, **args: Any) -> dict[str, Any] | None: ...

    def configure(self, rate_limits: bool | None = None, faults: str | None = None) -> None: ...


def inspect_request(server: Inspected, req: Request) -> Response:
    """Answer one ``/_sandbox/...`` request."""
    parts = [p for p in req.path.split("/") if p][1:]
    try:
        return _route(server, req, parts)
    except (KeyError, TypeError, ValueError) as exc:
        return json_response(400, {"error": type(exc).__name__, "message": str(exc)})


def _route(server: Inspected, req: Request, parts: list[str]) -> Response:
    get, post = req.method == "GET", req.method == "POST"
    if get and parts == ["stats"]:
        return json_response(200, server.stats())
    if post and parts == ["reset-stats"]:
        server.reset_stats()
        return json_response(200, server.stats())
    if get and parts == ["world"]:
        with server.world.lock:
            return json_response(200, _jsonable(server.world.summary()))
    if get and len(parts) == 3 and parts[0] == "records":
        found = server.record(parts[1], parts[2])
        if found is None:
            return json_response(404, {"error": "not_found", "kind": parts[1], "id": parts[2]})
        return json_response(200, _jsonable(found))
    if post and parts == ["mutate"]:
        body: dict[str, Any] = dict(req.json() or {})
        op = body.pop("op")
        return json_response(200, _jsonable(server.mutate(op, **body)))
    if post and parts == ["settings"]:
        body = dict(req.json() or {})
        server.configure(rate_limits=body.get("rate_limits"), faults=body.get("faults"))
        return json_response(200, server.stats())
    if get and parts == ["health"]:
        return json_response(200, {"ok": True, "flavour": server.flavour, "url": server.url})
    return json_response(404, {"error": "unknown inspection endpoint", "path": req.path})


def _jsonable(value: Any) -> Any:
    """Tuples to lists, recursively (record fields hold tuples of ids)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
