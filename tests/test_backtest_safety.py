"""Issue 6 through freqtrade's real backtesting engine: wiring mistakes change nothing, config.json
conflicts refuse to start, adjustments and partial exits keep the breakeven rule, crossed stops exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from freqtrade.exceptions import OperationalException

from ts_plugin.strategy.mixin import CROSSED_EXIT_REASON
from ts_plugin.tools.demo import DEFAULT_CONFIG, build_backtest_config, pairs_in, run_backtest

pytestmark = pytest.mark.slow

STRATEGIES = Path(__file__).parent / "backtest_strategies"
OFFSET = 0.002
KEYS = ("pair", "open_date", "close_date", "open_rate", "close_rate", "exit_reason", "amount")


def backtest(datadir, overrides, tmp_path, strategy, extra=None):
    config = build_backtest_config(DEFAULT_CONFIG, datadir, overrides, strategy=strategy,
                                   strategy_path=STRATEGIES, pairs=list(pairs_in(datadir)),
                                   user_data_dir=tmp_path, extra=extra)
    config.pop("smart_trailing", None)  # each strategy's own settings, not the demo config's
    results, instance = run_backtest(config)
    (result,) = results["strategy"].values()
    return result["trades"], instance


@pytest.fixture(scope="module")
def plain(synthetic_datadir, exchange_overrides, tmp_path_factory):
    return backtest(synthetic_datadir, exchange_overrides, tmp_path_factory.mktemp("plain"), "SafetyPlain")


def test_callbacks_overridden_without_super_trade_exactly_like_the_plain_strategy(
        plain, synthetic_datadir, exchange_overrides, tmp_path):
    trades, strategy = backtest(synthetic_datadir, exchange_overrides, tmp_path, "SafetyNoSuper")
    plain_trades, plain_strategy = plain
    assert [{k: t[k] for k in KEYS} for t in trades] == [{k: t[k] for k in KEYS} for t in plain_trades]
    assert strategy.trailing_summary() == plain_strategy.trailing_summary()
    assert strategy.started and strategy.trailing_summary()["rebuilt"] == 0


def test_a_stop_already_through_the_price_exits_at_no_better_than_the_market(
        synthetic_datadir, exchange_overrides, tmp_path):
    """Priced at the open of the candle where the rules put the stop through the price (freqtrade
    evaluated that stop at the candle's high, so the open is no better than what the market offered)."""
    import pandas as pd

    trades, strategy = backtest(synthetic_datadir, exchange_overrides, tmp_path, "SafetyTimed")
    crossed = [t for t in trades if t["exit_reason"] == CROSSED_EXIT_REASON]
    assert len(crossed) >= 10, "time activation after a fall-back crosses stops on this data"
    assert strategy._ts_exit_signals_forced and not strategy.use_exit_signal  # closed at the end
    assert not [t for t in trades if t["exit_reason"] == "exit_signal"]  # the strategy's own stay off
    for trade in crossed:
        candles = pd.read_feather(synthetic_datadir / f"{trade['pair'].replace('/', '_')}-5m.feather")
        candle = candles[candles["date"] == pd.Timestamp(trade["close_date"])].iloc[0]
        assert trade["close_rate"] == pytest.approx(candle["open"])
    summary = strategy.trailing_summary()
    assert summary["tick_errors"] == 0 and summary["exits_by_reason"][CROSSED_EXIT_REASON] == len(crossed)


@pytest.mark.parametrize("setting, value, words", [
    ("trailing_stop", True, "trailing_stop = true"),
    ("use_custom_stoploss", False, "use_custom_stoploss = true"),
])
def test_conflicting_settings_in_config_json_refuse_to_start(
        synthetic_datadir, exchange_overrides, tmp_path, setting, value, words):
    with pytest.raises(OperationalException, match=words):
        backtest(synthetic_datadir, exchange_overrides, tmp_path, "SafetyPlain", extra={setting: value})


def _breakeven_floor_breaches(trades):
    """Stop exits of trades that reached breakeven priced below the floor of their final average entry
    (other than through a gap, where freqtrade prices the exit at the candle's open)."""
    return [t for t in trades
            if t["exit_reason"] == "trailing_stop_loss"
            and t["close_rate"] < t["open_rate"] * (1 + OFFSET) * (1 - 1e-9)
            and t["close_rate"] != t.get("_open_of_exit_candle")]


def test_pyramiding_keeps_the_breakeven_floor_of_the_average_entry(synthetic_datadir, exchange_overrides, tmp_path):
    trades, strategy = backtest(synthetic_datadir, exchange_overrides, tmp_path, "SafetyPyramid")
    adjusted = [t for t in trades if len([o for o in t["orders"] if o["ft_is_entry"]]) > 1]
    assert len(adjusted) >= 5
    assert _breakeven_floor_breaches(adjusted) == []
    assert strategy.trailing_summary()["rebuilt"] == 0 and strategy.trailing_summary()["tick_errors"] == 0


def test_a_partial_exit_while_active_keeps_trailing_the_rest(synthetic_datadir, exchange_overrides, tmp_path):
    trades, strategy = backtest(synthetic_datadir, exchange_overrides, tmp_path, "SafetyPartialExit")
    partial = [t for t in trades if len([o for o in t["orders"] if not o["ft_is_entry"]]) > 1]
    assert len(partial) >= 3
    assert all(t["exit_reason"] in ("trailing_stop_loss", CROSSED_EXIT_REASON, "force_exit") for t in partial)
    assert _breakeven_floor_breaches(partial) == []
    summary = strategy.trailing_summary()
    assert summary["rebuilt"] == 0 and summary["tick_errors"] == 0
