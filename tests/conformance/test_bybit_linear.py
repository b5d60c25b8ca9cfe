"""Bybit v5 linear: the sandbox's answers on the stop path against answers recorded from Bybit (see
``recordings/README.md``), through the real ccxt client. A conditional order waiting, fired or cancelled
and the trading-stop answer appear in no recording: those are checked against Bybit's documented fields
and enums (the v5 order and position pages) in ``test_conditional_order_rows_follow_bybit_docs``."""

from __future__ import annotations

from tests.conformance.recorded import entry, parse_recorded, raw
from tests.conformance.shapes import differences, unparsed

FILE = "bybit_linear.json"
PAIR = "BTC/USDT:USDT"
LTC = "LTC/USDT:USDT"
# execPnl: the execution's closed profit, in Bybit's current execution list, newer than the recording;
# ccxt's trade parse does not read it (the soak checks do).
EXEC_PNL = {"result.list[].execPnl": "a newer Bybit field than the recording; ccxt's parse does not read it"}
# ``time`` of the envelope is a number on Bybit and a string in ccxt's recordings: one kind here.


def check(recorded: dict, sandbox_raw, sandbox_parsed, client, extras=None, missing=None,
          free_values=frozenset(), unparsed_ok=None, method=None, args=None) -> None:
    assert differences(recorded["httpResponse"], sandbox_raw, extras, missing, free_values) == []
    real = parse_recorded(client, recorded, method, args)
    assert unparsed(real, sandbox_parsed, unparsed_ok) == []


def open_long(client, pair=PAIR, amount=0.01):
    client.set_leverage(2, pair)
    return client.create_order(pair, "market", "buy", amount)


def stop(client, trigger, pair=PAIR, amount=0.01, link=None):
    """What freqtrade's Bybit class sends: ``stopLossPrice`` (falling trigger), reduce-only; with an
    ``orderLinkId`` (``link``) as the recorded orders carry one."""
    params = {"stopLossPrice": trigger, "reduceOnly": True, **({"clientOrderId": link} if link else {})}
    return client.create_order(pair, "market", "sell", amount, None, params)


def test_create_answer(bybit):
    recorded = entry(FILE, "createOrder")
    open_long(bybit)
    placed = stop(bybit, 95_000, link="ts-create")
    check(recorded, raw(bybit), placed, bybit, unparsed_ok={"symbol": "the recording's spot symbol"})


def test_amend_answer(bybit):
    recorded = entry(FILE, "editOrder")
    open_long(bybit)
    placed = stop(bybit, 95_000, link="ts-amend")
    amended = bybit.edit_order(placed["id"], PAIR, "market", "sell", 0.01, None, {"triggerPrice": 96_000})
    check(recorded, raw(bybit), amended, bybit)


def test_cancel_all_answer(bybit, sandbox):
    """POST /v5/order/cancel-all: the cancelled orders' ids and ``success`` "1"; only the stops go when
    ccxt asks for trigger orders."""
    recorded = entry(FILE, "cancelAllOrders")
    open_long(bybit)
    first, second = stop(bybit, 95_000, link="ts-1"), stop(bybit, 94_000, link="ts-2")
    resting = bybit.create_order(PAIR, "limit", "sell", 0.005, 105_000, {"reduceOnly": True})
    cancelled = bybit.cancel_all_orders(PAIR, {"trigger": True})
    check(recorded, raw(bybit), cancelled, bybit, unparsed_ok={"[].symbol": "the recording's spot symbol"})
    assert {o["id"] for o in cancelled} == {first["id"], second["id"]}
    assert [o["id"] for o in bybit.fetch_open_orders(PAIR)] == [resting["id"]]
    assert sandbox.unknown_paths == []


def test_open_order_row(bybit):
    recorded = entry(FILE, "fetchOpenOrder")
    placed = bybit.create_order(PAIR, "limit", "buy", 0.001, 99_000)
    fetched = bybit.fetch_open_order(placed["id"], PAIR)
    check(recorded, raw(bybit), fetched, bybit,
          unparsed_ok={"clientOrderId": "the sandbox's empty orderLinkId reads None as the recording's"})


def test_closed_order_row(bybit):
    recorded = entry(FILE, "fetchClosedOrder")
    placed = bybit.create_order(PAIR, "market", "buy", 0.001)
    fetched = bybit.fetch_closed_order(placed["id"], PAIR)
    check(recorded, raw(bybit), fetched, bybit)


def test_positions(bybit):
    recorded = entry(FILE, "fetchPositions")
    open_long(bybit, LTC, 1.2)
    positions = bybit.fetch_positions([LTC])
    newer = "documented in Bybit's v5 position list, newer than the recording"
    check(recorded, raw(bybit), positions, bybit,
          extras={"result.list[].sessionAvgPrice": newer, "result.list[].activePrice": newer,
                  "result.list[].curRealisedPnl": newer + " (ccxt reads it as realizedPnl, as it does live)"})
    assert positions[0]["leverage"] == 2


def test_balance(bybit):
    recorded = entry(FILE, "fetchBalance")
    balance = bybit.fetch_balance()
    check(recorded, raw(bybit), balance, bybit)


def test_executions(bybit):
    recorded = entry(FILE, "fetchMyTrades")
    open_long(bybit, LTC, 0.1)
    trades = bybit.fetch_my_trades(LTC)
    check(recorded, raw(bybit), trades, bybit, extras=EXEC_PNL)
    assert raw(bybit)["result"]["list"][0]["stopOrderType"] == "UNKNOWN"


def test_ticker(bybit):
    recorded = entry(FILE, "fetchTicker")
    ticker = bybit.fetch_ticker(PAIR)
    check(recorded, raw(bybit), ticker, bybit,
          extras={"result.list[].fundingIntervalHour": "documented ticker field newer than the recording",
                  "result.list[].fundingCap": "documented ticker field newer than the recording"})


def test_order_book(bybit):
    recorded = entry(FILE, "fetchOrderBook")
    book = bybit.fetch_order_book(PAIR, 2)
    check(recorded, raw(bybit), book, bybit,
          extras={"result.cts": "documented: the matching engine's time, newer than the recording"})


# ----- documentation only: no recording holds a conditional order or a trading-stop answer ----------
# Bybit v5 enums (docs "Enums Definitions"): order status and stop order type.
ORDER_STATUSES = {"New", "PartiallyFilled", "Untriggered", "Rejected", "PartiallyFilledCanceled", "Filled",
                  "Cancelled", "Triggered", "Deactivated"}
STOP_ORDER_TYPES = {"TakeProfit", "StopLoss", "TrailingStop", "Stop", "PartialTakeProfit", "PartialStopLoss",
                    "tpslOrder", "OcoOrder", "MmRateClose", "BidirectionalTpslOrder"}


def row(client) -> dict:
    (found,) = raw(client)["result"]["list"]
    return found


def test_conditional_order_rows_follow_bybit_docs(bybit, sandbox):
    """A stop waiting (Untriggered), cancelled (Deactivated) and fired (Filled, its trigger kept): the
    recorded open row's keys and kinds, Bybit's documented enums, triggerDirection 2 (falling) and
    positionIdx / triggerDirection / smpGroup as integers, as Bybit documents them."""
    recorded_row = entry(FILE, "fetchOpenOrder")["httpResponse"]["result"]["list"][0]
    open_long(bybit)
    waiting, cancelled = stop(bybit, 95_000), stop(bybit, 94_000)
    bybit.fetch_open_order(waiting["id"], PAIR, {"trigger": True})
    untriggered = row(bybit)
    assert differences(recorded_row, untriggered, free_values=frozenset({"orderStatus", "stopOrderType",
                                                                         "orderType", "side", "timeInForce",
                                                                         "triggerBy"})) == []
    assert untriggered["orderStatus"] == "Untriggered" and untriggered["stopOrderType"] == "Stop"
    assert untriggered["triggerDirection"] == 2 and untriggered["triggerBy"] == "LastPrice"
    assert all(isinstance(untriggered[key], int) for key in ("positionIdx", "triggerDirection", "smpGroup"))
    bybit.cancel_order(cancelled["id"], PAIR, {"trigger": True})
    sandbox.set_price(PAIR, 94_900)
    bybit.fetch_canceled_and_closed_orders(PAIR, params={"trigger": True})
    rows = {r["orderId"]: r for r in raw(bybit)["result"]["list"]}
    for order_id, status in ((cancelled["id"], "Deactivated"), (waiting["id"], "Filled")):
        closed = rows[order_id]
        assert closed["orderStatus"] == status and closed["orderStatus"] in ORDER_STATUSES
        assert closed["stopOrderType"] in STOP_ORDER_TYPES and closed["triggerPrice"]
        assert {"slippageToleranceType", "slippageTolerance", "extraFees"} <= set(closed)


def test_trading_stop_answer_follows_bybit_docs(bybit):
    """POST /v5/position/trading-stop answers an empty result (Bybit's documented answer)."""
    open_long(bybit)
    answer = bybit.private_post_v5_position_trading_stop({
        "category": "linear", "symbol": "BTCUSDT", "positionIdx": 0, "trailingStop": "500"})
    assert answer["retCode"] == 0 and answer["result"] == {}
