"""The real bot against an exchange with a tight price band (issue 8; freqtrade issue #12598).

Without the plugin freqtrade places the asked stop, the exchange refuses it (Binance -1013
PERCENT_PRICE_BY_SIDE on spot, -4184 on USD-M futures) and freqtrade exits the trade at market. With
it, the stop is clamped to the closest order the band accepts, placed, reported once and counted.
"""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import closed_trade, enter, stored_state
from tests.e2e.test_live_spot import SETTINGS, counter
from ts_plugin.sandbox import SandboxExchange
from ts_plugin.sandbox.markets import with_band

pytestmark = pytest.mark.slow

SPOT, PERP, SYMBOL = "BTC/USDT", "BTC/USDT:USDT", "BTCUSDT"
CLAMPED = "stop clamped into the exchange's price band"


@pytest.fixture
def sandbox(request):
    """Overrides conftest's sandbox: sell limits below 0.96 x the average price are refused on spot,
    and conditional limits more than 0.5 % from their trigger on futures."""
    exchange = SandboxExchange({SPOT: 100.0, PERP: 100.0})
    exchange.markets[SYMBOL] = with_band(exchange.markets[SYMBOL], 0.96, 1.04)
    exchange.futures.markets[SYMBOL] = with_band(exchange.futures.markets[SYMBOL], 0.995, 1.005)
    exchange.start()
    yield exchange
    exchange.stop()


def spot_stops(sandbox):
    return [o for o in sandbox.book.open_orders(SYMBOL) if o["type"] == "STOP_LOSS_LIMIT"]


def clamp_reports(bot):
    """The WARNING events about a clamp (a long log line may be wrapped: each runs to the next record)."""
    records = bot.log_text().split("\n20")
    return [r for r in records if " - ts_plugin - " in r and "event=WARNING " in r and CLAMPED in r]


def no_emergency(bot):
    log = bot.log_text()
    return "Unable to place a stoploss order" not in log and "Exiting the trade forcefully" not in log


def test_spot_stop_below_the_band_is_clamped_placed_and_fills(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS, pairs=[SPOT])
    trade = enter(bot, SPOT)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    # Asked: stop 0.95 x entry, limit x 0.99 = 0.9405 x entry, below the band's 0.96. Clamped: the limit
    # to 0.96 x the price x (1 + 2 % margin), the stop keeping its 1 % gap above it.
    (stop,) = wait_until(lambda: spot_stops(sandbox), 60, "the clamped stop order")
    limit = float(stop["price"])
    assert limit == pytest.approx(entry * 0.96 * 1.02, rel=2e-3)
    assert float(stop["stopPrice"]) == pytest.approx(limit / 0.99, rel=1e-3) and float(stop["stopPrice"]) < entry
    wait_until(lambda: counter(bot, "stops_clamped") >= 1, 30, "the clamp to be counted")
    (report,) = clamp_reports(bot)
    assert f"trade_id={trade_id} pair={SPOT}" in report and "bot_stop=95" in report
    assert "PERCENT_PRICE_BY_SIDE x0.96..x1.04" in report
    assert bot.client.trade(trade_id)["stop_loss_abs"] == pytest.approx(entry * 0.95, rel=1e-3)  # bot-side level kept

    sandbox.set_price(SPOT, entry * 0.985)  # through the clamped stop, above its limit: it fills
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to close on its clamped stop")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    assert closed["close_rate"] == pytest.approx(entry * 0.985, rel=1e-6)
    assert no_emergency(bot) and "Traceback" not in bot.log_text()
    assert stored_state(bot, trade_id)["exchange_stop"] == pytest.approx(float(stop["stopPrice"]), rel=1e-3)


def test_futures_conditional_limit_outside_the_band_is_pulled_to_its_trigger(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS, pairs=[PERP], trading_mode="futures",
                    margin_mode="isolated", use_order_book=True)
    trade = enter(bot, PERP)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    # Asked: trigger 0.95 x entry with a limit 1 % below it; the band allows 0.5 %: the limit moves.
    (first,) = wait_until(lambda: sandbox.futures.open_algo_orders(SYMBOL), 60, "the first conditional stop")
    assert float(first["triggerPrice"]) == pytest.approx(entry * 0.95, rel=1e-3)
    assert float(first["price"]) == pytest.approx(float(first["triggerPrice"]) * 0.995, rel=1e-3)

    sandbox.set_price(PERP, entry * 1.03)  # activates: the make-before-break move is clamped the same way
    def moved():
        stops = sandbox.futures.open_algo_orders(SYMBOL)
        return len(stops) == 1 and stops[0]["algoId"] != first["algoId"] and stops[0]
    second = wait_until(moved, 60, "the moved stop")
    assert float(second["triggerPrice"]) == pytest.approx(entry * 1.03 * 0.995, rel=2e-3)
    assert float(second["price"]) == pytest.approx(float(second["triggerPrice"]) * 0.995, rel=1e-3)
    wait_until(lambda: counter(bot, "stops_clamped") >= 2, 30, "both clamps to be counted")
    assert len(clamp_reports(bot)) == 1  # one report per trade, every clamp counted
    assert bot.client.trade(trade_id)["is_open"] and no_emergency(bot)
    assert "Traceback" not in bot.log_text()
