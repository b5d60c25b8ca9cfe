"""Offline backtests against the local sandbox: ``ts-plugin demo``, ``ts-plugin backtest``, ``make demo``.

1. candles: ``--datadir`` (default ``<userdir>/data/binance``, userdir ``./user_data``); for the demo,
   if that holds none, a deterministic SYNTHETIC set is generated there;
2. a sandbox exchange starts on 127.0.0.1 so freqtrade's start-up market loading needs no network;
3. freqtrade's own backtesting runs in this process and prints its normal report;
4. the plugin summary follows: trades that reached breakeven / activation, stop raises, exits by reason.
The sandbox is stopped on success, failure and Ctrl-C. Nothing is written next to the package: candles,
results and logs go to the user data folder (created when missing).

The command line lives in :mod:`ts_plugin.cli`; ``python -m ts_plugin.tools.demo`` is ``ts-plugin demo``.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE_DATA = Path(__file__).resolve().parents[1] / "data"  # ships with the package (package data)
DEFAULT_CONFIG = PACKAGE_DATA / "config_demo.json"  # the demo's config (SmartTrailingSample's settings)
BACKTEST_CONFIG = PACKAGE_DATA / "config_backtest.json"  # neutral base for your own strategy
STRATEGY_PATH = PACKAGE_DATA / "strategies"  # SmartTrailingSample
SAMPLE_STRATEGY = "SmartTrailingSample"

logger = logging.getLogger("ts_plugin.tools.demo")


def default_userdir() -> Path:
    """freqtrade's convention: ``user_data`` in the current directory."""
    return Path.cwd() / "user_data"


def default_datadir(userdir: Path | None = None) -> Path:
    return (userdir or default_userdir()) / "data" / "binance"


def pairs_in(datadir: Path, timeframe: str | None = "5m") -> dict[str, float]:
    """Spot pairs with candles in ``datadir`` (freqtrade's layout, ``BASE_QUOTE-5m.feather``) and their
    last close (the sandbox's reference price, which sets the market's price tick). ``timeframe=None``:
    candles of any timeframe."""
    import pandas as pd

    found: dict[str, float] = {}
    for path in sorted(datadir.glob(f"*-{timeframe or '*'}.feather")):
        name, _, frame = path.name[: -len(".feather")].partition("-")
        if "_" not in name or "-" in frame or name.replace("_", "/", 1) in found:
            continue  # not a spot candle file (futures: -futures / -mark / -funding_rate)
        base, quote = name.split("_", 1)
        found[f"{base}/{quote}"] = float(pd.read_feather(path, columns=["close"])["close"].iloc[-1])
    return found


def build_backtest_config(
    config_path: Path,
    datadir: Path,
    exchange_overrides: dict[str, Any],
    strategy: str = SAMPLE_STRATEGY,
    strategy_path: Path = STRATEGY_PATH,
    pairs: list[str] | None = None,
    timerange: str | None = None,
    user_data_dir: Path | None = None,
    extra: dict[str, Any] | None = None,
    *,
    user_configs: Sequence[Path] = (),
    defaults: dict[str, Any] | None = None,
    timeframe: str | None = None,
    timeframe_detail: str | None = None,
    export: str | None = None,
) -> dict[str, Any]:
    """freqtrade's fully processed backtest config, pointed at the sandbox and ``datadir``.

    ``config_path``: the base config; ``user_configs`` are merged over it left to right (freqtrade's
    repeated ``--config``). ``defaults``: top-level keys set only where no user config sets them;
    ``extra``: keys that always win. The exchange is always binance with ``exchange_overrides`` (the sandbox speaks Binance's
    API; the candles themselves may come from any exchange)."""
    from freqtrade.configuration import Configuration
    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.enums import RunMode

    files = [str(config_path), *(str(path) for path in user_configs)]
    args: dict[str, Any] = {
        "config": files,
        "strategy": strategy,
        "strategy_path": str(strategy_path),
        "datadir": str(datadir),
        "user_data_dir": str(user_data_dir or default_userdir()),
        "export": export or "none",
    }
    for key, value in (("timerange", timerange), ("timeframe", timeframe),
                       ("timeframe_detail", timeframe_detail)):
        if value:
            args[key] = value
    config = Configuration(args, RunMode.BACKTEST).get_config()
    if defaults:
        given = load_from_files(files[1:]) if user_configs else {}
        for key, value in defaults.items():
            if key not in given:
                config[key] = value
    config["exchange"]["name"] = "binance"
    config["exchange"]["enable_ws"] = False
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
    """The plugin's summary after freqtrade's report (see ts_plugin/strategy/summary.py)."""
    from ts_plugin.strategy.summary import format_summary as summary_table

    return summary_table(summary, exits)


def stake_for(pairs: dict[str, float]) -> dict[str, Any]:
    """Stake settings for candles quoted in something else than the demo config's USDT (for example
    freqtrade's BTC-quoted test data): trade in that currency, one equal slot per pair."""
    quotes = {pair.split("/")[1].split(":")[0] for pair in pairs}
    if len(quotes) != 1 or quotes == {"USDT"}:
        return {}
    quote = quotes.pop()
    print(f"NOTE: candles are quoted in {quote}: staking {quote} (wallet {wallet_for(quote):g} {quote}, one slot "
          "per pair).")
    return {"stake_currency": quote, "stake_amount": "unlimited", "dry_run_wallet": wallet_for(quote),
            "max_open_trades": len(pairs)}


@dataclass
class OfflineRun:
    """One offline backtest: what ``ts-plugin demo`` and ``ts-plugin backtest`` run."""

    strategy: str = SAMPLE_STRATEGY
    strategy_path: Path = STRATEGY_PATH
    base_config: Path = DEFAULT_CONFIG
    configs: list[Path] = field(default_factory=list)  # yours, merged over the base in order
    userdir: Path | None = None  # default ./user_data (created when missing)
    datadir: Path | None = None  # default <userdir>/data/binance
    timerange: str | None = None
    timeframe: str | None = None  # default: the strategy's (or the config's)
    timeframe_detail: str | None = None
    export: str | None = None  # none | trades | signals
    pairs: list[str] | None = None  # default: every spot pair with candles in datadir
    synthetic: bool = False  # generate the SYNTHETIC 5m set when the default datadir holds no candles


def run_offline(run: OfflineRun) -> int:
    """Start the sandbox, backtest, print freqtrade's report and the plugin's summary, stop the sandbox.

    Exit code 0, 2 for a refusal (no candles, freqtrade's own configuration and data errors), 130 on
    Ctrl-C."""
    from freqtrade.configuration.directory_operations import create_userdata_dir
    from freqtrade.exceptions import OperationalException

    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides
    from ts_plugin.tools.futures_candles import FUTURES_DEFAULTS, futures_configured, futures_pairs_in
    from ts_plugin.tools.sampledata import MARKER, ensure_sample_data

    userdir = Path(run.userdir or default_userdir()).resolve()
    datadir = Path(run.datadir or default_datadir(userdir)).resolve()
    try:
        create_userdata_dir(str(userdir), create_dir=True)
    except (OperationalException, OSError) as exc:
        print(f"cannot use {userdir} as the user data folder: {exc}", file=sys.stderr)
        return 2
    if run.synthetic and datadir == default_datadir(userdir) and ensure_sample_data(datadir):
        print(f"No candles found: generated a SYNTHETIC dataset in {datadir}")
    if (datadir / MARKER).exists():
        print(f"NOTE: {datadir} holds SYNTHETIC data (see {MARKER}), not market prices.")
    timeframe = run.timeframe or ("5m" if run.synthetic else None)
    futures = futures_configured(run.configs, run.base_config)
    candles_in = futures_pairs_in if futures else pairs_in
    found = candles_in(datadir, timeframe) if datadir.is_dir() else {}
    if not found:
        what = f"{timeframe} feather candles" if timeframe else "feather candles (BASE_QUOTE-TIMEFRAME.feather)"
        if futures:
            what = (f"{timeframe or 'TIMEFRAME'} futures candles (futures/BASE_QUOTE_SETTLE-"
                    f"{timeframe or 'TIMEFRAME'}-futures.feather, trading_mode futures)")
        print(f"No {what} in {datadir}", file=sys.stderr)
        return 2
    if run.pairs:
        missing = [pair for pair in run.pairs if pair not in found]
        if missing:
            print(f"no candles in {datadir} for {', '.join(missing)} (found: {', '.join(found)})",
                  file=sys.stderr)
            return 2
        found = {pair: found[pair] for pair in run.pairs}
    quotes = sorted({pair.split("/")[1].split(":")[0] for pair in found})
    if len(quotes) > 1 and "stake_currency" not in _given_settings(run):
        print(f"the candles in {datadir} are quoted in {', '.join(quotes)}; a backtest stakes one currency: "
              f"choose pairs of one quote with --pairs (such as --pairs {_one_pair_each(found)}) or set "
              "stake_currency in a --config file", file=sys.stderr)
        return 2
    # the demo config stakes USDT: other candles are staked in their quote; your own configs win
    extra, defaults = (stake_for(found), None) if run.base_config == DEFAULT_CONFIG else ({}, backtest_stake(found))
    if futures:
        defaults = {**FUTURES_DEFAULTS, **(defaults or {})}
    sandbox = SandboxExchange(found)
    try:
        sandbox.start()
        config = build_backtest_config(
            run.base_config, datadir, ccxt_overrides(sandbox.url), strategy=run.strategy,
            strategy_path=run.strategy_path, pairs=list(found), timerange=run.timerange,
            user_data_dir=userdir, extra=extra, user_configs=run.configs, defaults=defaults, timeframe=run.timeframe,
            timeframe_detail=run.timeframe_detail, export=run.export)
        results, strategy = run_backtest(config)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OperationalException as exc:  # freqtrade's own configuration and data errors
        print(f"backtest refused: {exc}", file=sys.stderr)
        return 2
    finally:
        sandbox.stop()
    if not hasattr(strategy, "trailing_summary"):
        print(f"NOTE: {run.strategy} does not use SmartTrailingMixin: no smart trailing summary.")
        return 0
    summary = strategy.trailing_summary()
    print(format_summary(summary, exits_by_reason(results)))
    return 0


def _given_settings(run: OfflineRun) -> dict[str, Any]:
    """The user's ``--config`` files merged (freqtrade's merge), as written: what they say of the stake
    before freqtrade processes them (the trading mode: ``futures_configured``)."""
    from freqtrade.configuration.load_config import load_from_files

    files = [str(path) for path in run.configs]
    return load_from_files(files) if files else {}


def _one_pair_each(pairs: dict[str, float]) -> str:
    """The first pair of each quote currency, for the advice (``UNITTEST/BTC or XRP/ETH``)."""
    first: dict[str, str] = {}
    for pair in pairs:
        first.setdefault(pair.split("/")[1].split(":")[0], pair)
    return " or ".join(first.values())


def wallet_for(quote: str) -> float:
    """A backtest wallet in ``quote`` that trades: 1 BTC, 1,000 of anything else. The sandbox's markets
    ask at least 0.0001 BTC or 5 of any other quote per order, so a wallet of 1 ETH split in slots could
    never place an order (the backtest would run with no trade and no word why)."""
    return 1.0 if quote == "BTC" else 1000.0


def backtest_stake(pairs: dict[str, float]) -> dict[str, Any]:
    """Stake defaults for your own strategy (used only where your --config files set none): the
    quote currency of the candles, one equal slot per pair."""
    quotes = {pair.split("/")[1].split(":")[0] for pair in pairs}
    stake = {"max_open_trades": len(pairs), "stake_amount": "unlimited"}
    if len(quotes) == 1:
        quote = quotes.pop()
        stake.update(stake_currency=quote, dry_run_wallet=wallet_for(quote))
    return stake
