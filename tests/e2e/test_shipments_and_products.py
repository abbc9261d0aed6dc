"""Shipments, products and rule dry runs end to end, through the server process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from tests.e2e.orders_support import TOKEN, create, get_order, make_order, wait_until
from tests.support.sandbox import SandboxProcess, connection_toml
from tests.support.server import ServerProcess, write_config

FAST = """
[orders]
verdict_poll_seconds = 0.2
"""


@pytest.fixture
def server(
    tmp_path: Path, sandbox: SandboxProcess, sqlite_url: str
) -> Iterator[ServerProcess]:
    """The service, connected to the sandbox."""
    config = write_config(
        tmp_path / "c.toml", sqlite_url, connection=connection_toml(sandbox), extra=FAST
    )
    process = ServerProcess(["serve", "--config", str(config)])
    process.wait_serving()
    yield process
    process.terminate()


@pytest.fixture
def stub(server: ServerProcess) -> Iterator[pb_grpc.BoltricsConnectorServiceStub]:
    """A client of the service."""
    with grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.BoltricsConnectorServiceStub(channel)


def _processed(server: ServerProcess, order_id: str) -> bool:
    return get_order(server.address, order_id).state == pb.ORDER_STATE_PROCESSED


class TestShipments:
    def test_other_method_shows_on_order_and_one_event_carries_tracking(
        self,
        server: ServerProcess,
        sandbox: SandboxProcess,
        stub: pb_grpc.BoltricsConnectorServiceStub,
    ) -> None:
        """Shipped with another method: GetOrder and the timeline show it; one event."""
        create(stub, make_order("s-1"))
        wait_until(lambda: _processed(server, "s-1"), 15, "the order to be processed")
        events: list[pb.Event] = []

        def watch() -> None:
            request = pb.WatchEventsRequest(
                account_id="acme", types=[pb.EVENT_TYPE_ORDER_SHIPPED]
            )
            try:
                for answer in stub.WatchEvents(request, metadata=TOKEN, timeout=6):
                    events.append(answer.event)
            except grpc.RpcError as exc:
                assert exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED

        watcher = threading.Thread(target=watch)
        watcher.start()
        sandbox.control(
            "POST",
            "/shipments",
            {
                "externalReference": "s-1",
                "shippingAgentCode": "DHL_PAKET",
                "trackingNumber": "3SABC123",
            },
        )
        wait_until(
            lambda: get_order(server.address, "s-1").state == pb.ORDER_STATE_SHIPPED,
            15,
            "shipped",
        )
        watcher.join()
        view = get_order(server.address, "s-1")

        assert view.shipping_method_used == "DHL_PAKET"
        assert [s.tracking_number for s in view.shipments] == ["3SABC123"]
        changed = [
            e.message
            for e in view.timeline
            if e.kind == pb.TIMELINE_KIND_METHOD_CHANGED
        ]
        assert changed and "POSTNL_MAILBOX" in changed[0] and "DHL_PAKET" in changed[0]
        assert [(e.shipment.order_id, e.shipment.tracking_number) for e in events] == [
            ("s-1", "3SABC123")
        ]
        assert events[0].shipment.method_changed is True

    def test_report_shipment_without_tracking_says_so(
        self, server: ServerProcess, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """A reported shipment without a tracking number has none, not an empty one."""
        create(stub, make_order("s-2"))
        wait_until(lambda: _processed(server, "s-2"), 15, "the order to be processed")
        shipment = pb.ShipmentConfirmation(
            shipment_no="UIT-1",
            order_id="s-2",
            shipping_agent_code="POSTNL_MAILBOX",
            lines=[pb.ShippedLine(external_no="SKU-1", quantity="1")],
        )

        answer = stub.ReportShipment(
            pb.ReportShipmentRequest(account_id="acme", shipment=shipment),
            metadata=TOKEN,
        )
        again = stub.ReportShipment(
            pb.ReportShipmentRequest(account_id="acme", shipment=shipment),
            metadata=TOKEN,
        )

        assert answer.result.HasField("tracking_number") is False
        assert answer.result.method_changed is False
        assert (answer.repeat, again.repeat) == (False, True)

    def test_report_shipment_with_missing_fields_names_them(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """A confirmation without order id or method is INVALID_ARGUMENT naming both."""
        shipment = pb.ShipmentConfirmation(shipment_no="UIT-9")

        with pytest.raises(grpc.RpcError) as caught:
            stub.ReportShipment(
                pb.ReportShipmentRequest(account_id="acme", shipment=shipment),
                metadata=TOKEN,
            )

        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        details = caught.value.details() or ""
        assert "order_id" in details and "shipping_agent_code" in details


class TestProducts:
    def test_order_failed_on_unknown_item_is_sent_again_once_the_product_exists(
        self,
        server: ServerProcess,
        sandbox: SandboxProcess,
        stub: pb_grpc.BoltricsConnectorServiceStub,
    ) -> None:
        """An order for an unknown SKU fails, and goes out once the product exists."""
        create(stub, make_order("p-1", sku="NEW-SKU"))
        wait_until(
            lambda: get_order(server.address, "p-1").state == pb.ORDER_STATE_FAILED,
            15,
            "failure",
        )
        failed = get_order(server.address, "p-1")

        product = pb.Product(
            product_id="prod-9",
            source_platform="shopify",
            shop="acme-nl",
            sku="NEW-SKU",
            name="New",
            weight_kg=0.2,
        )
        answer = stub.UpsertProduct(
            pb.UpsertProductRequest(account_id="acme", product=product), metadata=TOKEN
        )
        wait_until(lambda: _processed(server, "p-1"), 30, "the order to be sent again")
        kinds = [e.kind for e in get_order(server.address, "p-1").timeline]

        assert "NEW-SKU" in failed.last_error
        assert answer.result.external_no == "NEW-SKU"
        assert pb.TIMELINE_KIND_RETRIED in kinds
        assert [o["external_reference"] for o in sandbox.shipment_orders()] == ["p-1"]

    def test_an_order_after_a_sku_change_goes_out_under_the_kept_external_no(
        self,
        server: ServerProcess,
        sandbox: SandboxProcess,
        stub: pb_grpc.BoltricsConnectorServiceStub,
    ) -> None:
        """The product was created as OLD-SKU and the shop renamed it NEW-SKU:
        an order of NEW-SKU for that product reaches the warehouse as OLD-SKU
        and is processed, instead of waiting for a NEW-SKU that never comes."""

        def upsert(sku: str) -> pb.ProductResult:
            product = pb.Product(
                product_id="prod-9",
                source_platform="shopify",
                shop="acme-nl",
                sku=sku,
                name="Shirt",
                weight_kg=0.2,
            )
            request = pb.UpsertProductRequest(account_id="acme", product=product)
            return stub.UpsertProduct(request, metadata=TOKEN).result

        def created() -> bool:
            request = pb.GetProductRequest(account_id="acme", product_id="prod-9")
            view = stub.GetProduct(request, metadata=TOKEN).product
            return view.state == pb.PRODUCT_STATE_CREATED

        upsert("OLD-SKU")
        wait_until(created, 30, "the product to be created")
        renamed = upsert("NEW-SKU")
        order = make_order("r-1", sku="NEW-SKU")
        order.lines[0].product_id = "prod-9"

        create(stub, order)
        wait_until(lambda: _processed(server, "r-1"), 30, "the order to be processed")

        assert renamed.external_no == "OLD-SKU"
        (shipped,) = sandbox.shipment_orders()
        assert [line[0] for line in shipped["lines"]] == ["OLD-SKU"]

    def test_get_product_shows_identity(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """GetProduct shows the ExternalNo and the first listing of a product."""
        product = pb.Product(
            product_id="prod-1",
            source_platform="shopify",
            shop="acme-nl",
            sku="SKU-77",
            name="Mug",
        )
        stub.UpsertProduct(
            pb.UpsertProductRequest(account_id="acme", product=product), metadata=TOKEN
        )

        view = stub.GetProduct(
            pb.GetProductRequest(account_id="acme", product_id="prod-1"), metadata=TOKEN
        ).product

        assert view.external_no == "SKU-77"
        assert view.first_listing.shop == "acme-nl"


class TestEvaluateShippingRules:
    def test_dry_run_explains_the_decision(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """A German order gets DHL by rule germany; the rules above say why not."""
        order = make_order("dry-1")
        order.delivery_address.country = "DE"
        order.lines[0].weight_kg = 5

        answer = stub.EvaluateShippingRules(
            pb.EvaluateShippingRulesRequest(account_id="acme", order=order),
            metadata=TOKEN,
        )

        decision = answer.decision
        assert (decision.shipping_method, decision.matched_rule.rule_id) == (
            "DHL_PAKET",
            "germany",
        )
        assert decision.misses and decision.ruleset_version
        first = decision.misses[0]
        assert (first.rule.rule_id, first.reason) == (
            "wadden-islands",
            "country DE is not NL",
        )
        assert "did not match" in decision.explanation

    def test_candidate_rules_with_an_error_name_file_and_line(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """A broken candidate rule text is INVALID_ARGUMENT with its line."""
        candidate = (
            "rules:\n  - id: x\n    when:\n      weight: {above: abc}\n"
            "    then:\n      method: X\n"
        )

        with pytest.raises(grpc.RpcError) as caught:
            stub.EvaluateShippingRules(
                pb.EvaluateShippingRulesRequest(
                    account_id="acme", order=make_order("d"), candidate_rules=candidate
                ),
                metadata=TOKEN,
            )

        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert ":4:" in (caught.value.details() or "")


class TestStock:
    def test_activation_sync_and_live_change(
        self,
        server: ServerProcess,
        sandbox: SandboxProcess,
        stub: pb_grpc.BoltricsConnectorServiceStub,
    ) -> None:
        """Activation pushes levels, SyncStock streams them, a change arrives live."""
        product = pb.Product(
            product_id="prod-s", source_platform="shopify", shop="acme-nl", sku="SKU-1"
        )
        stub.UpsertProduct(
            pb.UpsertProductRequest(account_id="acme", product=product), metadata=TOKEN
        )
        sandbox.control(
            "PUT", "/stock", {"items": [{"externalNo": "SKU-1", "qtyInInventory": 10}]}
        )

        activated = stub.ActivateAccount(
            pb.ActivateAccountRequest(account_id="acme"), metadata=TOKEN
        )
        levels = list(
            stub.SyncStock(
                pb.SyncStockRequest(account_id="acme"), metadata=TOKEN, timeout=10
            )
        )
        sandbox.control(
            "POST", "/stock/changes", {"items": [{"externalNo": "SKU-1", "delta": -3}]}
        )
        request = pb.WatchEventsRequest(
            account_id="acme", types=[pb.EVENT_TYPE_STOCK_CHANGED]
        )
        seen: list[int] = []
        try:
            for answer in stub.WatchEvents(request, metadata=TOKEN, timeout=20):
                seen.append(answer.event.stock.sellable)
                if answer.event.stock.sellable == 7:
                    break
        except grpc.RpcError as exc:
            assert exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED

        assert activated.account.stock_active is True
        assert activated.pushed_levels >= 1
        assert [
            (level.level.external_no, level.level.sellable) for level in levels
        ] == [("SKU-1", 10)]
        assert [lv.product_id for lv in levels[0].level.listings] == ["prod-s"]
        assert seen[-1] == 7

    def test_sync_stock_for_unknown_account_is_not_found(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """SyncStock for an account that is not configured is NOT_FOUND."""
        with pytest.raises(grpc.RpcError) as caught:
            list(
                stub.SyncStock(
                    pb.SyncStockRequest(account_id="nobody"),
                    metadata=[("authorization", "Bearer token-for-all")],
                )
            )

        assert caught.value.code() is grpc.StatusCode.NOT_FOUND
