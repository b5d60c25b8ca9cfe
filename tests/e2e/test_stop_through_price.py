"""A price that gaps through the bot's stop while the exchange stop lags: the trade exits at once, with
``smart_trailing_stop_crossed``. The real `freqtrade trade` process with ccxt against the sandbox,
Binance USD-M futures.

Live with stoploss on exchange freqtrade never exits on its own stop; it leaves that to the exchange's
order. The update policy here holds the exchange stop behind the bot's (moves under 2 % wait), so a
gap between the two stops left the trade open below its stop, guarded only by the older, lower one
(the soak's trade 20: stop 98.05, price 97.07, exchange stop 95.01). README rule 6: the trade exits at
once, with one WARNING and no traceback.
"""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import closed_trade, enter, stored_state
from tests.e2e.test_backstop import regular_stops
from tests.e2e.test_live_futures import FUTURES, PAIR, positions
from tests.e2e.test_live_futures import sandbox  # noqa: F401  (the one-perpetual sandbox fixture)
from tests.e2e.test_live_spot import POLICY, counter

pytestmark = pytest.mark.slow

DISTANCE = 0.005
LAZY = {**POLICY, "min_improvement": 0.02, "emergency_improvement": 0.03}


def test_a_gap_through_the_bots_stop_exits_the_trade_at_once_with_the_crossed_reason(sandbox, start_bot):
    trailing = {"activation_profit": 0.015, "trail_distance": DISTANCE, "exchange": LAZY}
    bot = start_bot(dry_run=False, smart_trailing=trailing, **FUTURES)
    trade = enter(bot, PAIR)
    trade_id, entry = trade["trade_id"], trade["open_rate"]
    (first,) = wait_until(lambda: (held := regular_stops(sandbox)) and len(held) == 1 and held, 60,
                          "the initial conditional stop")
    top = entry * 1.03
    sandbox.set_price(PAIR, top)  # activates: an emergency move of the exchange stop
    (lagging,) = wait_until(lambda: (held := regular_stops(sandbox)) and len(held) == 1
                            and held[0]["algoId"] != first["algoId"] and held, 60, "the trailed exchange stop")
    peak = top * 1.01
    sandbox.set_price(PAIR, peak)  # the bot's stop follows; the exchange's stays (a move under 2 %)
    held = float(lagging["triggerPrice"])
    state = wait_until(lambda: (s := stored_state(bot, trade_id)) and s["stop"] > held * 1.005 and s, 60,
                       "the bot's stop to trail the new peak")
    bot_stop = state["stop"]
    assert [a["algoId"] for a in regular_stops(sandbox)] == [lagging["algoId"]]  # the exchange's lags
    gap = (held + bot_stop) / 2  # through the bot's stop, above the exchange's
    sandbox.set_price(PAIR, gap)
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to exit on its crossed stop")
    assert closed["exit_reason"] == "smart_trailing_stop_crossed"
    assert closed["close_rate"] == pytest.approx(gap, rel=0.002) and closed["close_rate"] > held
    assert sandbox.futures.get_algo(lagging["algoId"])["algoStatus"] != "TRIGGERED"
    wait_until(lambda: positions(sandbox) == [] and regular_stops(sandbox) == [], 30, "nothing left on the exchange")
    wait_until(lambda: counter(bot, "stop_through_price_exits") == 1, 30, "the health view to count the exit")
    log = bot.log_text()
    assert "Traceback" not in log
    assert sum(1 for line in log.splitlines() if "event=WARNING" in line and "through the price" in line) == 1
