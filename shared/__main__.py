"""Entry point of ``python -m shared``."""

import sys

from shared.entrypoints.cli import main

sys.exit(main())
