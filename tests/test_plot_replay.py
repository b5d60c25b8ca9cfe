"""Replaying backtest stop paths from the candles: the replay's rules on hand-made candles, and on real
freqtrade backtests (synthetic 5m with 1m detail and loaded hyperopt values, real Binance months) every
trade ends exactly where freqtrade's backtest ended it: same candle, same reason, same price, same stop."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter

import pytest

from tests.conftest import ROOT
from ts_plugin.core.config import parse_config
from ts_plugin.tools.demo import DEFAULT_CONFIG, build_backtest_config, pairs_in, run_backtest
from ts_plugin.tools.plot.replay import (CROSSED_EXIT_REASON, STOP_EXIT_REASONS, BacktestTrade, Candle, ReplayedExit,
                                   Rounding, replay, with_detail)

CONFIG = parse_config({"activation_profit": 0.015, "trail_distance": 0.005,
                       "breakeven": {"trigger_profit": 0.008, "offset": 0.002}})


def _long(candles, close_time=None, **config):
    trade = BacktestTrade(is_short=False, open_rate=100.0, open_time=0.0,
                          close_time=close_time if close_time is not None else candles[-1].time, initial_stop=95.0)
    return replay(trade, candles, parse_config({"activation_profit": 0.015, "trail_distance": 0.005, **config})
                  if config else CONFIG)


def test_the_stop_rises_and_the_trade_exits_on_it():
    candles = [Candle(0, 100.0, 100.5, 99.8, 100.2), Candle(300, 100.2, 101.0, 100.3, 100.9),
               Candle(600, 100.9, 102.0, 101.6, 101.9), Candle(900, 101.9, 103.0, 102.6, 102.8),
               Candle(1200, 102.8, 102.9, 102.0, 102.1), Candle(1500, 102.1, 104.0, 102.0, 103.0)]
    run = _long(candles)
    assert run.exit == ReplayedExit(1200, "trailing_stop_loss", pytest.approx(103.0 * 0.995))
    assert run.stops[0].stop == 95.0 and run.stops[0].phase == "WAITING"  # the initial hard stop
    assert [p.phase for p in run.stops][1:3] == ["BREAKEVEN", "ACTIVE"]
    assert run.stops[1].stop == pytest.approx(100.2) and run.stops[1].time == 300  # breakeven floor
    stops = [p.stop for p in run.stops]
    assert stops == sorted(stops) and run.stop == stops[-1]
    assert run.state.activated_at == 600 and run.state.breakeven_at == 300
    assert run.stops[-1].time <= 1200  # nothing after the exit


def test_no_tick_while_the_held_stop_is_through_the_candle():
    """freqtrade calls custom_stoploss only while its stop is below the candle's low: a candle that
    reaches the hard stop exits on it, whatever its high."""
    candles = [Candle(0, 100.0, 100.2, 99.9, 100.0), Candle(300, 100.0, 110.0, 94.0, 96.0)]
    run = _long(candles)
    assert run.exit == ReplayedExit(300, "stop_loss", 95.0)
    assert run.state.phase.value == "WAITING" and len(run.stops) == 1


def test_a_candle_opening_through_the_stop_exits_at_its_open():
    candles = [Candle(0, 100.0, 100.3, 99.9, 100.2), Candle(300, 101.7, 102.0, 101.6, 101.9),
               Candle(600, 99.0, 99.5, 98.0, 98.5)]
    run = _long(candles)
    assert run.exit.reason == "trailing_stop_loss" and run.exit.price == 99.0  # gap below the stop


def test_entry_candle_trailing_exit_is_priced_as_freqtrade_does():
    """A trailing exit within the entry's own minute: freqtrade's pessimistic open x (1 - distance)."""
    candles = [Candle(0, 100.0, 102.0, 99.0, 101.0)]
    run = _long(candles)
    distance = 1 - run.stop / 102.0
    assert run.exit.reason == "trailing_stop_loss" and run.exit.time == 0
    assert run.exit.price == pytest.approx(max(99.0, 100.0 * (1 - distance)))


def test_a_time_activation_behind_the_price_exits_at_the_next_open():
    """Activated by time with the trailing level already above the price: the plugin's custom_exit
    closes the trade at the candle's open, the stop is never handed to freqtrade."""
    candles = [Candle(0, 100.0, 100.2, 99.9, 100.1), Candle(300, 100.1, 101.4, 100.8, 101.0),
               Candle(600, 100.6, 100.7, 100.5, 100.6)]
    run = _long(candles, time_activation={"after_minutes": 10, "min_profit": 0.006})
    assert run.exit == ReplayedExit(600, CROSSED_EXIT_REASON, 100.6)
    assert run.state.crossed_at == 600 and run.stop == 95.0


def test_a_short_mirrors_every_rule():
    candles = [Candle(0, 100.0, 100.1, 99.5, 99.8), Candle(300, 98.3, 98.4, 98.0, 98.2),
               Candle(600, 98.2, 98.3, 97.0, 98.1)]
    trade = BacktestTrade(is_short=True, open_rate=100.0, open_time=0.0, close_time=600.0, initial_stop=105.0)
    run = replay(trade, candles, CONFIG)
    stops = [p.stop for p in run.stops]
    assert stops == sorted(stops, reverse=True)  # a short's stop only comes down
    assert run.exit == ReplayedExit(600, "trailing_stop_loss", pytest.approx(97.0 * 1.005))


def test_freqtrade_rounding_of_the_held_stop():
    up = Rounding(stop=lambda price: math.ceil(price * 100 - 1e-9) / 100, price=lambda price: round(price, 2))
    candles = [Candle(0, 100.0, 100.2, 99.9, 100.1), Candle(300, 101.8, 102.003, 101.7, 102.0),
               Candle(600, 102.0, 102.0, 101.4, 101.5)]
    trade = BacktestTrade(is_short=False, open_rate=100.0, open_time=0.0, close_time=600.0, initial_stop=95.0)
    run = replay(trade, candles, CONFIG, rounding=up)
    assert run.stop == math.ceil(102.003 * 0.995 * 100) / 100  # away from the price, on the grid
    assert run.exit.price == run.stop


def test_detail_candles_replace_their_main_candle():
    main = [Candle(0, 1, 1, 1, 1), Candle(300, 2, 2, 2, 2), Candle(600, 3, 3, 3, 3)]
    detail = [Candle(t, 9, 9, 9, 9) for t in (0, 60, 120, 240, 600, 660)]
    walked = with_detail(main, detail, 300)
    assert [c.time for c in walked] == [0, 60, 120, 240, 300, 600, 660]
    assert walked[4].open == 2  # no detail inside: the main candle itself


# ----- against freqtrade's backtesting --------------------------------------------------------------


def _exported(datadir, overrides, tmp_path, **kwargs):
    from ts_plugin.tools.plot.sources import open_backtest

    config = build_backtest_config(DEFAULT_CONFIG, datadir, overrides, pairs=list(pairs_in(datadir)),
                                   user_data_dir=tmp_path, export="trades", **kwargs)
    run_backtest(config)
    return open_backtest(tmp_path / "backtest_results", datadir)


def assert_replays_match(source) -> Counter:
    """Every trade: the stop held at the end equals freqtrade's ``stop_loss_abs``; a stop or crossing
    exit happens on the backtest's exit candle at its price and reason; no other trade meets its stop
    before its exit. The stop never loosens. Returns the exit reasons seen."""
    from ts_plugin.tools.plot.sources import replay_backtest

    reasons: Counter = Counter()
    phases: Counter = Counter()
    for pair, (_, items) in replay_backtest(source).items():
        for item in items:
            record, run = item.record, item.replay
            where = f"{pair} trade opened {record['open_date']} ({record['exit_reason']})"
            assert run is not None, where
            assert run.stop == record["stop_loss_abs"], where
            closed = record["close_timestamp"] / 1000
            if record["exit_reason"] in STOP_EXIT_REASONS | {CROSSED_EXIT_REASON}:
                assert run.exit == ReplayedExit(closed, record["exit_reason"], record["close_rate"]), where
            else:
                assert run.exit is None, where
            stops = [point.stop for point in run.stops]
            assert stops == sorted(stops, reverse=bool(record["is_short"])), where
            assert run.stops[-1].time <= closed
            reasons[record["exit_reason"]] += 1
            phases[run.state.phase.value] += 1
    assert phases["ACTIVE"] and phases["BREAKEVEN"]
    return reasons


@pytest.fixture(scope="module")
def detail_datadir(tmp_path_factory):
    from ts_plugin.tools.sampledata import generate

    datadir = tmp_path_factory.mktemp("plot-detail") / "binance"
    pairs = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0}
    generate(datadir, pairs=pairs, days=12, seed=11)
    generate(datadir, pairs=pairs, days=12, seed=11, timeframe="1m")
    return datadir


@pytest.mark.slow
def test_replay_matches_a_backtest_with_detail_candles_and_loaded_parameters(
        detail_datadir, exchange_overrides, tmp_path):
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    shutil.copy(ROOT / "ts_plugin/data/strategies/smart_trailing_sample.py", strategies)
    (strategies / "smart_trailing_sample.json").write_text(json.dumps({
        "strategy_name": "SmartTrailingSample", "params": {"smart_trailing": {"ts_trail_distance": 0.009}}}))
    config = build_backtest_config(DEFAULT_CONFIG, detail_datadir, exchange_overrides, strategy_path=strategies,
                                   pairs=list(pairs_in(detail_datadir)), user_data_dir=tmp_path,
                                   export="trades", timeframe_detail="1m")
    run_backtest(config)
    from ts_plugin.tools.plot.sources import open_backtest

    source = open_backtest(tmp_path / "backtest_results", detail_datadir)
    assert source.timeframe_detail == "1m"
    assert source.trailing_config().trail_distance == 0.009  # the parameters stored with the result
    assert source.trailing_config().momentum is not None  # the demo config's momentum replayed too
    reasons = assert_replays_match(source)
    assert reasons["trailing_stop_loss"] > 10 and reasons["stop_loss"] > 0


@pytest.mark.slow
def test_replay_matches_a_backtest_on_real_binance_candles(shared_datadir, exchange_overrides, tmp_path):
    source = _exported(shared_datadir, exchange_overrides, tmp_path, timerange="20180115-",
                       extra={"stake_currency": "BTC", "stake_amount": 0.01, "dry_run_wallet": 1.0})
    reasons = assert_replays_match(source)
    assert reasons["trailing_stop_loss"] > 10 and reasons["stop_loss"] > 0
