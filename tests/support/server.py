"""Run the real service as a subprocess on a loopback port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = Path(__file__).resolve().parents[2]


def write_config(
    path: Path,
    store_url: str,
    *,
    extra: str = "",
    connection: str | None = None,
) -> Path:
    """A config file with two callers and two accounts, acme and globex.

    `connection` replaces acme's Boltrics table (by default an address where
    nothing listens); `extra` is appended to the file.
    """
    boltrics = connection or DEAD_CONNECTION
    path.write_text(
        f"""
[server]
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"
shutdown_grace_seconds = 20

[store]
url = "{store_url}"

[[callers]]
name = "hub-a"
token = {{ env = "TEST_TOKEN_A" }}
accounts = ["acme"]

[[callers]]
name = "ops"
token = {{ env = "TEST_TOKEN_ALL" }}
accounts = ["*"]

[[accounts]]
id = "acme"
name = "ACME"
[accounts.boltrics]
{boltrics}

[[accounts]]
id = "globex"
{extra}
""",
        encoding="utf-8",
    )
    return path


DEAD_CONNECTION = """
base_url = "http://127.0.0.1:9/api"
company_id = "company-acme"
token_url = "http://127.0.0.1:9/token"
client_id = "acme-client"
client_secret = { env = "TEST_ACME_SECRET" }
"""

TEST_ENV = {
    "TEST_TOKEN_A": "token-for-acme",
    "TEST_TOKEN_ALL": "token-for-all",
    "TEST_ACME_SECRET": "acme-boltrics-secret",
}


class ServerProcess:
    """The service in a subprocess; knows its port from its `server.started` event."""

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        *,
        module: str = "service",
    ):
        full_env = {**os.environ, **TEST_ENV, **(env or {})}
        full_env.pop("CONNECTOR_CONFIG", None)
        self.events: list[dict[str, Any]] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=full_env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(self.wait_for_event("server.started")["port"])
        self.address = f"127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            try:
                self.events.append(json.loads(line))
            except json.JSONDecodeError:
                self.events.append({"event": "raw", "line": line.rstrip()})

    def wait_for_event(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first event called `name`, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if event.get("event") == name:
                    return event
            if self.process.poll() is not None:
                time.sleep(0.2)
                msg = f"server exited with {self.process.returncode}: {self.events}"
                raise RuntimeError(msg)
            time.sleep(0.02)
        msg = f"no {name} event within {timeout} s: {self.events}"
        raise TimeoutError(msg)

    def wait_serving(self, timeout: float = 15.0) -> None:
        """Wait until health answers SERVING."""
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                answer = stub.Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=2
                )
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                time.sleep(0.05)
        msg = "server never became SERVING"
        raise TimeoutError(msg)

    def terminate(self, timeout: float = 30.0) -> int:
        """Send SIGTERM and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, no questions asked."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
