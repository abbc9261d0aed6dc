"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sandbox import SandboxProcess


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    """A sandbox that knows the item SKU-1."""
    process = SandboxProcess()
    process.add_items("SKU-1")
    yield process
    process.stop()
