"""Issue 7.6: the backtest summary explains the result (what closed each trade, how trailing was
activated, entry-candle trailing losses) and counts trades like freqtrade's report."""

from collections import Counter

import pytest

from ts_plugin.strategy.mixin import CROSSED_EXIT_REASON
from ts_plugin.tools.demo import format_summary as demo_format_summary
from ts_plugin.strategy.summary import (
    BREAKEVEN_STOP, CROSSED_STOP, HARD_STOP, OTHER, STRATEGY_EXIT, TRAILING_STOP, exit_kind,
    format_summary, is_losing_entry_candle_trailing_exit,
)


@pytest.mark.parametrize("phase, reason, kind", [
    ("WAITING", "stop_loss", HARD_STOP),
    ("BREAKEVEN", "trailing_stop_loss", BREAKEVEN_STOP),
    ("ACTIVE", "trailing_stop_loss", TRAILING_STOP),
    ("ACTIVE", "stoploss_on_exchange", TRAILING_STOP),
    ("ACTIVE", CROSSED_EXIT_REASON, CROSSED_STOP),
    ("WAITING", "exit_signal", STRATEGY_EXIT),
    ("BREAKEVEN", "roi", STRATEGY_EXIT),
    ("WAITING", "my_custom_tag", STRATEGY_EXIT),
    ("ACTIVE", "force_exit", OTHER),
    ("WAITING", "liquidation", OTHER),
    ("WAITING", None, OTHER),
])
def test_what_closed_the_trade(phase, reason, kind):
    assert exit_kind(phase, reason, CROSSED_EXIT_REASON) == kind


def test_entry_candle_losses_are_losing_trailing_exits_in_the_first_minute():
    assert is_losing_entry_candle_trailing_exit("trailing_stop_loss", 1000.0, 1000.0, -0.001)
    assert not is_losing_entry_candle_trailing_exit("trailing_stop_loss", 1000.0, 1300.0, -0.001)
    assert not is_losing_entry_candle_trailing_exit("trailing_stop_loss", 1000.0, 1000.0, 0.002)
    assert not is_losing_entry_candle_trailing_exit("stop_loss", 1000.0, 1000.0, -0.04)


SUMMARY = {
    "breakeven": 6, "activated": 4, "activated_by": {"price": 3, "time": 1}, "stop_raises": 9,
    "exits_by_phase": {HARD_STOP: 2, BREAKEVEN_STOP: 3, TRAILING_STOP: 4, OTHER: 1},
    "losing_trailing_exits_on_entry_candle": 2, "rebuilt": 0, "tick_errors": 0,
}
EXITS = Counter({"trailing_stop_loss": 7, "stop_loss": 2, "force_exit": 1})


def _rows(text):
    return {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1]
            for line in text.splitlines() if line[-1:].isdigit() and "  " in line}


def test_the_table_splits_exits_by_phase_and_activations_by_cause():
    text = format_summary(SUMMARY, EXITS)
    rows = _rows(text)
    assert rows["trades (as freqtrade's report)"] == "10"
    assert (rows["by price"], rows["by time"]) == ("3", "1")
    assert rows["hard stop (still WAITING)"] == "2" and rows["breakeven stop (BREAKEVEN)"] == "3"
    assert rows["trailing stop (ACTIVE)"] == "4" and rows["stop already through the price"] == "0"
    assert rows["other (force exit, emergency, liquidation)"] == "1"
    assert "did not see" not in text  # 2 + 3 + 4 + 1 = 10 = freqtrade's count
    assert "2 of 7 trailing exits lost money on their entry candle" in " ".join(text.split())
    assert "--timeframe-detail 1m" in text
    assert demo_format_summary(SUMMARY, EXITS) == text  # the demo prints this very table


def test_a_count_that_differs_from_freqtrade_is_shown():
    text = format_summary(SUMMARY, EXITS + Counter({"roi": 1}))
    assert _rows(text)["exits the plugin did not see (should be 0)"] == "1"


def test_with_timeframe_detail_the_advice_changes():
    text = " ".join(format_summary({**SUMMARY, "timeframe_detail": "1m"}, EXITS).split())
    assert "this run used --timeframe-detail 1m" in text
    assert "entry candle" not in format_summary({**SUMMARY, "losing_trailing_exits_on_entry_candle": 0}, EXITS)
