"""``python -m exchange_async``: the ``exchange-async`` command."""

import sys

from .cli import main

sys.exit(main())
