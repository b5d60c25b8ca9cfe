"""A stop that fills while the plugin replaces it, end to end: the real `freqtrade trade` process with
ccxt against the sandbox, Binance USD-M (make-before-break) and Bybit (the fallback after a refused
amend).

The sandbox's ``fill_other_stops`` fault fills the old stop the instant the new one is created, so the
old stop's cancel meets an order that is gone and filled. The trade must close on that fill (exit
booked as the stop's, at its price) with nothing left behind: no open order in freqtrade's records,
no position and no live stop on the exchange, the new stop cancelled.
"""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import closed_trade
from tests.e2e.test_bybit_amend import start_bybit_bot  # noqa: F401 (a fixture)
from tests.e2e.test_bybit_amend import live_stops as bybit_live_stops
from tests.e2e.test_bybit_amend import position_size
from tests.e2e.test_bybit_amend import start_and_enter as start_bybit_and_enter
from tests.e2e.test_live_futures import live_stops, positions, start_and_enter
from tests.e2e.test_live_spot import counter
from ts_plugin.sandbox import SandboxExchange

pytestmark = pytest.mark.slow

PAIR = "BTC/USDT:USDT"
FILL_OLD_STOP = {"kind": "fill_other_stops"}
NO_STOP_ALARM = "no live stop order on the exchange"


@pytest.fixture
def sandbox():
    """Overrides the spot sandbox of conftest: one perpetual, so the proxy and bots use this one."""
    exchange = SandboxExchange({PAIR: 100.0}).start()
    yield exchange
    exchange.stop()


def open_orders_of(bot, trade_id):
    """Every order freqtrade still holds open for the trade (REST), whatever its side."""
    return [o["order_id"] for o in bot.client.trade(trade_id)["orders"] if o["is_open"]]


def assert_closed_on_the_old_stop(bot, trade_id, fill_price):
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to close on the filled stop")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    assert closed["close_rate"] == pytest.approx(fill_price, rel=1e-6) and closed["profit_abs"] > 0
    assert open_orders_of(bot, trade_id) == []
    wait_until(lambda: counter(bot, "replacements_cancelled_after_fill") == 1, 30,
               "the health view to count the new stop cancelled after the fill")
    log = bot.log_text()
    assert "filled" in log and "while it was being replaced" in log
    assert NO_STOP_ALARM not in log and "Traceback" not in log
    return closed


def test_binance_a_stop_filled_during_make_before_break_closes_the_trade(sandbox, start_bot):
    bot, trade, entry, first = start_and_enter(start_bot, sandbox)
    sandbox.faults.add("POST /fapi/v1/algoOrder", {**FILL_OLD_STOP, "when": {"type": "STOP"}})
    sandbox.set_price(PAIR, entry * 1.03)  # activates: make-before-break, the old stop fills in between
    assert_closed_on_the_old_stop(bot, trade["trade_id"], entry * 1.03)
    assert sandbox.faults.hits["POST /fapi/v1/algoOrder"] == 1
    old = sandbox.futures.get_algo(first["algoId"])
    assert old["algoStatus"] == "TRIGGERED" and old["actualOrderId"]
    (new,) = [a for a in sandbox.futures.algo_orders.values() if a["algoId"] != first["algoId"]]
    assert new["algoStatus"] == "CANCELED"
    assert positions(sandbox) == [] and live_stops(sandbox) == []
    assert sandbox.unknown_paths == []


def test_bybit_a_stop_filled_during_the_refused_amend_fallback_closes_the_trade(sandbox, start_bybit_bot):  # noqa: F811
    bot, trade, entry, first = start_bybit_and_enter(start_bybit_bot, sandbox)
    sandbox.faults.add("POST /v5/order/amend", {"kind": "error", "code": 10001,
                                                "msg": "The order cannot be modified at this time"})
    sandbox.faults.add("POST /v5/order/create", FILL_OLD_STOP)
    sandbox.set_price(PAIR, entry * 1.03)  # amend refused: new stop first, the old one fills in between
    assert_closed_on_the_old_stop(bot, trade["trade_id"], entry * 1.03)
    assert counter(bot, "amend_refused") == 1 and sandbox.faults.hits["POST /v5/order/create"] == 1
    book = sandbox.bybit.book
    assert book.orders[first["orderId"]]["orderStatus"] == "Filled"
    (new,) = [o for o in book.orders.values() if o["stopOrderType"] and o["orderId"] != first["orderId"]]
    assert new["orderStatus"] == "Deactivated" and new["cancelType"] == "CancelByUser"
    assert position_size(sandbox) == 0 and bybit_live_stops(sandbox) == []
    assert sandbox.unknown_paths == []
