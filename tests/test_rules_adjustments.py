"""Position adjustments, through freqtrade's real Trade rows (issue 15, item 4).

After an adjustment every threshold is measured from freqtrade's current average entry (``open_rate``,
what ``current_profit`` uses too): the activation price, ``time_activation.min_profit``,
``breakeven.trigger_profit`` and the steps' peak profit. The fill itself (order_filled) only moves the
entry (and, before trailing, restarts the peak at the fill price); every rule then acts on freqtrade's
after-fill call, the tick it runs right after each entry fill, so a raised breakeven floor is in
freqtrade's stop before the next candle or iteration.
"""

import pytest
from freqtrade.persistence import Trade

from tests.freqtrade_helpers import make_strategy, tick
from tests.test_safety_paths import Fill, add_entry_order, after_fill, started
from ts_plugin.strategy.store import CUSTOM_DATA_KEY

BREAKEVEN = {"breakeven": {"trigger_profit": 0.008, "offset": 0.002}}
TIMED = {"activation_profit": 0.03, "time_activation": {"after_minutes": 60, "min_profit": 0.004}}
STEPS = {"activation_profit": 0.015, "trail_distance": 0.01, "steps": [{"profit": 0.03, "trail_distance": 0.004}]}


def adjust(strategy, trade, price, amount, minutes):
    """An entry adjustment filled: freqtrade's new average entry, order_filled, then its after-fill tick."""
    add_entry_order(trade, price, amount)
    total = trade.amount + amount
    trade.open_rate = (trade.open_rate * trade.amount + price * amount) / total
    trade.amount = total
    Trade.commit()
    strategy.order_filled(pair=trade.pair, trade=trade, order=Fill(trade.entry_side, amount, price),
                          current_time=trade.open_date_utc)
    return trade.get_custom_data(CUSTOM_DATA_KEY)


def test_activation_is_measured_from_the_average_entry(db):
    strategy = make_strategy()
    trade = started(strategy)  # 50000: activates at 50750
    tick(strategy, trade, 49000, 10)
    adjust(strategy, trade, 48000, 0.01, 15)  # average 49000: activates at 49735
    after_fill(strategy, trade, 48000, 15)
    tick(strategy, trade, 49800, 20)
    state = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert state["phase"] == "ACTIVE" and trade.stop_loss == pytest.approx(49800 * 0.995)


def test_time_activations_min_profit_is_measured_from_the_average_entry(db):
    strategy = make_strategy(**TIMED)
    trade = started(strategy)
    adjust(strategy, trade, 48000, 0.01, 15)  # average 49000: min_profit 0.4 % is 49196
    after_fill(strategy, trade, 48000, 15)
    tick(strategy, trade, 49150, 70)  # 0.3 % above the average (but 1.7 % below the first entry)
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["phase"] == "WAITING"
    tick(strategy, trade, 49250, 75)  # 0.5 %
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["phase"] == "ACTIVE"


def test_the_breakeven_trigger_is_measured_from_the_average_entry(db):
    strategy = make_strategy(**BREAKEVEN)
    trade = started(strategy)
    adjust(strategy, trade, 48000, 0.01, 15)  # average 49000: trigger 0.8 % is 49392
    after_fill(strategy, trade, 48000, 15)
    tick(strategy, trade, 49400, 20)
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["phase"] == "BREAKEVEN"
    assert trade.stop_loss == pytest.approx(49000 * 1.002)


def test_the_steps_peak_profit_is_measured_from_the_average_entry(db):
    strategy = make_strategy(**STEPS)
    trade = started(strategy)
    adjust(strategy, trade, 48000, 0.01, 15)  # average 49000: the 3 % step from a peak of 50470
    after_fill(strategy, trade, 48000, 15)
    tick(strategy, trade, 50500, 20)  # 3.06 % above the average, 1 % above the first entry
    assert trade.stop_loss == pytest.approx(50500 * 0.996)


def test_a_raised_breakeven_floor_is_in_freqtrades_stop_after_the_fills_own_tick(db):
    strategy = make_strategy(**BREAKEVEN)
    trade = started(strategy)
    tick(strategy, trade, 50500, 10)  # breakeven reached: floor 50100
    assert trade.stop_loss == pytest.approx(50100)
    state = adjust(strategy, trade, 51000, 0.01, 15)  # average 50500: floor 50601
    assert state["entry"] == 50500 and state["stop"] == pytest.approx(50100)  # the fill moves the entry only
    after_fill(strategy, trade, 51000, 15)  # freqtrade's after-fill call, right after the fill
    assert trade.stop_loss == pytest.approx(50500 * 1.002)
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["stop"] == pytest.approx(50500 * 1.002)


def test_breakeven_once_reached_stays_reached_and_its_floor_follows_the_average_entry(db):
    strategy = make_strategy(**BREAKEVEN)
    trade = started(strategy)
    tick(strategy, trade, 50500, 10)  # reached from 50000: floor 50100
    adjust(strategy, trade, 50600, 0.01, 15)  # average 50300: its own trigger (50702.4) is not reached
    after_fill(strategy, trade, 50600, 15)
    assert trade.stop_loss == pytest.approx(50300 * 1.002)


def test_an_adjustment_does_not_restart_the_time_activation_clock(db):
    strategy = make_strategy(**TIMED)
    trade = started(strategy)
    adjust(strategy, trade, 48000, 0.01, 50)
    after_fill(strategy, trade, 48000, 50)
    tick(strategy, trade, 49250, 61)  # 61 minutes after the first entry, 11 after the adjustment
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["phase"] == "ACTIVE"


def test_an_adjustment_never_ends_trailing(db):
    strategy = make_strategy()
    trade = started(strategy)
    tick(strategy, trade, 52000, 10)  # ACTIVE: stop 51740
    state = adjust(strategy, trade, 51500, 0.01, 15)  # average 50750: peak and stop are kept
    after_fill(strategy, trade, 51500, 15)
    state = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert (state["phase"], state["peak"]) == ("ACTIVE", 52000) and trade.stop_loss == pytest.approx(51740)
