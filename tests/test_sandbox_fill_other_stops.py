"""The sandbox's ``fill_other_stops`` fault through the real ccxt client: a stop's create is carried
out, then the symbol's other live stops go off at that instant (the race of a replacement that
places the new stop before cancelling the old one, met deterministically). Binance USD-M and Bybit."""

import ccxt
import pytest

from tests.perpetual_fixtures import PAIR, binance, bybit, sandbox  # noqa: F401 (pytest fixtures)

FAULT = {"kind": "fill_other_stops"}


def test_binance_the_old_stop_fills_when_the_new_one_is_created(sandbox, binance):
    binance.set_margin_mode("isolated", PAIR)
    binance.set_leverage(2, PAIR)
    binance.create_order(PAIR, "market", "buy", 0.5)
    stop = {"stopPrice": 95.0, "reduceOnly": True}
    old = binance.create_order(PAIR, "stop", "sell", 0.5, 94.05, stop)
    sandbox.set_price(PAIR, 101.0)
    sandbox.faults.add("POST /fapi/v1/algoOrder", {**FAULT, "when": {"type": "STOP"}})
    new = binance.create_order(PAIR, "stop", "sell", 0.5, 99.0, {**stop, "stopPrice": 100.0})
    assert sandbox.faults.hits["POST /fapi/v1/algoOrder"] == 1
    assert [o["id"] for o in binance.fetch_open_orders(PAIR, params={"stop": True})] == [new["id"]]
    fired = sandbox.futures.get_algo(int(old["id"]))
    assert fired["algoStatus"] == "TRIGGERED"
    actual = sandbox.futures.orders[int(fired["actualOrderId"])]
    assert actual["status"] == "FILLED" and float(actual["avgPrice"]) == 101.0
    assert sandbox.futures.account.position_risk("BTCUSDT") == []  # the position is gone
    with pytest.raises(ccxt.OrderNotFound):
        binance.cancel_order(old["id"], PAIR, {"trigger": True})  # what the replacement then meets


def test_bybit_the_old_stop_fills_when_the_new_one_is_created(sandbox, bybit):
    bybit.set_margin_mode("isolated", PAIR, {"leverage": 2})
    bybit.set_leverage(2, PAIR)
    bybit.create_order(PAIR, "market", "buy", 0.5)
    old = bybit.create_order(PAIR, "limit", "sell", 0.5, 94.05, {"stopLossPrice": 95.0, "reduceOnly": True})
    sandbox.set_price(PAIR, 101.0)
    sandbox.faults.add("POST /v5/order/create", FAULT)
    new = bybit.create_order(PAIR, "limit", "sell", 0.5, 99.0, {"stopLossPrice": 100.0, "reduceOnly": True})
    assert sandbox.faults.hits["POST /v5/order/create"] == 1
    assert [o["orderId"] for o in sandbox.bybit.book.open_stops("BTCUSDT")] == [new["id"]]
    filled = bybit.fetch_order(old["id"], PAIR, {"acknowledged": True})
    assert filled["status"] == "closed" and filled["filled"] == 0.5 and filled["average"] == 101.0
    assert sandbox.bybit.account.futures.position("BTCUSDT").amount == 0
    with pytest.raises(ccxt.OrderNotFound):
        bybit.cancel_order(old["id"], PAIR, {"trigger": True})


def test_the_fault_on_another_endpoint_is_refused_not_ignored(sandbox, binance):
    sandbox.faults.add("POST /fapi/v1/order", FAULT)
    with pytest.raises(ccxt.BaseError, match="fill_other_stops applies to a stop.s create"):
        binance.create_order(PAIR, "market", "buy", 0.5)
