"""`make demo`: an offline backtest of SmartTrailingSample with the plugin's own summary.

1. candles: ``user_data/data/binance`` (or ``--datadir``); if it holds none, a deterministic SYNTHETIC
   set is generated there;
2. a sandbox exchange starts on 127.0.0.1 so freqtrade's start-up market loading needs no network;
3. freqtrade's own backtesting runs in this process and prints its normal report;
4. the plugin summary follows: trades that reached breakeven / activation, stop raises, exits by reason.
The sandbox is stopped on success, failure and Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "user_data" / "config_demo.json"
DEFAULT_DATADIR = ROOT / "user_data" / "data" / "binance"
STRATEGY_PATH = ROOT / "user_data" / "strategies"

logger = logging.getLogger("ts_plugin.demo")


def pairs_in(datadir: Path, timeframe: str = "5m") -> dict[str, float]:
    """Pairs with candles in ``datadir`` and their last close (the sandbox's reference price)."""
    import pandas as pd

    found = {}
    for path in sorted(datadir.glob(f"*-{timeframe}.feather")):
        base, quote = path.name[: -len(f"-{timeframe}.feather")].split("_", 1)
        found[f"{base}/{quote}"] = float(pd.read_feather(path, columns=["close"])["close"].iloc[-1])
    return found


def build_backtest_config(
    config_path: Path,
    datadir: Path,
    exchange_overrides: dict[str, Any],
    strategy: str = "SmartTrailingSample",
    strategy_path: Path = STRATEGY_PATH,
    pairs: list[str] | None = None,
    timerange: str | None = None,
    user_data_dir: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """freqtrade's fully processed backtest config, pointed at the sandbox and ``datadir``."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode

    args = {
        "config": [str(config_path)],
        "strategy": strategy,
        "strategy_path": str(strategy_path),
        "datadir": str(datadir),
        "user_data_dir": str(user_data_dir or ROOT / "user_data"),
        "export": "none",
    }
    if timerange:
        args["timerange"] = timerange
    config = Configuration(args, RunMode.BACKTEST).get_config()
    config["exchange"].update(exchange_overrides)
    if pairs:
        config["exchange"]["pair_whitelist"] = list(pairs)
    for key, value in (extra or {}).items():
        config[key] = value
    return config


def run_backtest(config: dict[str, Any]) -> tuple[dict, Any]:
    """Run freqtrade's backtesting in this process; returns (results, the strategy object)."""
    from freqtrade.optimize.backtesting import Backtesting

    backtesting = Backtesting(config)
    try:
        backtesting.start()
        return backtesting.results, backtesting.strategylist[0]
    finally:
        backtesting.cleanup()


def exits_by_reason(results: dict) -> Counter:
    reasons: Counter = Counter()
    for strategy_result in results.get("strategy", {}).values():
        for trade in strategy_result.get("trades", []):
            reasons[trade.get("exit_reason", "?")] += 1
    return reasons


def format_summary(summary: dict[str, Any], exits: Counter) -> str:
    rows = [
        ("trades seen by the plugin", summary.get("trades_seen", 0)),
        ("reached breakeven", summary.get("breakeven", 0)),
        ("reached activation", summary.get("activated", 0)),
        ("stop raises", summary.get("stop_raises", 0)),
        ("states rebuilt (should be 0)", summary.get("rebuilt", 0)),
        ("plugin errors (should be 0)", summary.get("tick_errors", 0)),
    ]
    rows += [(f"exits: {reason}", count) for reason, count in exits.most_common()]
    width = max(len(label) for label, _ in rows)
    lines = ["", "SMART TRAILING SUMMARY", "=" * (width + 12)]
    lines += [f"{label:<{width}}  {value:>9}" for label, value in rows]
    return "\n".join(lines)


def stake_for(pairs: dict[str, float]) -> dict[str, Any]:
    """Stake settings for candles quoted in something else than the demo config's USDT (for example
    freqtrade's BTC-quoted test data): trade in that currency, one equal slot per pair."""
    quotes = {pair.split("/")[1].split(":")[0] for pair in pairs}
    if len(quotes) != 1 or quotes == {"USDT"}:
        return {}
    quote = quotes.pop()
    print(f"NOTE: candles are quoted in {quote}: staking {quote} (wallet 1 {quote}, one slot per pair).")
    return {"stake_currency": quote, "stake_amount": "unlimited", "dry_run_wallet": 1.0,
            "max_open_trades": len(pairs)}


def main(argv: list[str] | None = None) -> int:
    from freqtrade.exceptions import OperationalException

    from ts_plugin.sampledata import MARKER, ensure_sample_data
    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--datadir", type=Path, default=DEFAULT_DATADIR)
    parser.add_argument("--strategy", default="SmartTrailingSample")
    parser.add_argument("--timerange", default=None)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    if options.datadir == DEFAULT_DATADIR and ensure_sample_data(options.datadir):
        print(f"No candles found: generated a SYNTHETIC dataset in {options.datadir}")
    if (options.datadir / MARKER).exists():
        print(f"NOTE: {options.datadir} holds SYNTHETIC data (see {MARKER}), not market prices.")
    pairs = pairs_in(options.datadir)
    if not pairs:
        print(f"No 5m feather candles in {options.datadir}", file=sys.stderr)
        return 2
    sandbox = SandboxExchange(pairs)
    try:
        sandbox.start()
        config = build_backtest_config(options.config, options.datadir, ccxt_overrides(sandbox.url),
                                       strategy=options.strategy, pairs=list(pairs),
                                       timerange=options.timerange, extra=stake_for(pairs))
        results, strategy = run_backtest(config)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OperationalException as exc:  # freqtrade's own configuration and data errors
        print(f"backtest refused: {exc}", file=sys.stderr)
        return 2
    finally:
        sandbox.stop()
    summary = strategy.trailing_summary() if hasattr(strategy, "trailing_summary") else {}
    print(format_summary(summary, exits_by_reason(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
