"""A bot killed in the middle of a make-before-break, end to end: the real `freqtrade trade` process
with ccxt against the sandbox (Binance USD-M).

The new stop is created; the old stop's cancel is held by the sandbox (a ``timeout`` fault: it waits,
then answers 504 without carrying the cancel out) and the bot is killed with SIGKILL while it waits.
Two stops are live and freqtrade never committed its record of the new one. After the restart on
the same database the reconciliation must leave exactly one live stop, the tighter new one, as
freqtrade's only open stop order; the old one cancelled; no foreign stop reported.
"""

import pytest

from tests.e2e.bot import free_port, wait_until
from tests.e2e.test_futures_short_and_restart import only_open_stop_is
from tests.e2e.test_live_futures import FUTURES, PAIR, SETTINGS, live_stops, request_indexes, start_and_enter
from tests.e2e.test_live_futures import sandbox  # noqa: F401  (the one-perpetual sandbox fixture)
from tests.e2e.test_live_spot import counter, health

pytestmark = pytest.mark.slow

CANCEL = "DELETE /fapi/v1/algoOrder"


def test_a_bot_killed_between_create_and_cancel_restarts_with_only_the_new_stop(sandbox, start_bot):
    bot, trade, entry, first = start_and_enter(start_bot, sandbox)
    trade_id = trade["trade_id"]
    sandbox.faults.add(CANCEL, {"kind": "timeout", "ms": 10_000, "when": {"algoId": first["algoId"]}})
    sandbox.set_price(PAIR, entry * 1.03)  # activates: make-before-break, new stop first
    wait_until(lambda: request_indexes(sandbox, *CANCEL.split(" ")), 60, "the old stop's cancel to be sent")
    bot.kill()  # while the cancel waits for its answer
    assert sandbox.faults.hits[CANCEL] == 1
    (new,) = [s for s in live_stops(sandbox) if s["algoId"] != first["algoId"]]
    assert float(new["triggerPrice"]) > float(first["triggerPrice"])
    assert len(live_stops(sandbox)) == 2  # both live: the old one's cancel was never carried out

    bot.health_file.unlink(missing_ok=True)
    restarted = start_bot(dry_run=False, smart_trailing=SETTINGS, workdir=bot.workdir, api_port=free_port(),
                          **FUTURES)
    wait_until(lambda: health(restarted).get("exchange", {}).get("reconciled"), 60, "the first reconciliation")
    wait_until(lambda: [s["algoId"] for s in live_stops(sandbox)] == [new["algoId"]], 60,
               "exactly one live stop, the new one")
    wait_until(lambda: only_open_stop_is(restarted, trade_id, new["algoId"]), 30,
               "freqtrade to hold the new stop as its only open stop order")
    assert sandbox.futures.get_algo(first["algoId"])["algoStatus"] == "CANCELED"
    wait_until(lambda: counter(restarted, "replacements_finished_by_reconciliation") == 1, 30,
               "the health view to count the replacement finished by the reconciliation")
    assert restarted.events("ORPHAN_CANCELLED") == 1 and restarted.events("STOP_ADOPTED") == 1
    log = restarted.log_text()
    assert "foreign stop order" not in log and "no live stop order" not in log and "Traceback" not in log
    assert sandbox.unknown_paths == []
