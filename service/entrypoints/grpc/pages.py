"""Page tokens (AIP-158): opaque to callers, tied to the list's filter."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime


def encode_position(created_at: datetime, key: str, filter_value: int) -> str:
    """A token for the page after the item at (`created_at`, `key`)."""
    raw = json.dumps([created_at.isoformat(), key, filter_value]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_position(token: str, filter_value: int) -> tuple[datetime, str] | None:
    """The position in a token, or None if the token is not one of ours or was
    made for another filter."""
    try:
        created, key, made_for = json.loads(base64.urlsafe_b64decode(token.encode()))
        if made_for != filter_value:
            return None
        return datetime.fromisoformat(created), str(key)
    except (ValueError, TypeError, binascii.Error):
        return None
