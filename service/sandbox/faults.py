"""Injected faults and the rate limit of the sandbox.

Faults are set per company and per call kind (`*` for every kind; the company
`*` for every company, and for the token endpoint). Each (company, kind) pair
draws from its own random generator seeded from the sandbox's seed, so a run
with the same seed and the same sequence of calls injects the same faults.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

ANY = "*"

#: The call kinds faults can target.
CALL_KINDS = (
    "token",
    "post_message",
    "get_message",
    "list_messages",
    "patch_message",
    "stock_levels",
)


class Fault(StrEnum):
    """What an injected fault does to one call."""

    NONE = "none"
    ERROR = "error"  # a 5xx answer; the request is not processed
    THROTTLE = "throttle"  # a 429 with Retry-After; not processed
    RESET = "reset"  # processed, then the connection is reset without an answer


@dataclass(frozen=True)
class FaultSettings:
    """The shares of faults for one company and call kind, and added latency."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    reset_rate: float = 0.0
    retry_after: float = 1.0
    latency: float = 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultSettings:
        """Settings from `{"errorRate", "throttleRate", "resetRate", "retryAfter",
        "latencyMs"}`; ValueError if a share is outside 0..1."""
        settings = cls(
            error_rate=float(data.get("errorRate", 0.0)),
            throttle_rate=float(data.get("throttleRate", 0.0)),
            reset_rate=float(data.get("resetRate", 0.0)),
            retry_after=float(data.get("retryAfter", 1.0)),
            latency=float(data.get("latencyMs", 0.0)) / 1000,
        )
        shares = (settings.error_rate, settings.throttle_rate, settings.reset_rate)
        if any(not 0 <= share <= 1 for share in shares) or sum(shares) > 1:
            msg = "fault shares must lie in 0..1 and add up to at most 1"
            raise ValueError(msg)
        return settings

    def to_json(self) -> dict[str, float]:
        """The JSON form `from_json` reads."""
        return {
            "errorRate": self.error_rate,
            "throttleRate": self.throttle_rate,
            "resetRate": self.reset_rate,
            "retryAfter": self.retry_after,
            "latencyMs": self.latency * 1000,
        }


NO_FAULTS = FaultSettings()


class FaultPlan:
    """Which faults are set where, and the deterministic draws that apply them."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._settings: dict[str, dict[str, FaultSettings]] = {}
        self._generators: dict[tuple[str, str], random.Random] = {}

    def set(self, company_id: str, kinds: Mapping[str, FaultSettings]) -> None:
        """Replace the faults of a company (or of `*`)."""
        self._settings[company_id] = dict(kinds)

    def clear(self, company_id: str) -> None:
        """Remove the faults of a company (or of `*`)."""
        self._settings.pop(company_id, None)

    def settings(self, company_id: str, kind: str) -> FaultSettings:
        """The faults that apply to this company and kind."""
        for company in (company_id, ANY):
            kinds = self._settings.get(company)
            if kinds:
                found = kinds.get(kind) or kinds.get(ANY)
                if found is not None:
                    return found
        return NO_FAULTS

    def draw(self, company_id: str, kind: str, settings: FaultSettings) -> Fault:
        """Which fault, if any, hits the next call of this kind."""
        if settings is NO_FAULTS:
            return Fault.NONE
        generator = self._generators.get((company_id, kind))
        if generator is None:
            generator = random.Random(f"{self._seed}/{company_id}/{kind}")
            self._generators[(company_id, kind)] = generator

        roll = generator.random()
        for fault, share in (
            (Fault.ERROR, settings.error_rate),
            (Fault.THROTTLE, settings.throttle_rate),
            (Fault.RESET, settings.reset_rate),
        ):
            if roll < share:
                return fault
            roll -= share
        return Fault.NONE


class RateGate:
    """A token bucket per company: `rate` calls a second, bursts of `rate`.

    A rate of zero or less lets everything through.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}

    def admit(self, company_id: str) -> float | None:
        """None if the call may pass, else the seconds to wait (for Retry-After)."""
        if self.rate <= 0:
            return None
        now = time.monotonic()
        capacity = max(1.0, self.rate)
        tokens, then = self._buckets.get(company_id, (capacity, now))
        tokens = min(capacity, tokens + (now - then) * self.rate)
        if tokens >= 1:
            self._buckets[company_id] = (tokens - 1, now)
            return None
        self._buckets[company_id] = (tokens, now)
        return (1 - tokens) / self.rate


def retry_after_header(seconds: float) -> str:
    """A Retry-After value: whole seconds, rounded up, unless a fraction was set."""
    if seconds == int(seconds) or seconds >= 1:
        return str(max(0, math.ceil(seconds)))
    return f"{seconds:.3f}"
