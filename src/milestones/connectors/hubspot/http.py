"""HubSpot's side of the shared transport: every call the connector makes goes through
``HubSpotHttp.call``, which sends it through ``milestones.connectors.transport.Transport``.

What happens, in order, for each try of each call:

1. refuse to start when the daily quota is spent (``QuotaExhausted``: the engine checkpoints
   and the next run resumes);
2. wait for a slot from the pacers: the app's ten-second and per-second budgets for ordinary
   calls, the search endpoints' own per-second budget for searches (hubspot-api.md §6.1: search
   is exempt from the ten-second bucket but limited to about 5/s);
3. send it with the SDK's ``ApiClient.call_api`` on the path ``versions.Paths`` builds for the
   configured API version, with ``_preload_content=False`` so the raw JSON is parsed once,
   without the SDK's model building (§7.4-7.5), and read the ``X-HubSpot-RateLimit-*``
   headers to tighten the pacers and track the daily quota (§6.3);
4. count the answered call, and map failures by what the caller does next (STYLE.md) in
   ``_classify``, the one place SDK and urllib3 exceptions become connector errors: 429, 5xx
   and dropped connections are retried by tenacity, every method included (the SDK's urllib3
   retry skips POST and PATCH, §7.3); a ``DAILY`` 429 stops the run; 401/403 ask for a
   config fix; the rest is ``HubSpotApiError``, a ``StreamError`` that carries the status and
   body for the callers that know what such an answer means.

One ``ApiClient`` serves every path, so every call shares one urllib3 pool (the SDK would
build a client and a pool per API package, §7.1, §7.5). The access token lives only inside
the SDK's ``Configuration``; errors carry the base URL and path, never the token.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from hubspot.crm import objects as sdk

from milestones.connectors.base import (
    ConfigurationError,
    ConnectorError,
    QuotaExhausted,
    RetryableError,
    StreamError,
    Usage,
)
from milestones.connectors.hubspot.settings import HubSpotSettings
from milestones.connectors.hubspot.versions import Paths
from milestones.connectors.transport import Clock, Pacer, Sleep, Transport

PROVIDER = "hubspot"
# Our pacer measures call starts; the server counts arrivals. Widening the window a little
# keeps a burst that straddles the server's window edge under its limit.
WINDOW_MARGIN = 1.03
DAILY_RESERVE_SHARE = 0.01  # leave 1% of the daily quota to the portal's other integrations
TIMEOUT = (10.0, 120.0)  # connect, read (seconds)
RETRYABLE_STATUSES = frozenset({423, 429, 477, 500, 502, 503, 504, 520, 521, 522, 524})


class HubSpotApiError(StreamError):
    """A non-retryable HTTP answer (400 on a batch, 404, 409...).

    Unhandled, it aborts the stream; callers that know the answer read its ``status``,
    ``body`` and ``category`` to decide on (split a batch, take a 409 as "exists").
    """

    def __init__(self, status: int, body: Any, url: str) -> None:
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        category = self.body.get("category")
        super().__init__(
            str(self.body.get("message") or f"HTTP {status}"),
            connector=PROVIDER,
            status=status,
            code=str(category) if category is not None else None,
            url=url,
        )
        self.status: int = status

    @property
    def category(self) -> str | None:
        """HubSpot's error category (``VALIDATION_ERROR``, ``OBJECT_NOT_FOUND``...)."""
        return self.code


@dataclass(frozen=True, slots=True)
class Response:
    """A parsed 2xx answer: its status, its JSON body and the headers we use."""

    status: int
    data: dict[str, Any]


SPENT = "the server says its window is spent"


class HubSpotHttp:
    """The SDK API objects, built once, behind one paced, retrying ``call``."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.base_url = str(settings.base_url).rstrip("/")
        self.usage = Usage()
        self._settings = settings
        limit = settings.ten_second_limit
        # A limit set in the config is a ceiling; the default follows what HubSpot sends.
        self._is_pinned = "ten_second_limit" in settings.model_fields_set

        def pacer(calls: int, seconds: float, name: str) -> Pacer:
            return Pacer(calls, seconds * WINDOW_MARGIN, clock=clock, sleep=sleep, name=name)

        self.ten_second = pacer(limit, 10.0, "10-second limit")
        self.secondly = pacer(math.ceil(limit / 10), 1.0, "per-second limit")
        self.search_pacer = pacer(settings.search_per_second, 1.0, "search limit")
        self.transport = Transport(
            PROVIDER, settings.pacing, self.usage, counts_tries=False, sleep=sleep
        )
        self.paths = Paths(settings.api_version)
        self._client = self._api_client()

    def _api_client(self) -> Any:
        """One SDK ``ApiClient`` with the token, our TLS trust and no retries of its own.

        Its generated ``call_api`` reaches any path, dated ones included, with the SDK's auth,
        connection pool and ``ApiException``; the SDK's per-endpoint methods hard-code the
        numbered paths (crm-api-changes-2026.md §4).
        """
        configuration = sdk.Configuration()
        configuration.host = self.base_url
        configuration.access_token = self._settings.access_token.get_secret_value()
        if self._settings.ca_bundle is not None:
            configuration.ssl_ca_cert = str(self._settings.ca_bundle)
        # No retries inside urllib3: the transport owns them, for every method (§7.3).
        configuration.retries = urllib3.Retry(total=0, redirect=False, raise_on_status=False)
        client = sdk.ApiClient(configuration=configuration)
        client.user_agent = "crm-milestones (hubspot-api-client-python)"
        client.sanitize_for_serialization = _plain_json(client.sanitize_for_serialization)
        return client

    # -- the request path -------------------------------------------------------------------

    def call(
        self,
        category: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Response:
        """Send one request through the shared transport: pacing, retries, error mapping.

        ``category`` is the usage bucket (read, search, associations, write, meta); ``path``
        comes from ``self.paths``; a list in ``query`` repeats its name once per value, as
        HubSpot reads ``properties``. Searches wait for the search endpoints' own budget,
        every other call for the app's per-second and ten-second ones.
        """
        is_search = category == "search"
        pacers = (self.search_pacer,) if is_search else (self.secondly, self.ten_second)
        return self.transport.send(
            category,
            lambda: self._request(method, path, is_search, query or {}, body),
            classify=lambda exc: self._classify(exc, path, is_search),
            pacers=pacers,
            admit=lambda: self._check_daily(path),
        )

    def _request(
        self, method: str, path: str, is_search: bool, query: Mapping[str, Any], body: Any
    ) -> Response:
        params = [(name, value) for name, value in query.items() if value is not None]
        headers = {"Accept": "application/json, */*"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        raw = self._client.call_api(
            path,
            method,
            query_params=params,
            header_params=headers,
            body=body,
            auth_settings=["oauth2"],
            collection_formats={name: "multi" for name, value in params if isinstance(value, list)},
            _preload_content=False,
            _request_timeout=TIMEOUT,
        )
        self._read_headers(raw.headers, is_search)
        data = _json_object(raw.data, raw.status)
        if data is None:
            # A proxy's HTML page, a body cut short or an empty 200 is no answer: read as
            # "no results" it would end a pull early and lose every record after it.
            raise RetryableError(
                f"malformed answer (HTTP {raw.status}, not a JSON object)",
                connector=PROVIDER,
                status=raw.status,
                url=self._url(path),
            )
        return Response(status=raw.status, data=data)

    def _classify(self, exc: Exception, path: str, is_search: bool) -> ConnectorError | None:
        """The one place HubSpot's SDK and urllib3 exceptions become connector errors."""
        if isinstance(exc, urllib3.exceptions.HTTPError):
            if _is_tls_failure(exc):
                return self._tls_error(path)
            return RetryableError(
                f"connection failed: {type(exc).__name__}", connector=PROVIDER, url=self._url(path)
            )
        status = getattr(exc, "status", None)
        if not isinstance(status, int) or not hasattr(exc, "body"):
            return None  # not an SDK answer: a bug, left to propagate
        if status == 0:  # the SDK wraps some TLS failures as status 0
            return self._tls_error(path)
        headers = getattr(exc, "headers", None) or {}
        self._read_headers(headers, is_search)
        return self._map_error(status, _parse(getattr(exc, "body", b"")), headers, path, is_search)

    def _map_error(
        self, status: int, body: Any, headers: Mapping[str, str], path: str, is_search: bool
    ) -> ConnectorError:
        url = self._url(path)
        body = body if isinstance(body, dict) else {}
        code = body.get("policyName") or body.get("category") or body.get("errorType")
        message = str(body.get("message") or f"HTTP {status}")
        hint = _float(headers.get("Retry-After"))
        if status == 429:
            self.usage.rate_limited += 1
            policy = body.get("policyName")
            if policy == "DAILY":
                return QuotaExhausted(
                    message, connector=PROVIDER, status=429, code="DAILY", url=url
                )
            # Ten-secondly: the app's window is full; pause every caller until it rolls over
            # (the official Node SDK waits 10 s, hubspot-api.md §6.2). Search: one second.
            pause = hint if hint is not None else (1.0 if is_search else self._interval())
            held = self.search_pacer if is_search else self.ten_second
            held.hold(pause, f"HTTP 429 ({code})" if code else "HTTP 429")
            return RetryableError(
                message, connector=PROVIDER, status=429, code=code, url=url, retry_after=0.0
            )
        if status in RETRYABLE_STATUSES:
            return RetryableError(
                message, connector=PROVIDER, status=status, code=code, url=url, retry_after=hint
            )
        if status in (401, 403):
            return ConfigurationError(
                f"HubSpot refused the access token or its scopes: {message}",
                connector=PROVIDER,
                status=status,
                code=code,
                url=url,
            )
        return HubSpotApiError(status, body, url)

    def _read_headers(self, headers: Mapping[str, str], is_search: bool) -> None:
        """Track the daily quota and tighten the pacers from ``X-HubSpot-RateLimit-*`` (§6.3)."""
        daily = _int(headers.get("X-HubSpot-RateLimit-Daily"))
        daily_left = _int(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        if daily is not None:
            self.usage.daily_limit = daily
        if daily_left is not None:
            self.usage.daily_remaining = daily_left
        if is_search:
            return  # search answers carry no window headers (only a private app's daily two)
        interval = _int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        if interval:
            self.ten_second.per_seconds = interval / 1000 * WINDOW_MARGIN
        # The window sizes HubSpot sends replace the documented defaults (100 per 10 s and
        # 10 per second for a Free/Starter private app; 110 and 11 for an OAuth app, which
        # sends no daily headers; more on higher tiers), up to a limit pinned in the config.
        top = _int(headers.get("X-HubSpot-RateLimit-Max"))
        if top and (top < self.ten_second.max_calls or not self._is_pinned):
            self.ten_second.max_calls = top
        per_second = _int(headers.get("X-HubSpot-RateLimit-Secondly"))
        if per_second and (per_second < self.secondly.max_calls or not self._is_pinned):
            self.secondly.max_calls = per_second
        # The server's window is full. When ours is too, the pacer already waits for its
        # oldest call to age out; when it is not, other clients share the app's budget and
        # we cannot know when their calls age out: pause a whole window.
        left = _int(headers.get("X-HubSpot-RateLimit-Remaining"))
        if left is not None and left <= 0 and not self.ten_second.is_full:
            self.ten_second.hold(self._interval(), SPENT)
        left_now = _int(headers.get("X-HubSpot-RateLimit-Secondly-Remaining"))
        if left_now is not None and left_now <= 0 and not self.secondly.is_full:
            self.secondly.hold(1.0, SPENT)

    def _check_daily(self, path: str) -> None:
        usage = self.usage
        if usage.daily_remaining is None:
            return
        reserve = int((usage.daily_limit or 0) * DAILY_RESERVE_SHARE)
        if usage.daily_remaining <= reserve:
            raise QuotaExhausted(
                f"daily API quota spent ({usage.daily_remaining} left, reserve {reserve})",
                connector=PROVIDER,
                code="DAILY",
                url=self._url(path),
            )

    def _tls_error(self, path: str) -> ConfigurationError:
        return ConfigurationError(
            "TLS handshake failed (check base_url and ca_bundle)",
            connector=PROVIDER,
            url=self._url(path),
        )

    def _interval(self) -> float:
        return self.ten_second.per_seconds / WINDOW_MARGIN

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def stream_error(self, message: str, path: str, *, status: int | None = None) -> StreamError:
        """A ``StreamError`` for an answer this connector cannot go on from."""
        return StreamError(message, connector=PROVIDER, status=status, url=self._url(path))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.rest_client.pool_manager.clear()


def _is_tls_failure(exc: Exception) -> bool:
    """A certificate or handshake failure: retrying will not help, the trust settings will."""
    reason = getattr(exc, "reason", None)
    return isinstance(exc, urllib3.exceptions.SSLError) or isinstance(
        reason, urllib3.exceptions.SSLError
    )


def _plain_json(sdk_sanitize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The SDK's request sanitiser, skipped for the plain JSON values this connector sends.

    The SDK walks every body recursively to turn its model objects into dicts; our bodies are
    dicts and lists already, and the walk cost about 6 ms per 1,000-id association read, a
    tenth of a full sync's CPU. SDK model objects still go through the SDK's own code.
    """

    def sanitize(value: Any) -> Any:
        if value is None or isinstance(value, _PLAIN):
            return value
        return sdk_sanitize(value)

    return sanitize


_PLAIN = (str, int, float, bool, dict, list, tuple)


def _parse(raw: bytes | str | None) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}


def results_of(response: Response, path: str) -> list[dict[str, Any]]:
    """The ``results`` list of a list or search answer; an answer without one is malformed
    (read as empty, it would end a pull early and lose every record after it)."""
    results = response.data.get("results")
    if not isinstance(results, list):
        raise StreamError(
            f"malformed answer from {path}: no results list",
            connector=PROVIDER,
            status=response.status,
        )
    return results


def _json_object(raw: bytes | str | None, status: int) -> dict[str, Any] | None:
    """The JSON object a 2xx answer carries ({} for 204 No Content); None when it has none."""
    if not raw:
        return {} if status == 204 else None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
