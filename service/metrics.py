"""Prometheus metrics of the service, served on their own port.

Each capability declares its own metrics here, so that an operator finds every
metric name in one file.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPC_CALLS = Counter(
    "connector_rpc_calls_total",
    "gRPC calls handled, by method and status code.",
    ["method", "code"],
)
RPC_LATENCY = Histogram(
    "connector_rpc_latency_seconds",
    "gRPC call latency, by method.",
    ["method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
ORDER_QUEUE_DEPTH = Gauge(
    "connector_order_queue_depth",
    "Orders durably queued and not yet taken by Boltrics.",
)
ORDERS_SENT = Counter(
    "connector_orders_sent_total",
    "Orders handed to Boltrics, by outcome.",
    ["outcome"],
)
RULE_HITS = Counter(
    "connector_rule_hits_total",
    "Shipping decisions, by account and the rule that matched (or 'none').",
    ["account", "rule"],
)
STORE_GROUP_SIZE = Histogram(
    "connector_store_group_commit_size",
    "Write transactions that shared one SQLite commit.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


def serve_metrics(listen: str) -> int:
    """Serve /metrics on `host:port` from a background thread; returns the port."""
    host, _, port = listen.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host or "127.0.0.1")
    bound: int = server.server_address[1]
    return bound
