"""``ts-plugin demo``: an offline backtest of SmartTrailingSample with the plugin's own summary.

Runs in the current directory: candles, results and logs go to ./user_data (or --userdir). When its
data/binance folder holds no 5m candles, a deterministic SYNTHETIC dataset is generated there (labelled
SYNTHETIC_DATA.txt: the profit figures say nothing about a real market). A local Binance-compatible
sandbox exchange on 127.0.0.1 answers freqtrade's start-up market loading, so no network and no account
are needed; it is stopped on success, failure and Ctrl-C. The sample strategy and the demo config ship
with the package; --strategy/--strategy-path backtest another strategy with the demo's settings.
"""

from __future__ import annotations

import argparse

from ts_plugin.cli.backtest import _existing_dir, add_run_options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "demo", help="offline backtest of the sample strategy (synthetic candles when there are none)",
        description=__doc__.split(": ", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--strategy", "-s", default=None, metavar="NAME",
        help="strategy class to backtest (default: SmartTrailingSample, shipped with the package)")
    parser.add_argument(
        "--strategy-path", type=_existing_dir, default=None, metavar="DIR",
        help="folder holding --strategy's .py file (default: the package's sample strategies folder)")
    add_run_options(parser, demo=True)
    return parser


def run(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ts_plugin.tools.demo import SAMPLE_STRATEGY, STRATEGY_PATH, OfflineRun, run_offline

    if options.strategy_path and not options.strategy:
        parser.error("--strategy-path needs --strategy NAME")
    return run_offline(OfflineRun(
        strategy=options.strategy or SAMPLE_STRATEGY, strategy_path=options.strategy_path or STRATEGY_PATH,
        configs=list(options.configs), userdir=options.userdir, datadir=options.datadir,
        timerange=options.timerange, timeframe=options.timeframe,
        timeframe_detail=options.timeframe_detail, export=options.export, pairs=options.pairs,
        synthetic=True))

