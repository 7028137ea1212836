"""``python -m wgtrace.traces`` runs the ``wgtrace`` command."""

import sys

from .cli import main

sys.exit(main())
