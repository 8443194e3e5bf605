"""``python -m sksbi_manifold`` runs the command line."""

import sys

from .report.cli import main

sys.exit(main())
