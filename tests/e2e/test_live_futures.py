"""Live Binance USD-M futures end to end: conditional (algo) stop orders replaced make-before-break,
triggered into a reduce-only order that closes the isolated position, and orphans reconciled."""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import closed_trade, enter, stored_state
from tests.e2e.test_live_spot import POLICY, counter, health
from ts_plugin.sandbox import SandboxExchange

pytestmark = pytest.mark.slow

PAIR = "BTC/USDT:USDT"
SYMBOL = "BTCUSDT"
SETTINGS = {"activation_profit": 0.015, "trail_distance": 0.005, "exchange": POLICY}
FUTURES = {"pairs": [PAIR], "trading_mode": "futures", "margin_mode": "isolated", "use_order_book": True}


@pytest.fixture
def sandbox():
    """Overrides the spot sandbox of conftest: one perpetual, so the proxy and bots use this one."""
    exchange = SandboxExchange({PAIR: 100.0}).start()
    yield exchange
    exchange.stop()


def live_stops(sandbox):
    return sandbox.futures.open_algo_orders(SYMBOL)


def stop_near(sandbox, price, rel=0.002):
    stops = live_stops(sandbox)
    return len(stops) == 1 and abs(float(stops[0]["triggerPrice"]) - price) / price < rel and stops[0]


def positions(sandbox):
    return sandbox.futures.account.position_risk(SYMBOL, v2=True)  # the v2 row shows marginType


def request_indexes(sandbox, method, path):
    return [i for i, request in enumerate(list(sandbox.requests)) if request == (method, path)]


def open_stop_records(bot, trade_id):
    """freqtrade's own view (REST): the trade's stop orders it still considers open."""
    orders = bot.client.trade(trade_id)["orders"]
    return [o for o in orders if o["ft_order_side"] == "stoploss" and o["is_open"]]


def start_and_enter(start_bot, sandbox):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS, **FUTURES)
    trade = enter(bot, PAIR)
    entry = trade["open_rate"]
    first = wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial conditional stop at -5 %")
    return bot, trade, entry, first


def test_futures_stop_is_replaced_make_before_break_and_closes_the_position(sandbox, start_bot):
    bot, trade, entry, first = start_and_enter(start_bot, sandbox)
    trade_id = trade["trade_id"]
    assert trade["trading_mode"] == "futures" and trade["leverage"] == 1 and not trade["is_short"]
    (position,) = positions(sandbox)
    assert float(position["positionAmt"]) == pytest.approx(trade["amount"])
    assert position["marginType"] == "isolated" and float(position["entryPrice"]) == pytest.approx(entry)
    assert first["orderType"] == "STOP" and first["side"] == "SELL" and first["reduceOnly"] is True
    assert request_indexes(sandbox, "DELETE", "/fapi/v1/algoOrder") == []
    assert len(request_indexes(sandbox, "POST", "/fapi/v1/order")) == 1  # only the market entry

    sandbox.set_price(PAIR, entry * 1.03)  # activates: an emergency move, made by the plugin itself
    second = wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the make-before-break move")
    creates = request_indexes(sandbox, "POST", "/fapi/v1/algoOrder")
    cancels = request_indexes(sandbox, "DELETE", "/fapi/v1/algoOrder")
    assert len(creates) == 2 and len(cancels) == 1 and creates[1] < cancels[0]  # new stop first
    assert second["algoId"] != first["algoId"]
    assert sandbox.futures.get_algo(first["algoId"])["algoStatus"] == "CANCELED"
    wait_until(lambda: [o["order_id"] for o in open_stop_records(bot, trade_id)] == [str(second["algoId"])],
               30, "freqtrade to record the new stop as its only open stop order")
    wait_until(lambda: counter(bot, "moves_make_before_break") == 1, 30, "the health view to count the move")
    assert health(bot)["exchange"]["replacement_path"] == "make_before_break"
    assert bot.events("UNPROTECTED_WINDOW") == 0

    sandbox.set_price(PAIR, entry * 1.02)  # through the stop (~1.0249), above its limit (x 0.99): it fills
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to close on its stop")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    assert closed["close_rate"] == pytest.approx(entry * 1.02, rel=1e-6) and closed["profit_abs"] > 0
    assert positions(sandbox) == [] and live_stops(sandbox) == []
    triggered = sandbox.futures.get_algo(second["algoId"])
    assert triggered["algoStatus"] == "TRIGGERED" and triggered["actualOrderId"]
    state = stored_state(bot, trade_id)
    assert state["phase"] == "CLOSED" and state["exchange_moves"] >= 1
    assert "Traceback" not in bot.log_text()
    assert sandbox.unknown_paths == []


def test_an_orphaned_conditional_stop_is_found_by_the_algo_listing_and_cancelled(sandbox, start_bot):
    bot, trade, entry, first = start_and_enter(start_bot, sandbox)
    sandbox.set_price(PAIR, entry * 1.03)
    second = wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the moved stop")
    listings = len(request_indexes(sandbox, "GET", "/fapi/v1/openAlgoOrders"))
    # The exchange still holds the old stop it reported cancelled (freqtrade issue #12681).
    sandbox.futures.resurrect(first["algoId"])
    assert len(live_stops(sandbox)) == 2
    wait_until(lambda: bot.events("ORPHAN_CANCELLED") >= 1, 60, "the orphan to be cancelled")
    assert [s["algoId"] for s in live_stops(sandbox)] == [second["algoId"]]
    assert len(request_indexes(sandbox, "GET", "/fapi/v1/openAlgoOrders")) > listings
    assert bot.events("ORPHAN_CANCELLED") == 1
    assert [o["order_id"] for o in open_stop_records(bot, trade["trade_id"])] == [str(second["algoId"])]
    assert "Traceback" not in bot.log_text()


def test_unknown_order_on_cancel_while_live_leaves_one_stop_after_make_before_break(sandbox, start_bot):
    bot, trade, entry, first = start_and_enter(start_bot, sandbox)
    sandbox.faults.add("DELETE /fapi/v1/algoOrder", {"kind": "unknown_order_live"})  # -2011, order stays
    sandbox.set_price(PAIR, entry * 1.03)
    second = wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "exactly one live stop, moved")
    wait_until(lambda: counter(bot, "cancel_unknown_but_live") >= 1, 30, "the -2011 to be counted")
    assert sandbox.faults.hits.get("DELETE /fapi/v1/algoOrder") == 1
    assert sandbox.futures.get_algo(first["algoId"])["algoStatus"] == "CANCELED"
    wait_until(lambda: [o["order_id"] for o in open_stop_records(bot, trade["trade_id"])] == [str(second["algoId"])],
               30, "freqtrade to record the new stop as its only open stop order")
    assert "Traceback" not in bot.log_text()
