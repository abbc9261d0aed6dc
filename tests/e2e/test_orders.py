"""Orders end to end: gRPC client, server process, sandbox over HTTP, real store."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import grpc
import pytest

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from tests.e2e.orders_support import (
    create,
    create_all,
    get_order,
    make_order,
    wait_until,
)
from tests.support.databases import postgres_database
from tests.support.sandbox import SandboxProcess, connection_toml
from tests.support.server import ServerProcess, write_config

FAST = """
[orders]
verdict_poll_seconds = 0.2
"""


def _server(
    tmp_path: Path, sandbox: SandboxProcess, store_url: str, name: str = "c"
) -> ServerProcess:
    config = write_config(
        tmp_path / f"{name}.toml",
        store_url,
        connection=connection_toml(sandbox),
        extra=FAST,
    )
    server = ServerProcess(["serve", "--config", str(config)])
    server.wait_serving()
    return server


def _references(sandbox: SandboxProcess) -> Counter[str]:
    return Counter(order["external_reference"] for order in sandbox.shipment_orders())


class TestForwarding:
    def test_processing_order_becomes_one_shipment_order(
        self, tmp_path: Path, sandbox: SandboxProcess, sqlite_url: str
    ) -> None:
        """A Processing order arrives once, with the rule's method as SHIPAGENT."""
        server = _server(tmp_path, sandbox, sqlite_url)
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)

            answer = create(stub, make_order("o-1", preference="DHL For You"))
            wait_until(
                lambda: len(sandbox.shipment_orders()) == 1, 15, "the shipment order"
            )
            wait_until(
                lambda: (
                    get_order(server.address, "o-1").state == pb.ORDER_STATE_PROCESSED
                ),
                15,
                "Boltrics' verdict",
            )
        server.terminate()

        orders = sandbox.shipment_orders()
        assert answer.outcome == pb.CreateOrderResponse.OUTCOME_ACCEPTED
        assert answer.decision.matched_rule.rule_id == "mailbox-parcel"
        assert answer.decision.checkout_preference == "DHL For You"
        assert [(o["external_reference"], o["shipping_agent"]) for o in orders] == [
            ("o-1", "POSTNL_MAILBOX")
        ]

    def test_on_hold_waits_until_processing(
        self, tmp_path: Path, sandbox: SandboxProcess, sqlite_url: str
    ) -> None:
        """An On hold order is skipped, and sent once it comes again as Processing."""
        server = _server(tmp_path, sandbox, sqlite_url)
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)

            held = create(stub, make_order("o-2", status=pb.BUCKLES_STATUS_ON_HOLD))
            time.sleep(1.0)
            messages_while_held = len(sandbox.inbound_messages())
            released = create(stub, make_order("o-2"))
            wait_until(
                lambda: len(sandbox.shipment_orders()) == 1, 15, "the shipment order"
            )
            view = get_order(server.address, "o-2")
        server.terminate()

        assert held.outcome == pb.CreateOrderResponse.OUTCOME_SKIPPED
        assert held.skip_reason == "status is on hold, not processing"
        assert messages_while_held == 0
        assert released.outcome == pb.CreateOrderResponse.OUTCOME_ACCEPTED
        assert released.repeat is True
        kinds = [entry.kind for entry in view.timeline]
        assert kinds[:2] == [pb.TIMELINE_KIND_RECEIVED, pb.TIMELINE_KIND_SKIPPED]
        assert pb.TIMELINE_KIND_SENT in kinds

    def test_changed_content_after_send_is_failed_precondition(
        self, tmp_path: Path, sandbox: SandboxProcess, sqlite_url: str
    ) -> None:
        """The same order id with another address after it was sent is refused."""
        server = _server(tmp_path, sandbox, sqlite_url)
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)
            create(stub, make_order("o-3"))
            wait_until(
                lambda: len(sandbox.shipment_orders()) == 1, 15, "the shipment order"
            )

            repeat = create(stub, make_order("o-3"))
            with pytest.raises(grpc.RpcError) as caught:
                create(stub, make_order("o-3", postcode="9999ZZ"))
        server.terminate()

        assert repeat.repeat is True
        assert repeat.outcome == pb.CreateOrderResponse.OUTCOME_SENT
        assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "cannot change" in (caught.value.details() or "")


class TestExactlyOnce:
    def test_thousand_orders_three_times_with_faults(
        self, tmp_path: Path, sandbox: SandboxProcess, sqlite_url: str
    ) -> None:
        """1,000 orders sent thrice concurrently, 20% faults: 1,000 shipment orders."""
        sandbox.set_faults(
            {
                "post_message": {
                    "errorRate": 0.1,
                    "resetRate": 0.05,
                    "throttleRate": 0.05,
                    "retryAfter": 0,
                },
                "list_messages": {"errorRate": 0.2},
            }
        )
        server = _server(tmp_path, sandbox, sqlite_url)
        orders = [make_order(f"x-{i}") for i in range(1000)]

        answers = create_all(server.address, orders * 3, workers=24)
        wait_until(
            lambda: sum(_references(sandbox).values()) >= 1000,
            120,
            "1,000 shipment orders",
        )
        time.sleep(1.0)
        server.terminate()

        assert all(isinstance(a, pb.CreateOrderResponse) for a in answers)
        references = _references(sandbox)
        assert len(references) == 1000
        assert max(references.values()) == 1

    def test_sigkill_five_times_during_two_thousand_orders(
        self, tmp_path: Path, sandbox: SandboxProcess, sqlite_url: str
    ) -> None:
        """SIGKILL five times and restarts: every accepted order arrives once."""
        config = write_config(
            tmp_path / "c.toml",
            sqlite_url,
            connection=connection_toml(sandbox),
            extra=FAST,
        )
        orders = [make_order(f"k-{i}") for i in range(2000)]
        accepted: set[str] = set()
        rounds = [orders[i::5] for i in range(5)]
        killer = random.Random(5)

        for batch in rounds:
            server = ServerProcess(["serve", "--config", str(config)])
            server.wait_serving()
            timer = threading.Timer(killer.uniform(0.3, 1.5), server.kill)
            timer.start()
            answers = create_all(server.address, batch, workers=8)
            timer.join()
            accepted |= {
                o.order_id
                for o, a in zip(batch, answers, strict=True)
                if isinstance(a, pb.CreateOrderResponse)
            }
            server.kill()

        final = ServerProcess(["serve", "--config", str(config)])
        final.wait_serving()
        wait_until(
            lambda: accepted <= set(_references(sandbox)), 120, "every accepted order"
        )
        time.sleep(1.0)
        final.terminate()

        references = _references(sandbox)
        assert accepted and len(accepted) < 2000, (
            "the kills should have cut some calls off"
        )
        assert max(references.values()) == 1
        assert accepted <= set(references)


class TestReplicas:
    def test_two_servers_on_one_postgres_share_two_thousand_orders(
        self, tmp_path: Path, sandbox: SandboxProcess
    ) -> None:
        """Two server processes on one PostgreSQL send each order exactly once."""
        with postgres_database() as url:
            first = _server(tmp_path, sandbox, url, "a")
            second = _server(tmp_path, sandbox, url, "b")
            orders = [make_order(f"r-{i}") for i in range(2000)]

            threads = [
                threading.Thread(target=create_all, args=(server.address, orders[i::2]))
                for i, server in enumerate((first, second))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wait_until(
                lambda: sum(_references(sandbox).values()) >= 2000,
                120,
                "2,000 shipment orders",
            )
            time.sleep(1.0)
            first.terminate()
            second.terminate()

        references = _references(sandbox)
        assert len(references) == 2000
        assert max(references.values()) == 1
