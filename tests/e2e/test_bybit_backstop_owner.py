"""Whose is a Bybit position's trailing stop, end to end (a real freqtrade bot on the sandbox's Bybit
USDT perpetuals through ccxt): the plugin records the distance it sets; anything else is foreign.

- a trailing stop the user set on the position while the bot ran without the backstop: after a restart
  with ``native_backstop`` on, it is reported and left exactly as it is (never adopted and re-set
  looser to the bot's distance), and no backstop is set over it;
- the plugin's own trailing stop, with ``native_backstop`` switched off at a restart: cleared, counted.
"""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import stored_state
from tests.e2e.test_bybit_amend import SYMBOL, sandbox, start_bybit_bot  # noqa: F401  (fixtures)
from tests.e2e.test_bybit_backstop import activate, settings, trailing_stop
from tests.e2e.test_live_spot import counter, health

pytestmark = pytest.mark.slow

USERS = 0.2  # a price distance, on the 0.001 tick: tighter than the bot's 0.5 % at 103 (about 0.54)


def test_a_trailing_stop_the_user_set_is_reported_and_never_re_set(sandbox, start_bybit_bot):
    bot, trade_id, top, stop = activate(start_bybit_bot, sandbox, backstop=False)
    sandbox.bybit.account.set_trading_stop({"symbol": SYMBOL, "trailingStop": f"{USERS}", "positionIdx": "0",
                                            "tpslMode": "Full"})
    bot.kill()
    restarted = start_bybit_bot(workdir=bot.workdir, settings=settings(True))
    wait_until(lambda: "not set by the bot left alone" in restarted.log_text(), 60,
               "the foreign trailing stop reported")
    wait_until(lambda: counter(restarted, "reconciliations") >= 3, 60, "more reconciliations")
    assert trailing_stop(sandbox).distance == pytest.approx(USERS)  # as the user set it
    assert counter(restarted, "backstops_adopted") == 0 and counter(restarted, "backstops_placed") == 0
    assert "backstop_id" not in stored_state(restarted, trade_id)
    assert health(restarted)["last_reconciliation"]["foreign"] >= 1
    reports = [line for line in restarted.log_text().splitlines()
               if "event=WARNING" in line and "not set by the bot left alone" in line]
    assert len(reports) == 1  # once, not at every pass
    assert "Traceback" not in restarted.log_text()


def test_its_own_trailing_stop_is_cleared_when_switched_off_at_restart(sandbox, start_bybit_bot):
    bot, trade_id, top, stop = activate(start_bybit_bot, sandbox, backstop=True)
    wait_until(lambda: trailing_stop(sandbox), 60, "the position's trailing stop")
    wait_until(lambda: (s := stored_state(bot, trade_id)) and s.get("backstop_id"), 30, "its record")
    bot.kill()
    restarted = start_bybit_bot(workdir=bot.workdir, settings=settings(False))
    wait_until(lambda: trailing_stop(sandbox) is None, 60, "the leftover trailing stop to be cleared")
    wait_until(lambda: counter(restarted, "orphans_cancelled") >= 1, 30, "the health view to count it")
    assert restarted.events("ORPHAN_CANCELLED") == 1
    wait_until(lambda: (s := stored_state(restarted, trade_id)) and "backstop_id" not in s, 30, "its record gone")
    assert "Traceback" not in restarted.log_text()
