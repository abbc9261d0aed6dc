"""The daily product sync through the server, killed with SIGKILL in the middle."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from pathlib import Path

import grpc

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from service.adapters.boltrics.documents import (
    ProcessAction,
    parse_material_master_data,
)
from tests.e2e.orders_support import TOKEN, wait_until
from tests.support.sandbox import SandboxProcess, connection_toml
from tests.support.server import ServerProcess, write_config

CHANNELS = ("shopify", "woocommerce", "bol")


def daily_sync(count: int = 20_000) -> list[pb.Product]:
    """`count` listings over three channels; 30% share a SKU with other channels."""
    products = []
    for i in range(count):
        shared = i % 10 < 3
        sku = f"SHARED-{(i // 3) % 2000}" if shared else f"SKU-{i}"
        products.append(
            pb.Product(
                product_id=f"{CHANNELS[i % 3]}-{i}",
                source_platform=CHANNELS[i % 3],
                shop="main",
                sku=sku,
                name=f"Product {sku}",
                weight_kg=0.5,
            )
        )
    return products


def _sync(address: str, products: list[pb.Product]) -> None:
    with grpc.insecure_channel(
        address, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    ) as channel:
        stub = pb_grpc.BoltricsConnectorServiceStub(channel)
        request = pb.SyncProductsRequest(account_id="acme", products=products)
        # The kill cuts the call off; the caller then syncs again.
        with contextlib.suppress(grpc.RpcError):
            stub.SyncProducts(request, metadata=TOKEN, timeout=120)


def _inserted(sandbox: SandboxProcess) -> Counter[str]:
    messages = sandbox.inbound_messages("materialmasterdata")
    inserted: Counter[str] = Counter()
    for message in messages:
        document = parse_material_master_data(message["xml"].encode("utf-8"))
        if document.header.action is ProcessAction.INSERT:
            inserted.update(item.external_no for item in document.items)
    return inserted


def test_sigkill_during_daily_sync_creates_each_item_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    """20,000 listings, a SIGKILL mid-sync, a restart: each Boltrics item once."""
    sandbox = SandboxProcess()
    config = write_config(
        tmp_path / "c.toml", sqlite_url, connection=connection_toml(sandbox)
    )
    products = daily_sync()
    expected = {p.sku for p in products}

    first = ServerProcess(["serve", "--config", str(config)])
    first.wait_serving()
    caller = threading.Thread(target=_sync, args=(first.address, products))
    caller.start()
    # Killed as soon as the first message is in: mid-sync however fast the
    # machine (a fixed wait let a fast one finish the sync first).
    wait_until(lambda: bool(_inserted(sandbox)), 60, "the first message")
    first.kill()
    caller.join()
    inserted_before_restart = sum(_inserted(sandbox).values())

    second = ServerProcess(["serve", "--config", str(config)])
    second.wait_serving()
    _sync(second.address, products)
    wait_until(
        lambda: set(_inserted(sandbox)) >= expected, 180, "every item in Boltrics"
    )
    time.sleep(2.0)
    second.terminate()
    inserted = _inserted(sandbox)
    sandbox.stop()

    assert inserted_before_restart < len(expected), "the kill should come mid-sync"
    assert set(inserted) == expected
    assert max(inserted.values()) == 1
