"""``/trailing`` in a real ``freqtrade trade`` dry-run bot whose Telegram cannot be reached.

The plugin hands its command to freqtrade's Telegram thread at start-up; with no route to Telegram
freqtrade retries its start, gives up with its own warning, and the bot must trade on regardless:
the command registered on Telegram's loop, the plugin following a forced entry, the bot stopping
cleanly. (The answer to ``/trailing`` itself is tested in-process through the same classes,
tests/test_telegram_trailing.py, with Telegram's HTTP seam stood in.)
"""

from __future__ import annotations

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import enter, stored_state
from tests.e2e.test_live_spot import SETTINGS

pytestmark = pytest.mark.slow

UNREACHABLE_TELEGRAM = {"enabled": True, "token": "123456:unreachable-token", "chat_id": "1111"}


def test_a_dry_run_bot_with_telegram_unreachable_trades_on(sandbox, start_bot):
    bot = start_bot(dry_run=True, smart_trailing=SETTINGS, extra_config={"telegram": UNREACHABLE_TELEGRAM})
    wait_until(lambda: "/trailing added to freqtrade's Telegram commands" in bot.log_text(), 120,
               "the plugin's command on freqtrade's Telegram loop")
    wait_until(lambda: "Telegram init failed" in bot.log_text(), 180, "freqtrade giving up on Telegram")
    trade = enter(bot)
    state = wait_until(lambda: stored_state(bot, trade["trade_id"]), 60, "the plugin's state of the entry")
    assert state["phase"] == "WAITING"
    log = bot.log_text()
    assert "is not available in Telegram" not in log and "Traceback" not in log
    bot.stop()  # SIGTERM; freqtrade cleans up (Telegram too) and exits with 130, its answer to it
    assert bot.process.returncode == 130, bot.log_tail()
    assert "Cleaning up rpc.telegram" in bot.log_text() and "Traceback" not in bot.log_text()
