"""Prometheus metrics of the calls to Boltrics, kept cheap to update."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

boltrics_calls_total = Counter(
    "boltrics_calls_total",
    "Calls to Boltrics, by kind of call and outcome.",
    ["kind", "outcome"],
)
boltrics_call_seconds = Histogram(
    "boltrics_call_seconds",
    "Duration of single HTTP calls to Boltrics, by kind of call.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def record_call(kind: str, outcome: str, seconds: float) -> None:
    """Count one call and observe its duration."""
    boltrics_calls_total.labels(kind, outcome).inc()
    boltrics_call_seconds.labels(kind).observe(seconds)
