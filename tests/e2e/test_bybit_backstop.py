"""The native trailing backstop on Bybit end to end: a real freqtrade bot on Bybit USDT perpetuals (the
sandbox's v5 API, through ccxt's bybit client) with ``exchange.native_backstop: true``.

- ACTIVE -> the position holds one trailing stop (``/v5/position/trading-stop``) beside the regular
  conditional stop: a price distance of the bot's distance at its peak with the 5 % headroom, on the
  tick, never re-set per tick;
- kill -9 mid-trail, the price rises 5 % and falls: the position's trailing stop closes it near the
  new peak, where the regular stop (frozen where the dead bot left it, which is also what freqtrade's
  own trailing stop on exchange leaves) sells lower; the restarted bot learns it from the order
  history and closes the trade on its stop path.
"""

import math

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import closed_trade, enter, stored_state
from tests.e2e.test_bybit_amend import PAIR, SYMBOL, sandbox, start_bybit_bot  # noqa: F401  (fixtures)
from tests.e2e.test_live_spot import POLICY, counter

pytestmark = pytest.mark.slow

DISTANCE = 0.005
TICK = 0.001


def settings(backstop: bool) -> dict:
    return {"activation_profit": 0.015, "trail_distance": DISTANCE,
            "exchange": {**POLICY, "native_backstop": backstop}}


def position_amount(sandbox) -> float:
    position = sandbox.bybit.account.futures.positions.get(SYMBOL)
    return position.amount if position is not None else 0.0


def trailing_stop(sandbox):
    return sandbox.bybit.account.trailing.get(SYMBOL)


def one_stop_near(sandbox, price, rel=0.002):
    stops = sandbox.bybit.book.open_stops(SYMBOL)
    return len(stops) == 1 and abs(float(stops[0]["triggerPrice"]) - price) / price < rel and stops[0]


def activate(start_bybit_bot, sandbox, backstop):
    """A long, trailing after a 3 % rise; returns (bot, trade id, the price it trails at, regular stop)."""
    bot = start_bybit_bot(settings=settings(backstop))
    trade = enter(bot, PAIR)
    entry = trade["open_rate"]
    wait_until(lambda: one_stop_near(sandbox, entry * 0.95), 60, "the initial conditional stop at -5 %")
    top = entry * 1.03
    sandbox.set_price(PAIR, top)
    stop = wait_until(lambda: one_stop_near(sandbox, top * (1 - DISTANCE)), 60, "the trailed regular stop")
    return bot, trade["trade_id"], top, stop


def walk(sandbox, start, end, step):
    """Move the price from ``start`` to ``end`` in relative steps, each one seen by the exchange."""
    price, rising = start, end > start
    while (price < end) if rising else (price > end):
        price = min(price * (1 + step), end) if rising else max(price * (1 - step), end)
        sandbox.set_price(PAIR, price)


def fills(sandbox, kind):
    return [o for o in sandbox.bybit.book.orders.values() if o["stopOrderType"] == kind
            and o["orderStatus"] == "Filled"]


def test_position_trailing_stop_is_held_while_active_and_closes_the_position_after_kill(sandbox, start_bybit_bot):
    bot, trade_id, top, stop = activate(start_bybit_bot, sandbox, backstop=True)
    held = wait_until(lambda: trailing_stop(sandbox), 60, "the position's trailing stop")
    expected = math.ceil(round(DISTANCE * 1.05 * top / TICK, 6)) * TICK
    assert held.distance == pytest.approx(expected, abs=1e-9) and held.long
    assert held.active_price is None or held.active_price == pytest.approx(top, rel=1e-6)
    state = wait_until(lambda: (s := stored_state(bot, trade_id)) and s.get("backstop_id") and s, 30,
                       "the backstop to be stored")
    assert state["phase"] == "ACTIVE" and state["backstop_id"].startswith(f"tsbk-{trade_id}-")
    assert state["backstop_native"] == pytest.approx(expected, abs=1e-9)
    wait_until(lambda: counter(bot, "reconciliations") >= 3, 30, "reconciliations with the trailing stop held")
    assert sandbox.count("POST", "/v5/position/trading-stop") == 1  # never re-set per tick
    assert counter(bot, "backstops_placed") == 1 and counter(bot, "backstops_replaced") == 0
    assert len(sandbox.bybit.book.open_stops(SYMBOL)) == 1 and bot.events("ORPHAN_CANCELLED") == 0

    bot.kill()
    peak = top * 1.05
    walk(sandbox, top, peak, 0.005)  # +5 %, then down in 0.05 % steps until a stop closes it
    level = peak - held.distance
    walk(sandbox, peak, level * 0.9995, 0.0005)
    assert position_amount(sandbox) == 0  # the position's trailing stop closed it while the bot was dead
    (fired,) = fills(sandbox, "TrailingStop")
    exit_price = float(fired["avgPrice"])
    assert level * 0.9995 <= exit_price <= level and fired["reduceOnly"] and fired["side"] == "Sell"
    walk(sandbox, level * 0.9995, top * 0.98, 0.002)  # on past the frozen regular stop
    assert sandbox.bybit.book.orders[stop["orderId"]]["cancelType"] == "CancelByReduceOnly"
    print(f"\nFIGURE bybit backstop: entry x {top / 1.03:.4f}, trailing at {top:.4f}, peak {peak:.4f}, "
          f"trailingStop {held.distance:g}, exit {exit_price:.4f} (peak x {exit_price / peak:.5f})")

    restarted = start_bybit_bot(workdir=bot.workdir, settings=settings(True))
    closed = wait_until(lambda: closed_trade(restarted, trade_id), 60, "the restarted bot to close the trade")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    assert closed["close_rate"] == pytest.approx(exit_price, rel=1e-9)
    assert closed["close_rate"] > top  # the regular stop, frozen below the old top, would have sold lower
    assert restarted.events("WARNING") >= 1 and "carries the fill of native trailing backstop" in restarted.log_text()
    assert sandbox.bybit.book.open_stops(SYMBOL) == [] and position_amount(sandbox) == 0
    final = wait_until(lambda: (s := stored_state(restarted, trade_id)) and s.get("phase") == "CLOSED" and s,
                       30, "the stored state to be CLOSED")
    assert "backstop_id" not in final
    assert "Traceback" not in restarted.log_text()
    assert sandbox.unknown_paths == []


def test_without_backstop_the_frozen_regular_stop_sells_lower_after_kill(sandbox, start_bybit_bot):
    """The same path without the backstop: the dead bot leaves its regular stop where it last moved it
    (freqtrade's own trailing stop on exchange leaves the same)."""
    bot, trade_id, top, stop = activate(start_bybit_bot, sandbox, backstop=False)
    wait_until(lambda: counter(bot, "reconciliations") >= 3, 30, "reconciliations")
    assert trailing_stop(sandbox) is None and sandbox.count("POST", "/v5/position/trading-stop") == 0
    bot.kill()
    peak = top * 1.05
    walk(sandbox, top, peak, 0.005)
    walk(sandbox, peak, peak * (1 - DISTANCE) * 0.9995, 0.0005)
    assert position_amount(sandbox) != 0  # nothing followed the rise
    walk(sandbox, peak * (1 - DISTANCE) * 0.9995, top * 0.98, 0.0005)
    assert position_amount(sandbox) == 0
    fired = sandbox.bybit.book.orders[stop["orderId"]]
    exit_price = float(fired["avgPrice"])
    assert fired["orderStatus"] == "Filled" and exit_price <= float(stop["triggerPrice"]) < top
    print(f"\nFIGURE bybit no backstop: entry x {top / 1.03:.4f}, trailing at {top:.4f}, peak {peak:.4f}, "
          f"exit {exit_price:.4f} (peak x {exit_price / peak:.5f})")
