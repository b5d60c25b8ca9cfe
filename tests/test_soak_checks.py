"""The soak's end checks (tests/e2e/soak_checks.py) and its position arithmetic with position
adjustments (tests/e2e/soak.py), on made-up records, without a bot."""

from tests.e2e.soak import positions
from tests.e2e.soak_checks import (alarm_delivery, backstop_findings, fill_findings, position_findings,
                                   stop_cover_findings, wallet_findings)


def fill(order_id, side, qty, at, symbol="ADAUSDT", kind="MARKET"):
    return {"orderId": order_id, "symbol": symbol, "type": kind, "side": side, "status": "FILLED", "time": at,
            "updateTime": at, "stopPrice": "0", "qty": qty, "role": "order", "fill": True}


def stop(order_id, status, created, updated, qty=1.0, symbol="ADAUSDT"):
    return {"orderId": order_id, "symbol": symbol, "type": "STOP", "side": "SELL", "status": status,
            "time": created, "updateTime": updated, "stopPrice": "99.0", "qty": qty, "role": "stop", "fill": False}


def trade(trade_id, pair, is_open, amount, orders):
    return {"trade_id": trade_id, "pair": pair, "is_open": is_open, "amount": amount, "is_short": False,
            "orders": [{"ft_order_side": side, "filled": filled} for side, filled in orders]}


def test_a_dca_grows_and_a_partial_exit_shrinks_one_position_until_the_last_sell():
    records = [fill(1, "BUY", 1.0, 1000), stop(2, "CANCELED", 1100, 3000), fill(3, "BUY", 1.0, 2900),
               stop(4, "CANCELED", 3000, 5000, qty=2.0), fill(5, "SELL", 0.5, 4000), stop(6, "FILLED", 5000, 7000, 1.5),
               fill(7, "SELL", 1.5, 7000, kind="STOP"), fill(8, "BUY", 1.0, 8000)]
    first, second = positions(records)
    assert (first.entry_id, first.bought, first.sold, first.adds, first.partial_exits) == (1, 2.0, 2.0, 1, 1)
    assert (first.closed_ms, first.exit_id) == (7000, 7)
    assert [o["orderId"] for o in first.stops] == [2, 4, 6]  # fills of the stops are not stops
    assert second.closed_ms is None and second.bought == 1.0


def test_a_position_no_trade_accounts_for_is_naked_and_a_trade_without_one_is_reported():
    open_trades = [{"pair": "ADA/USDT:USDT", "amount": 2.0}, {"pair": "ETC/USDT:USDT", "amount": 1.0}]
    found = position_findings({"ADAUSDT": 2.0, "TRXUSDT": 0.97077}, open_trades)
    assert found == ["ETCUSDT: open trade without a position: exchange holds 0, open trades 1",
                     "TRXUSDT: naked position (no open trade): exchange holds 0.97077, open trades 0"]
    assert position_findings({"ADAUSDT": 1.97067}, [{"pair": "ADA/USDT:USDT", "amount": 0.9999}])[0].startswith(
        "ADAUSDT: position and open trades differ")
    assert position_findings({"ADAUSDT": 2.0}, [{"pair": "ADA/USDT:USDT", "amount": 2.0}]) == []


def test_stops_and_backstops_must_close_exactly_the_position():
    held = {"ADAUSDT": 1.97067}
    assert stop_cover_findings([stop(1, "NEW", 0, 0, qty=1.97067)], held) == []
    assert len(stop_cover_findings([stop(1, "NEW", 0, 0, qty=0.9999)], held)) == 1
    assert stop_cover_findings([stop(1, "NEW", 0, 0, qty=2.5)], held) == []  # reduce-only: stops at flat
    trades = [{"pair": "ADA/USDT:USDT"}]
    small = {"id": "9", "symbol": "ADAUSDT", "qty": 0.9999}
    assert backstop_findings([small], held, trades, feature_on=True) == [
        "ADAUSDT: native backstop 9 closes 0.9999, the position is 1.97067"]
    whole = dict(small, qty=1.97067)
    assert backstop_findings([whole], held, trades, feature_on=True) == []
    assert backstop_findings([whole], held, trades, feature_on=False) == [
        "ADAUSDT: native backstop 9 live with native_backstop off"]
    orphan = {"id": "position:TRXUSDT", "symbol": "TRXUSDT", "qty": 0.0}
    assert backstop_findings([orphan], {}, trades, feature_on=True)[0].endswith("without an open trade (orphan)")
    assert backstop_findings([whole, dict(whole, id="10")], held, trades, True)[-1] == "ADAUSDT: 2 native backstops live"


def test_freqtrade_must_book_what_the_exchange_filled():
    records = [fill(1, "BUY", 1.0, 1000), fill(2, "BUY", 1.0, 2000), fill(3, "SELL", 2.0, 3000, kind="STOP")]
    (position,) = positions(records)
    booked = trade(5, "ADA/USDT:USDT", False, 2.0, [("buy", 1.0), ("buy", 1.0), ("stoploss", 2.0)])
    assert fill_findings([position], {"1": booked}) == []
    # the stop filled on the exchange, booked as cancelled: the trade is still open with nothing exited
    as_cancelled = trade(5, "ADA/USDT:USDT", True, 2.0, [("buy", 1.0), ("buy", 1.0), ("stoploss", 0.0)])
    assert fill_findings([position], {"1": as_cancelled}) == [
        "trade 5 ADA/USDT:USDT: freqtrade booked exits of 0, the exchange filled 2",
        "trade 5 ADA/USDT:USDT: trade open, position on the exchange closed"]
    # a backstop's partial fill booked as the whole exit: the exchange still holds the rest
    partial = positions([fill(1, "BUY", 1.0, 1000), fill(2, "BUY", 0.97, 2000), fill(3, "SELL", 1.0, 3000)])
    whole_exit = trade(5, "ADA/USDT:USDT", False, 1.97, [("buy", 1.0), ("buy", 0.97), ("stoploss", 1.97)])
    assert fill_findings(partial, {"1": whole_exit}) == [
        "trade 5 ADA/USDT:USDT: freqtrade booked exits of 1.97, the exchange filled 1",
        "trade 5 ADA/USDT:USDT: trade closed, position on the exchange open"]
    assert fill_findings(partial, {}) == ["ADAUSDT position from order 1: no freqtrade trade"]


def test_the_wallet_must_equal_the_fills():
    assert wallet_findings(None) == []
    assert wallet_findings({"asset": "USDT", "initial": 10000.0, "now": 10012.5, "from_fills": 10012.5}) == []
    assert len(wallet_findings({"asset": "USDT", "initial": 10000.0, "now": 10012.5, "from_fills": 10010.0})) == 1


def log_line(name, trade_id):
    return (f"2026-12-07 17:00:00,000 - ts_plugin - WARNING - smart_trailing event={name} trade_id={trade_id} "
            f"pair=ADA/USDT:USDT detail=x")


SENT = "2026-12-07 17:00:01,000 - freqtrade.rpc.rpc_manager - INFO - Sending rpc strategy_msg: ..."


def test_every_alarm_must_reach_the_receiver_except_those_that_died_with_a_killed_bot():
    first = "\n".join([log_line("WARNING", 3), log_line("ACTIVATED", 3), SENT, log_line("UNPROTECTED_WINDOW", 4)])
    second = "\n".join([log_line("CIRCUIT_OPEN", "None"), SENT, log_line("WARNING", 5)])
    received = ["\N{SHIELD} *Smart trailing:* Warning ADA/USDT:USDT (#3)\n*Reason:* `x`",
                "\N{SHIELD} *Smart trailing:* Exchange calls keep failing: stop moves on the exchange paused",
                "\N{SHIELD} *Smart trailing:* Trailing stop activated by price ADA/USDT:USDT (#3)",
                "a message of freqtrade's own"]
    found = alarm_delivery([(first, True), (second, False)], received)
    assert found["raised"] == 3 and found["lost_with_the_kill"] == 1  # UNPROTECTED_WINDOW 4 after the last send
    assert found["undelivered"] == {"WARNING trade 5": 1}  # the running bot's: still owed
    assert found["received_by_event"] == {"WARNING": 1, "CIRCUIT_OPEN": 1, "ACTIVATED": 1}
    received.append("\N{SHIELD} *Smart trailing:* Warning ADA/USDT:USDT (#5)")
    assert alarm_delivery([(first, True), (second, False)], received)["undelivered"] == {}


def test_a_trade_whose_stop_filled_as_its_dca_was_sent_is_checked_over_both_positions():
    """The stop (read live just before) fills the instant a DCA is sent: the DCA reopens the position the
    stop closed, freqtrade books the stop's fill as a partial exit and the trade goes on. The soak's
    futures run saw this (trade 19): each position compared alone with the whole trade was a finding."""
    records = [fill(1, "BUY", 0.8, 1000), fill(2, "SELL", 0.8, 2000, kind="STOP"), fill(3, "BUY", 0.9, 2100),
               fill(4, "SELL", 0.9, 5000)]
    first, second = positions(records)
    booked = trade(19, "ETC/USDT:USDT", False, 0.9, [("buy", 0.8), ("buy", 0.9), ("stoploss", 0.8), ("sell", 0.9)])
    of_entry = {"1": booked, "3": booked}
    assert fill_findings([first, second], of_entry) == []
    # the stop's fill booked as the whole trade's exit: the trade closed, the DCA's position still open
    still_open = positions(records[:3])
    closed = trade(19, "ETC/USDT:USDT", False, 1.7, [("buy", 0.8), ("buy", 0.9), ("stoploss", 1.7)])
    assert fill_findings(still_open, {"1": closed, "3": closed}) == [
        "trade 19 ETC/USDT:USDT: freqtrade booked exits of 1.7, the exchange filled 0.8",
        "trade 19 ETC/USDT:USDT: trade closed, position on the exchange open"]


def test_a_trade_whose_stop_is_through_the_price_was_due_to_exit_unless_the_exchange_keeps_its_coins():
    """The spot soak ended with a -2011 target's trade open, its stop through the price: freqtrade
    cancels the stop before selling, the fault refuses every cancel, and the stop keeps the coins
    (it still guards them and fills when the price reaches it). On futures nothing is locked."""
    from tests.e2e.soak_checks import crossed_findings

    trades = [{"trade_id": 37, "pair": "XMR/USDT", "is_short": False},
              {"trade_id": 38, "pair": "ADA/USDT", "is_short": False}]
    stops, prices = {37: 105.677, 38: 99.0}, {"XMR/USDT": 103.867, "ADA/USDT": 100.0}
    live = [{"orderId": 1107, "symbol": "XMRUSDT"}, {"orderId": 1108, "symbol": "ADAUSDT"}]
    assert crossed_findings(trades, stops, prices, live, {"1107"}, stops_lock_coins=True) == []
    due = ["trade 37 XMR/USDT: open at 103.867 with its stop 105.677 through the price"]
    assert crossed_findings(trades, stops, prices, live, set(), stops_lock_coins=True) == due  # released
    assert crossed_findings(trades, stops, prices, live, {"1107"}, stops_lock_coins=False) == due  # futures
