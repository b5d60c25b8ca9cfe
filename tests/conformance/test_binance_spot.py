"""Binance spot: the sandbox's answers on the stop path against answers recorded from Binance (see
``recordings/README.md``), through the real ccxt client. Each test drives the sandbox into the
recording's state, compares the raw answers key by key and kind by kind, and checks that ccxt reads a
value from the sandbox's answer wherever it reads one from the recording."""

from __future__ import annotations

import ccxt
import pytest

from tests.conformance.recorded import entry, parse_recorded, raw
from tests.conformance.shapes import differences, unparsed

FILE = "binance_spot.json"


def check(recorded: dict, sandbox_raw, sandbox_parsed, client, extras=None, missing=None,
          free_values=frozenset(), unparsed_ok=None) -> None:
    assert differences(recorded["httpResponse"], sandbox_raw, extras, missing, free_values) == []
    assert unparsed(parse_recorded(client, recorded), sandbox_parsed, unparsed_ok) == []


def test_create_limit_order(spot):
    recorded = entry(FILE, "createOrder limit")
    placed = spot.create_order("SOL/USDT", "limit", "buy", 0.05, 241)
    check(recorded, raw(spot), placed, spot,
          missing={"icebergQty": "Binance shows it only for an iceberg order; the recording placed one"},
          free_values=frozenset({"selfTradePreventionMode"}))  # the recording asked for EXPIRE_MAKER


def test_create_stop_loss_limit_has_no_creation_time(spot):
    """The stop path's create (what freqtrade sends for a spot stop): Binance's answer to a conditional
    order that has not triggered carries no ``time`` and ``workingTime`` -1, so ccxt reads timestamp -1
    and datetime None; the sandbox answers the same."""
    recorded = entry(FILE, "createOrder conditional")
    spot.create_order("LTC/USDT", "market", "buy", 1)
    stop = spot.create_order("LTC/USDT", "stop_loss_limit", "sell", 1, 60, {"stopPrice": 63})
    answer = raw(spot)
    check(recorded, answer, stop, spot,
          extras={"stopPrice": "a conditional field Binance sends for a stop given a stop price; the "
                               "recorded order was a trailing one, which has none"},
          missing={"trailingDelta": "trailing orders only", "trailingTime": "trailing orders only"},
          free_values=frozenset({"type", "side", "selfTradePreventionMode"}))
    assert "time" not in answer and answer["workingTime"] == -1
    assert stop["timestamp"] == -1 and stop["datetime"] is None


def test_fetch_filled_order(spot):
    recorded = entry(FILE, "fetchOrder closed")
    spot.create_order("LTC/USDT", "market", "buy", 0.1)
    sold = spot.create_order("LTC/USDT", "market", "sell", 0.1)
    fetched = spot.fetch_order(sold["id"], "LTC/USDT")
    check(recorded, raw(spot), fetched, spot)


def test_fetch_open_stop_orders(spot):
    recorded = entry(FILE, "fetchOpenOrders")
    spot.create_order("LTC/USDT", "market", "buy", 0.2)
    spot.create_order("LTC/USDT", "stop_loss_limit", "sell", 0.2, 60, {"stopPrice": 63})
    listed = spot.fetch_open_orders("LTC/USDT")
    check(recorded, raw(spot), listed, spot, free_values=frozenset({"type", "side", "selfTradePreventionMode"}),
          unparsed_ok={"[].postOnly": "the recorded order was LIMIT_MAKER"})
    (row,) = raw(spot)
    assert row["workingTime"] == -1 and row["time"] > 0 and row["isWorking"] is False
    assert listed[0]["timestamp"] == row["time"]


def test_fetch_cancelled_orders(spot):
    recorded = entry(FILE, "fetchOrders")
    placed = spot.create_order("LTC/USDT", "limit", "buy", 0.1, 65)
    spot.cancel_order(placed["id"], "LTC/USDT")
    listed = spot.fetch_orders("LTC/USDT")
    check(recorded, raw(spot), listed, spot, free_values=frozenset({"selfTradePreventionMode"}))


def test_my_trades(spot):
    recorded = entry(FILE, "fetchMyTrades")
    spot.create_order("LTC/USDT", "market", "buy", 0.2)
    spot.create_order("LTC/USDT", "market", "sell", 0.2)
    trades = spot.fetch_my_trades("LTC/USDT")
    check(recorded, raw(spot), trades, spot)


def test_balance(spot):
    recorded = entry(FILE, "fetchBalance")
    balance = spot.fetch_balance()
    check(recorded, raw(spot), balance, spot,
          unparsed_ok={"LTC": "the recording's own assets", "ETH": "the recording's own assets"})


def test_ticker(spot):
    recorded = entry(FILE, "fetchTicker")
    ticker = spot.fetch_ticker("BTC/USDT")
    check(recorded, raw(spot), ticker, spot)


def test_order_book(spot):
    recorded = entry(FILE, "fetchOrderBook")
    book = spot.fetch_order_book("BTC/USDT", 5)
    check(recorded, raw(spot), book, spot)


def test_edit_stop_is_cancel_replace(spot, sandbox):
    """``edit_order`` on spot is POST /api/v3/order/cancelReplace (STOP_ON_FAILURE): the old stop is
    cancelled and a new one placed; a cancel that fails places nothing (-2022, which ccxt reads as BadResponse)."""
    spot.create_order("LTC/USDT", "market", "buy", 1)
    first = spot.create_order("LTC/USDT", "stop_loss_limit", "sell", 1, 60, {"stopPrice": 63})
    moved = spot.edit_order(first["id"], "LTC/USDT", "stop_loss_limit", "sell", 1, 64, {"stopPrice": 66})
    answer = raw(spot)
    assert answer["cancelResult"] == "SUCCESS" and answer["newOrderResult"] == "SUCCESS"
    assert moved["id"] != first["id"] and moved["triggerPrice"] == 66 and moved["timestamp"] == -1
    assert [o["id"] for o in spot.fetch_open_orders("LTC/USDT")] == [moved["id"]]
    with pytest.raises(ccxt.BadResponse, match="-2022"):
        spot.edit_order(first["id"], "LTC/USDT", "stop_loss_limit", "sell", 1, 64, {"stopPrice": 65})
    assert [o["id"] for o in spot.fetch_open_orders("LTC/USDT")] == [moved["id"]]
    assert sandbox.unknown_paths == []


@pytest.mark.parametrize("order_id", ["abc", "1e3", "-5"])
def test_non_numeric_order_id_is_a_parameter_error(spot, order_id):
    """Binance refuses an order id that is not digits with -1100 (HTTP 400, ccxt's BadRequest)."""
    with pytest.raises(ccxt.BadRequest, match="-1100"):
        spot.fetch_order(order_id, "LTC/USDT")
    with pytest.raises(ccxt.BadRequest, match="-1100"):
        spot.cancel_order(order_id, "LTC/USDT")
