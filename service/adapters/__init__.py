"""Adapters to the outside: store, Boltrics, rule engine."""
