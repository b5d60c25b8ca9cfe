"""``ts-plugin``: the plugin's command line (console script installed with the package).

    ts-plugin demo      offline backtest of the sample strategy (synthetic candles when none)
    ts-plugin backtest  offline backtest of your own strategy with the mixin
    ts-plugin compare   your strategy with smart trailing off, freqtrade's trailing, the plugin, rule by rule
    ts-plugin sandbox   the local Binance-compatible exchange: serve, price, gap, fault, latency, orders
    ts-plugin plot      HTML charts of every trade's stop path (backtest result or trade database)
    ts-plugin status    open trades' trailing stops, read-only from freqtrade's database
    ts-plugin diagnose  live diagnostic session of running bots through their REST API (read-only)

One module per subcommand, each with ``add_parser(commands)`` (its arguments and help) and
``run(options, parser) -> exit code``. A new subcommand is a new module listed in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("demo", "backtest", "compare", "sandbox", "status", "diagnose", "plot")


def build_parser() -> argparse.ArgumentParser:
    from ts_plugin import __version__

    parser = argparse.ArgumentParser(
        prog="ts-plugin",
        description="Smart trailing stop for freqtrade: offline backtests against a local sandbox "
                    "exchange, and the sandbox itself. 'ts-plugin COMMAND --help' explains each command.",
    )
    parser.add_argument("--version", action="version", version=f"ts_plugin {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"ts_plugin.cli.{name}")
        sub = module.add_parser(commands)
        sub.set_defaults(_run=module.run, _parser=sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return options._run(options, options._parser)


if __name__ == "__main__":
    sys.exit(main())
