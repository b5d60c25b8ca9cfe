"""Rebuilds through freqtrade's real Trade rows (issue 15, items 2-4).

A trade with no trustworthy state is rebuilt from the trade on its next tick: with the momentum that
tick reads, with its phase from the best price alone, and, after a position adjustment, from the
last entry fill's price rather than freqtrade's best rate (which still holds the peak rule 1 restarts).
"""

import pytest
from freqtrade.persistence import Trade

from tests.freqtrade_helpers import OPENED, add_trade, make_strategy, tick
from tests.test_safety_paths import add_entry_order
from ts_plugin.core.indicators import MomentumSeries
from ts_plugin.strategy.mixin import CROSSED_EXIT_REASON
from ts_plugin.strategy.store import CUSTOM_DATA_KEY

MOMENTUM = {"momentum": {"atr_multiplier": 2.0, "min_distance": 0.002, "max_distance": 0.03}}
TIMED = {"activation_profit": 0.03, "breakeven": {"trigger_profit": 0.02, "offset": 0.002},
         "time_activation": {"after_minutes": 60, "min_profit": 0.004}}


def test_a_rebuilt_level_trails_with_the_momentum_of_its_tick(db):
    """ATR 1 % x 2 asks a 2 % distance; the base 0.5 % used to be held for good by never-loosen."""
    trade = add_trade(50000.0)
    trade.adjust_min_max_rates(55000, 49900)
    Trade.commit()
    strategy = make_strategy(**MOMENTUM)
    strategy._ts_momentum[trade.pair] = MomentumSeries([OPENED.timestamp()], [0.01], [0.0])
    tick(strategy, trade, 54500, 60)
    stored = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert stored["rebuilds"] == 1 and stored["phase"] == "ACTIVE"
    assert stored["stop"] == pytest.approx(55000 * 0.98) and trade.stop_loss == pytest.approx(55000 * 0.98)


def test_a_trade_trailing_by_time_is_rebuilt_waiting_not_breakeven(db):
    """Its stop 50100 is past the entry, its best 50500 reached neither 51000 (breakeven) nor 51500."""
    trade = add_trade(50000.0)
    trade.adjust_min_max_rates(50500, 49900)
    trade.adjust_stop_loss(50350, 0.005)  # what time trailing had set: 50098.25
    Trade.commit()
    held = trade.stop_loss
    strategy = make_strategy(**TIMED)
    tick(strategy, trade, 50150, 30)  # 0.3 %: not old enough, nor min_profit
    stored = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert stored["phase"] == "WAITING" and stored["breakeven_at"] is None
    assert stored["stop"] == pytest.approx(held) and trade.stop_loss == pytest.approx(held)
    tick(strategy, trade, 50250, 65)  # 0.5 % and 65 minutes old: time activates on this tick
    stored = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert stored["phase"] == "ACTIVE" and trade.stop_loss == pytest.approx(50500 * 0.995)


def test_a_rebuild_after_an_adjustment_does_not_activate_on_the_old_peak(db):
    """max_rate 50700 was seen against entry 50000 (activation 50750): after a buy at 49000 the
    average 49500 activates at 50242.5, which 50700 is past, but no price since the adjustment is."""
    trade = add_trade(50000.0)
    add_entry_order(trade, 50000.0, 0.01)
    add_entry_order(trade, 49000.0, 0.01)
    trade.open_rate, trade.amount = 49500.0, 0.02
    trade.adjust_min_max_rates(50700, 48900)
    Trade.commit()
    strategy = make_strategy()
    exits = tick(strategy, trade, 49200, 60)
    stored = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert stored["rebuilds"] == 1 and stored["phase"] == "WAITING" and stored["crossed_at"] is None
    assert not [e for e in exits if e.exit_reason == CROSSED_EXIT_REASON]
    tick(strategy, trade, 50300, 65)  # past 50242.5 since the adjustment: activates and trails
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["phase"] == "ACTIVE"
    assert trade.stop_loss == pytest.approx(50300 * 0.995)
