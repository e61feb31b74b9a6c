"""The pieces of each connector's one request path: pacing and retrying.

``Pacer`` keeps a connector under a rolling-window rate limit so a steady run causes no 429
at all; ``retrying()`` builds the tenacity policy that retries ``RetryableError`` with
backoff, honouring a server's ``Retry-After`` hint. Both take their clock and sleep from
outside so tests run them without waiting.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable

import tenacity

from milestones.connectors.base import RetryableError

Sleep = Callable[[float], None]
_MIN_WAIT = 0.001
Clock = Callable[[], float]


class Pacer:
    """At most ``max_calls`` starts in any ``per_seconds`` window, shared by all threads."""

    def __init__(
        self,
        max_calls: int,
        per_seconds: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.max_calls = max_calls
        self.per_seconds = per_seconds
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        """Block until one more call fits in the window, then count it."""
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
            self.waited += wait
            self._sleep(wait)

    def hold(self, seconds: float) -> None:
        """Pause every caller (the server said its window is spent)."""
        with self._lock:
            now = self._clock()
            stamp = now + seconds - self.per_seconds
            self._starts = deque([stamp] * self.max_calls)


def backoff_wait(attempt: int, max_wait: float, hint: float | None = None) -> float:
    """Seconds to wait before try ``attempt + 1``: the server's hint, else jittered backoff."""
    if hint is not None and hint >= 0:
        return min(hint, max_wait)
    base = min(max_wait, 0.5 * 2.0 ** (attempt - 1))
    return base / 2 + random.uniform(0, base / 2)


def retrying(
    *,
    max_attempts: int,
    max_wait: float,
    sleep: Sleep = time.sleep,
    on_retry: Callable[[RetryableError, int], None] | None = None,
) -> tenacity.Retrying:
    """A tenacity policy: retry ``RetryableError`` only, waits from ``backoff_wait``."""

    def wait(state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        hint = error.retry_after if isinstance(error, RetryableError) else None
        return backoff_wait(state.attempt_number, max_wait, hint)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if on_retry is not None and isinstance(error, RetryableError):
            on_retry(error, state.attempt_number)

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RetryableError),
        stop=tenacity.stop_after_attempt(max_attempts),
        wait=wait,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
