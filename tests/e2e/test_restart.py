"""kill -9 the live bot mid-trail and restart it on the same database: nothing lost, nothing doubled."""

import pytest

from tests.e2e.bot import free_port, wait_until
from tests.e2e.conftest import PAIR, enter, stored_state
from tests.e2e.test_live_spot import SETTINGS, health, live_stops, stop_near

pytestmark = pytest.mark.slow


def _restart(start_bot, bot):
    bot.kill()
    bot.health_file.unlink(missing_ok=True)
    again = start_bot(dry_run=False, smart_trailing=SETTINGS, workdir=bot.workdir, api_port=free_port())
    wait_until(lambda: health(again).get("exchange", {}).get("reconciled"), 60, "the first reconciliation")
    return again


@pytest.mark.parametrize("phase", ["before_activation", "after_activation"])
def test_kill_and_restart_keeps_every_trailing_stop(sandbox, start_bot, phase):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial stop order")
    if phase == "after_activation":
        sandbox.set_price(PAIR, entry * 1.03)
        wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the trailed exchange stop")
        wait_until(lambda: (stored_state(bot, trade_id) or {}).get("exchange_moves") == 1, 30,
                   "the move to be stored")
    else:
        sandbox.set_price(PAIR, entry * 1.01)
        wait_until(lambda: (stored_state(bot, trade_id) or {}).get("peak", 0) >= entry * 1.01 * 0.999, 60,
                   "the peak to be stored")
    before = stored_state(bot, trade_id)

    restarted = _restart(start_bot, bot)
    after = stored_state(restarted, trade_id)
    assert after == before  # state, activation time, peak, stop, counters: identical
    assert restarted.events("ACTIVATED") == 0 and "rebuilt from the trade" not in restarted.log_text()
    assert len(live_stops(sandbox)) == 1

    sandbox.set_price(PAIR, entry * 1.06)  # and it keeps trailing from where it was
    wait_until(lambda: stop_near(sandbox, entry * 1.06 * 0.995), 60, "a move after the restart")
    final = stored_state(restarted, trade_id)
    assert final["activated_at"] == (before["activated_at"] or final["activated_at"])
    assert final["stop_raises"] > before["stop_raises"]


def test_kill_between_cancel_and_create(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial stop order")
    # The next stop placement hangs (and never lands): kill the bot while it waits.
    sandbox.faults.add("POST /api/v3/order", {"kind": "timeout", "ms": 8000,
                                              "when": {"type": "STOP_LOSS_LIMIT"}})
    sandbox.set_price(PAIR, entry * 1.03)
    wait_until(lambda: sandbox.faults.hits.get("POST /api/v3/order") and not live_stops(sandbox), 60,
               "the cancel to be done and the create to hang")
    before = stored_state(bot, trade_id)

    restarted = _restart(start_bot, bot)
    assert "no live stop order" in restarted.log_text()  # reported at once
    wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "exactly one live stop again")
    after = stored_state(restarted, trade_id)
    assert after["stop"] == pytest.approx(before["stop"]) and after["phase"] == "ACTIVE"
    assert restarted.events("ACTIVATED") == 0


def test_reload_config_mid_trail_keeps_the_state(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    sandbox.set_price(PAIR, entry * 1.03)
    wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the trailed exchange stop")
    wait_until(lambda: (stored_state(bot, trade_id) or {}).get("exchange_moves") == 1, 30,
               "the move to be stored")
    before = stored_state(bot, trade_id)
    loads = bot.log_text().count("Using resolved strategy E2ETrailing")
    bot.client.reload_config()  # freqtrade re-creates the strategy object
    wait_until(lambda: bot.log_text().count("Using resolved strategy E2ETrailing") > loads
               and bot.client.show_config()["state"] == "running", 60, "the reload")
    assert stored_state(bot, trade_id) == before
    sandbox.set_price(PAIR, entry * 1.05)
    wait_until(lambda: stop_near(sandbox, entry * 1.05 * 0.995), 60, "a move after the reload")
    assert bot.events("ACTIVATED") == 1



def test_kill_after_a_new_stop_is_placed_but_before_freqtrade_records_it(sandbox, start_bot):
    """freqtrade commits a new stop order's record only after every open trade has been handled; a
    crash before that leaves a live order it does not know. The plugin recorded the order's id first,
    so the restarted bot adopts it instead of calling it foreign and failing to place another."""
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    btc = enter(bot)
    eth = enter(bot, "ETH/USDT")
    entry, trade_id = btc["open_rate"], btc["trade_id"]
    old = wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial BTC stop")
    wait_until(lambda: len(_stops(sandbox, "ETHUSDT")) == 1, 60, "the initial ETH stop")
    # freqtrade fetches a trade's exit rate right after handling its stop: hold those answers (below
    # ccxt's timeout, so they still succeed) and the iteration that moves the BTC stop cannot reach
    # freqtrade's commit before the kill.
    sandbox.faults.add("GET /api/v3/ticker/24hr", {"kind": "delay", "ms": 6_000, "times": 20,
                                                   "when": {"symbol": "BTCUSDT"}})
    sandbox.set_price(PAIR, entry * 1.03)
    new = wait_until(lambda: (stop := stop_near(sandbox, entry * 1.03 * 0.995))
                     and (stored_state(bot, trade_id) or {}).get("exchange_stop_id") == str(stop["orderId"])
                     and stop, 90, "the new BTC stop, placed and recorded by the plugin")
    bot.kill()
    sandbox.faults.clear()
    assert new["orderId"] != old["orderId"]
    assert str(new["orderId"]) not in _open_stop_ids(bot.db, trade_id)  # freqtrade never recorded it

    restarted = _restart(start_bot, bot)
    wait_until(lambda: restarted.events("STOP_ADOPTED") == 1, 30, "the new stop to be adopted")
    assert [o["orderId"] for o in live_stops(sandbox)] == [new["orderId"]]  # nothing placed twice
    records = wait_until(lambda: (ids := [o["order_id"] for o in restarted.client.trade(trade_id)["orders"]
                                         if o["ft_order_side"] == "stoploss" and o["is_open"]]) and ids,
                         30, "freqtrade's open stop record")
    assert records == [str(new["orderId"])]
    assert "foreign stop order" not in restarted.log_text()
    assert stored_state(restarted, trade_id)["exchange_stop_id"] == str(new["orderId"])
    assert len(_stops(sandbox, "ETHUSDT")) == 1 and eth["trade_id"] != trade_id


def _stops(sandbox, symbol):
    return [o for o in sandbox.book.open_orders(symbol) if o["type"] == "STOP_LOSS_LIMIT"]


def _open_stop_ids(database, trade_id):
    """freqtrade's committed open stop records, read straight from the SQLite file of a dead bot."""
    import sqlite3

    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT order_id FROM orders WHERE ft_trade_id = ? AND ft_order_side = "
                                  "'stoploss' AND ft_is_open = 1", (trade_id,)).fetchall()
    return [row[0] for row in rows]
