"""A faithful local HubSpot CRM API over the sandbox world.

Serves the legacy ``/crm/v3`` and ``/crm/v4`` paths the hubspot-api-client SDK calls
(reference/hubspot-api.md §7.6) and the dated ``2026-09`` paths beside them
(``/crm/objects/2026-09/contacts``; crm-api-changes-2026.md §2; ``versions``), from one
route table, with HubSpot's status codes, JSON shapes, error bodies, rate-limit headers
and limits. Point the SDK at it with ``HubSpot(access_token=server.token,
host=server.url)``. ``legacy_paths=False`` turns the legacy paths off: they then answer
as any unknown path does (404), and are still counted in ``stats()["families"]``.

Validation rules: format rules are set through the property-validations API or
``set_format_rule``; conditional-required ones with ``require_when`` (``rules``).

Rate limits (``rate_limits=True``, off by default) and their headers depend on the kind of
token, told apart by its form: a token starting with ``pat-`` is a private app's (HubSpot's
private-app tokens read ``pat-na1-...``; service keys are treated alike), any other is an
OAuth app's access token. Private apps: 100 requests per rolling 10 s, 10 per second and a
daily quota (250,000) for everything but search on a Free/Starter portal; ``tier`` picks a
larger one (``TIERS``: Professional and Enterprise 190 per 10 s, 250 with the API Limit
Increase pack). OAuth apps: 110 per 10 s per account and
no daily limit. Search: 5 per second on its own (reference §6.1). Headers (§6.3), sent
whether limits are enforced or not: a private app's answers carry the seven
``X-HubSpot-RateLimit-*`` headers; an OAuth app's carry none of the two daily ones
(https://developers.hubspot.com/changelog/rate-limit-headers-will-now-appear-for-oauth-
authenticated-calls: "OAuth authenticated calls will not include X-HubSpot-RateLimit-Daily
or X-HubSpot-RateLimit-Daily-Remaining"); search answers carry none of the window ones,
only the daily two for a private app. 429s never carry ``Retry-After`` (as observed, §6.2)
unless ``retry_after_s`` is set. ``search_lag_ms``
models the search index lag (§1.5): records changed within it are not found yet.

Routes (``{type}``: ``contacts``, ``companies``, ``deals``, ``emails``, ``calls``,
``meetings``, ``notes``, ``tasks`` or their ``0-N`` ids), legacy and 2026-09:
objects list/get/create/update/archive, ``batch/read|update|archive|create``, ``search``,
``merge`` (contacts; a merged-away id stays an alias of the survivor, ``objects.live``)
(``/crm/v3/objects/{type}``, ``/crm/objects/2026-09/{type}``); association batch read
(``/crm/v4/associations/{from}/{to}/batch/read``, ``/crm/associations/2026-09/{from}/
{to}/batch/read``); pipelines ``{type}[/{id}]``; properties ``{type}[/{name}]`` (GET,
POST, PATCH) and groups; owners. Legacy only: ``/crm/v4/objects/{type}/{id}/
associations/{to}`` (absent from 2026-09). 2026-09 only: ``GET .../{type}/groups`` and
``/crm/property-validations/2026-09/{objectTypeId}/...`` (``validations``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from milestones.sandbox.hubspot import assoc as assoc
from milestones.sandbox.hubspot import errors as err
from milestones.sandbox.hubspot import meta as meta
from milestones.sandbox.hubspot import objects as objects
from milestones.sandbox.hubspot import validations as validations
from milestones.sandbox.hubspot.props import CATALOGUE, OBJECT_TYPES, TYPE_NAMES, iso
from milestones.sandbox.hubspot.rules import FormatRule, Rules, check_arguments
from milestones.sandbox.hubspot.search import SearchError, search
from milestones.sandbox.hubspot.values import plan_write, property_type, render
from milestones.sandbox.hubspot.versions import (
    DATED,
    LEGACY,
    api_path,
    batch_status,
    family,
    is_dated,
)
from milestones.sandbox.server.core import RollingWindow, SandboxServer
from milestones.sandbox.server.http import Request, Response, html_response
from milestones.sandbox.world.store import World

PORTAL_ID = 62515
TEN_SECONDLY_MAX, SECONDLY_MAX, SEARCH_PER_SECOND = 100, 10, 5
OAUTH_TEN_SECONDLY_MAX, OAUTH_SECONDLY_MAX = 110, 11  # per installed account (§6.1)
DAILY_MAX = 250_000
# A private app's limits by the portal's subscription (§6.1): per 10 s, per second (a tenth,
# as the recorded headers show: 100 and 10, 150 and 15) and per day.
TIERS: dict[str, tuple[int, int, int]] = {
    "starter": (TEN_SECONDLY_MAX, SECONDLY_MAX, DAILY_MAX),
    "professional": (190, 19, 625_000),
    "enterprise": (190, 19, 1_000_000),
    "enterprise+pack": (250, 25, 2_000_000),  # with the API Limit Increase pack
}
PRIVATE_APP_PREFIX = "pat-"
# The longest request target (path and query) answered; longer ones get 414 before any
# other check, as HubSpot's front end does. dlt's HubSpot source met "414 Client Error: URI
# Too Long" with every property in the query string at about 8,000 characters (reference
# hubspot-api.md section 1.1 and section 9.8; dlt-hub/verified-sources #305, PR #311).
MAX_TARGET = 8_192
URI_TOO_LONG = "<html><head><title>414 Request-URI Too Large</title></head><body>" \
    "<center><h1>414 Request-URI Too Large</h1></center></body></html>"  # fmt: skip


class HubSpotServer(SandboxServer):
    """The HubSpot flavour of the sandbox (see the module docstring)."""

    flavour = "hubspot"

    def __init__(
        self,
        world: World,
        *,
        token: str = "pat-sandbox-0000",
        tier: str = "starter",
        daily_max: int | None = None,
        retry_after_s: int | None = None,
        search_lag_ms: int = 0,
        legacy_paths: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(world, token=token, **kwargs)
        if tier not in TIERS:
            raise ValueError(f"unknown HubSpot tier {tier!r}: one of {', '.join(TIERS)}")
        ten_secondly_max, secondly_max, tier_daily = TIERS[tier]
        self.daily_max = tier_daily if daily_max is None else daily_max
        self.retry_after_s = retry_after_s
        self.search_lag_ms = search_lag_ms
        self.legacy_paths = legacy_paths
        self.families: Counter[str] = Counter()
        self.rules = Rules()
        self.daily_used = 0
        self._daily_lock = threading.Lock()
        self.records_written: Counter[str] = Counter()
        self.history_reads: Counter[str] = Counter()  # requests asking for property history
        # Property groups created through the API, per object kind (built-in ones are implied).
        self.property_groups: dict[str, dict[str, dict[str, Any]]] = {}
        self.is_private_app = token.startswith(PRIVATE_APP_PREFIX)
        self.ten_secondly_max = ten_secondly_max if self.is_private_app else OAUTH_TEN_SECONDLY_MAX
        self.secondly_max = secondly_max if self.is_private_app else OAUTH_SECONDLY_MAX
        self.ten_secondly = RollingWindow(self.ten_secondly_max, 10.0)
        self.secondly = RollingWindow(self.secondly_max, 1.0)
        self.search_window = RollingWindow(SEARCH_PER_SECOND, 1.0)
        self._register()
        with world.lock:  # build the search indexes before the first request
            for kind in ("person", "deal"):
                world.by_time(kind, "touched")

    def _register(self) -> None:
        """The route table: each API once, served on every version that is on."""
        for v in (LEGACY, DATED) if self.legacy_paths else (DATED,):
            o = partial(self._object_route, v)
            objs = api_path("objects", v, "/{type}")
            o("GET", objs, objects.list_page)
            o("POST", objs, objects.create)
            o("GET", objs + "/{id}", objects.get_one)
            o("PATCH", objs + "/{id}", objects.update_one, versioned=True)
            o("DELETE", objs + "/{id}", objects.archive_one)
            o("POST", objs + "/batch/read", objects.batch_read, versioned=True)
            o("POST", objs + "/batch/update", objects.batch_update, versioned=True)
            o("POST", objs + "/batch/archive", objects.batch_archive)
            o("POST", objs + "/batch/create", objects.batch_create)
            o("POST", objs + "/search", self._search)
            o("POST", objs + "/merge", objects.merge)
            batch = partial(self._assoc_batch, v)
            self.route("POST", api_path("associations", v, "/{from}/{to}/batch/read"), batch)
            pipes = api_path("pipelines", v, "/{type}")
            self.route("GET", pipes, self._call(meta.pipelines))
            self.route("GET", pipes + "/{pid}", self._call(meta.pipeline))
            self.route("GET", api_path("owners", v), self._call(meta.owners))
            p = api_path("properties", v, "/{type}")
            o("GET", p, meta.list_properties, versioned=True)
            o("POST", p, meta.create_property, versioned=True)
            if is_dated(v):  # before ``{name}``, which would take "groups" for a name
                o("GET", p + "/groups", meta.list_property_groups)
            o("GET", p + "/{name}", meta.get_property, versioned=True)
            o("PATCH", p + "/{name}", meta.update_property, versioned=True)
            o("GET", p + "/groups/{name}", meta.get_property_group)
            o("POST", p + "/groups", meta.create_property_group)
        if self.legacy_paths:  # no 2026-09 equivalent
            self.route("GET", "/crm/v4/objects/{type}/{id}/associations/{to}", self._assoc_single)
        pv = f"/crm/property-validations/{DATED}/{{type}}"
        o = partial(self._object_route, DATED)
        o("GET", pv, validations.all_rules)
        o("GET", pv + "/{name}", validations.property_rules)
        o("GET", pv + "/{name}/rule-type/{rule}", validations.get_rule)
        o("PUT", pv + "/{name}/rule-type/{rule}", validations.put_rule)

    def _object_route(
        self,
        version: str,
        method: str,
        pattern: str,
        fn: Callable[..., Response],
        versioned: bool = False,
    ) -> None:
        """A route whose ``{type}`` must name a known object type (else 404).

        ``versioned``: the handler's answer depends on the version; it gets ``version=``.
        """
        extra = {"version": version} if versioned else {}

        def handler(req: Request, type: str, **params: str) -> Response:
            kind = objects.object_kind(type)
            if kind is None:
                return err.not_found(f"Unable to infer object type from: {type}")
            return fn(self, req, kind, *params.values(), **extra)

        self.route(method, pattern, handler)

    def _call(self, fn: Callable[..., Response]) -> Callable[..., Response]:
        return lambda req, **params: fn(self, req, *params.values())

    def _search(self, srv: Any, req: Request, kind: str) -> Response:
        try:
            lag = self.world.clock() - self.search_lag_ms if self.search_lag_ms else None
            return err.ok(200, search(self.world, kind, req.json() or {}, lag))
        except SearchError as exc:
            return err.validation(str(exc))

    def _assoc_batch(self, version: str, req: Request, **params: str) -> Response:
        from_kind, to_kind = OBJECT_TYPES.get(params["from"]), OBJECT_TYPES.get(params["to"])
        if from_kind is None or to_kind is None:
            return err.validation(f"Unknown object type in {params['from']}/{params['to']}")
        inputs = list((req.json() or {}).get("inputs") or [])
        if len(inputs) > assoc.V4_MAX_INPUTS:
            return err.validation(
                f"The maximum number of inputs supported in a batch request is "
                f"{assoc.V4_MAX_INPUTS}. Please reduce the number of items and try again"
            )
        started = _now()
        status, payload = assoc.batch_read(self.world, from_kind, to_kind, inputs)
        # Batch answers carry startedAt/completedAt (reference §4.2's v4 example); the dated
        # schema requires them (crm-api-changes-2026.md §2.3).
        payload.update(startedAt=started, completedAt=_now())
        if is_dated(version):  # 200 only, with what its schema requires (§2.3)
            for error in payload.get("errors", []):
                error.setdefault("errors", [])
                error.setdefault("links", {})
            status = batch_status(version, status == 207)
        return err.ok(status, payload)

    def _assoc_single(self, req: Request, **params: str) -> Response:
        from_kind, to_kind = OBJECT_TYPES.get(params["type"]), OBJECT_TYPES.get(params["to"])
        if from_kind is None or to_kind is None:
            return err.validation(f"Unknown object type in {params['type']}/{params['to']}")
        rec = objects.find(self, from_kind, params["id"])
        if rec is None:
            return err.not_found(f"Object not found. id={params['id']}")
        after = objects.to_int(req.param("after"), 0)
        limit = max(1, min(objects.to_int(req.param("limit"), 500), 500))
        return err.ok(200, assoc.single(self.world, from_kind, rec, to_kind, after, limit))

    # ---- validation rules ------------------------------------------------------------------

    def set_format_rule(
        self, object_type: str, name: str, rule_type: str, arguments: list[str]
    ) -> None:
        """As ``PUT /crm/property-validations/2026-09/{type}/{name}/rule-type/{rule}``."""
        kind = OBJECT_TYPES[object_type.lower()]
        problem = check_arguments(rule_type, arguments) or (
            None if property_type(self.world, kind, name) else f"no property {name}"
        )
        if problem:
            raise ValueError(problem)
        with self.world.lock:
            self.rules.put(kind, name, FormatRule(rule_type, tuple(arguments)))

    def require_when(self, object_type: str, name: str, when: str, equals: str) -> None:
        """On 2026-09 writes, ``name`` is required when ``when`` is ``equals``."""
        with self.world.lock:
            self.rules.require_when(OBJECT_TYPES[object_type.lower()], name, when, equals)

    # ---- flavour hooks ---------------------------------------------------------------------

    def handle(self, req: Request) -> Response | None:
        """Answer as the core does, then count the request under its path family."""
        if len(req.raw_path) > MAX_TARGET:
            resp: Response | None = html_response(414, URI_TOO_LONG)
            with self._stats_lock:
                self._statuses[414] += 1
        else:
            resp = super().handle(req)
        if not req.path.startswith("/_sandbox/"):
            with self._stats_lock:
                self.families[family(req.path)] += 1
        return resp

    def endpoint_name(self, route_name: str, params: dict[str, str]) -> str:
        """Counters per object type: ``GET /crm/v3/objects/contacts``."""
        name = route_name
        for key in ("type", "from", "to"):
            if key in params:
                name = name.replace("{" + key + "}", params[key], 1)
        return name

    def unauthorized(self, req: Request) -> Response:
        return err.unauthorized()

    def bad_request(self, req: Request, message: str) -> Response:
        return err.validation(message)

    def internal_error(self, req: Request, exc: Exception) -> Response:
        return err.error(500, "INTERNAL_ERROR", f"Internal error: {type(exc).__name__}")

    def not_found(self, req: Request) -> Response:
        return err.not_found(f"Unknown path {req.path}")

    def rate_limited(self, req: Request, route_name: str) -> Response:
        resp = err.search_secondly() if _is_search(route_name) else err.ten_secondly(PORTAL_ID)
        return self._retry_after(resp)

    def daily_limited(self, req: Request) -> Response:
        return self._retry_after(err.daily())

    def _retry_after(self, resp: Response) -> Response:
        if self.retry_after_s is not None:
            resp.header("Retry-After", str(self.retry_after_s))
        return resp

    def check_rate_limits(self, req: Request, route_name: str) -> Response | None:
        if _is_search(route_name):
            allowed, _ = self.search_window.take()
            return None if allowed else self.rate_limited(req, route_name)
        if self.is_private_app and self.daily_used >= self.daily_max:
            return self.daily_limited(req)
        allowed, _ = self.ten_secondly.take()
        return None if allowed else self.rate_limited(req, route_name)

    def decorate(self, req: Request, resp: Response, route_name: str | None) -> None:
        resp.header("X-HubSpot-Correlation-Id", err.correlation_id())
        if resp.status == 401:
            return
        with self._daily_lock:
            self.daily_used += 1
        if self.is_private_app:  # OAuth apps have no daily limit, and no daily headers
            resp.header("X-HubSpot-RateLimit-Daily", str(self.daily_max))
            left = max(0, self.daily_max - self.daily_used)
            resp.header("X-HubSpot-RateLimit-Daily-Remaining", str(left))
        if route_name is not None and _is_search(route_name):
            return  # search responses carry no window headers (reference §6.3)
        if not self.rate_limits:
            self.ten_secondly.take()  # count anyway so the headers look real
        self.secondly.take()
        resp.header("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
        resp.header("X-HubSpot-RateLimit-Max", str(self.ten_secondly_max))
        resp.header("X-HubSpot-RateLimit-Remaining", str(self.ten_secondly.remaining()))
        resp.header("X-HubSpot-RateLimit-Secondly", str(self.secondly_max))
        resp.header("X-HubSpot-RateLimit-Secondly-Remaining", str(self.secondly.remaining()))

    def render(self, kind: str, record: Any) -> Any:
        if kind not in TYPE_NAMES:
            return None
        names = [*CATALOGUE[kind], *self.world.defined_fields[kind]]
        return render(self.world, kind, record, names)

    def resolve(self, kind: str, record_id: str) -> tuple[str, int]:
        return OBJECT_TYPES.get(kind, kind), int(record_id)

    def write(self, kind: str, record_id: int, updates: dict[str, Any]) -> None:
        """Apply an API write to the world (bumping modified times) and count it."""
        self.world.update(kind, record_id, updates)
        self.records_written[TYPE_NAMES[kind]] += 1

    def count_history_read(self, kind: str) -> None:
        with self._stats_lock:
            self.history_reads[TYPE_NAMES[kind]] += 1

    def stats(self) -> dict[str, Any]:
        """Base counters plus the daily quota used, records written per object type and
        requests per path family (``{"legacy": n, "2026-09": m}``, others when seen)."""
        out = super().stats()
        out["daily_used"] = self.daily_used
        out["records_written"] = dict(self.records_written)
        out["history_reads"] = dict(self.history_reads)
        with self._stats_lock:
            out["families"] = {LEGACY: 0, DATED: 0, **self.families}
        return out

    def reset_stats(self) -> None:
        super().reset_stats()
        self.records_written.clear()
        self.history_reads.clear()
        with self._stats_lock:
            self.families.clear()

    def mutate(self, op: str, **args: Any) -> dict[str, Any] | None:
        """Base mutations plus ``set_properties``: ``{"type": "contacts", "id": 2000001,
        "properties": {"lifecyclestage": "customer"}}`` in HubSpot property names."""
        if op != "set_properties":
            return super().mutate(op, **args)
        kind = OBJECT_TYPES[args["type"]]
        with self.world.lock:
            rec = self.world.get(kind, int(args["id"]))
            if rec is None:
                raise KeyError(f"no {args['type']} {args['id']}")
            self.world.update(kind, rec.id, plan_write(self.world, kind, rec, args["properties"]))
            return {"world": rec.fields(), "api": self.render(kind, rec)}

    def configure(self, rate_limits: bool | None = None, faults: str | None = None) -> None:
        super().configure(rate_limits, faults)


def _now() -> str:
    return iso(int(time.time() * 1000))


def _is_search(route_name: str) -> bool:
    return route_name.endswith("/search")
