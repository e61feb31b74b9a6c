"""HTTP server core shared by the HubSpot and Salesforce sandbox flavours.

A flavour subclasses ``SandboxServer``, registers its routes with ``route()`` and
overrides the hooks that shape its vendor's errors (``authenticate``,
``rate_limited``, ``daily_limited``, ``unauthorized``, ``not_found``, ``decorate``).
The core handles threading (one thread per connection, HTTP/1.1 keep-alive), optional
TLS, fault injection (``faults.FaultPlan``), request counters and the inspection
surface.

Use it in-process::

    with HubSpotServer(generate_world(seed=7, contacts=200)) as srv:
        srv.url                       # "http://127.0.0.1:54321"
        srv.stats()                   # {"total": ..., "endpoints": {"GET /crm/...": n}, ...}
        srv.mutate("move_deal", deal_id=5000001, stage="closedwon")
        srv.record("person", 2000001)

or over HTTP (JSON, no auth, never faulted or counted) from another process:

- ``GET  /_sandbox/stats``            request counts per endpoint and status, faults injected
- ``POST /_sandbox/reset-stats``      zero the counters
- ``GET  /_sandbox/world``            record counts per kind, seed, generator figures
- ``GET  /_sandbox/records/{kind}/{id}`` a record's fields (world kind or flavour object
  name; flavours may accept their own ids) plus the flavour's rendering of it
- ``POST /_sandbox/mutate``           ``{"op": "move_deal", "deal_id": 5000001, "stage":
  "closedwon"}``; ops: ``MUTATIONS`` below; answers the changed record
- ``POST /_sandbox/settings``         ``{"rate_limits": true, "faults": "429=0.1,seed=3"}``
"""

from __future__ import annotations

import json
import re
import ssl
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

from milestones.sandbox.server.faults import FaultPlan, as_plan
from milestones.sandbox.server.http import (
    Request,
    Response,
    _Handler,
    _HTTPServer,
    html_response,
    json_response,
)
from milestones.sandbox.server.inspection import inspect_request
from milestones.sandbox.world.store import KINDS, World

MUTATIONS = (
    "move_deal",
    "add_inbound_email",
    "add_activity",
    "add_person",
    "record_referral",
    "update",
    "archive",
    "delete",
    "merge",
)
RESET = None  # a handler returning this drops the connection
__all__ = [
    "MUTATIONS",
    "RESET",
    "Request",
    "Response",
    "RollingWindow",
    "SandboxServer",
    "html_response",
    "json_response",
]


SERVICE_UNAVAILABLE_HTML = (
    "<html><head><title>503 Service Unavailable</title></head><body>"
    "<h1>503 Service Unavailable</h1><p>No server is available to handle this request.</p>"
    "</body></html>"
)


class RollingWindow:
    """At most ``limit`` events per ``window_s`` seconds, rolling; thread-safe."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._events: list[float] = []
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, int]:
        """Spend one event if allowed; returns (allowed, remaining after it)."""
        with self._lock:
            now = self.clock()
            cutoff = now - self.window_s
            i = 0
            while i < len(self._events) and self._events[i] <= cutoff:
                i += 1
            del self._events[:i]
            if len(self._events) >= self.limit:
                return False, 0
            self._events.append(now)
            return True, self.limit - len(self._events)

    def remaining(self) -> int:
        with self._lock:
            cutoff = self.clock() - self.window_s
            return self.limit - sum(1 for t in self._events if t > cutoff)


class _Route:
    __slots__ = ("handler", "method", "name", "regex")

    def __init__(self, method: str, pattern: str, handler: Callable[..., Any], name: str):
        self.method, self.handler, self.name = method, handler, name
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/"))
        self.regex = re.compile(f"^{regex}/?$")


class SandboxServer:
    """Base of both flavours: start/stop, routing, faults, counters, inspection."""

    flavour = "base"

    def __init__(
        self,
        world: World,
        *,
        token: str = "sandbox-token",
        faults: FaultPlan | str | None = None,
        rate_limits: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.world, self.token, self.rate_limits = world, token, rate_limits
        self.faults = as_plan(faults)
        self.host, self.port, self.ssl_context = host, port, ssl_context
        self._routes: list[_Route] = []
        self._stats_lock = threading.Lock()
        self._endpoints: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.sleep: Callable[[float], None] = time.sleep

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Bind (port 0: a free one) and serve in a background thread."""
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.sandbox = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
            name=f"sandbox-{self.flavour}-{self.port}",
        )  # fmt: skip
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and join the serving thread."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> SandboxServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (https when TLS is on)."""
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    # ---- routing -------------------------------------------------------------------------

    def route(
        self, method: str, pattern: str, handler: Callable[..., Any], name: str | None = None
    ) -> None:
        """Register ``handler(request, **path_params) -> Response``; ``{x}`` matches a segment.

        ``name`` (default ``"METHOD pattern"``) keys the request counters.
        """
        self._routes.append(_Route(method, pattern, handler, name or f"{method} {pattern}"))

    def _match(self, req: Request) -> tuple[_Route | None, dict[str, str], bool]:
        path_known = False
        for r in self._routes:
            m = r.regex.match(req.path)
            if m:
                path_known = True
                if r.method == req.method:
                    return r, m.groupdict(), True
        return None, {}, path_known

    # ---- hooks for flavours ----------------------------------------------------------------

    def authenticate(self, req: Request) -> Response | None:
        """None when the request is authorised, else the flavour's auth error."""
        if req.headers.get("Authorization", "") == f"Bearer {self.token}":
            return None
        return self.unauthorized(req)

    def unauthorized(self, req: Request) -> Response:
        return json_response(401, {"message": "unauthorized"})

    def not_found(self, req: Request) -> Response:
        return json_response(404, {"message": f"no route for {req.method} {req.path}"})

    def rate_limited(self, req: Request, route_name: str) -> Response:
        """The flavour's "too many requests" answer (used by the 429 fault)."""
        return json_response(429, {"message": "rate limited"})

    def daily_limited(self, req: Request) -> Response:
        """The flavour's "daily quota exhausted" answer (the ``daily_quota`` fault)."""
        return json_response(429, {"message": "daily limit"})

    def check_rate_limits(self, req: Request, route_name: str) -> Response | None:
        """Called when rate limits are on; None to proceed, or the limit's error."""
        return None

    def bad_request(self, req: Request, message: str) -> Response:
        """A malformed request (e.g. a body that is not JSON)."""
        return json_response(400, {"message": message})

    def internal_error(self, req: Request, exc: Exception) -> Response:
        """A handler raised: the flavour's 500 (the traceback goes to stderr)."""
        return json_response(500, {"message": f"sandbox error: {type(exc).__name__}: {exc}"})

    def service_unavailable(self, req: Request) -> Response:
        return html_response(503, SERVICE_UNAVAILABLE_HTML)

    def decorate(self, req: Request, resp: Response, route_name: str | None) -> None:
        """Add flavour headers (rate-limit headers, correlation ids) to every API response."""

    def endpoint_name(self, route_name: str, params: dict[str, str]) -> str:
        """The counter key of a request (default: the route's name)."""
        return route_name

    def render(self, kind: str, record: Any) -> Any:
        """The flavour's wire rendering of a world record, for the inspection surface."""
        return None

    def resolve(self, kind: str, record_id: str) -> tuple[str, int]:
        """Map an inspection (kind, id) to a world (kind, id); flavours add their names."""
        return kind, int(record_id)

    # ---- dispatch ------------------------------------------------------------------------

    def handle(self, req: Request) -> Response | None:
        """Answer one request; None means drop the connection (the ``reset`` fault)."""
        if req.path.startswith("/_sandbox/"):
            return inspect_request(self, req)
        route, params, path_known = self._match(req)
        name = self.endpoint_name(route.name, params) if route else f"{req.method} (unknown)"
        resp = self._serve(req, route, params, path_known, name)
        if resp is not None:
            self.decorate(req, resp, name if route else None)
        with self._stats_lock:
            self._endpoints[name] += 1
            self._statuses[resp.status if resp is not None else 0] += 1
        return resp

    def _serve(
        self, req: Request, route: _Route | None, params: dict[str, str], known: bool, name: str
    ) -> Response | None:
        fault = self.faults.draw(name) if self.faults.active else None
        if fault == "reset":
            return RESET
        if fault == "slow":
            self.sleep(self.faults.slow_ms / 1000)
        denied = self.authenticate(req)
        if denied is not None:
            return denied
        if fault == "daily":
            return self.daily_limited(req)
        if fault == "401":
            return self.unauthorized(req)
        if fault == "429":
            return self.rate_limited(req, name)
        if fault == "503":
            return self.service_unavailable(req)
        if route is None:
            if known:
                return json_response(405, {"message": f"{req.method} not allowed"})
            return self.not_found(req)
        if self.rate_limits:
            limited = self.check_rate_limits(req, route.name)
            if limited is not None:
                return limited
        try:
            with self.world.lock:
                return route.handler(req, **params)
        except json.JSONDecodeError as exc:
            return self.bad_request(req, f"Invalid JSON body: {exc}")
        except Exception as exc:  # a sandbox bug: answer 500 and show it, never hang up
            traceback.print_exc(file=sys.stderr)
            return self.internal_error(req, exc)

    # ---- inspection ----------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Request counts per endpoint and status since the last reset, faults injected."""
        with self._stats_lock:
            endpoints, statuses = dict(self._endpoints), dict(self._statuses)
        return {
            "total": sum(endpoints.values()),
            "endpoints": endpoints,
            "statuses": {str(k): v for k, v in statuses.items()},
            "faults": self.faults.status(),
            "rate_limits": self.rate_limits,
        }

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._endpoints.clear()
            self._statuses.clear()

    def record(self, kind: str, record_id: int | str) -> dict[str, Any] | None:
        """A record's world fields and the flavour's rendering, or None."""
        world_kind, wid = self.resolve(kind, str(record_id))
        with self.world.lock:
            rec = self.world.get(world_kind, wid) if world_kind in KINDS else None
            if rec is None:
                return None
            return {"world": rec.fields(), "api": self.render(world_kind, rec)}

    def mutate(self, op: str, **args: Any) -> dict[str, Any] | None:
        """Apply one of ``MUTATIONS`` to the world (bumping modified times) and describe it."""
        if op not in MUTATIONS:
            raise ValueError(f"unknown mutation {op!r}; known: {', '.join(MUTATIONS)}")
        w = self.world
        calls: dict[str, Callable[[], Any]] = {
            "move_deal": lambda: w.move_deal(args["deal_id"], args["stage"], args.get("pipeline")),
            "add_inbound_email": lambda: w.add_inbound_email(args["person_id"]),
            "add_activity": lambda: w.add_activity(
                args.pop("kind"), args.pop("person_ids"), args.pop("deal_id", None), **args
            ),
            "add_person": lambda: w.add_person(**args),
            "record_referral": lambda: w.record_referral(
                args["referrer_id"], args.get("person_id"), bool(args.get("by_email"))
            ),
            "update": lambda: w.update(args["kind"], args["id"], args["values"]),
            "archive": lambda: w.archive(args["kind"], args["id"], args.get("archived", True)),
            "delete": lambda: w.delete(args["kind"], args["id"]),
            "merge": lambda: w.merge(args["survivor_id"], args["merged_id"]),
        }
        with w.lock:
            rec = calls[op]()
            return (
                None if rec is None else {"world": rec.fields(), "api": self.render(rec.kind, rec)}
            )

    def configure(self, rate_limits: bool | None = None, faults: str | None = None) -> None:
        """Switch rate limits and replace the fault plan between runs."""
        if rate_limits is not None:
            self.rate_limits = rate_limits
        if faults is not None:
            self.faults = FaultPlan.parse(faults)
