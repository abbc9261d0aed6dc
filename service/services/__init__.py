"""Use cases: plain functions over commands, wiring domain and adapters."""
