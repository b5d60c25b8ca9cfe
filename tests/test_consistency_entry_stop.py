"""The consistency check judges a moved stop by trailing alone, through freqtrade's real Trade rows.

freqtrade sets ``is_stop_loss_trailing`` and moves its stop without any trailing when an entry fills
away from its quote or a position adjustment moves the average entry (it re-sets the hard stop from
the new ``open_rate``). A stored state without a stop of its own is consistent with such a trade; a
state without freqtrade's trailed stop, or with a looser one, is still a contradiction.
"""

import dataclasses
import math

import pytest
from freqtrade.persistence import Trade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.freqtrade_helpers import OPENED, add_trade, book_fill, strategy_config
from ts_plugin.core import machine
from ts_plugin.core.config import parse_config
from ts_plugin.core.consistency import contradiction
from ts_plugin.core.entry_stop import Fill, average_entries, hard_stop, untrailed_stop
from ts_plugin.strategy.trade_facts import moved_stop, trade_facts

CONFIG = parse_config({"activation_profit": 0.015, "trail_distance": 0.005})

ratios = st.floats(min_value=0.97, max_value=1.03)
# An entry fill (its price and amount against the quote's), or a partial exit of the position.
moves = st.lists(st.tuples(st.booleans(), ratios, st.floats(min_value=0.1, max_value=2.0)), max_size=4)


def trade_with_fills(quote, first, moves, is_short, leverage, stoploss, digits):
    """A trade asked at ``quote``, its first entry filled at ``quote * first``, then ``moves``: each
    booked through freqtrade's own update_trade, with the pair's tick ``digits`` below the price."""
    trade = add_trade(quote, is_short=is_short, stoploss=-stoploss)
    trade.leverage = leverage
    trade.price_precision = 10.0 ** (math.floor(math.log10(quote)) - digits)
    trade.precision_mode_price = 4  # ccxt's TICK_SIZE
    trade.stop_loss, trade.initial_stop_loss_pct = 0.0, None
    trade.adjust_stop_loss(quote, -stoploss, initial=True)  # what freqtrade does at the entry's quote
    Trade.commit()
    book_fill(trade, trade.entry_side, quote, quote * first, trade.amount)
    for is_entry, ratio, size in moves:
        if is_entry:
            book_fill(trade, trade.entry_side, quote, quote * ratio, 0.01 * size)
        else:  # a partial exit: at most half of what is open
            book_fill(trade, trade.exit_side, quote, quote * ratio, trade.amount * min(size, 1.0) / 2)
    return trade


def waiting_state(trade):
    """The state the plugin holds for this trade before any stop of its own."""
    return machine.new_state(float(trade.open_rate), bool(trade.is_short), OPENED.timestamp(), CONFIG)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quote=st.floats(min_value=0.001, max_value=100000.0), first=ratios, moves=moves, is_short=st.booleans(),
       leverage=st.sampled_from([1.0, 2.0, 3.0, 10.0]), stoploss=st.floats(min_value=0.01, max_value=0.3),
       digits=st.integers(min_value=3, max_value=6))
def test_fills_and_adjustments_alone_are_no_moved_stop(db, quote, first, moves, is_short, leverage, stoploss,
                                                       digits):
    trade = trade_with_fills(quote, first, moves, is_short, leverage, stoploss, digits)
    assert moved_stop(trade) is None, (trade.stop_loss, trade.initial_stop_loss, trade.open_rate)
    assert contradiction(waiting_state(trade), trade_facts(trade)) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quote=st.floats(min_value=0.001, max_value=100000.0), first=ratios, moves=moves, is_short=st.booleans(),
       leverage=st.sampled_from([1.0, 2.0, 3.0, 10.0]), stoploss=st.floats(min_value=0.01, max_value=0.3),
       digits=st.integers(min_value=3, max_value=6))
def test_a_trailed_stop_after_fills_and_adjustments_is_still_judged(db, quote, first, moves, is_short, leverage,
                                                                    stoploss, digits):
    """Trailed (freqtrade's own adjust_stop_loss, 1 % from a price 5 % past every fill): a state
    without that stop, or one looser by more than a tick, is a contradiction; one with it is not."""
    trade = trade_with_fills(quote, first, moves, is_short, leverage, stoploss, digits)
    prices = [quote * first] + [quote * ratio for _, ratio, _ in moves] + [quote]
    best = min(prices) * 0.95 if is_short else max(prices) * 1.05
    trade.adjust_stop_loss(best, -0.01 * leverage)
    Trade.commit()
    held = trade.stop_loss
    assert moved_stop(trade) == held
    state = waiting_state(trade)
    assert "no stored stop" in contradiction(state, trade_facts(trade))
    gap = 2 * trade.price_precision + held * 1e-5  # beyond a tick and the float noise it allows
    looser = held + gap if is_short else held - gap
    assert "looser than the trade's stop" in contradiction(dataclasses.replace(state, stop=looser), trade_facts(trade))
    assert contradiction(dataclasses.replace(state, stop=held), trade_facts(trade)) is None


def test_the_soak_trade_filled_above_its_quote(db):
    """Bybit soak, trade 21: asked at 103.479, filled at 103.796, freqtrade's stop 98.607 flagged
    trailing; the old check read the flag and rebuilt the state with its stop dropped."""
    trade = trade_with_fills(103.479, 103.796 / 103.479, [], False, 1.0, 0.05, 5)
    assert trade.is_stop_loss_trailing and trade.stop_loss == pytest.approx(98.607)
    assert trade.initial_stop_loss == pytest.approx(98.306)
    assert moved_stop(trade) is None
    assert contradiction(waiting_state(trade), trade_facts(trade)) is None


def test_the_untrailed_stop_is_the_tightest_hard_stop_of_the_quote_and_every_average_entry():
    fills = [Fill(True, 100.0, 1.0), Fill(True, 110.0, 1.0), Fill(False, 120.0, 1.0), Fill(True, 90.0, 1.0)]
    assert average_entries(fills) == pytest.approx([100.0, 105.0, 97.5])
    level = untrailed_stop(is_short=False, leverage=1.0, stoploss=-0.1, initial_stop=89.0, open_rate=97.5,
                           fills=fills, price_step=0.01)
    assert level == pytest.approx(94.5)  # from the average 105 it had before the last buy
    short = untrailed_stop(is_short=True, leverage=2.0, stoploss=-0.1, initial_stop=106.0, open_rate=97.5,
                           fills=fills, price_step=0.01)
    assert short == pytest.approx(hard_stop(97.5, 0.1, 2.0, True, 0.01)) == pytest.approx(102.37)
    assert untrailed_stop(is_short=False, leverage=1.0, stoploss=None, initial_stop=None, open_rate=1.0) is None
