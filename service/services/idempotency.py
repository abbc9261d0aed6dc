"""Repeat-safe mutations (AIP-155): a request id gets the same answer twice."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from google.protobuf.message import Message

from service.errors import FieldViolation, InvalidArgument

R = TypeVar("R", bound=Message)


@dataclass(frozen=True)
class StoredAnswer:
    """The answer recorded for a request id."""

    method: str
    request_digest: str
    response: bytes


class RequestKeys(Protocol):
    """Where request ids and their answers are kept."""

    async def get(self, account_id: str, request_id: str) -> StoredAnswer | None:
        """The answer recorded for this request id, if any."""

    async def put(self, account_id: str, request_id: str, answer: StoredAnswer) -> None:
        """Record an answer; the first one stays."""


async def once_per_request_id(
    keys: RequestKeys,
    method: str,
    request: Message,
    response_type: type[R],
    handle: Callable[[], Awaitable[R]],
) -> R:
    """Run `handle` once per request id; a repeat gets the first answer.

    A request without a request id always runs. The same request id with a
    different request is refused, naming `request_id`.
    """
    account_id: str = getattr(request, "account_id", "")
    request_id: str = getattr(request, "request_id", "")
    if not request_id:
        return await handle()

    digest = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
    earlier = await keys.get(account_id, request_id)
    if earlier is not None:
        if earlier.method != method or earlier.request_digest != digest:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "request_id",
                        "was used before for a different request; use a new one",
                    )
                ]
            )
        return response_type.FromString(earlier.response)

    response = await handle()
    await keys.put(
        account_id,
        request_id,
        StoredAnswer(method, digest, response.SerializeToString(deterministic=True)),
    )
    return response
