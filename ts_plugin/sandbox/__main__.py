"""``python -m ts_plugin.sandbox``: an alias of ``ts-plugin sandbox`` (see :mod:`ts_plugin.cli.sandbox`).

    python -m ts_plugin.sandbox serve --pairs BTC/USDT=60000 ETH/USDT=3000 [--port 0] [--write-config FILE]
    python -m ts_plugin.sandbox price --url http://127.0.0.1:PORT BTC/USDT 61000
"""

from __future__ import annotations

import sys

from ts_plugin.cli.sandbox import main as _main


def main(argv: list[str] | None = None) -> int:
    return _main(argv, prog="python -m ts_plugin.sandbox")


if __name__ == "__main__":
    sys.exit(main())
