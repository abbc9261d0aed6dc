"""The real service, with GetAccount slowed down, for the graceful-shutdown test.

Run as `python -m tests.integration.server.slow_service serve --config F`.
"""

import asyncio
import sys
from typing import Any

from service.entrypoints.cli import main
from service.entrypoints.grpc.servicer import ConnectorServicer

_original = ConnectorServicer.GetAccount


async def _slow_get_account(self: ConnectorServicer, request: Any, context: Any) -> Any:
    await asyncio.sleep(2.0)
    return await _original(self, request, context)


ConnectorServicer.GetAccount = _slow_get_account  # type: ignore[method-assign]

if __name__ == "__main__":  # not again in the service's spawned parsing worker
    sys.exit(main(sys.argv[1:]))
