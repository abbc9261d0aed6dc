"""`python -m service.sandbox`: the sandbox subcommand without the rest of the CLI."""

from __future__ import annotations

import argparse
import sys

from service.logging import configure_logging
from service.sandbox.cli import add_arguments, handle


def main() -> int:
    """Parse the sandbox's options and serve."""
    parser = argparse.ArgumentParser(prog="python -m service.sandbox")
    add_arguments(parser)
    configure_logging("warning")
    return handle(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
