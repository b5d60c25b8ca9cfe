"""``python -m ts_plugin.cli`` is ``ts-plugin``."""

import sys

from ts_plugin.cli import main

sys.exit(main())
