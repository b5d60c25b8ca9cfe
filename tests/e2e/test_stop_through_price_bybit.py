"""The gap between the bot's stop and a lagging exchange stop on Bybit perpetuals (the sandbox's v5 API
through ccxt's bybit client): the trade exits at once with ``smart_trailing_stop_crossed``, one WARNING,
no traceback. The Binance USD-M case and the reasons are in ``test_stop_through_price.py``."""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import closed_trade, enter, stored_state
from tests.e2e.test_bybit_amend import PAIR, live_stops, position_size
from tests.e2e.test_bybit_amend import sandbox, start_bybit_bot  # noqa: F401  (fixtures)
from tests.e2e.test_live_spot import counter
from tests.e2e.test_stop_through_price import DISTANCE, LAZY

pytestmark = pytest.mark.slow


def test_bybit_a_gap_through_the_bots_stop_exits_the_trade_at_once(sandbox, start_bybit_bot):  # noqa: F811
    bot = start_bybit_bot(settings={"activation_profit": 0.015, "trail_distance": DISTANCE, "exchange": LAZY})
    trade = enter(bot, PAIR)
    trade_id, entry = trade["trade_id"], trade["open_rate"]
    wait_until(lambda: len(live_stops(sandbox)) == 1, 60, "the initial conditional stop")
    top = entry * 1.03
    sandbox.set_price(PAIR, top)  # activates: an emergency move of the exchange stop (amended)
    (lagging,) = wait_until(lambda: (held := live_stops(sandbox)) and len(held) == 1
                            and float(held[0]["triggerPrice"]) > entry and held, 60, "the trailed exchange stop")
    held = float(lagging["triggerPrice"])
    sandbox.set_price(PAIR, top * 1.01)  # the bot's stop follows; the exchange's stays (a move under 2 %)
    state = wait_until(lambda: (s := stored_state(bot, trade_id)) and s["stop"] > held * 1.005 and s, 60,
                       "the bot's stop to trail the new peak")
    assert [float(s["triggerPrice"]) for s in live_stops(sandbox)] == [held]  # the exchange's lags
    gap = (held + state["stop"]) / 2
    sandbox.set_price(PAIR, gap)
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to exit on its crossed stop")
    assert closed["exit_reason"] == "smart_trailing_stop_crossed" and closed["close_rate"] > held
    wait_until(lambda: position_size(sandbox) == 0 and live_stops(sandbox) == [], 30, "nothing left on the exchange")
    wait_until(lambda: counter(bot, "stop_through_price_exits") == 1, 30, "the health view to count the exit")
    log = bot.log_text()
    assert "Traceback" not in log
    assert sum(1 for line in log.splitlines() if "event=WARNING" in line and "through the price" in line) == 1
