"""The gRPC server: the servicer, health, reflection, limits, TLS, shutdown."""

from __future__ import annotations

import asyncio
import gc
import signal

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from buckles.boltrics.v1 import connector_pb2
from service.bootstrap import App
from service.config import ServerSettings
from service.entrypoints.grpc.interceptors import ServiceInterceptor
from service.entrypoints.grpc.servicer import ConnectorServicer
from service.errors import ConfigurationError
from service.logging import get_logger
from service.metrics import serve_metrics

SERVICE_NAME: str = connector_pb2.DESCRIPTOR.services_by_name[
    "BoltricsConnectorService"
].full_name

_log = get_logger(__name__)


class GrpcServer:
    """The connector's gRPC server around a built App."""

    def __init__(self, app: App):
        self._app = app
        settings = app.settings.server
        self._settings = settings
        self._server = aio.server(
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", settings.max_message_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined] # stubs omit .aio
        _add_connector_service(
            self._server, ConnectorServicer(app), ServiceInterceptor(app.authenticator)
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server
        )
        self.port = 0

    async def start(self) -> int:
        """Bind and start serving; returns the port (useful with port 0)."""
        self.port = self._bind()
        await self._server.start()
        await self.update_health()
        _log.info("server.started", listen=self._settings.listen, port=self.port)
        return self.port

    async def update_health(self) -> None:
        """SERVING only while every readiness check passes."""
        failing = self._app.readiness.failing()
        state = (
            health_pb2.HealthCheckResponse.NOT_SERVING
            if failing
            else health_pb2.HealthCheckResponse.SERVING
        )
        for name in ("", SERVICE_NAME):
            await self.health.set(name, state)

    async def watch_health(self, interval: float = 1.0) -> None:
        """Keep the health status in step with the readiness checks."""
        while True:
            await asyncio.sleep(interval)
            await self.update_health()

    async def stop(self, grace: float) -> None:
        """Go NOT_SERVING, refuse new calls, let calls in flight finish."""
        await self.health.enter_graceful_shutdown()
        _log.info("server.stopping", grace_seconds=grace)
        await self._server.stop(grace)
        _log.info("server.stopped")

    async def wait(self) -> None:
        """Wait until the server has stopped."""
        await self._server.wait_for_termination()

    def _bind(self) -> int:
        address = self._settings.listen
        credentials = _credentials(self._settings)
        try:
            if credentials is None:
                return self._server.add_insecure_port(address)
            return self._server.add_secure_port(address, credentials)
        except RuntimeError as exc:
            msg = f"setting server.listen: cannot listen on {address} ({exc})"
            raise ConfigurationError(msg) from exc


def _add_connector_service(
    server: aio.Server, servicer: ConnectorServicer, interceptor: ServiceInterceptor
) -> None:
    """Register every RPC of the service, each wrapped by the interceptor."""
    service = connector_pb2.DESCRIPTOR.services_by_name["BoltricsConnectorService"]
    handlers = {}
    for method in service.methods:
        request = getattr(connector_pb2, method.input_type.name)
        response = getattr(connector_pb2, method.output_type.name)
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handler = make(
            getattr(servicer, method.name),
            request_deserializer=request.FromString,
            response_serializer=response.SerializeToString,
        )
        handlers[method.name] = interceptor.wrap(
            f"/{SERVICE_NAME}/{method.name}", handler
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),)
    )
    server.add_registered_method_handlers(SERVICE_NAME, handlers)  # type: ignore[attr-defined] # newer than the stubs


def freeze_startup_heap() -> None:
    """Exempt the objects built at start from the cycle collector.

    The modules, settings, metadata and rule sets built at start live as long
    as the process. Left in the collector's oldest generation, every full
    collection scans all of them again; measured in bench/grpc_overhead.py,
    that cost about a tenth of the CPU time of a trivial call.
    """
    gc.collect()
    gc.freeze()


def _credentials(settings: ServerSettings) -> grpc.ServerCredentials | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    try:
        key = settings.tls_key_file.read_bytes()
        cert = settings.tls_cert_file.read_bytes()
        ca = (
            settings.tls_client_ca_file.read_bytes()
            if settings.tls_client_ca_file
            else None
        )
    except OSError as exc:
        msg = f"setting server.tls_*: cannot read {exc.filename} ({exc.strerror})"
        raise ConfigurationError(msg) from exc
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
    )


async def serve_until_signalled(app: App) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully.

    On the signal, health goes NOT_SERVING and new calls are refused; calls in
    flight get the grace period to finish; then the background work stops,
    letting sends in flight complete, so that nothing is left half-done.
    """
    server = GrpcServer(app)
    await server.start()
    freeze_startup_heap()
    if app.settings.server.metrics_listen:
        metrics_port = serve_metrics(app.settings.server.metrics_listen)
        _log.info("metrics.started", port=metrics_port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, app.reload_rules)

    stop_background = asyncio.Event()
    background = asyncio.create_task(app.run_background(stop_background))
    health = asyncio.create_task(server.watch_health())
    await stop.wait()
    _log.info("server.signalled")

    app.shutting_down.set()
    await server.stop(app.settings.server.shutdown_grace_seconds)
    stop_background.set()
    health.cancel()
    await asyncio.gather(background, health, return_exceptions=True)
