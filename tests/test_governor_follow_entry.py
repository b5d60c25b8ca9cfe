"""An entry adjustment's fill moves the exchange stop to the new amount at once, new stop first.

freqtrade cancels the trade's stop right after an entry fill and creates one for the new amount later
in the iteration: the whole position is naked in between, and since the fill the old stop covered only
the old amount. On venues where stops lock nothing the governor places the new stop before the old
one is cancelled (``follow_entry``) and freqtrade's cancel that follows keeps it. Unit seam: the
stand-in Exchange of ``test_governor.py`` with freqtrade's real ``Order`` records.
"""

from freqtrade.persistence import Order

from ts_plugin.core.events import EventLog
from ts_plugin.exchange.governor import StopGovernor
from tests.test_governor import ORDER, SETTINGS, Clock, Ledger, StandInExchange


class AdjustedTrade:
    """A long whose DCA entry filled: amount ``amount``, its stop still for ``held``."""

    def __init__(self, amount=2.0, held=1.0, stop=96.0, old_stop=95.0):
        self.id, self.pair, self.amount, self.leverage = 1, "BTC/USDT", amount, 1.0
        self.is_short, self.exit_side, self.stoploss_or_liquidation = False, "sell", stop
        self.is_open = True
        old = Order.parse_from_ccxt_object({**ORDER, "status": "open", "amount": held}, self.pair,
                                           "stoploss", held, old_stop)
        self.orders = [old]

    @property
    def open_sl_orders(self):
        return [o for o in self.orders if o.ft_order_side == "stoploss" and o.ft_is_open]

    def select_order_by_order_id(self, order_id):
        return next((o for o in self.orders if o.order_id == order_id), None)


def governed(exchange_id="binanceusdm", **trade):
    exchange = StandInExchange(exchange_id, blocks_assets=False, edit=exchange_id == "bybit")
    ledger = Ledger()
    ledger.trade = AdjustedTrade(**trade)
    governor = StopGovernor(exchange, SETTINGS, ledger, EventLog(verbose=True), wall_clock=Clock(),
                            monotonic=Clock(), sleep=lambda s: None)
    governor.install()
    governor.reconciled = True
    return exchange, ledger.trade, governor


def test_the_new_amount_is_covered_before_the_old_stop_goes_and_freqtrades_cancel_keeps_it():
    exchange, trade, governor = governed()
    governor.follow_entry(trade)
    assert exchange.calls == [("create", 96.0), ("cancel", "old")]  # make-before-break
    assert [o.order_id for o in trade.open_sl_orders] == ["new-96.0"]
    assert trade.select_order_by_order_id("new-96.0").safe_amount == 2.0
    # freqtrade's cancel_stoploss_on_exchange right after the fill: answered with the live order
    kept = exchange.cancel_stoploss_order("new-96.0", "BTC/USDT")
    assert kept["status"] == "open" and ("cancel", "new-96.0") not in exchange.calls
    assert governor.counters["stops_followed_entry"] == 1 and governor.counters["stops_kept_after_entry"] == 1
    # only that one cancel is kept: a later one (an exit) cancels as asked
    exchange.cancel_stoploss_order("new-96.0", "BTC/USDT")
    assert exchange.calls[-1] == ("cancel", "new-96.0")


def test_bybit_follows_the_same_way():
    exchange, trade, governor = governed("bybit")
    governor.follow_entry(trade)
    assert exchange.calls == [("create", 96.0), ("cancel", "old")] and exchange._api.edits == []


def test_never_less_protection_than_the_stop_it_replaces():
    exchange, trade, governor = governed(stop=94.0, old_stop=95.0)  # the bot's stop below the old one
    governor.follow_entry(trade)
    assert exchange.calls[0] == ("create", 95.0)


def test_nothing_to_do_when_the_stop_covers_the_amount_or_stops_lock_the_coins():
    exchange, trade, governor = governed(amount=1.0, held=1.0)
    governor.follow_entry(trade)
    assert exchange.calls == []
    spot = StandInExchange("binance", blocks_assets=True)
    governor = StopGovernor(spot, SETTINGS, Ledger(), EventLog(verbose=True), sleep=lambda s: None)
    governor.install()
    governor.reconciled = True
    governor.follow_entry(AdjustedTrade())
    assert spot.calls == []  # spot: freqtrade's cancel-then-create stays (the coins are locked)


def test_a_refused_new_stop_keeps_the_old_one_and_never_raises():
    exchange, trade, governor = governed()
    exchange.create_answers = [RuntimeError("exchange down")]
    governor.follow_entry(trade)
    assert exchange.calls == [("create", 96.0)] and [o.order_id for o in trade.open_sl_orders] == ["old"]
    assert governor.counters["entry_follow_failures"] == 1


def test_freqtrades_cancel_when_it_books_a_dca_filled_at_once_places_the_new_stop_first():
    """execute_entry, for a DCA order filled at once, cancels the stop before order_filled and again
    after it: the first cancel places the stop for the new amount first, the second keeps it."""
    exchange, trade, governor = governed()
    answer = exchange.cancel_stoploss_order("old", "BTC/USDT")  # freqtrade's cancel in execute_entry
    assert exchange.calls == [("create", 96.0), ("cancel", "old")] and answer["status"] == "canceled"
    assert trade.select_order_by_order_id("old").status == "canceled"
    governor.follow_entry(trade)  # order_filled: the stop covers the amount already
    kept = exchange.cancel_stoploss_order("new-96.0", "BTC/USDT")  # _update_trade_after_fill's cancel
    assert kept["status"] == "open"
    assert [c for c in exchange.calls if c[0] != "fetch"] == [("create", 96.0), ("cancel", "old")]
    assert [o.order_id for o in trade.open_sl_orders] == ["new-96.0"]


def test_a_cancel_of_a_stop_that_covers_the_trade_is_a_plain_cancel():
    exchange, trade, governor = governed(amount=1.0, held=1.0)
    exchange.cancel_stoploss_order("old", "BTC/USDT")
    assert exchange.calls == [("cancel", "old")]


def test_a_new_stop_refused_as_triggering_at_once_keeps_the_old_one_while_the_trade_exits():
    """The DCA filled with the price already under the bot's stop: Binance refuses the new stop (-2021).
    freqtrade's cancel of the old stop is answered with the live order: it still covers the old amount
    while the strategy exits the trade (told through ``on_through_price``)."""
    import ccxt
    from freqtrade.exceptions import InvalidOrderException

    exchange, trade, governor = governed()
    told = []
    governor.on_through_price = told.append
    refusal = ccxt.OrderImmediatelyFillable('binanceusdm {"code":-2021,"msg":"Order would immediately trigger."}')
    exchange.create_answers = [InvalidOrderException(f"Could not create stop order. Message: {refusal}")]
    answer = exchange.cancel_stoploss_order("old", "BTC/USDT")  # freqtrade's cancel in execute_entry
    assert answer["status"] == "open" and told == [trade]
    assert [c for c in exchange.calls if c[0] != "fetch"] == [("create", 96.0)]  # the old stop never cancelled
    assert [o.order_id for o in trade.open_sl_orders] == ["old"]
    assert governor.counters["old_stops_kept_while_exiting"] == 1 and governor.counters["stop_through_price_exits"] == 1
