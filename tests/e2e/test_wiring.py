"""A live bot whose strategy overrides bot_start, bot_loop_start, order_filled and custom_stoploss
without super(): reconciliation, the governor, fill tracking and the trailing stop all still run."""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import closed_trade, enter, stored_state
from tests.e2e.test_live_spot import SETTINGS, live_stops, stop_near

pytestmark = pytest.mark.slow


def test_overrides_without_super_still_trail_the_exchange_stop(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS, strategy="E2ENoSuper")
    trade = enter(bot)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial stop order at -5 %")
    sandbox.set_price("BTC/USDT", entry * 1.02)
    wait_until(lambda: stop_near(sandbox, entry * 1.02 * 0.995), 60, "the exchange stop to trail")
    state = wait_until(lambda: (s := stored_state(bot, trade_id)) and s["exchange_moves"] == 1 and s, 30,
                       "the move to be stored")
    assert state["phase"] == "ACTIVE" and state["rebuilds"] == 0
    sandbox.set_price("BTC/USDT", entry * 1.01)  # below the stop, above its limit
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to close on its stop")
    assert closed["exit_reason"] == "stoploss_on_exchange" and live_stops(sandbox) == []
    log = bot.log_text()
    assert "Traceback" not in log and "not_reconciled" not in log and "no stored state" not in log
