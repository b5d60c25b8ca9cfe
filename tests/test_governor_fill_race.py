"""A stop that fills while the governor replaces it (make-before-break, and the fallback after a
refused amend) is reported to freqtrade as filled, never as cancelled.

The window: the new stop is created, the old one fills, its cancel answers "unknown order", the
re-check reads it back closed and filled. The old stop's record must stay open for freqtrade to read
and book the exit; the new stop, guarding an empty position, is cancelled. Unit seam: the stand-in
Exchange of ``test_governor.py`` with freqtrade's real ``Order`` records.
"""

import ccxt
import pytest
from freqtrade.exceptions import InvalidOrderException
from freqtrade.persistence import Order
from hypothesis import given
from hypothesis import strategies as st

from ts_plugin.core.events import EventLog
from ts_plugin.exchange.cancel_outcome import covers, filled_amount, went_off
from ts_plugin.exchange.governor import StopGovernor
from tests.test_governor import ORDER, SETTINGS, Clock, Ledger, StandInExchange

UNKNOWN = InvalidOrderException("binanceusdm -2011 Unknown order sent.")


class TradeWithRecords:
    """The trade's side freqtrade's records live on: real ``Order`` objects, found by id."""

    def __init__(self, amount=1.0):
        self.id, self.pair, self.amount, self.leverage = 1, "BTC/USDT", amount, 1.0
        old = Order.parse_from_ccxt_object({**ORDER, "status": "open", "amount": amount}, self.pair,
                                           "stoploss", amount, 95.0)
        self.orders = [old]

    def select_order_by_order_id(self, order_id):
        return next((o for o in self.orders if o.order_id == order_id), None)

    def record(self, order_id):
        return self.select_order_by_order_id(order_id)


def governed(exchange, amount=1.0):
    ledger = Ledger()
    ledger.trade = TradeWithRecords(amount)
    governor = StopGovernor(exchange, SETTINGS, ledger, EventLog(verbose=True), wall_clock=Clock(),
                            monotonic=Clock(), sleep=lambda s: None)
    governor.install()
    governor.reconciled = True
    return ledger, governor


def filled_in_the_window(exchange, filled=1.0):
    """The old stop's cancel answers 'unknown order'; read back, it is closed and filled (as freqtrade's
    fetch of a triggered Binance algo order answers); the new stop's cancel goes through."""
    exchange.cancel_answers = [UNKNOWN, {"id": "new-96.0", "status": "canceled"}]
    exchange.fetch_answers = [{"id": "old", "status": "closed", "status_stop": "triggered",
                               "amount": 1.0, "filled": filled, "average": 95.5, "fee": {}}]


def assert_booked_as_filled(exchange, ledger, governor):
    trade = ledger.trade
    old, new = trade.record("old"), trade.record("new-96.0")
    assert old.ft_is_open and old.status == "open"  # freqtrade reads it next and books the fill
    assert [o.order_id for o in trade.orders if o.ft_is_open] == ["old"]
    assert new.status == "canceled" and not new.ft_is_open
    assert [c for c in exchange.calls if c[0] == "cancel"] == [("cancel", "old"), ("cancel", "new-96.0")]
    assert governor.counters["filled_while_replaced"] == 1
    assert governor.counters["replacements_cancelled_after_fill"] == 1
    assert ledger.state.exchange_stop == 95.0 and governor.counters["moves_make_before_break"] == 0
    assert not governor.watches.blockers


def test_binance_make_before_break_leaves_the_filled_stop_for_freqtrade_and_cancels_the_new_one():
    exchange = StandInExchange("binanceusdm", blocks_assets=False)
    ledger, governor = governed(exchange)
    filled_in_the_window(exchange)
    assert exchange.stoploss_adjust(96.0, ORDER, "sell") is False
    assert [c[0] for c in exchange.calls] == ["create", "cancel", "fetch", "cancel"]
    assert_booked_as_filled(exchange, ledger, governor)


def test_bybit_refused_amend_fallback_reports_the_fill_the_same_way():
    exchange = StandInExchange("bybit", blocks_assets=False, edit=True)

    def refuse(*args):
        raise ccxt.InvalidOrder('bybit {"retCode":10001,"retMsg":"The order cannot be modified at this time"}')

    exchange._api.edit_order = refuse
    ledger, governor = governed(exchange)
    filled_in_the_window(exchange)
    assert exchange.stoploss_adjust(96.0, ORDER, "sell") is False
    assert governor.counters["amend_refused"] == 1
    assert_booked_as_filled(exchange, ledger, governor)


def test_a_plain_cancel_still_marks_the_old_stop_cancelled_and_records_the_move():
    exchange = StandInExchange("binanceusdm", blocks_assets=False)
    ledger, governor = governed(exchange)
    exchange.cancel_answers = [{"algoId": "old", "code": "200", "msg": "success"}]  # Binance's algo answer
    assert exchange.stoploss_adjust(96.0, ORDER, "sell") is False
    old = ledger.trade.record("old")
    assert old.status == "canceled" and not old.ft_is_open
    assert [o.order_id for o in ledger.trade.orders if o.ft_is_open] == ["new-96.0"]
    assert ledger.state.exchange_stop == 96.0 and governor.counters["filled_while_replaced"] == 0


def test_a_partial_fill_in_the_window_keeps_the_new_stop_for_the_rest():
    exchange = StandInExchange("binanceusdm", blocks_assets=False)
    ledger, governor = governed(exchange, amount=1.0)
    filled_in_the_window(exchange, filled=0.4)
    assert exchange.stoploss_adjust(96.0, ORDER, "sell") is False
    trade = ledger.trade
    assert trade.record("old").ft_is_open and trade.record("new-96.0").ft_is_open
    assert [c for c in exchange.calls if c[0] == "cancel"] == [("cancel", "old")]
    assert governor.counters["partial_fill_while_replaced"] == 1 and ledger.state.exchange_stop == 96.0


def test_the_new_stop_that_cannot_be_cancelled_is_left_to_the_reconciliation(caplog):
    exchange = StandInExchange("binanceusdm", blocks_assets=False)
    ledger, governor = governed(exchange)
    filled_in_the_window(exchange)
    exchange.cancel_answers = [UNKNOWN, ccxt.NetworkError("down"), ccxt.NetworkError("down")]
    assert exchange.stoploss_adjust(96.0, ORDER, "sell") is False
    assert ledger.trade.record("old").ft_is_open and ledger.trade.record("old").status == "open"
    assert governor.counters["replacement_cancel_failures"] == 1
    assert "could not be cancelled" in caplog.text


@given(status=st.sampled_from(["closed", "triggered"]), amount=st.floats(1e-8, 1e9),
       share=st.floats(0.0, 1.0))
def test_a_stop_that_went_off_is_never_read_as_a_plain_cancel(status, amount, share):
    answer = {"status": status, "amount": amount, "filled": amount * share}
    assert went_off(answer)
    filled = filled_amount(answer)
    assert filled is not None and filled > 0
    # No figure of the fill (0 is none) counts as the whole; else within 0.1 % of the amount.
    whole = answer["filled"] == 0 or answer["filled"] >= amount * (1 - 0.001)
    assert covers(filled, amount) == whole


@pytest.mark.parametrize("answer", [None, {}, {"status": "canceled"}, {"status": "canceled", "filled": 0},
                                    {"algoId": 1, "code": "200", "msg": "success"}])
def test_a_plain_cancel_did_not_go_off(answer):
    assert not went_off(answer)
