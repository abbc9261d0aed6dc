"""Products: the daily sync of 100,000 listings, through the server, to the sandbox.

The listings come from three channels; 30% of them share their SKU with the
same product on the other two channels, so 100,000 listings are 80,000
Boltrics items. The sandbox (rate limit off) and the connector (SQLite store)
each run in their own process; the listings go in over gRPC with
`SyncProducts`, in calls of `--per-call`, and the run ends when the sandbox
holds every item and every message has its verdict. Prints three figures:

1. `materialmasterdata` messages the sandbox received, as a ratio to the
   minimum, ceil(items / 500) (target 1.0);
2. the connector process's CPU time (user and system, from `/proc`) over the
   sync, as a ratio to building the same XML documents alone, in this process,
   in the same run (target at most 3);
3. the connector process's peak resident memory, in MB (target at most 300).

    python -m bench.products [--listings 100000] [--per-call 10000]
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import grpc

from bench.orders import _config, _Sandbox, _Server
from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from service.adapters.boltrics.documents import (
    MAX_ITEMS_PER_MESSAGE,
    CustomerItem,
    Header,
    MaterialMasterData,
    ProcessAction,
    build_material_master_data,
    encode_content,
)

CHANNELS = ("shopify", "woocommerce", "bol")
TOKEN_METADATA = (("authorization", "Bearer bench-token"),)


def daily_sync(count: int) -> list[pb.Product]:
    """`count` listings; in every ten, three are one product on all channels."""
    listings = []
    for i in range(count):
        shared = i % 10 < 3
        sku = f"SHARED-{i // 10:07d}" if shared else f"SKU-{i:07d}"
        listings.append(
            pb.Product(
                product_id=f"{CHANNELS[i % 3]}-{i}",
                source_platform=CHANNELS[i % 3],
                shop="main",
                sku=sku,
                barcodes=[_gtin13(i)] if not shared else [],
                name=f"Product {sku}",
                weight_kg=0.25 + (i % 40) / 10,
            )
        )
    return listings


def _gtin13(number: int) -> str:
    """A GTIN-13 with a correct check digit, unique per number."""
    body = f"87{number:010d}"
    weighted = sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body))
    return body + str((10 - weighted % 10) % 10)


def first_seen(listings: list[pb.Product]) -> list[CustomerItem]:
    """The Boltrics items of the listings, each from the listing seen first."""
    items: dict[str, CustomerItem] = {}
    for listing in listings:
        if listing.sku in items:
            continue
        items[listing.sku] = CustomerItem(
            external_no=listing.sku,
            description=listing.name,
            gross_weight=Decimal(str(round(listing.weight_kg, 3))),
            ean_code=listing.barcodes[0] if listing.barcodes else None,
        )
    return list(items.values())


def build_alone(items: list[CustomerItem]) -> tuple[float, int]:
    """CPU seconds to build (and base64-encode) the documents alone; how many."""
    started = time.process_time()
    documents = 0
    for start in range(0, len(items), MAX_ITEMS_PER_MESSAGE):
        header = Header.new("BUCKLES", "WH01", action=ProcessAction.INSERT)
        part = tuple(items[start : start + MAX_ITEMS_PER_MESSAGE])
        encode_content(build_material_master_data(MaterialMasterData(header, part)))
        documents += 1
    return time.process_time() - started, documents


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def sync(port: int, listings: list[pb.Product], per_call: int) -> None:
    """Send the listings with `SyncProducts`, `per_call` at a time."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.BoltricsConnectorServiceStub(channel)
        for start in range(0, len(listings), per_call):
            request = pb.SyncProductsRequest(
                account_id="acme", products=listings[start : start + per_call]
            )
            stub.SyncProducts(request, metadata=TOKEN_METADATA, timeout=600)


def wait_for_items(sandbox: _Sandbox, expected: int, timeout: float) -> None:
    """Until the sandbox holds `expected` items (plus its own) and no message is
    waiting for its verdict."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = len(sandbox.http.get("/items").json()["value"]) - 1  # less SKU-1
        waiting = sandbox.http.get(
            "/messages?direction=Inbound&messageType=materialmasterdata&status=New"
        ).json()["value"]
        if held >= expected and not waiting:
            return
        time.sleep(0.2)
    msg = f"the sandbox holds {held} of {expected} items after {timeout:.0f} s"
    raise RuntimeError(msg)


def main() -> None:
    """Run the sync and print the three figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--per-call", type=int, default=10_000)
    args = parser.parse_args()

    listings = daily_sync(args.listings)
    items = first_seen(listings)
    alone, minimum = build_alone(items)
    assert minimum == math.ceil(len(items) / MAX_ITEMS_PER_MESSAGE)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sandbox = _Sandbox(rate=0)
        base_url = sandbox.url + "/api/boltrics/di/v1.0"
        token_url = sandbox.url + "/oauth2/v2.0/token"
        config = _config(workdir, "products", base_url, token_url, 1000)
        server = _Server(config, workdir)
        try:
            cpu_before, began = cpu_seconds(server.process.pid), time.perf_counter()
            sync(server.port, listings, args.per_call)
            wait_for_items(sandbox, len(items), timeout=900)
            wall = time.perf_counter() - began
            cpu = cpu_seconds(server.process.pid) - cpu_before
            peak = server.peak_mb()
            messages = len(
                sandbox.http.get(
                    "/messages?direction=Inbound&messageType=materialmasterdata"
                ).json()["value"]
            )
        finally:
            server.stop()
            sandbox.stop()

    print(
        f"listings: {len(listings)}; Boltrics items: {len(items)}; "
        f"sync took {wall:.1f} s"
    )
    print(
        f"(1) messages sent: {messages}, minimum {minimum}; "
        f"ratio {messages / minimum:.2f} (target 1.0)"
    )
    print(
        f"(2) connector CPU {cpu:.2f} s, building the XML alone {alone:.2f} s; "
        f"ratio {cpu / alone:.2f} (target <= 3)"
    )
    print(f"(3) connector peak memory: {peak:.0f} MB (target <= 300)")


if __name__ == "__main__":
    main()
