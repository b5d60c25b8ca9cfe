"""``ts-plugin plot``: one HTML page per pair with candles, entries, exits and every trade's stop path.

From a backtest result (--backtest-results, written by --export trades): the stop paths are replayed
from the candles with the strategy, settings and parameters stored in the result, tick for tick as
freqtrade's backtesting ran them. From a dry-run or live trade database (--db-url): the stop paths the
plugin recorded while trading (custom data smart_trailing_trace), drawn over the candles in --datadir.
--timerange draws only the trades open in a range; a database trade whose candles --datadir lacks is
named in a WARNING, never drawn without candles. Reads only: the database is opened read-only, no
exchange is contacted. Pages embed plotly.js and open
offline in any browser; times are UTC.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ts_plugin.cli.backtest import _existing_dir

DEFAULT_OUT = Path("user_data") / "plot"
PLOT_EXTRA = "pip install 'ts_plugin[plot]'"  # freqtrade's own plot extra: plotly


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "plot", help="HTML charts of every trade's stop path (from a backtest result or a trade database)",
        description=__doc__.split(": ", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--backtest-results", type=Path, metavar="FILE|DIR",
        help="a backtest result (.zip or .json from --export trades), or a backtest_results folder "
             "(its latest result)")
    source.add_argument(
        "--db-url", metavar="URL",
        help="the bot's trade database, such as sqlite:///tradesv3.dryrun.sqlite or postgresql+psycopg://"
             "user:password@host/db (opened read-only)")
    parser.add_argument(
        "--datadir", type=Path, default=None, metavar="DIR",
        help="folder with the candles, freqtrade's layout such as ETH_BTC-5m.feather (backtest: default "
             "the folder the backtest's config names; database: required)")
    parser.add_argument(
        "--timeframe", "-i", default="5m", metavar="TF",
        help="candle timeframe for a database's pages (default: 5m; a backtest uses its own)")
    parser.add_argument(
        "--timerange", type=_span, default=None, metavar="RANGE",
        help="only the trades open in this range, freqtrade's format such as 20180115-20180120, 20180115- "
             "or -20180120 (UTC); the page shows the range's candles, widened to show those trades whole")
    parser.add_argument(
        "--pairs", "-p", nargs="+", default=None, metavar="PAIR",
        help="only these pairs such as ETH/BTC (default: every pair with trades)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
        help=f"folder for the pages, one PAIR.html each (default: {DEFAULT_OUT}, created when missing)")
    parser.add_argument(
        "--strategy", "-s", default=None, metavar="NAME",
        help="backtest results holding several strategies: the one to draw")
    parser.add_argument(
        "--strategy-path", type=_existing_dir, default=None, metavar="DIR",
        help="load the strategy from this folder instead of the copy stored in the backtest result")
    return parser


def _span(text: str):
    """``--timerange``, parsed as freqtrade parses it; argparse names the option and value on a bad one."""
    from ts_plugin.tools.plot.timerange import TimeRangeError, parse_span

    try:
        return parse_span(text)
    except TimeRangeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ts_plugin.tools.plot.sources import SourceError

    if options.db_url and options.datadir is None:
        parser.error("--db-url needs --datadir DIR (the candles to draw the trades on)")
    if options.db_url and (options.strategy or options.strategy_path):
        parser.error("--strategy and --strategy-path apply to --backtest-results only")
    if (missing := _plotly_missing()) is not None:
        print(f"ts-plugin plot: {missing}", file=sys.stderr)
        return 2
    try:
        pages, missing = _pages(options)
    except SourceError as exc:
        print(f"ts-plugin plot: {exc}", file=sys.stderr)
        return 2
    for trade in missing:  # named one by one: a page without candles is never drawn silently
        print(trade.warning(), file=sys.stderr)
    if not pages:
        within = f" open in --timerange {options.timerange.text}" if options.timerange else ""
        print(f"ts-plugin plot: no trades{within} to draw" + (" with candles in " + str(options.datadir)
                                                             if missing else ""), file=sys.stderr)
        return 2
    from ts_plugin.tools.plot.figure import write_page

    for page in pages:
        path = write_page(page, options.out)
        replayed = sum(1 for trade in page.trades if trade.stops)
        print(f"{page.pair}: {len(page.trades)} trades, {replayed} with a stop path -> {path}")
    return 0


def _plotly_missing() -> str | None:
    """Why the pages cannot be drawn (plotly is an optional extra), checked before any work; else None."""
    try:
        import plotly.graph_objects  # noqa: F401
    except ImportError as exc:
        return f"plotly is not installed ({exc}); install the plot extra: {PLOT_EXTRA}"
    return None


def _pages(options: argparse.Namespace) -> tuple[list, list]:
    from ts_plugin.tools.plot.sources import backtest_pictures, database_pictures, open_backtest

    if options.db_url:
        return database_pictures(options.db_url, options.datadir, options.timeframe, options.pairs,
                                 span=options.timerange)
    source = open_backtest(options.backtest_results, options.datadir, strategy=options.strategy,
                           strategy_path=options.strategy_path, quiet=True)
    print(f"{source.path.name}: strategy {source.name}, {len(source.stats.get('trades', []))} trades, "
          f"{source.timeframe} candles from {source.datadir}")
    print(f"replayed with {source.settings_line()}")
    return backtest_pictures(source, options.pairs, options.timerange), []
