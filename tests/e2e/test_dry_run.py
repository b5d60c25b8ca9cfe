"""Dry-run end to end: the real bot and ccxt client against the sandbox, state read over REST."""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import PAIR, closed_trade, enter, stored_state

pytestmark = pytest.mark.slow

SETTINGS = {
    "activation_profit": 0.015,
    "trail_distance": 0.005,
    "exchange": {"min_update_interval_s": 1, "orphan_check_interval_s": 5},
}


def test_dry_run_trails_moves_the_emulated_exchange_stop_and_exits_on_it(sandbox, start_bot):
    bot = start_bot(dry_run=True, smart_trailing=SETTINGS)
    trade = enter(bot)
    trade_id = trade["trade_id"]
    entry = trade["open_rate"]
    created = wait_until(lambda: stored_state(bot, trade_id), 30, "the CREATED state")
    assert created["phase"] == "WAITING" and created["entry"] == pytest.approx(entry)

    sandbox.set_price(PAIR, entry * 1.03)
    expected_stop = entry * 1.03 * 0.995
    active = wait_until(
        lambda: (s := stored_state(bot, trade_id)) and s["exchange_stop"]
        and abs(s["exchange_stop"] - expected_stop) / expected_stop < 0.002 and s,
        60, "the exchange stop to follow the activated trailing stop")
    assert active["phase"] == "ACTIVE" and active["stop"] == pytest.approx(active["peak"] * 0.995)
    assert active["peak"] == pytest.approx(entry * 1.03, rel=0.001)  # the bot's exit rate, not mid
    assert active["activated_at"] is not None and active["exchange_moves"] >= 1

    sandbox.set_price(PAIR, entry * 1.01)  # below the stop: the trade exits on it
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to exit on its stop")
    # A dry-run bot watches the same stop twice: the emulated exchange order (checked when the bot
    # fetches it) and its own stop (checked on the exit rate a moment later in the same iteration).
    # Which one sees the drop first depends on where in the iteration the price changed.
    assert closed["exit_reason"] in ("stoploss_on_exchange", "trailing_stop_loss")
    assert closed["close_rate"] >= entry  # exited in profit, on the trailed stop
    final = stored_state(bot, trade_id)
    assert final["phase"] == "CLOSED" and final["exit_reason"] == closed["exit_reason"]
    log = bot.log_text()
    assert bot.events("ACTIVATED") == 1 and bot.events("TRIGGERED") == 1
    assert "Traceback" not in log
