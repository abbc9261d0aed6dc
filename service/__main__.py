"""`python -m service` runs the command line."""

import sys

from service.entrypoints.cli import main

sys.exit(main())
