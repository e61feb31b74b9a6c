"""The one retrying, pacing request path both connectors send every request through.

``Transport.send`` runs one request: for each try it asks the vendor whether the request may
start (quota, budget), waits for a slot from the vendor's ``Pacer``s, runs the request,
counts it in ``Usage``, and maps a failure to a ``ConnectorError`` through the vendor's one
error table; ``retrying()`` is the tenacity policy that retries ``RetryableError`` with
backoff, honouring a server's ``Retry-After`` hint, for a bounded number of tries.

``Pacer`` keeps a connector under a rolling-window rate limit so a steady run causes no 429
at all. Everything takes its clock and sleep from outside so tests run without waiting.
Every wait, a pacer's or a retry's, is told first to the transport's ``on_wait`` (the reason
and the seconds) when one is set, so a progress display can say why a run is idle.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TypeVar

import tenacity

from milestones.connectors.base import ConnectorError, OnWait, RetryableError, Usage
from milestones.connectors.settings import Pacing

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]
# A vendor's error table: its client library's exception as a ConnectorError, None when the
# exception is none of the vendor's (a bug: it propagates as it is).
Classify = Callable[[Exception], ConnectorError | None]
OnRetry = Callable[[RetryableError, int], None]
_MIN_WAIT = 0.001


class Pacer:
    """At most ``max_calls`` starts in any ``per_seconds`` window, shared by all threads."""

    def __init__(
        self,
        max_calls: int,
        per_seconds: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        name: str = "rate limit",
    ) -> None:
        self.name = name
        self.max_calls = max_calls
        self.per_seconds = per_seconds
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()
        self._held_until = 0.0
        self._held_for = ""

    def acquire(self, on_wait: OnWait | None = None) -> None:
        """Block until one more call fits in the window, then count it.

        ``on_wait`` hears of each wait first: this pacer's name and the seconds.
        """
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.per_seconds:
                    self._starts.popleft()
                if len(self._starts) < self.max_calls:
                    self._starts.append(now)
                    return
                # A floor on the wait: a float clock far from zero can round a tiny
                # remainder away, and a zero sleep would spin without the clock moving.
                wait = max(self.per_seconds - (now - self._starts[0]), _MIN_WAIT)
            if on_wait is not None:
                held = f", {self._held_for}" if self._held_for and now < self._held_until else ""
                on_wait(self.name + held, wait)
            self._sleep(wait)

    @property
    def is_full(self) -> bool:
        """Whether no slot is left in the current window."""
        return len(self._starts) >= self.max_calls

    def hold(self, seconds: float, reason: str = "") -> None:
        """Pause every caller (the server said its window is spent); waits name ``reason``."""
        with self._lock:
            now = self._clock()
            self._held_until, self._held_for = now + seconds, reason
            stamp = now + seconds - self.per_seconds
            self._starts = deque([stamp] * self.max_calls)


def backoff_wait(attempt: int, max_wait: float, hint: float | None = None) -> float:
    """Seconds to wait before try ``attempt + 1``: the server's hint, else jittered backoff."""
    if hint is not None and hint >= 0:
        return min(hint, max_wait)
    base = min(max_wait, 0.5 * 2.0 ** (attempt - 1))
    return base / 2 + random.uniform(0, base / 2)


def wait_reason(error: RetryableError) -> str:
    """Why a retry waits, in a few words: ``retry after HTTP 429 (TEN_SECONDLY_ROLLING)``."""
    what = f"HTTP {error.status}" if error.status is not None else "a connection error"
    code = f" ({error.code})" if error.code else ""
    hint = ", as the server asked" if error.retry_after is not None else ""
    return f"retry after {what}{code}{hint}"


def retrying(
    *,
    max_attempts: int,
    max_wait: float,
    sleep: Sleep = time.sleep,
    on_retry: Callable[[RetryableError, int], None] | None = None,
    on_wait: OnWait | None = None,
) -> tenacity.Retrying:
    """A tenacity policy: retry ``RetryableError`` only, waits from ``backoff_wait``.

    ``on_retry`` hears of each retried error and its try; ``on_wait`` of the wait before the
    next try (``wait_reason`` and the seconds).
    """

    def wait(state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        hint = error.retry_after if isinstance(error, RetryableError) else None
        return backoff_wait(state.attempt_number, max_wait, hint)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if not isinstance(error, RetryableError):
            return
        if on_retry is not None:
            on_retry(error, state.attempt_number)
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        if on_wait is not None and seconds > 0:  # a zero wait: a pacer's hold does the waiting
            on_wait(wait_reason(error), seconds)

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RetryableError),
        stop=tenacity.stop_after_attempt(max_attempts),
        wait=wait,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


class Transport:
    """One connector's request path: admit, pace, send, count, map errors, retry.

    ``counts_tries`` says what ``usage`` counts: every try that started (Salesforce: a
    dropped connection may still have reached the org and spent a request), or only the tries
    the server answered (HubSpot: its quota headers count answers). ``on_wait``, settable at
    any time, hears of every wait on this path, the pacers' and the retries'.
    """

    def __init__(
        self,
        connector: str,
        pacing: Pacing,
        usage: Usage,
        *,
        counts_tries: bool,
        sleep: Sleep = time.sleep,
        on_retry: OnRetry | None = None,
    ) -> None:
        self.connector = connector
        self.usage = usage
        self._counts_tries = counts_tries
        self._on_retry = on_retry
        self.on_wait: OnWait | None = None
        self._policy = retrying(
            max_attempts=pacing.max_attempts,
            max_wait=pacing.max_wait_seconds,
            sleep=sleep,
            on_retry=self._retried,
            on_wait=self._waits,
        )

    def send(
        self,
        category: str,
        request: Callable[[], T],
        *,
        classify: Classify,
        pacers: Sequence[Pacer] = (),
        admit: Callable[[], None] | None = None,
    ) -> T:
        """Run ``request`` until it succeeds, fails for good, or its tries are spent.

        ``category`` is the usage bucket; ``admit`` may refuse a try (``QuotaExhausted``);
        ``classify`` is the vendor's one error table. A copy of the policy per request keeps
        a request sent from inside another (a login, a limits read) from sharing its state.
        """
        for attempt in self._policy.copy():
            with attempt:
                return self._attempt(category, request, classify, pacers, admit)
        raise AssertionError("unreachable: the policy reraises the last error")  # pragma: no cover

    def _attempt(
        self,
        category: str,
        request: Callable[[], T],
        classify: Classify,
        pacers: Sequence[Pacer],
        admit: Callable[[], None] | None,
    ) -> T:
        if admit is not None:
            admit()
        for pacer in pacers:
            pacer.acquire(self._waits)
        if self._counts_tries:
            self.usage.count(category)
        try:
            result = request()
        except ConnectorError as error:
            self._count_answer(category, error)
            raise
        except Exception as exc:
            mapped = classify(exc)
            if mapped is None:
                raise
            self._count_answer(category, mapped)
            raise mapped from None
        if not self._counts_tries:
            self.usage.count(category)
        return result

    def _count_answer(self, category: str, error: ConnectorError) -> None:
        """Count a failed try the server answered (an error with an HTTP status)."""
        if not self._counts_tries and error.status is not None:
            self.usage.count(category)

    def _retried(self, error: RetryableError, attempt: int) -> None:
        if self._on_retry is not None:
            self._on_retry(error, attempt)
        log.warning("%s: retrying after try %d: %s", self.connector, attempt, error)

    def _waits(self, reason: str, seconds: float) -> None:
        if self.on_wait is not None:
            self.on_wait(reason, seconds)
