"""Where the plugin's time goes inside a backtest: cProfile of one in-process run.

    .venv/bin/python -m benchmarks.profile [--strategy BenchShadowPlugin] [--datadir DIR] [--top 25]

Defaults to ``BenchShadowPlugin`` (the plugin's full work on (a)'s exits) on the real data set when
present, else on the generated 60-day set. Prints the functions under ``custom_stoploss`` and
``order_filled`` by cumulative time, then the top functions overall by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

from benchmarks.paths import ROOT, SHARED, WORK


def main(argv: list[str] | None = None) -> int:
    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides
    from ts_plugin.tools.demo import DEFAULT_CONFIG, build_backtest_config, pairs_in, run_backtest

    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", default="BenchShadowPlugin")
    parser.add_argument("--datadir", type=Path, default=None)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--output", type=Path, default=WORK / "profile.pstats")
    options = parser.parse_args(argv)
    datadir = options.datadir
    if datadir is None:
        datadir = SHARED if any(SHARED.glob("*-5m.feather")) else WORK / "data-60d"
    WORK.mkdir(exist_ok=True)
    prices = pairs_in(datadir)
    if not prices:
        print(f"no *-5m.feather in {datadir}", file=sys.stderr)
        return 1
    stake = "BTC" if next(iter(prices)).endswith("/BTC") else "USDT"
    with SandboxExchange(prices) as sandbox:
        config = build_backtest_config(
            DEFAULT_CONFIG, datadir, ccxt_overrides(sandbox.url), strategy=options.strategy,
            strategy_path=ROOT / "benchmarks" / "strategies", pairs=sorted(prices), user_data_dir=WORK,
            extra={"max_open_trades": len(prices), "stake_currency": stake,
                   "stake_amount": 0.01 if stake == "BTC" else 100,
                   "dry_run_wallet": 1.0 if stake == "BTC" else 1000})
        profiler = cProfile.Profile()
        profiler.enable()
        run_backtest(config)
        profiler.disable()
    profiler.dump_stats(options.output)
    stats = pstats.Stats(profiler)
    for title, pattern, key in (
        ("plugin entry points and what they call (cumulative)", "ts_plugin|bench_strategies|copy.py",
         "cumulative"),
        ("everything, by own time", "", "tottime"),
    ):
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats(key).print_stats(pattern, options.top) if pattern else \
            stats.sort_stats(key).print_stats(options.top)
        print(f"## {title}\n{out.getvalue()}")
    print(f"full profile: {options.output} (python -m pstats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
