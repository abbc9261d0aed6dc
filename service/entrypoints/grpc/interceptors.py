"""The one interceptor every call of the connector service passes through.

It authenticates the caller, checks the account it names, binds the call's log
context, maps the service's errors to gRPC status with rich details, counts
the call and logs one summary event.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import grpc
import structlog

from service import errors
from service.entrypoints.grpc import status
from service.entrypoints.grpc.auth import ALL_ACCOUNTS, Authenticator, Principal
from service.logging import get_logger
from service.metrics import RPC_CALLS, RPC_LATENCY

CURRENT_PRINCIPAL: contextvars.ContextVar[Principal] = contextvars.ContextVar(
    "current_principal"
)

_log = get_logger(__name__)

Behaviour = Callable[..., Any]
if TYPE_CHECKING:  # the stubs make it generic; the runtime class is not
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler


def current_principal() -> Principal:
    """The authenticated caller of the call being handled."""
    return CURRENT_PRINCIPAL.get()


class ServiceInterceptor:
    """Authentication, permissions, errors, metrics and the summary log line.

    It wraps each method handler of the connector service once, when the
    service is registered, instead of running as a grpc.aio server
    interceptor: those cost a coroutine and a handler lookup on every call,
    which measurably slowed the whole server. Health and reflection are not
    wrapped and stay open.
    """

    def __init__(self, authenticator: Authenticator):
        self._authenticator = authenticator

    def wrap(self, method: str, handler: Handler) -> Handler:
        """The handler of `method` (a full path) with the call bookkeeping around it."""
        short = method.rsplit("/", 1)[-1]
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(short, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(short, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        msg = f"{method}: only unary requests are part of this API"
        raise TypeError(msg)

    def _unary(self, method: str, behaviour: Behaviour) -> Behaviour:
        async def handle(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            call = _Call(method, request, context)
            try:
                self._admit(call)
                return await behaviour(request, context)
            except grpc.aio.AbortError:
                raise
            except errors.ConnectorError as exc:
                await call.fail(exc)
            except Exception:
                await call.crash()
            finally:
                call.finish()

        return handle

    def _stream(self, method: str, behaviour: Behaviour) -> Behaviour:
        async def handle(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            call = _Call(method, request, context)
            try:
                self._admit(call)
                async for response in behaviour(request, context):
                    yield response
            except grpc.aio.AbortError:
                raise
            except errors.ConnectorError as exc:
                await call.fail(exc)
            except Exception:
                await call.crash()
            finally:
                call.finish()

        return handle

    def _admit(self, call: _Call) -> None:
        principal = self._authenticator.authenticate(call.authorization())
        CURRENT_PRINCIPAL.set(principal)
        if call.account_id and call.account_id != ALL_ACCOUNTS:
            principal.require(call.account_id)


class _Call:
    """The bookkeeping of one call: its context, outcome and duration."""

    __slots__ = ("account_id", "code", "context", "method", "request_id", "started")

    def __init__(
        self, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ):
        self.method = method
        self.context = context
        self.account_id: str = getattr(request, "account_id", "")
        self.request_id: str = getattr(request, "request_id", "")
        self.code = grpc.StatusCode.OK
        self.started = time.perf_counter()
        structlog.contextvars.bind_contextvars(
            rpc=method, account=self.account_id, request_id=self.request_id or None
        )

    def authorization(self) -> str | None:
        for key, value in self.context.invocation_metadata() or ():
            if key == "authorization":
                return value if isinstance(value, str) else value.decode()
        return None

    async def fail(self, error: errors.ConnectorError) -> None:
        self.code = status.code_for(error)
        rich = status.to_status(error)
        await self.context.abort(rich.code, rich.details, rich.trailing_metadata)

    async def crash(self) -> None:
        self.code = grpc.StatusCode.INTERNAL
        _log.exception("rpc.crashed")
        rich = status.internal_status()
        await self.context.abort(rich.code, rich.details, rich.trailing_metadata)

    def finish(self) -> None:
        elapsed = time.perf_counter() - self.started
        code = self.code.name
        if self.code is grpc.StatusCode.OK and self.context.cancelled():
            code = "CANCELLED"
        _calls(self.method, code).inc()
        _latency(self.method).observe(elapsed)
        _log.info("rpc.completed", code=code, duration_ms=round(elapsed * 1000, 3))
        structlog.contextvars.clear_contextvars()


@functools.cache
def _calls(method: str, code: str) -> Any:
    """The call counter of one method and code (looked up once, not per call)."""
    return RPC_CALLS.labels(method, code)


@functools.cache
def _latency(method: str) -> Any:
    """The latency histogram of one method."""
    return RPC_LATENCY.labels(method)
