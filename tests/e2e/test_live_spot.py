"""Live spot end to end: real stop orders placed, moved, filled on the sandbox, under the policy."""

import json

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import PAIR, closed_trade, enter, stored_state

pytestmark = pytest.mark.slow

SYMBOL = PAIR.replace("/", "")
POLICY = {"min_update_interval_s": 3, "min_improvement": 0.002, "emergency_improvement": 0.01,
          "orphan_check_interval_s": 2, "retry_attempts": 2, "circuit_failure_threshold": 2,
          "circuit_cooldown_s": 3}
SETTINGS = {"activation_profit": 0.015, "trail_distance": 0.005, "exchange": POLICY}


def live_stops(sandbox):
    return [o for o in sandbox.book.open_orders(SYMBOL) if o["type"] == "STOP_LOSS_LIMIT"]


def stop_near(sandbox, price, rel=0.002):
    stops = live_stops(sandbox)
    return len(stops) == 1 and abs(float(stops[0]["stopPrice"]) - price) / price < rel and stops[0]


def cancels(sandbox):
    return sandbox.count("DELETE", "/api/v3/order")


def health(bot):
    path = bot.health_file
    return json.loads(path.read_text()) if path.exists() else {}


def counter(bot, name):
    return health(bot).get("exchange", {}).get("counters", {}).get(name, 0)


def test_live_stop_orders_follow_the_policy_and_fill(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial stop order at -5 %")
    assert cancels(sandbox) == 0

    sandbox.set_price(PAIR, entry * 1.02)  # activates: 0.95 -> 1.0149 x entry is an emergency move
    wait_until(lambda: stop_near(sandbox, entry * 1.02 * 0.995), 60, "the emergency move")
    assert cancels(sandbox) == 1

    sandbox.set_price(PAIR, entry * 1.0205)  # +0.05 %: too small, and too soon
    wait_until(lambda: counter(bot, "skip_improvement") + counter(bot, "skip_interval") >= 1, 60,
               "a skipped move to be counted")
    assert cancels(sandbox) == 1 and stop_near(sandbox, entry * 1.02 * 0.995)

    sandbox.set_price(PAIR, entry * 1.03)  # +0.98 %: a regular move, once the 3 s interval has passed
    wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the regular move")
    assert cancels(sandbox) == 2

    sandbox.set_price(PAIR, entry * 1.05)  # +1.9 %: emergency, goes out at once
    wait_until(lambda: stop_near(sandbox, entry * 1.05 * 0.995), 60, "the second emergency move")
    assert cancels(sandbox) == 3

    sandbox.set_price(PAIR, entry * 1.04)  # through the stop: the exchange fills it
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to close on its stop")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    assert closed["close_rate"] == pytest.approx(entry * 1.04, rel=1e-6)
    assert live_stops(sandbox) == [] and sandbox.book.free["BTC"] == pytest.approx(0, abs=1e-9)
    state = stored_state(bot, trade_id)
    assert state["phase"] == "CLOSED" and state["exchange_moves"] == 3
    assert "Traceback" not in bot.log_text()


def test_unknown_order_on_cancel_while_live_is_retried_and_no_second_stop_appears(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry = trade["open_rate"]
    wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial stop order")
    sandbox.faults.add("DELETE /api/v3/order", {"kind": "unknown_order_live"})  # -2011, order stays
    sandbox.set_price(PAIR, entry * 1.03)
    wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "exactly one live stop, moved")
    wait_until(lambda: counter(bot, "cancel_unknown_but_live") >= 1, 30, "the -2011 to be counted")
    assert sandbox.faults.hits.get("DELETE /api/v3/order") == 1
    assert "Traceback" not in bot.log_text()


def test_an_orphaned_stop_order_is_cancelled_by_reconciliation(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry = trade["open_rate"]
    old = wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial stop order")
    sandbox.set_price(PAIR, entry * 1.03)
    new = wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the moved stop")
    # The exchange still holds the old stop it reported cancelled (freqtrade issue #12681).
    sandbox.book.resurrect(old["orderId"])
    assert len(live_stops(sandbox)) == 2
    wait_until(lambda: bot.events("ORPHAN_CANCELLED") >= 1, 60, "the orphan to be cancelled")
    assert [o["orderId"] for o in live_stops(sandbox)] == [new["orderId"]]
    assert bot.events("ORPHAN_CANCELLED") == 1


def test_a_burst_of_rate_limits_opens_the_circuit_and_it_closes_again(sandbox, start_bot):
    # The circuit opens on consecutive failures; any success closes the count. A reconciliation's
    # listing (every 2 s) that lands between the two refused creates (under load it did) reset it and
    # the circuit never opened: here no reconciliation runs inside the burst.
    settings = {**SETTINGS, "exchange": {**POLICY, "orphan_check_interval_s": 30}}
    bot = start_bot(dry_run=False, smart_trailing=settings)
    sandbox.faults.add("POST /api/v3/order", {"kind": "http", "status": 429, "times": 4,
                                              "when": {"type": "STOP_LOSS_LIMIT"}})
    trade = enter(bot)
    entry = trade["open_rate"]
    wait_until(lambda: bot.events("CIRCUIT_OPEN") >= 1, 90, "the circuit to open")
    wait_until(lambda: stop_near(sandbox, entry * 0.95), 90, "the stop to be placed after the burst")
    closed = {"circuit": "CLOSED", "circuit_opened": 1}  # written after the opening, not before it
    wait_until(lambda: closed.items() <= health(bot).get("exchange", {}).items(), 90, "the circuit to close")
    sandbox.set_price(PAIR, entry * 1.03)  # and moves work again
    wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "a move after recovery")


def test_stop_refused_as_immediate_trigger_ends_in_emergency_exit(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    sandbox.faults.add("POST /api/v3/order", {"kind": "error", "code": -2010,
                                              "msg": "Order would trigger immediately.",
                                              "when": {"type": "STOP_LOSS_LIMIT"}})
    trade = enter(bot)
    closed = wait_until(lambda: closed_trade(bot, trade["trade_id"]), 90, "the emergency exit")
    assert closed["exit_reason"] == "emergency_exit"
    assert sandbox.book.free["BTC"] == pytest.approx(0, abs=1e-9) and live_stops(sandbox) == []
