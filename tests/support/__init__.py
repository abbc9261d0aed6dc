"""Helpers shared by the tests: databases, config files, server processes."""
