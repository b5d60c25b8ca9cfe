"""``ts-plugin compare``: your strategy backtested in variants that differ only in their exit rules.

Offline like ``ts-plugin backtest`` (a local sandbox exchange answers freqtrade's market loading), in
freqtrade's own engine with the candles loaded once. Variants: off (the strategy as written, smart
trailing off), builtin (freqtrade's trailing_stop with your activation and distance), plugin-builtin (the
plugin with the built-in's semantics), yours (your smart_trailing settings), and for each smart rule you
configured the built-in semantics plus that rule alone (+breakeven, +time, +steps, +momentum). With
--split DATE also optimised: the smart_trailing hyperopt space optimised before DATE, every row judged
after it. A row per variant, then the largest differences and their causes.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from ts_plugin.cli.backtest import _existing_dir, _existing_file


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: give a whole number of epochs, 1 or more")
    return value


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from ts_plugin.tools.compare.split import DEFAULT_EPOCHS
    from ts_plugin.tools.compare.variants import NAMES

    parser = commands.add_parser(
        "compare", help="your strategy in variants: smart trailing off, freqtrade's trailing, the plugin, rule by rule",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", "-s", required=True, metavar="NAME",
                        help="the strategy's class name (it must use SmartTrailingMixin)")
    parser.add_argument("--strategy-path", type=_existing_dir, default=None, metavar="DIR",
                        help="folder holding the strategy's .py file (default: USERDIR/strategies)")
    parser.add_argument("--userdir", "--user-data-dir", dest="userdir", type=Path, default=None, metavar="DIR",
                        help="user data folder (default: ./user_data, created when missing)")
    parser.add_argument("--datadir", type=Path, default=None, metavar="DIR",
                        help="folder with the candles, freqtrade's feather layout, futures in its futures/ folder "
                             "when a --config sets trading_mode futures (default: USERDIR/data/binance)")
    parser.add_argument("--config", "-c", dest="configs", action="append", type=_existing_file, default=[],
                        metavar="FILE", help="a freqtrade config file (repeatable, later files win); its "
                                             "smart_trailing section is 'your settings'")
    parser.add_argument("--timerange", default=None, metavar="RANGE",
                        help="freqtrade's time range such as 20180115-20180125 (default: all candles)")
    parser.add_argument("--timeframe", "-i", default=None, metavar="TF",
                        help="candle timeframe such as 5m (default: the strategy's)")
    parser.add_argument("--timeframe-detail", default=None, metavar="TF",
                        help="smaller timeframe for intra-candle exits such as 1m (its candles in DATADIR)")
    parser.add_argument("--pairs", "-p", nargs="+", default=None, metavar="PAIR",
                        help="only these pairs (default: every pair with candles in DATADIR)")
    parser.add_argument("--variants", nargs="+", default=None, metavar="NAME",
                        help=f"only these variants, in table order: {', '.join(NAMES)} (default: all that apply)")
    parser.add_argument("--split", default=None, metavar="YYYYMMDD",
                        help="optimise the smart_trailing hyperopt space before this date and compare every "
                             "variant, and the optimum, after it")
    parser.add_argument("--epochs", "-e", type=_positive, default=None, metavar="N",
                        help=f"hyperopt epochs for --split (default {DEFAULT_EPOCHS})")
    parser.add_argument("--plot", type=Path, default=None, metavar="DIR",
                        help="write one HTML page per pair to DIR: the stops freqtrade held in two variants over "
                             "the same candles (needs plotly, as ts-plugin plot)")
    parser.add_argument("--plot-variants", nargs=2, default=None, metavar=("FIRST", "SECOND"),
                        help="the two variants --plot draws (default: builtin yours)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="keep freqtrade's and the plugin's INFO log (default: warnings and a line per variant)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON (progress goes to stderr)")
    return parser


def run(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ts_plugin.tools.compare.comparison import run_comparison
    from ts_plugin.tools.compare.explanation import differences, explain
    from ts_plugin.tools.compare.running import CompareError, Setup
    from ts_plugin.tools.compare.split import DEFAULT_EPOCHS, SplitError
    from ts_plugin.tools.compare.table import format_table, legend
    from ts_plugin.tools.demo import default_datadir, default_userdir

    userdir = (options.userdir or default_userdir()).expanduser()
    strategy_path = options.strategy_path or userdir / "strategies"
    if not strategy_path.is_dir():
        parser.error(f"no strategy folder {strategy_path}: give --strategy-path DIR")
    setup = Setup(strategy=options.strategy, strategy_path=strategy_path,
                  datadir=(options.datadir or default_datadir(userdir)).expanduser(), userdir=userdir,
                  configs=list(options.configs), timerange=options.timerange, timeframe=options.timeframe,
                  timeframe_detail=options.timeframe_detail, pairs=options.pairs, chosen=options.variants)

    def progress(line: str) -> None:
        print(line, file=sys.stderr if options.json else sys.stdout, flush=True)

    if options.split is None and options.epochs is not None:
        parser.error(f"--epochs {options.epochs} needs --split DATE (the epochs are hyperopt's, before the date)")
    if options.split is None and options.variants and "optimised" in options.variants:
        parser.error("--variants optimised needs --split DATE (the optimum found before the date)")
    plotted: tuple[str, ...] = ()
    if options.plot is not None:
        import importlib.util

        from ts_plugin.tools.compare.plot import DEFAULT_PAIR

        if importlib.util.find_spec("plotly") is None:
            print(f"ts-plugin compare: --plot {options.plot}: plotly is not installed "
                  "(pip install 'ts_plugin[plot]' or pip install plotly)", file=sys.stderr)
            return 2
        plotted = tuple(options.plot_variants or DEFAULT_PAIR)
    elif options.plot_variants:
        parser.error("--plot-variants needs --plot DIR")
    try:
        outcome = run_comparison(setup, split=options.split, epochs=options.epochs or DEFAULT_EPOCHS, progress=progress,
                                 quiet=not options.verbose, plotted=plotted)
    except (CompareError, SplitError) as exc:
        print(f"ts-plugin compare: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if plotted:
        from ts_plugin.tools.compare.plot import write_pages

        (first, second), results = plotted, outcome.results
        pages = write_pages(options.plot.expanduser(), outcome.candles, outcome.timeframe,
                            (first, results[first], outcome.stops[first]),
                            (second, results[second], outcome.stops[second]), outcome.timerange)
        progress(f"wrote {len(pages)} page(s) to {options.plot}: stops of {first} and {second}")
    found = differences(outcome.rows, outcome.user_settings, outcome.fee, outcome.timeframe_detail,
                        outcome.mapped_leverage)
    if options.json:
        print(json.dumps({
            "strategy": options.strategy, "timerange": outcome.timerange,
            "timeframe_detail": outcome.timeframe_detail, "fee": outcome.fee, "split": options.split,
            "mapped_leverage": outcome.mapped_leverage,
            "settings": outcome.user_settings, "rows": [row.as_json() for row in outcome.rows],
            "differences": [{"before": d.before, "after": d.after, "profit_delta": d.delta, "cause": d.cause}
                            for d in found],
        }, indent=2, default=str))
        return 0
    detail = f", detail {outcome.timeframe_detail}" if outcome.timeframe_detail else ""
    print(f"\nCOMPARE {options.strategy} ({outcome.timerange}{detail}; profit and drawdown in %, "
          "exits by what closed the trade)")
    print(format_table(outcome.rows))
    print(legend(outcome.rows))
    for line in explain(outcome.rows, outcome.user_settings, outcome.fee, outcome.timeframe_detail,
                        outcome.mapped_leverage):
        print(textwrap.fill(line, width=118, subsequent_indent="  "))
    return 0
