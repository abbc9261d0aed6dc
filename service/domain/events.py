"""Events: what happened, in the order it happened, for the callers to follow."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class EventType(StrEnum):
    """What an event is about."""

    ORDER_SKIPPED = "order_skipped"
    ORDER_ACCEPTED = "order_accepted"
    ORDER_SENT = "order_sent"
    ORDER_PROCESSED = "order_processed"
    ORDER_FAILED = "order_failed"
    ORDER_SHIPPED = "order_shipped"
    PRODUCT_CHANGED = "product_changed"
    STOCK_CHANGED = "stock_changed"
    SHIPMENT_REJECTED = "shipment_rejected"


class NewEvent(BaseModel):
    """An event about to be recorded: its payload is the JSON of a domain view."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    type: EventType
    payload: dict[str, Any]


class Event(NewEvent):
    """A recorded event; `cursor` orders events and resumes a stream after one."""

    cursor: int
    time: datetime
