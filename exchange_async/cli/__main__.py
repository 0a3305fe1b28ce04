"""``python -m exchange_async.cli``: the same as the ``exchange-async`` command."""

import sys

from . import main

sys.exit(main())
