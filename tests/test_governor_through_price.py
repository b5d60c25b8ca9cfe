"""A bot stop at or through the price while the exchange stop is not: the trade exits now, quietly.

Live with stoploss on exchange freqtrade never exits on its own stop. When the price falls through the
bot's stop before the exchange stop follows, the exchange refuses the new stop (Binance -2021, Bybit
110092/110093) on every iteration: that must be one WARNING per trade and episode, not an ERROR with a
traceback each time, and the strategy must exit the trade with ``smart_trailing_stop_crossed``. Unit
seams: the stand-in Exchange of ``test_governor.py``; the strategy is the plugin's real mixin on
freqtrade's real Trade rows.
"""

import logging

import ccxt
import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import InvalidOrderException
from hypothesis import given
from hypothesis import strategies as st

from ts_plugin.core.events import EventLog
from ts_plugin.exchange.governor import StopGovernor
from ts_plugin.exchange.through_price import exit_due, is_would_trigger
from ts_plugin.strategy.mixin import CROSSED_EXIT_REASON
from tests.freqtrade_helpers import add_trade, make_strategy, open_database
from tests.test_governor import ORDER, SETTINGS, Clock, Ledger, StandInExchange


def wrapped_like_freqtrade(error: Exception) -> InvalidOrderException:
    """freqtrade's create_stoploss turns a ccxt InvalidOrder into its own exception, chained."""
    try:
        try:
            raise error
        except ccxt.InvalidOrder as exc:
            raise InvalidOrderException(f"Could not create stop_market sell order on market BTC/USDT. "
                                        f"Message: {exc}") from exc
    except InvalidOrderException as outer:
        return outer


BINANCE_2021 = ccxt.OrderImmediatelyFillable('binanceusdm {"code":-2021,"msg":"Order would immediately trigger."}')
BYBIT_110093 = ccxt.InvalidOrder('bybit {"retCode":110093,"retMsg":"expect Falling, but trigger_price[9800] '
                                 '>= current[9700]!!"}')


def rig(exchange_id="binanceusdm", rate=97.0):
    exchange = StandInExchange(exchange_id, blocks_assets=False, edit=exchange_id == "bybit")
    exchange.get_rate = lambda pair, refresh, side, is_short: rate
    ledger = Ledger()
    governor = StopGovernor(exchange, SETTINGS, ledger, EventLog(verbose=True), wall_clock=Clock(),
                            monotonic=Clock(), sleep=lambda s: None)
    governor.install()
    governor.reconciled = True
    told = []
    governor.on_through_price = told.append
    return exchange, ledger, governor, told


@pytest.mark.parametrize("error", [BINANCE_2021, BYBIT_110093])
def test_the_exchanges_would_trigger_refusals_are_recognised_through_freqtrades_wrapping(error):
    assert is_would_trigger(wrapped_like_freqtrade(error))
    assert not is_would_trigger(wrapped_like_freqtrade(ccxt.InvalidOrder('binanceusdm {"code":-4164}')))


def test_a_refused_make_before_break_is_one_warning_and_the_trade_is_told_to_exit(caplog):
    exchange, ledger, governor, told = rig(rate=98.5)  # the price above the bot's stop when asked
    exchange.create_answers = [wrapped_like_freqtrade(BINANCE_2021) for _ in range(5)]
    with caplog.at_level(logging.DEBUG, logger="ts_plugin"):
        for _ in range(5):  # refused on every iteration
            assert exchange.stoploss_adjust(98.05, ORDER, "sell") is False
    assert [c[0] for c in exchange.calls] == ["create"] * 5  # the old stop is never cancelled
    assert told == [ledger.trade] * 5
    assert governor.counters["stop_through_price_refused"] == 5
    assert governor.counters["stop_through_price_exits"] == 1 and governor.counters["hook_errors"] == 0
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert governor.events.counts["WARNING"] == 1


def test_bybit_a_refused_amend_is_not_retried_as_a_replacement():
    exchange, ledger, governor, told = rig("bybit", rate=98.5)

    def refuse(*args):
        raise BYBIT_110093

    exchange._api.edit_order = refuse
    assert exchange.stoploss_adjust(98.05, ORDER, "sell") is False
    assert exchange.calls == [] and told == [ledger.trade]
    assert governor.counters["amend_refused"] == 0 and governor.counters["stop_through_price_exits"] == 1


def test_a_gap_through_the_bots_stop_is_seen_before_any_move():
    exchange, ledger, governor, told = rig(rate=97.07)  # trade 20: stop 98.05, exchange stop 95.0
    exchange.create_answers = [wrapped_like_freqtrade(BINANCE_2021)]
    exchange.stoploss_adjust(98.05, ORDER, "sell")
    assert told and governor.counters["stop_through_price_seen"] == 1
    assert governor.counters["stop_through_price_exits"] == 1


def test_an_exchange_stop_that_went_off_is_left_to_close_the_trade():
    exchange, ledger, governor, told = rig(rate=94.0)  # through the exchange stop 95.0 too
    exchange.stoploss_adjust(98.05, ORDER, "sell")
    assert told == [] and governor.counters["stop_through_price_seen"] == 0


@given(st.floats(1e-6, 1e9), st.floats(0.5, 1.5), st.floats(0.5, 1.5), st.booleans())
def test_exit_due_only_between_the_two_stops(price, bot_ratio, exchange_ratio, is_short):
    bot, held = price * bot_ratio, price * exchange_ratio
    due = exit_due(bot, held, price, is_short)
    bot_through = bot >= price if not is_short else bot <= price
    held_safe = held < price if not is_short else held > price
    assert due == (bot_through and held_safe)


def test_the_strategy_exits_a_trade_the_governor_saw_through_the_price(tmp_path):
    open_database(tmp_path / "trades.sqlite")
    strategy = make_strategy(runmode=RunMode.DRY_RUN)
    trade = add_trade(entry=100.0)
    assert strategy.custom_exit(trade.pair, trade, None, 97.0, -0.03) is None
    strategy._ts_stop_through_price(trade)
    assert strategy.custom_exit(trade.pair, trade, None, 97.0, -0.03) == CROSSED_EXIT_REASON


class LiveGovernorStandIn:
    """The one question the strategy asks the governor in ``custom_exit``, answered by the real rule."""

    def __init__(self, dry_run=False):
        exchange, ledger, governor, told = rig()
        governor.dry_run = dry_run
        self.governor = governor

    def exit_due_now(self, trade, exchange_stop, rate):
        return self.governor.exit_due_now(trade, exchange_stop, rate)


@pytest.mark.parametrize("dry_run", [False, True])
def test_custom_exit_with_the_fresh_rate_exits_between_the_two_stops_live_only(tmp_path, dry_run):
    """freqtrade does not call custom_stoploss once the price is through its stop (its direction check),
    so custom_exit, with the rate freqtrade just refreshed, decides; in dry-run freqtrade's own stop
    check exits the trade and the plugin leaves it alone."""
    from dataclasses import replace

    open_database(tmp_path / "trades.sqlite")
    strategy = make_strategy(runmode=RunMode.DRY_RUN)
    trade = add_trade(entry=100.0)
    trade.stop_loss = 98.05
    strategy.custom_stoploss(trade.pair, trade, trade.open_date_utc, 100.0, 0.0, after_fill=False)
    key = strategy._ts_store.key(trade)
    strategy._ts_store.cache[key] = replace(strategy._ts_store.cache[key], exchange_stop=95.01)
    strategy._ts_governor = LiveGovernorStandIn(dry_run)
    assert strategy.custom_exit(trade.pair, trade, None, 98.5, 0.0) is None
    assert strategy.custom_exit(trade.pair, trade, None, 94.0, -0.06) is None  # the exchange stop went off
    expected = None if dry_run else CROSSED_EXIT_REASON
    assert strategy.custom_exit(trade.pair, trade, None, 97.07, -0.03) == expected
