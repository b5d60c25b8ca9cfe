"""``ts-plugin backtest``: freqtrade's backtesting of your own strategy, offline.

A local Binance-compatible sandbox exchange is started on 127.0.0.1 for freqtrade's start-up market
loading (no network, no account), freqtrade's backtesting runs with your strategy and candles, prints
its normal report and then the plugin's summary; the sandbox is stopped on success, failure and
Ctrl-C. Candles: freqtrade's feather layout (``BTC_USDT-5m.feather``), for example from
``freqtrade download-data``; with ``"trading_mode": "futures"`` in a --config file, the futures
candles of DATADIR/futures (``BTC_USDT_USDT-5m-futures.feather`` with its mark and funding files).
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXPORT_CHOICES = ("none", "trades", "signals")


def _existing_dir(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: not a directory")
    return path


def _existing_file(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def add_run_options(parser: argparse.ArgumentParser, *, demo: bool) -> None:
    """The options ``demo`` and ``backtest`` share."""
    parser.add_argument(
        "--userdir", "--user-data-dir", dest="userdir", type=Path, default=None, metavar="DIR",
        help="user data folder for candles, results and logs (default: ./user_data, created when "
             "missing; freqtrade's layout). Nothing is written anywhere else.")
    parser.add_argument(
        "--datadir", type=Path, default=None, metavar="DIR",
        help="folder with the candles, freqtrade's feather layout such as BTC_USDT-5m.feather, futures "
             "in its futures/ folder (default: USERDIR/data/binance)" + (
                 "; when that default holds no 5m candles, a deterministic SYNTHETIC set is generated "
                 "there" if demo else ""))
    parser.add_argument(
        "--config", "-c", dest="configs", action="append", type=_existing_file, default=[],
        metavar="FILE",
        help="a freqtrade config file merged over the " + ("demo's config" if demo else "built-in base")
             + " (repeatable, later files win, as freqtrade's --config); its exchange is replaced by "
               "the sandbox's Binance and its pair list by the pairs with candles")
    parser.add_argument(
        "--timerange", default=None, metavar="RANGE",
        help="freqtrade's time range to backtest, such as 20251001- or 20251001-20251201 "
             "(default: all candles)")
    parser.add_argument(
        "--timeframe", "-i", default=None, metavar="TF",
        help="candle timeframe such as 5m or 1h (default: the strategy's, or the config's)")
    parser.add_argument(
        "--timeframe-detail", default=None, metavar="TF",
        help="smaller timeframe for intra-candle exits such as 1m (its candles must be in DATADIR); "
             "makes trailing exits realistic (see the README's backtesting caveats)")
    parser.add_argument(
        "--export", choices=EXPORT_CHOICES, default="none",
        help="what freqtrade writes to USERDIR/backtest_results: none (default), trades, or signals")
    parser.add_argument(
        "--pairs", "-p", nargs="+", default=None, metavar="PAIR",
        help="backtest only these pairs such as BTC/USDT (default: every pair with candles in DATADIR)")


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "backtest", help="offline backtest of your own strategy with the mixin",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1] + "\n\n" + __doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--strategy", "-s", required=True, metavar="NAME",
        help="the strategy's class name (it should use SmartTrailingMixin; without it freqtrade still "
             "runs but there is no smart trailing summary)")
    parser.add_argument(
        "--strategy-path", type=_existing_dir, default=None, metavar="DIR",
        help="folder holding the strategy's .py file (default: USERDIR/strategies)")
    add_run_options(parser, demo=False)
    return parser


def run(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ts_plugin.tools.demo import BACKTEST_CONFIG, OfflineRun, default_userdir, run_offline

    userdir = options.userdir or default_userdir()
    strategy_path = options.strategy_path or userdir / "strategies"
    if not strategy_path.is_dir():
        parser.error(f"no strategy folder {strategy_path}: give --strategy-path DIR")
    return run_offline(OfflineRun(
        strategy=options.strategy, strategy_path=strategy_path, base_config=BACKTEST_CONFIG,
        configs=list(options.configs), userdir=options.userdir, datadir=options.datadir,
        timerange=options.timerange, timeframe=options.timeframe,
        timeframe_detail=options.timeframe_detail, export=options.export, pairs=options.pairs))
