"""Salesforce's side of the shared transport: session, re-login, budget and error table.

Every HTTP call goes through ``SalesforceClient.call``, which sends it through
``milestones.connectors.transport.Transport``: the API budget is checked first, the call is
counted under its category, run through simple-salesforce, and simple-salesforce's
exceptions become ours in one place (``_classify``, with the status table ``classify``),
grouped by what the caller does next (STYLE.md). simple-salesforce retries nothing
(reference section 6.4), so the transport retries passing faults with tenacity; an expired
session is renewed by logging in again where the auth mode allows it, then the request is
replayed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from milestones.connectors.base import (
    ConfigurationError,
    ConnectorError,
    QuotaExhausted,
    RetryableError,
    StreamError,
    Usage,
)
from milestones.connectors.salesforce.auth import login_for, prepare_session, refused_login
from milestones.connectors.salesforce.settings import AnySalesforceSettings, SalesforceSession
from milestones.connectors.transport import Sleep, Transport

log = logging.getLogger(__name__)
T = TypeVar("T")
CONNECTOR = "salesforce"
# Codes an error body may carry that clear up by themselves (reference section 5.2).
TRANSIENT_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT"}
)


class LocatorExpired(StreamError):
    """A ``nextRecordsUrl`` cursor is gone (idle, or opened by an older session)."""


@dataclass(slots=True)
class Budget:
    """The share of the org's remaining daily requests this connector may spend.

    ``allowance`` is fixed from the first answer's ``Sforce-Limit-Info`` header; ``floor`` is the
    org-wide remaining count the run must leave untouched, so other integrations' spending
    during the run also stops it before Salesforce's own hard stop.
    """

    share: float
    allowance: int | None = None
    floor: int | None = None
    spent: int = 0

    def start(self, remaining: int) -> None:
        """Fix the allowance from the org's remaining daily requests."""
        self.allowance = max(0, math.floor(remaining * self.share))
        self.floor = remaining - self.allowance

    def left(self, live_remaining: int | None) -> int | None:
        """Calls this run may still make, or None before the budget is known."""
        if self.allowance is None or self.floor is None:
            return None
        left = self.allowance - self.spent
        if live_remaining is not None:
            left = min(left, live_remaining - self.floor)
        return max(0, left)


class SalesforceClient:
    """A simple-salesforce instance behind one retrying, budgeted, counted request path."""

    def __init__(
        self,
        settings: AnySalesforceSettings,
        *,
        sleep: Sleep = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self.session = prepare_session(session, settings.ca_bundle)
        self.session.hooks.setdefault("response", []).append(self._observe)
        self._login = login_for(settings, self.session)
        self._sf: Salesforce | None = None
        self.usage = Usage()
        self.transport = Transport(
            CONNECTOR,
            settings.pacing,
            self.usage,
            counts_tries=True,
            sleep=sleep,
            on_retry=self._on_retry,
        )
        self.budget = Budget(settings.budget_share)
        self._retry_after: float | None = None  # the last answer's Retry-After, if any

    # -- session -------------------------------------------------------------------------
    @property
    def sf(self) -> Salesforce:
        """The logged-in simple-salesforce instance (logs in on first use)."""
        if self._sf is None:
            self._sf = self._connect()
        return self._sf

    def _connect(self) -> Salesforce:
        if isinstance(self.settings, SalesforceSession):
            session_id = self.settings.session_id.get_secret_value()
            instance_url = str(self.settings.instance_url).rstrip("/")
        else:
            assert self._login is not None  # every mode but a given session logs in
            session_id, host = self.call("auth", self._login, guarded=False)
            instance_url = self._configured_host(host)
        return Salesforce(
            session_id=session_id,
            instance_url=instance_url,
            version=self.settings.api_version,
            session=self.session,
            object_pairs_hook=None,  # plain dicts from the C decoder: no hook per object
        )

    def _configured_host(self, host: str) -> str:
        """The configured instance URL, once the login answer agrees with it.

        A login answers with the host to use next; following another host than the one
        configured would send the session (and all data) somewhere the user never named.
        """
        configured = str(self.settings.instance_url).rstrip("/")
        answered = host.removeprefix("https://").removeprefix("http://").split("/")[0]
        if answered.lower() != urlsplit(configured).netloc.lower():
            raise ConfigurationError(
                f"the login answered with instance {answered}, not the configured "
                f"instance_url {configured}: set instance_url to the org's own URL "
                "(requests go to the configured host only)",
                connector=CONNECTOR,
            )
        return configured

    def _relogin(self) -> None:
        """Renew an expired session in place, or explain why this mode cannot."""
        if self._login is None:
            raise ConfigurationError(
                "the configured session id has expired or is invalid; supply a fresh one "
                "or use a login mode (password, jwt, client_credentials)",
                connector=CONNECTOR,
                status=401,
                code="INVALID_SESSION_ID",
            )
        session_id, _host = self.call("auth", self._login, guarded=False)
        sf = self.sf
        sf.session_id = session_id
        sf._generate_headers()  # simple-salesforce keeps the bearer token in its headers
        log.info("salesforce: session renewed after INVALID_SESSION_ID")

    # -- the request path -----------------------------------------------------------------
    def call(self, category: str, fn: Callable[..., T], *args: Any, guarded: bool = True) -> T:
        """Run one API request through the shared transport; ``guarded`` calls respect the
        budget."""
        return self.transport.send(
            category,
            lambda: fn(*args),
            classify=self._classify,
            admit=lambda: self._admit(guarded),
        )

    def _admit(self, guarded: bool) -> None:
        """Before each try: the budget check (when guarded), and the try spends a request."""
        if guarded:
            self._check_budget()
        self.budget.spent += 1
        self._retry_after = None

    def _classify(self, error: Exception) -> ConnectorError | None:
        """The one place simple-salesforce's and requests' exceptions become ours."""
        if isinstance(error, SalesforceAuthenticationFailed):
            code = getattr(error, "code", None)
            return refused_login(
                self.settings,
                str(code) if code is not None else None,
                str(getattr(error, "auth_message", "") or ""),
            )
        if isinstance(error, SalesforceError):
            mapped = classify(error, self._retry_after)
            if mapped.code != "INVALID_SESSION_ID":
                return mapped
            self._relogin()
            return RetryableError(
                "session expired; logged in again",
                retry_after=0.0,
                connector=CONNECTOR,
                status=401,
                code="INVALID_SESSION_ID",
            )
        if isinstance(error, requests.ConnectionError | requests.Timeout):
            return RetryableError(f"connection failed: {type(error).__name__}", connector=CONNECTOR)
        if isinstance(error, requests.exceptions.ChunkedEncodingError):
            return RetryableError("truncated response", connector=CONNECTOR)
        if isinstance(error, ValueError):  # a 2xx body that is not JSON
            return RetryableError(f"unreadable response: {str(error)[:80]}", connector=CONNECTOR)
        return None

    def _on_retry(self, error: RetryableError, attempt: int) -> None:
        if error.status in (429, 503) or error.code == "REQUEST_LIMIT_EXCEEDED":
            self.usage.rate_limited += 1

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Response hook: read Sforce-Limit-Info and Retry-After off every answer.

        The first ``Sforce-Limit-Info`` fixes the run's budget (``_check_budget``).
        """
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            usage = Salesforce.parse_api_usage(info).get("api-usage")
            if usage is not None:
                self.usage.daily_limit = usage.total
                self.usage.daily_remaining = usage.total - usage.used
                if self.budget.allowance is None:
                    # What was left when the run began: this figure plus the requests it
                    # took to hear it (this one included).
                    self.budget.start(self.usage.daily_remaining + self.budget.spent)
        retry_after = response.headers.get("Retry-After")
        if retry_after and retry_after.strip().isdigit():
            self._retry_after = float(retry_after)

    # -- budget ---------------------------------------------------------------------------
    def _check_budget(self) -> None:
        """Refuse a guarded call once this run's share of the daily requests is spent.

        The budget is fixed from the ``Sforce-Limit-Info`` header every REST answer carries
        (``api-usage=used/max``; reference section 5.1 and
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm),
        not from a ``/limits`` call, which would cost one request a run beside the floor.
        Before the first answer the budget is unknown and the call goes.
        """
        left = self.budget.left(self.usage.daily_remaining)
        if left is not None and left <= 0:
            raise QuotaExhausted(
                f"API budget for this run is spent ({self.budget.spent} calls made, "
                f"budget_share {self.budget.share:.0%} of the daily requests left at start; "
                f"{self.usage.daily_remaining} left in the org today); the run stops here "
                "and resumes from its checkpoint next time",
                connector=CONNECTOR,
                code="BUDGET",
            )

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()


def error_body(error: SalesforceError) -> tuple[str | None, str]:
    """The errorCode and message of a REST error body (a JSON list, reference 5.2)."""
    content = error.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return first.get("errorCode"), str(first.get("message", ""))
    if isinstance(content, dict):
        return content.get("errorCode") or content.get("error"), str(content.get("message", ""))
    text = content.decode(errors="replace") if isinstance(content, bytes) else str(content)
    return None, text[:200]


def _safe_url(url: str | None) -> str | None:
    """The request URL without its query string (SOQL can be long; tokens never go there)."""
    return url.split("?", 1)[0] if url else None


def classify(error: SalesforceError, retry_after: float | None = None) -> ConnectorError:
    """Map a simple-salesforce exception to what the caller does next (reference 5.2)."""
    status = int(error.status)
    code, message = error_body(error)
    kw: dict[str, Any] = {
        "connector": CONNECTOR,
        "status": status,
        "code": code,
        "url": _safe_url(error.url),
        "object_name": error.resource_name or None,
    }
    text = message or f"HTTP {status}"
    if status == 401:
        kw["code"] = code or "INVALID_SESSION_ID"
        return (
            RetryableError(text, **kw)
            if kw["code"] == "INVALID_SESSION_ID"
            else (ConfigurationError(text, **kw))
        )
    if code == "REQUEST_LIMIT_EXCEEDED":
        if "TotalRequests" in message:  # the daily allocation: stop, never hammer it
            return QuotaExhausted(f"the org's daily API requests are spent: {text}", **kw)
        return RetryableError(text, retry_after=retry_after, **kw)  # concurrency form
    if code == "INVALID_QUERY_LOCATOR":
        return LocatorExpired(text, **kw)
    if status == 410:  # the API version is retired (reference crm-api-changes-2026.md 5.2)
        return ConfigurationError(
            f"{text}; set api_version in [salesforce] to a supported version", **kw
        )
    if code in TRANSIENT_CODES or status >= 500 or status in (406, 420, 429):
        return RetryableError(text, retry_after=retry_after, **kw)
    if status == 403 or code in ("INSUFFICIENT_ACCESS", "API_DISABLED_FOR_ORG"):
        return ConfigurationError(text, **kw)
    return StreamError(text, **kw)  # MALFORMED_QUERY, INVALID_FIELD, NOT_FOUND...
