"""Binance USD-M: the sandbox's answers on the stop path against answers recorded from Binance (see
``recordings/README.md``), through the real ccxt client; then the conditional (algo) order paths the
recordings do not cover, against Binance's documented behaviour: listed in every status, cancelled all
at once, and an order edited in place."""

from __future__ import annotations

import ccxt
import pytest

from tests.conformance.recorded import entry, parse_recorded, raw
from tests.conformance.shapes import differences, unparsed

FILE = "binance_usdm.json"
PAIR = "BTC/USDT:USDT"


def check(recorded: dict, sandbox_raw, sandbox_parsed, client, extras=None, missing=None,
          free_values=frozenset(), unparsed_ok=None) -> None:
    assert differences(recorded["httpResponse"], sandbox_raw, extras, missing, free_values) == []
    assert unparsed(parse_recorded(client, recorded), sandbox_parsed, unparsed_ok) == []


def open_long(client, amount=0.01):
    client.set_margin_mode("isolated", PAIR)
    client.set_leverage(2, PAIR)
    return client.create_order(PAIR, "market", "buy", amount)


def test_create_limit_order_answer_has_no_time(usdm):
    recorded = entry(FILE, "createOrder limit")
    placed = usdm.create_order(PAIR, "limit", "sell", 0.2, 101_000)
    answer = raw(usdm)
    assert differences(recorded["httpResponse"], answer) == []
    assert "time" not in answer and placed["timestamp"] == answer["updateTime"]
    real = parse_recorded(usdm, recorded, "createOrder", [PAIR, "limit", "sell", 0.2, 110_001])
    assert unparsed(real, placed) == []


def test_fetch_open_order(usdm):
    recorded = entry(FILE, "fetchOpenOrder")
    placed = usdm.create_order("LTC/USDT:USDT", "limit", "buy", 0.2, 69, {"timeInForce": "GTX"})
    fetched = usdm.fetch_open_order(placed["id"], "LTC/USDT:USDT")
    check(recorded, raw(usdm), fetched, usdm, free_values=frozenset({"timeInForce"}),
          unparsed_ok={"postOnly": "the recorded order was post-only (GTX); the sandbox has none"})


def test_edit_order_in_place(usdm):
    """``edit_order`` is PUT /fapi/v1/order: same id, new price and amount, the answer an order row."""
    recorded = entry(FILE, "editOrder")
    placed = usdm.create_order(PAIR, "limit", "sell", 0.2, 101_000)
    edited = usdm.edit_order(placed["id"], PAIR, "limit", "sell", 0.1, 102_000)
    answer = raw(usdm)
    assert differences(recorded["httpResponse"], answer) == []
    assert edited["id"] == placed["id"] and edited["price"] == 102_000 and edited["amount"] == 0.1
    real = parse_recorded(usdm, recorded, "editOrder", ["4087922044", PAIR, "limit", "sell", 0.1, 666_666])
    assert unparsed(real, edited) == []


def test_positions_carry_no_leverage(usdm):
    """v3 positionRisk, as Binance answers it: no ``leverage`` and no ``marginType`` (ccxt reads the
    position's leverage as None), the rest as recorded."""
    recorded = entry(FILE, "fetchPositions")
    open_long(usdm)
    positions = usdm.fetch_positions([PAIR])
    check(recorded, raw(usdm), positions, usdm)
    assert "leverage" not in raw(usdm)[0] and positions[0]["leverage"] is None


def test_balance_v2(usdm):
    """The recording is the v2 account answer (``useV2``); v3 is the same without the v2-only fields."""
    recorded = entry(FILE, "fetchBalance")
    balance = usdm.fetch_balance({"type": "swap", "useV2": True})
    check(recorded, raw(usdm), balance, usdm)


def test_my_trades(usdm):
    recorded = entry(FILE, "fetchMyTrades")
    open_long(usdm)
    trades = usdm.fetch_my_trades(PAIR)
    check(recorded, raw(usdm), trades, usdm)


def test_order_book(usdm):
    recorded = entry(FILE, "fetchOrderBook")
    book = usdm.fetch_order_book(PAIR, 5)
    check(recorded, raw(usdm), book, usdm)


# ----- conditional (algo) orders: Binance's documentation only (no recording holds one) -------------

def stop(client, trigger, amount=0.01):
    return client.create_order(PAIR, "stop_market", "sell", amount, None, {"stopPrice": trigger, "reduceOnly": True})


def test_trigger_orders_listed_in_every_status(usdm, sandbox):
    """``fetch_orders`` / ``fetch_closed_orders`` with ``trigger`` read GET /fapi/v1/allAlgoOrders."""
    open_long(usdm)
    cancelled, fired = stop(usdm, 95_000), stop(usdm, 96_000)
    usdm.cancel_order(cancelled["id"], PAIR, {"trigger": True})
    sandbox.set_price(PAIR, 95_500)
    statuses = {o["id"]: o["status"] for o in usdm.fetch_orders(PAIR, params={"trigger": True})}
    assert statuses == {cancelled["id"]: "canceled", fired["id"]: "closed"}
    assert [o["id"] for o in usdm.fetch_closed_orders(PAIR, params={"trigger": True})] == [fired["id"]]
    assert sandbox.unknown_paths == []


def test_cancel_all_trigger_orders(usdm, sandbox):
    """``cancel_all_orders`` with ``trigger`` is DELETE /fapi/v1/algoOpenOrders: every live stop goes."""
    open_long(usdm)
    stop(usdm, 95_000), stop(usdm, 94_000)
    usdm.cancel_all_orders(PAIR, {"trigger": True})
    assert usdm.fetch_open_orders(PAIR, params={"trigger": True}) == []
    assert raw(usdm)["code"] == 200 if isinstance(raw(usdm), dict) else True
    assert sandbox.unknown_paths == []


@pytest.mark.parametrize("path_id", ["abc", "12x", "-5"])
def test_non_numeric_order_id_is_a_parameter_error(usdm, path_id):
    """Binance refuses an order id that is not digits with -1100 (HTTP 400): ccxt's BadRequest, not the
    exchange-side failure an HTTP 500 would read as."""
    with pytest.raises(ccxt.BadRequest, match="-1100"):
        usdm.fetch_order(path_id, PAIR)
    with pytest.raises(ccxt.BadRequest, match="-1100"):
        usdm.cancel_order(path_id, PAIR, {"trigger": True})


def test_fired_trigger_order_reports_its_fill(usdm, sandbox):
    """A fired conditional order carries ``executedQty`` and ``avgPrice`` (ccxt's filled and average),
    nothing filled before it fires."""
    open_long(usdm)
    placed = stop(usdm, 95_000)
    waiting = usdm.fetch_order(placed["id"], PAIR, {"trigger": True})
    assert waiting["filled"] == 0 and waiting["average"] is None and waiting["status"] == "open"
    sandbox.set_price(PAIR, 94_900)
    fired = usdm.fetch_order(placed["id"], PAIR, {"trigger": True})
    assert fired["status"] == "closed" and fired["filled"] == 0.01 and fired["average"] == 94_900
