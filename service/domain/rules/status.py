"""Status mappings: which Buckles status a sales channel's order status means."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

#: The Buckles order statuses; only `processing` is forwarded to Boltrics.
BUCKLES_STATUSES: Final = (
    "pending",
    "processing",
    "on_hold",
    "completed",
    "cancelled",
    "refunded",
    "shipped",
)


def status_key(text: str) -> str:
    """How statuses and channels are looked up: trimmed, without regard to case."""
    return text.strip().casefold()


@dataclass(frozen=True)
class StatusMapping:
    """Per sales channel, webshop status to Buckles status, with a content hash."""

    channels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    version: str = ""

    def translate(self, channel: str, webshop_status: str) -> str | None:
        """The Buckles status, or None when this mapping does not know it."""
        statuses = self.channels.get(status_key(channel), {})
        return statuses.get(status_key(webshop_status))


def layered(first: StatusMapping, then: StatusMapping) -> StatusMapping:
    """`first`'s entries, and `then`'s where `first` has none (account over default)."""
    channels: dict[str, dict[str, str]] = {
        channel: dict(statuses) for channel, statuses in then.channels.items()
    }
    for channel, statuses in first.channels.items():
        channels.setdefault(channel, {}).update(statuses)
    return StatusMapping(channels, version=f"{first.version}+{then.version}")
