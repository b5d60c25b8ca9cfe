"""The native trailing backstop end to end: a real freqtrade bot on Binance USD-M futures (the sandbox,
through the real ccxt client) with ``exchange.native_backstop: true``.

- ACTIVE -> exactly one TRAILING_STOP_MARKET beside the regular stop, at the bot's distance rounded up
  to Binance's 0.1 % grid, reduce-only, its client id naming the trade;
- kill -9 mid-trail, the price rises 5 % and falls: the exchange's backstop closes the position at
  about peak x (1 - distance), where the regular stop (frozen where the dead bot left it) would have
  closed it lower; the restarted bot learns it and closes the trade on its stop path;
- the regular stop fills first -> the backstop is cancelled.
"""

import pytest

from tests.e2e.bot import free_port, wait_until
from tests.e2e.conftest import closed_trade, enter, stored_state
from tests.e2e.test_live_futures import FUTURES, PAIR, SYMBOL, positions
from tests.e2e.test_live_futures import sandbox  # noqa: F401  (the one-perpetual sandbox fixture)
from tests.e2e.test_live_spot import POLICY, counter

pytestmark = pytest.mark.slow

TRAILING = "TRAILING_STOP_MARKET"


def settings(distance: float, backstop: bool) -> dict:
    return {"activation_profit": 0.015, "trail_distance": distance,
            "exchange": {**POLICY, "native_backstop": backstop}}


def backstops(sandbox):
    return [a for a in sandbox.futures.open_algo_orders(SYMBOL) if a["orderType"] == TRAILING]


def regular_stops(sandbox):
    return [a for a in sandbox.futures.open_algo_orders(SYMBOL) if a["orderType"] != TRAILING]


def one_stop_near(sandbox, price, rel=0.002):
    stops = regular_stops(sandbox)
    return len(stops) == 1 and abs(float(stops[0]["triggerPrice"]) - price) / price < rel and stops[0]


def activate(start_bot, sandbox, distance, backstop):
    """A long, trailing after a 3 % rise; returns (bot, trade id, the price it trails at, regular stop)."""
    bot = start_bot(dry_run=False, smart_trailing=settings(distance, backstop), **FUTURES)
    trade = enter(bot, PAIR)
    entry = trade["open_rate"]
    wait_until(lambda: one_stop_near(sandbox, entry * 0.95), 60, "the initial conditional stop at -5 %")
    top = entry * 1.03
    sandbox.set_price(PAIR, top)
    stop = wait_until(lambda: one_stop_near(sandbox, top * (1 - distance)), 60, "the trailed regular stop")
    return bot, trade["trade_id"], top, stop


def walk(sandbox, start, end, step):
    """Move the price from ``start`` to ``end`` in relative steps, as a market would, each one seen by
    the exchange's order book (the sandbox matches its orders on every price)."""
    price, rising = start, end > start
    while (price < end) if rising else (price > end):
        price = min(price * (1 + step), end) if rising else max(price * (1 - step), end)
        sandbox.set_price(PAIR, price)


def fill_of(sandbox, algo):
    order = sandbox.futures.orders[int(sandbox.futures.get_algo(algo["algoId"])["actualOrderId"])]
    return order


def test_backstop_is_held_while_active_and_closes_the_position_after_kill(sandbox, start_bot):
    distance = 0.005
    bot, trade_id, top, stop = activate(start_bot, sandbox, distance, backstop=True)
    (backstop,) = wait_until(lambda: backstops(sandbox) or None, 60, "the native trailing backstop")
    assert backstop["callbackRate"] == "0.5" and backstop["side"] == "SELL" and backstop["reduceOnly"] is True
    assert backstop["clientAlgoId"].startswith(f"tsbk-{trade_id}-")
    assert float(backstop["quantity"]) == pytest.approx(float(positions(sandbox)[0]["positionAmt"]))
    state = wait_until(lambda: (s := stored_state(bot, trade_id)) and s.get("backstop_id") and s, 30,
                       "the backstop's id to be stored")
    assert state["phase"] == "ACTIVE" and state["backstop_id"] == str(backstop["algoId"])
    assert state["backstop_native"] == 0.5
    wait_until(lambda: counter(bot, "reconciliations") >= 3, 30, "reconciliations with the backstop live")
    assert len(backstops(sandbox)) == 1 and len(regular_stops(sandbox)) == 1  # never re-placed per tick
    assert counter(bot, "backstops_placed") == 1 and counter(bot, "backstops_replaced") == 0
    assert bot.events("ORPHAN_CANCELLED") == 0

    bot.kill()
    peak = top * 1.05
    walk(sandbox, top, peak, 0.005)  # +5 %, then down in 0.05 % steps until a stop closes it
    walk(sandbox, peak, peak * (1 - distance) * 0.9995, 0.0005)
    assert positions(sandbox) == []  # the backstop closed the position while the bot was dead
    fired = sandbox.futures.get_algo(backstop["algoId"])
    assert fired["algoStatus"] == "TRIGGERED"
    exit_price = float(fill_of(sandbox, backstop)["avgPrice"])
    assert peak * (1 - distance) * 0.9995 <= exit_price <= peak * (1 - distance)
    walk(sandbox, peak * (1 - distance) * 0.9995, top * 0.98, 0.002)  # on past the frozen regular stop
    assert fill_of(sandbox, stop)["status"] == "EXPIRED"  # it went off on an empty position: reduce-only
    print(f"\nFIGURE backstop: entry x {top / 1.03:.4f}, trailing at {top:.4f}, peak {peak:.4f}, "
          f"exit {exit_price:.4f} (peak x {exit_price / peak:.5f})")

    restarted = start_bot(dry_run=False, smart_trailing=settings(distance, True), workdir=bot.workdir,
                          api_port=free_port(), **FUTURES)
    closed = wait_until(lambda: closed_trade(restarted, trade_id), 60, "the restarted bot to close the trade")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    assert closed["close_rate"] == pytest.approx(exit_price, rel=1e-9)
    assert closed["close_rate"] > top  # the regular stop, frozen below the old top, would have sold lower
    assert restarted.events("WARNING") >= 1 and "native trailing backstop closed" in restarted.log_text()
    assert sandbox.futures.open_algo_orders(SYMBOL) == [] and positions(sandbox) == []
    final = wait_until(lambda: (s := stored_state(restarted, trade_id)) and s.get("phase") == "CLOSED" and s,
                       30, "the stored state to be CLOSED")
    assert "backstop_id" not in final
    assert "Traceback" not in restarted.log_text()
    assert sandbox.unknown_paths == []


def test_without_backstop_the_frozen_regular_stop_sells_lower_after_kill(sandbox, start_bot):
    """The same path without the backstop: what the dead bot leaves is its regular stop (freqtrade's
    own trailing on exchange leaves the same: a stop frozen where the bot last moved it)."""
    distance = 0.005
    bot, trade_id, top, stop = activate(start_bot, sandbox, distance, backstop=False)
    wait_until(lambda: counter(bot, "reconciliations") >= 3, 30, "reconciliations")
    assert backstops(sandbox) == []
    bot.kill()
    peak = top * 1.05
    walk(sandbox, top, peak, 0.005)
    walk(sandbox, peak, peak * (1 - distance) * 0.9995, 0.0005)
    assert positions(sandbox) != []  # nothing followed the rise
    walk(sandbox, peak * (1 - distance) * 0.9995, top * 0.98, 0.0005)
    assert positions(sandbox) == []
    exit_price = float(fill_of(sandbox, stop)["avgPrice"])
    assert exit_price <= float(stop["triggerPrice"]) < top
    print(f"\nFIGURE no backstop: entry x {top / 1.03:.4f}, trailing at {top:.4f}, peak {peak:.4f}, "
          f"exit {exit_price:.4f} (peak x {exit_price / peak:.5f})")


def test_regular_stop_fill_cancels_the_backstop(sandbox, start_bot):
    """Bot's distance 0.35 % -> callback rate 0.4 %: the regular stop sits above the backstop, so a dip
    between them fills the regular stop only; the backstop then goes."""
    bot, trade_id, top, stop = activate(start_bot, sandbox, 0.0035, backstop=True)
    (backstop,) = wait_until(lambda: backstops(sandbox) or None, 60, "the native trailing backstop")
    assert backstop["callbackRate"] == "0.4"
    trigger = float(stop["triggerPrice"])
    assert top * 0.996 < trigger  # the backstop fires at the exchange's best price x 0.996
    sandbox.set_price(PAIR, (trigger + top * 0.996) / 2)
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to close on its regular stop")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    assert sandbox.futures.get_algo(stop["algoId"])["algoStatus"] == "TRIGGERED"
    wait_until(lambda: sandbox.futures.get_algo(backstop["algoId"])["algoStatus"] == "CANCELED", 30,
               "the backstop to be cancelled")
    assert sandbox.futures.open_algo_orders(SYMBOL) == [] and positions(sandbox) == []
    assert "Traceback" not in bot.log_text()


def test_backstop_that_fires_first_while_the_bot_runs_closes_the_trade_on_freqtrades_stop_path(sandbox, start_bot):
    """The exchange trails every price, the bot's regular stop moves at its policy's pace: a rise of
    0.8 % then a dip to just under the backstop's level (above where the regular stop can be) fires the
    backstop only. freqtrade learns it from its own stop order and closes the trade at the backstop's
    fill; the regular stop is cancelled."""
    distance = 0.005
    bot, trade_id, top, stop = activate(start_bot, sandbox, distance, backstop=True)
    (backstop,) = wait_until(lambda: backstops(sandbox) or None, 60, "the native trailing backstop")
    high = top * 1.008
    sandbox.set_price(PAIR, high)
    dip = high * (1 - distance) * 0.99997  # under the backstop (high x 0.995), over any regular stop
    sandbox.set_price(PAIR, dip)
    assert positions(sandbox) == [] and sandbox.futures.get_algo(backstop["algoId"])["algoStatus"] == "TRIGGERED"
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "freqtrade to close the trade")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    assert closed["close_rate"] == pytest.approx(float(fill_of(sandbox, backstop)["avgPrice"]), rel=1e-9)
    wait_until(lambda: sandbox.futures.open_algo_orders(SYMBOL) == [], 30, "the regular stop to be cancelled")
    wait_until(lambda: counter(bot, "backstop_exits") == 1, 30, "the health view to count the backstop exit")
    assert "Traceback" not in bot.log_text()
