"""The real bot against exchange faults in the stop-on-exchange layer (issue 6, D.10 and D.11).

- A new stop placed but answered with a timeout (HTTP 504, Binance -1007 "execution status
  unknown"): the plugin finds it on the exchange and freqtrade records it as the trade's stop; no
  foreign order, no second placement failing on locked coins, and the stop keeps trailing.
- A dry-run restart: dry-run stop orders live in the old process's memory, so for a moment no trade
  has a live stop; freqtrade restores them in its first iteration. That is no alarm.
"""

import pytest

from tests.e2e.bot import free_port, wait_until
from tests.e2e.conftest import PAIR, enter
from tests.e2e.test_live_spot import SETTINGS, health, stop_near

pytestmark = pytest.mark.slow

NO_STOP_ALARM = "no live stop order on the exchange"


def lose_next_answer(sandbox, order_type="STOP_LOSS_LIMIT"):
    """The sandbox places the next order of this type, then answers 504 / -1007 as if it timed out."""
    sandbox.faults.add("POST /api/v3/order", {"kind": "lost_answer", "when": {"type": order_type}})
    return lambda: sandbox.faults.hits.get("POST /api/v3/order", 0) == 1


def open_stop_records(bot, trade_id):
    """freqtrade's own open stop order records of the trade (REST)."""
    return [o["order_id"] for o in bot.client.trade(trade_id)["orders"]
            if o["ft_order_side"] == "stoploss" and o["is_open"]]


def reconciliations(bot) -> int:
    """Reconciliation passes the bot's health file reports (a health line alone is not one; the file
    is replaced whole, where the log's last line may still be being written)."""
    return health(bot).get("exchange", {}).get("reconciliations", 0)


def alarms(bot, text):
    return [line for line in bot.log_text().splitlines()
            if " - ts_plugin - " in line and "event=WARNING " in line and text in line]


def test_a_new_stop_whose_answer_was_lost_is_adopted_and_keeps_trailing(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial stop order")
    answer_lost = lose_next_answer(sandbox)
    sandbox.set_price(PAIR, entry * 1.03)  # emergency move: cancel, then a create whose answer is lost
    new = wait_until(lambda: answer_lost() and stop_near(sandbox, entry * 1.03 * 0.995), 60,
                     "the new stop, placed with its answer lost")
    wait_until(lambda: open_stop_records(bot, trade_id) == [str(new["orderId"])], 30,
               "freqtrade's record of the stop it never got an answer for")
    assert bot.events("STOP_ADOPTED") == 1

    sandbox.set_price(PAIR, entry * 1.06)  # and the exchange stop trails on from it
    moved = wait_until(lambda: stop_near(sandbox, entry * 1.06 * 0.995), 60, "a move after the lost answer")
    wait_until(lambda: open_stop_records(bot, trade_id) == [str(moved["orderId"])], 30,
               "freqtrade's record of the moved stop")
    log = bot.log_text()
    assert "foreign stop order" not in log and "insufficient" not in log.lower()
    assert alarms(bot, NO_STOP_ALARM) == [] and "Traceback" not in log


def test_a_dry_run_restart_is_no_unprotected_alarm(sandbox, start_bot):
    settings = {**SETTINGS, "exchange": {**SETTINGS["exchange"], "orphan_check_interval_s": 1}}
    bot = start_bot(dry_run=True, smart_trailing=settings)
    trades = [enter(bot), enter(bot, "ETH/USDT")]
    for trade in trades:
        wait_until(lambda trade=trade: open_stop_records(bot, trade["trade_id"]), 60,
                   f"the dry-run stop of {trade['pair']}")
    bot.kill()

    again = start_bot(dry_run=True, smart_trailing=settings, workdir=bot.workdir, api_port=free_port())
    # Three reconciliation passes: the one at start-up and two after whole iterations of the bot.
    wait_until(lambda: reconciliations(again) >= 3, 60, "three reconciliations")
    assert alarms(again, NO_STOP_ALARM) == []
    assert "has no live stop order on the exchange yet" in again.log_text()  # said, at INFO
    for trade in trades:
        assert open_stop_records(again, trade["trade_id"])
    assert "Traceback" not in again.log_text()
