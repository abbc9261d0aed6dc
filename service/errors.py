"""The service's one tree of errors.

Every error the service raises on purpose derives from `ConnectorError`. The gRPC
error interceptor maps each class to a status code and an `ErrorInfo` reason, so
that nothing escapes to a caller as UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    """One problem with one field of a request."""

    field: str
    description: str


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""

    reason = "INTERNAL"

    def __init__(self, message: str, *, metadata: Mapping[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.metadata = dict(metadata or {})


class ConfigurationError(ConnectorError):
    """A setting is missing or wrong; the service cannot run with it."""

    reason = "CONFIGURATION"


class InvalidArgument(ConnectorError):
    """A request is malformed; carries one violation per problem."""

    reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        violations: Sequence[FieldViolation],
        *,
        message: str | None = None,
    ):
        self.violations = list(violations)
        summary = message or "; ".join(
            f"{v.field}: {v.description}" for v in self.violations
        )
        super().__init__(summary)


class NotFound(ConnectorError):
    """The thing asked for does not exist (for this account)."""

    reason = "NOT_FOUND"


class AlreadyExists(ConnectorError):
    """Creating something that exists already."""

    reason = "ALREADY_EXISTS"


class FailedPrecondition(ConnectorError):
    """The request conflicts with the state of the thing it names."""

    reason = "FAILED_PRECONDITION"


class OutOfRange(ConnectorError):
    """A cursor before the oldest event still kept: events after it are gone."""

    reason = "CURSOR_EXPIRED"


class Unauthenticated(ConnectorError):
    """The caller did not prove who it is."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(ConnectorError):
    """The caller may not act for the account it names."""

    reason = "PERMISSION_DENIED"


class NotImplementedYet(ConnectorError):
    """An RPC whose behaviour has not been delivered yet."""

    reason = "NOT_IMPLEMENTED"


class Unavailable(ConnectorError):
    """A dependency is down or the service is shutting down; retry later."""

    reason = "UNAVAILABLE"


@dataclass(frozen=True)
class Problem:
    """A problem found in a file, with its place."""

    file: str
    line: int
    column: int
    message: str
    extra: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"
