"""The plugin in freqtrade's real backtesting on the shared real candles (``../shared/data``, see its
README): 1-minute detail candles against 5-minute candles alone, and Binance USD-M futures at leverage
3, long and short.

- Detail: freqtrade prices a trailing exit on the entry candle by a worst case (the summary counts the
  losing ones as entry-candle artefacts); with ``--timeframe-detail 1m`` the "entry candle" is one
  minute, so most of them go, and every trailing exit is priced within its 1-minute candle.
- Futures: trades of both directions, trailing exits, no stop handed to freqtrade ever loosens, and the
  trailing distance is measured on price whatever the leverage (README, configuration reference).

The figures are printed (``pytest -s``) and recorded in the README's backtesting caveats."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from tests.backtest_strategies.move_entries_trailing import BREAKEVEN_OFFSET, LEVERAGE_KEY, TRAIL_DISTANCE
from tests.conftest import ROOT
from ts_plugin.cli import main
from ts_plugin.sandbox.server import SandboxExchange, ccxt_overrides
from ts_plugin.tools.demo import BACKTEST_CONFIG, build_backtest_config, pairs_in, run_backtest
from ts_plugin.tools.futures_candles import FUTURES_DEFAULTS, futures_pairs_in

pytestmark = pytest.mark.slow

SHARED = ROOT.parent / "shared" / "data"
DETAIL = SHARED / "binance_detail"
FUTURES = SHARED / "binance_futures"
FUTURES_PAIR = "XRP/USDT:USDT"
FUTURES_RANGE = "20211118-20211121"  # trade candles, mark and funding all present (the data's README)
STRATEGIES = ROOT / "tests" / "backtest_strategies"
STRATEGY = "MoveEntriesTrailing"
# One run per stake currency (a backtest stakes one); stakes above the sandbox's minimum order.
DETAIL_RUNS = {"UNITTEST/BTC": {"stake_currency": "BTC", "stake_amount": 0.01, "dry_run_wallet": 1},
               "XRP/ETH": {"stake_currency": "ETH", "stake_amount": 10, "dry_run_wallet": 100}}


def _need(path: Path, what: str) -> None:
    if not path.exists():
        pytest.skip(f"{what} not present at {path} (the shared real data, see its README)")


@pytest.fixture(scope="module")
def overrides():
    prices = {}
    if DETAIL.is_dir():
        prices.update(pairs_in(DETAIL))
    if FUTURES.is_dir():
        prices.update(futures_pairs_in(FUTURES))
    if not prices:
        pytest.skip(f"real detail and futures candles not present under {SHARED} (see its README)")
    server = SandboxExchange(prices).start()
    yield ccxt_overrides(server.url)
    server.stop()


def _backtest(overrides, tmp_path: Path, datadir: Path, settings: dict, pairs: list[str], **options):
    """freqtrade's backtesting of the test strategy; ``settings`` go in as the user's config file."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    user = tmp_path / "config.json"
    user.write_text(json.dumps(settings))
    config = build_backtest_config(BACKTEST_CONFIG, datadir, overrides, strategy=STRATEGY, strategy_path=STRATEGIES,
                                   pairs=pairs, user_data_dir=tmp_path, timeframe="5m", user_configs=[user], **options)
    results, strategy = run_backtest(config)
    (result,) = results["strategy"].values()
    return result["trades"], strategy


def _artefacts(trades: list[dict]) -> int:
    """Losing trailing exits in the trade's first candle (freqtrade's trade duration 0), from freqtrade's
    own trade list: what the plugin's summary flags."""
    return sum(t["exit_reason"] == "trailing_stop_loss" and t["trade_duration"] == 0 and t["profit_ratio"] < 0
               for t in trades)


def test_detail_candles_remove_most_entry_candle_artefacts(overrides, tmp_path):
    _need(DETAIL / "UNITTEST_BTC-1m.feather", "real 1-minute candles")
    figures: dict[tuple[str, str | None], tuple[int, int, int]] = {}
    for pair, stake in DETAIL_RUNS.items():
        minute = pd.read_feather(DETAIL / f"{pair.replace('/', '_')}-1m.feather").set_index("date")
        for detail in (None, "1m"):
            trades, strategy = _backtest(overrides, tmp_path / f"{pair.replace('/', '_')}-{detail}", DETAIL, stake,
                                         [pair], timeframe_detail=detail)
            flagged = strategy.trailing_summary()["losing_trailing_exits_on_entry_candle"]
            assert flagged == _artefacts(trades)  # the summary counts what freqtrade did
            trailing = [t for t in trades if t["exit_reason"] == "trailing_stop_loss"]
            figures[pair, detail] = (len(trades), len(trailing), flagged)
            if detail:
                for trade in trailing:  # priced within the 1-minute candle it exited on
                    candle = minute.loc[trade["close_date"]]
                    assert candle["low"] <= trade["close_rate"] <= candle["high"], trade
    for (pair, detail), (count, trailing, flagged) in figures.items():
        print(f"\n{pair} 5m{' + detail 1m' if detail else ''}: {count} trades, {trailing} trailing exits, "
              f"{flagged} entry-candle artefacts")
    without = sum(figures[pair, None][2] for pair in DETAIL_RUNS)
    with_detail = sum(figures[pair, "1m"][2] for pair in DETAIL_RUNS)
    assert figures["UNITTEST/BTC", None][0] > 100 and figures["XRP/ETH", None][0] > 0
    assert without >= 20, figures  # enough to judge
    assert all(figures[pair, "1m"][2] <= figures[pair, None][2] for pair in DETAIL_RUNS), figures
    assert with_detail * 2 <= without, figures  # most of them vanish


def test_ts_plugin_backtest_with_detail_candles(tmp_path, capsys):
    _need(DETAIL / "XRP_ETH-1m.feather", "real 1-minute candles")
    common = ["backtest", "--strategy", STRATEGY, "--strategy-path", str(STRATEGIES), "--datadir", str(DETAIL),
              "--timeframe-detail", "1m", "--userdir", str(tmp_path / "user_data")]
    assert main(common) == 2  # two quote currencies: said, with the way out
    err = capsys.readouterr().err
    assert "quoted in BTC, ETH" in err and "--pairs UNITTEST/BTC or XRP/ETH" in err and "Traceback" not in err
    for pair in DETAIL_RUNS:
        assert main([*common, "--pairs", pair]) == 0
        out = capsys.readouterr().out
        (count,) = [int(line.split()[-1]) for line in out.splitlines() if line.startswith("trades (as freqtrade")]
        assert count > 0, out  # an ETH wallet that can place the sandbox's minimum order
        assert "exits the plugin did not see" not in out


def _futures(leverage: float) -> dict:
    return {"trading_mode": "futures", "margin_mode": "isolated", "stake_currency": "USDT", "stake_amount": 100,
            "dry_run_wallet": 10_000, "max_open_trades": 1, "entry_pricing": FUTURES_DEFAULTS["entry_pricing"],
            "exit_pricing": FUTURES_DEFAULTS["exit_pricing"], LEVERAGE_KEY: leverage}


def test_futures_long_and_short_at_leverage_3(overrides, tmp_path):
    _need(FUTURES / "futures", "real Binance futures candles")
    trades, strategy = _backtest(overrides, tmp_path, FUTURES, _futures(3.0), [FUTURES_PAIR],
                                 timerange=FUTURES_RANGE, export="trades")
    sides = Counter(("short" if t["is_short"] else "long", t["exit_reason"]) for t in trades)
    summary = strategy.trailing_summary()
    print(f"\nfutures {FUTURES_PAIR} x3 {FUTURES_RANGE}: {len(trades)} trades {dict(sides)}; "
          f"exits by phase {summary['exits_by_phase']}; {len(strategy.handed)} stops handed over; "
          f"{summary['losing_trailing_exits_on_entry_candle']} entry-candle artefacts")
    assert {t["leverage"] for t in trades} == {3.0}
    assert sides["long", "trailing_stop_loss"] and sides["short", "trailing_stop_loss"]
    assert summary["exits_by_phase"].get("trailing_stop", 0) > 0 and summary["tick_errors"] == 0

    by_trade: dict[int, list] = {}
    for handed in strategy.handed:
        by_trade.setdefault(handed.trade_id, []).append(handed)
    assert {handed.is_short for handed in strategy.handed} == {False, True}
    for stops in by_trade.values():
        for handed in stops:  # never looser than the stop freqtrade held (which it rounds to the tick)
            loosened = handed.stop - handed.held if handed.is_short else handed.held - handed.stop
            assert loosened <= handed.tick, handed
        levels = [handed.stop for handed in stops]
        assert levels == sorted(levels, reverse=stops[0].is_short), stops  # and never looser than the last
    active = [handed for handed in strategy.handed if handed.phase == "ACTIVE"]
    assert {handed.is_short for handed in active} == {False, True}
    for handed in active:  # the distance on price from the peak, not divided or multiplied by the leverage
        sign = 1 if handed.is_short else -1
        assert handed.stop == pytest.approx(handed.peak * (1 + sign * TRAIL_DISTANCE), rel=1e-9), handed
    # freqtrade's own record of the trades that trailed (a stop past the breakeven level): the ratio it
    # holds is the price distance times the leverage, as freqtrade counts a stop on a leveraged trade
    trailed = [t for t in trades if t["exit_reason"] == "trailing_stop_loss" and _past_breakeven(t)]
    assert trailed
    for trade in trailed:
        assert trade["stop_loss_ratio"] == pytest.approx(-TRAIL_DISTANCE * 3, rel=1e-6), trade

    from tests.test_plot_replay import assert_replays_match
    from ts_plugin.tools.plot.sources import open_backtest

    reasons = assert_replays_match(open_backtest(tmp_path / "backtest_results", FUTURES))  # plot replays futures
    assert reasons["trailing_stop_loss"] == sum(count for (_, reason), count in sides.items()
                                                if reason == "trailing_stop_loss")


def _past_breakeven(trade: dict) -> bool:
    """The trade's last stop lies beyond the breakeven level (so it trailed: the trailing level starts
    past entry x (1 + 0.015) x (1 - 0.005), well beyond the breakeven offset)."""
    beyond = 2 * BREAKEVEN_OFFSET
    if trade["is_short"]:
        return trade["stop_loss_abs"] < trade["open_rate"] * (1 - beyond)
    return trade["stop_loss_abs"] > trade["open_rate"] * (1 + beyond)


def test_ts_plugin_backtest_runs_futures_from_the_config(tmp_path, capsys):
    _need(FUTURES / "futures", "real Binance futures candles")
    user = tmp_path / "futures.json"
    user.write_text(json.dumps({"trading_mode": "futures", LEVERAGE_KEY: 3}))
    assert main(["backtest", "--strategy", STRATEGY, "--strategy-path", str(STRATEGIES), "--datadir", str(FUTURES),
                 "--config", str(user), "--timerange", FUTURES_RANGE, "--userdir", str(tmp_path / "user_data")]) == 0
    out = capsys.readouterr().out
    assert FUTURES_PAIR in out
    (count,) = [int(line.split()[-1]) for line in out.splitlines() if line.startswith("trades (as freqtrade")]
    (trailing,) = [int(line.split()[-1]) for line in out.splitlines() if line.strip().startswith("trailing stop (")]
    assert count > 10 and trailing > 0, out
