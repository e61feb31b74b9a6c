"""Seeded fault injection shared by both sandbox flavours.

A fault plan comes from a compact SPEC string, comma-separated ``key=value`` pairs::

    429=0.05,503=0.03,reset=0.02,slow=0.01,record=0.02,daily_quota=5000,seed=7

Keys (shares are probabilities per API request, 0.0-1.0; their sum must stay <= 1):

=============  ===========================================================================
``429``        answer with the flavour's rate-limit error (HubSpot: 429 ten-secondly body;
               Salesforce: 403 REQUEST_LIMIT_EXCEEDED)
``503``        answer 503 with an HTML body (a load balancer page, not JSON)
``reset``      drop the connection without answering (the client sees a reset)
``slow``       answer normally after ``slow_ms`` milliseconds (default 3000)
``401``        answer with the flavour's auth failure (expired token / session)
``record``     share of records inside batch writes that fail on their own (HubSpot 207
               errors, Salesforce per-record ``UNABLE_TO_LOCK_ROW``)
``daily_quota`` after this many API requests every request gets the daily-limit error
``after``      let the first N requests through untouched (setup, auth)
``match``      only requests whose endpoint name contains this text are faulted
``seed``       seed of the fault stream (default 0)
=============  ===========================================================================

The stream of decisions is drawn from one seeded ``random.Random`` in request order, so
a sequential client replays a failing run exactly with the same SPEC. ``FaultPlan.injected``
counts what was injected. An empty or None SPEC means no faults.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

REQUEST_FAULTS = ("429", "503", "reset", "slow", "401")
_SHARES = (*REQUEST_FAULTS, "record")
_INTS = ("daily_quota", "after", "seed", "slow_ms")


class FaultSpecError(ValueError):
    """The SPEC string is malformed (message says which pair and why)."""


class FaultPlan:
    """Decides, request by request, whether and how to misbehave."""

    def __init__(
        self,
        shares: dict[str, float] | None = None,
        daily_quota: int | None = None,
        seed: int = 0,
        slow_ms: int = 3000,
        after: int = 0,
        match: str | None = None,
    ) -> None:
        self.shares = {k: float(v) for k, v in (shares or {}).items() if v}
        self.daily_quota, self.seed, self.slow_ms = daily_quota, seed, slow_ms
        self.after, self.match = after, match
        self.requests = 0
        self.injected: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._record_rng = random.Random(seed + 1)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        """Build a plan from a SPEC string (see the module docstring)."""
        shares: dict[str, float] = {}
        ints: dict[str, int] = {}
        match = None
        for pair in (spec or "").split(","):
            if not pair.strip():
                continue
            key, sep, value = (s.strip() for s in pair.partition("="))
            if not sep:
                raise FaultSpecError(f"{pair!r}: expected key=value")
            try:
                if key in _SHARES:
                    shares[key] = float(value)
                    if not 0.0 <= shares[key] <= 1.0:
                        raise ValueError("a share is between 0 and 1")
                elif key in _INTS:
                    ints[key] = int(value)
                elif key == "match":
                    match = value
                else:
                    raise ValueError(f"unknown key; known: {', '.join((*_SHARES, *_INTS))}")
            except ValueError as exc:
                raise FaultSpecError(f"{pair!r}: {exc}") from None
        if sum(v for k, v in shares.items() if k in REQUEST_FAULTS) > 1.0:
            raise FaultSpecError("request fault shares add up to more than 1")
        return cls(
            shares,
            daily_quota=ints.get("daily_quota"),
            seed=ints.get("seed", 0),
            slow_ms=ints.get("slow_ms", 3000),
            after=ints.get("after", 0),
            match=match,
        )

    @property
    def active(self) -> bool:
        return bool(self.shares) or self.daily_quota is not None

    def draw(self, endpoint: str = "") -> str | None:
        """Count one API request and pick its fault: ``daily``, one of REQUEST_FAULTS, or None."""
        with self._lock:
            self.requests += 1
            if self.daily_quota is not None and self.requests > self.daily_quota:
                self.injected["daily"] += 1
                return "daily"
            if self.requests <= self.after or (self.match and self.match not in endpoint):
                return None
            roll = self._rng.random()
            for kind in REQUEST_FAULTS:
                share = self.shares.get(kind, 0.0)
                if roll < share:
                    self.injected[kind] += 1
                    return kind
                roll -= share
            return None

    def fail_record(self) -> bool:
        """Whether the next record of a batch write fails on its own."""
        share = self.shares.get("record", 0.0)
        if not share:
            return False
        with self._lock:
            failed = self._record_rng.random() < share
            if failed:
                self.injected["record"] += 1
            return failed

    def to_spec(self) -> str:
        """The SPEC string that rebuilds this plan (for replaying a run)."""
        parts = [f"{k}={v:g}" for k, v in self.shares.items()]
        if self.daily_quota is not None:
            parts.append(f"daily_quota={self.daily_quota}")
        parts += [f"slow_ms={self.slow_ms}", f"seed={self.seed}"]
        if self.after:
            parts.append(f"after={self.after}")
        if self.match:
            parts.append(f"match={self.match}")
        return ",".join(parts)

    def status(self) -> dict[str, Any]:
        """JSON-able view for the inspection surface."""
        return {"spec": self.to_spec(), "requests": self.requests, "injected": dict(self.injected)}


NO_FAULTS = ""


def as_plan(faults: FaultPlan | str | None) -> FaultPlan:
    """Accept a plan, a SPEC string or None (no faults)."""
    return faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults)
