"""The Boltrics sandbox as a process of its own, so it outlives a killed server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

import httpx

from tests.support.server import REPO

CLIENT_ID = "acme-client"
CLIENT_SECRET = "acme-boltrics-secret"  # the TEST_ACME_SECRET of tests.support.server
COMPANY = "company-acme"


class SandboxProcess:
    """`boltrics-connector sandbox` on a free port, with its control API at hand."""

    def __init__(
        self, *, process_delay: float = 0.05, rate_limit: float = 0, seed: int = 7
    ):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service",
                "sandbox",
                "--port",
                "0",
                "--client",
                f"{CLIENT_ID}:{CLIENT_SECRET}",
                "--rate-limit",
                str(rate_limit),
                "--process-delay",
                str(process_delay),
                "--seed",
                str(seed),
            ],
            cwd=REPO,
            env={**os.environ, "CONNECTOR_LOG__FORMAT": "json"},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        seen = []
        for line in self.process.stdout:
            seen.append(line)
            if line.startswith("Boltrics sandbox at"):
                self.url = line.split(" at ", 1)[1].strip()
                break
        else:
            self.process.kill()
            msg = f"sandbox did not start: {seen!r}"
            raise RuntimeError(msg)
        threading.Thread(target=self._drain, daemon=True).start()
        self.http = httpx.Client(base_url=self.url + "/_sandbox", timeout=30)

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _line in self.process.stdout:
            pass

    @property
    def base_url(self) -> str:
        """The base URL setting of a connection to this sandbox."""
        return self.url + "/api/boltrics/di/v1.0"

    @property
    def token_url(self) -> str:
        """The token URL setting of a connection to this sandbox."""
        return self.url + "/oauth2/v2.0/token"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call a control endpoint of the test company; the JSON answer."""
        answer = self.http.request(method, f"/companies/{COMPANY}{path}", json=body)
        answer.raise_for_status()
        return answer.json()

    def add_items(self, *external_nos: str) -> None:
        """Create items in the warehouse."""
        self.control(
            "POST", "/items", {"items": [{"externalNo": no} for no in external_nos]}
        )

    def shipment_orders(self) -> list[dict[str, Any]]:
        """The shipment orders the warehouse holds."""
        return list(self.control("GET", "/shipment-orders")["value"])

    def inbound_messages(
        self, message_type: str = "receiveshipment"
    ) -> list[dict[str, Any]]:
        """Inbound messages of one type."""
        found = self.control(
            "GET", f"/messages?direction=Inbound&messageType={message_type}"
        )
        return list(found["value"])

    def set_faults(self, kinds: dict[str, dict[str, float]]) -> None:
        """Inject faults per call kind."""
        self.control("PUT", "/faults", {"kinds": kinds})

    def clear_faults(self) -> None:
        """Remove injected faults."""
        self.control("DELETE", "/faults")

    def stop(self) -> None:
        """Stop the sandbox."""
        self.http.close()
        self.process.terminate()
        self.process.wait(10)


def connection_toml(sandbox: SandboxProcess, *, rate: float = 500) -> str:
    """The `[accounts.boltrics]` table of account acme, pointing at `sandbox`."""
    return f"""
base_url = "{sandbox.base_url}"
company_id = "{COMPANY}"
token_url = "{sandbox.token_url}"
client_id = "{CLIENT_ID}"
client_secret = {{ env = "TEST_ACME_SECRET" }}
rate_limit_per_second = {rate}
timeout_seconds = 5
"""
