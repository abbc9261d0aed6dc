"""The errors of the Boltrics adapter, one tree under `ConnectorError`.

Each class also derives from the service-wide class whose meaning it shares, so
that the gRPC error interceptor maps it without knowing Boltrics.
"""

from __future__ import annotations

from service.errors import (
    ConfigurationError,
    ConnectorError,
    FailedPrecondition,
    NotFound,
    Unavailable,
)


class BoltricsError(ConnectorError):
    """Base of every error that comes from talking to Boltrics."""


class DocumentError(BoltricsError):
    """An XML document cannot be built or parsed, or is hostile."""

    reason = "BOLTRICS_DOCUMENT"


class BoltricsRejected(BoltricsError, FailedPrecondition):
    """Boltrics answered 400: the request is wrong and repeating it cannot help.

    `code` and `message` are Boltrics' own, surfaced as they came.
    """

    def __init__(self, message: str, *, code: str = "", kind: str = "") -> None:
        super().__init__(message, metadata={"code": code, "kind": kind})
        self.code = code
        self.kind = kind


class BoltricsConfigurationError(BoltricsError, ConfigurationError):
    """The connection's settings are wrong, e.g. Boltrics rejected the secret.

    The message names the account and the client id, never the secret.
    """


class BoltricsUnavailable(BoltricsError, Unavailable):
    """Boltrics could not be reached in time; the call may be repeated later."""


class BoltricsDeadlineExceeded(BoltricsUnavailable):
    """The caller's deadline passed before Boltrics answered."""


class BoltricsNotFound(BoltricsError, NotFound):
    """Boltrics does not know the resource (404)."""


class BoltricsStaleEtag(BoltricsError, FailedPrecondition):
    """The message changed since it was read (412); read it again, then decide."""


class BoltricsTransientError(BoltricsUnavailable):
    """A fault that may pass: 5xx, 429, a reset or a timeout; retried inside calls.

    `retry_after` is the wait Boltrics asked for (429). `outcome_unknown` is
    true when the request may have been processed although no answer came.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown
