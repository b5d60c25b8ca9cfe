"""The real bot on Bybit perpetuals with tight order price limits and an account that refuses to cross
them (``modifyEnable=false``): freqtrade's stop-loss limit, 1 % under its trigger, would be refused with
retCode 110003 and the trade exited at market (freqtrade issue #12598). With the plugin the limit is
clamped into the limits around the trigger, on the first create and on every amend that moves the
trigger (the limit moves with it, the same order id), reported once for the trade and counted; the
clamped stop fills.
"""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import closed_trade, enter, stored_state
from tests.e2e.test_bybit_amend import (PAIR, open_stop_records, requests, start_bybit_bot,  # noqa: F401
                                        stop_near)
from tests.e2e.test_live_spot import counter
from tests.e2e.test_price_band import clamp_reports, no_emergency
from ts_plugin.sandbox import SandboxExchange

pytestmark = pytest.mark.slow

RATIO_X = 0.005  # a limit price within 0.5 % of the mark price when the stop fires
KEPT = 1 - RATIO_X * (1 - 0.02)  # the plugin's limit-to-trigger ratio: X less its 2 % margin


@pytest.fixture
def sandbox():
    """One perpetual on the sandbox's Bybit API, limits of 0.5 %, prices beyond them refused."""
    exchange = SandboxExchange({PAIR: 100.0})
    exchange.bybit.set_price_limit(PAIR, RATIO_X)
    exchange.bybit.book.adjusts_prices = False
    exchange.start()
    yield exchange
    exchange.stop()


def clamped_limit(stop):
    return pytest.approx(float(stop["triggerPrice"]) * KEPT, abs=0.002)


def test_stop_limit_is_clamped_on_create_and_amend_and_fills(sandbox, start_bybit_bot):
    bot = start_bybit_bot()
    trade = enter(bot, PAIR)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    first = wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the clamped initial stop at -5 %")
    assert float(first["price"]) == clamped_limit(first)  # not freqtrade's trigger x 0.99

    sandbox.set_price(PAIR, entry * 1.03)  # activates: the amend moves the trigger and the limit with it
    moved = wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the clamped amend")
    assert moved["orderId"] == first["orderId"] and float(moved["price"]) == clamped_limit(moved)
    wait_until(lambda: open_stop_records(bot, trade_id) == [(first["orderId"], float(moved["price"]))], 30,
               "freqtrade to read the clamped limit back into its stop order record")
    wait_until(lambda: counter(bot, "stops_clamped") >= 2, 30, "both clamps to be counted")
    (report,) = clamp_reports(bot)  # one report for the trade, every clamp counted
    assert f"trade_id={trade_id} pair={PAIR}" in report and "priceLimitRatioX 0.005" in report
    assert bot.client.trade(trade_id)["is_open"] and no_emergency(bot)

    fill_at = round(float(moved["triggerPrice"]) * 0.998, 3)  # through the trigger, above the clamped limit
    sandbox.set_price(PAIR, fill_at)
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to close on its clamped stop")
    assert closed["exit_reason"] == "stoploss_on_exchange" and closed["close_rate"] == pytest.approx(fill_at)
    assert sandbox.bybit.book.orders[first["orderId"]]["orderStatus"] == "Filled"
    assert len(requests(sandbox, "POST", "/v5/order/create")) == 2  # the entry and the one stop
    assert requests(sandbox, "POST", "/v5/order/cancel") == []
    assert counter(bot, "band_refusals") == 0 and counter(bot, "amend_refused") == 0
    log = bot.log_text()
    assert "110003" not in log and "Traceback" not in log and no_emergency(bot)
    assert stored_state(bot, trade_id)["phase"] == "CLOSED"
