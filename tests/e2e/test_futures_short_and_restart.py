"""Live Binance USD-M futures end to end, part two: a SHORT trade trailed down by algo BUY stops
(make-before-break) until it closes on the exchange, and a kill -9 mid-trail on a futures long."""

import pytest

from tests.e2e.bot import free_port, wait_until
from tests.e2e.conftest import closed_trade, open_trade, stored_state
from tests.e2e.test_live_futures import (FUTURES, PAIR, SETTINGS, live_stops, open_stop_records, positions,
                                         request_indexes, start_and_enter, stop_near)
from tests.e2e.test_live_futures import sandbox  # noqa: F401  (the one-perpetual sandbox fixture)
from tests.e2e.test_live_spot import counter, health
from ts_plugin.sandbox.quotes import book_levels

pytestmark = pytest.mark.slow

SHORT_STRATEGY = "E2ETrailingShort"  # E2ETrailing with can_short = True


def enter_short(bot):
    bot.client.forceenter(PAIR, "short")
    return wait_until(lambda: open_trade(bot, PAIR), 60, f"the forced short entry on {PAIR} to fill")


def only_open_stop_is(bot, trade_id, algo_id):
    return [o["order_id"] for o in open_stop_records(bot, trade_id)] == [str(algo_id)]


def test_short_futures_stop_trails_down_make_before_break_and_closes_the_position(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS, strategy=SHORT_STRATEGY, **FUTURES)
    trade = enter_short(bot)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    assert trade["trading_mode"] == "futures" and trade["is_short"] and trade["leverage"] == 1
    (position,) = positions(sandbox)
    assert float(position["positionAmt"]) == pytest.approx(-trade["amount"])

    # The initial hard stop: an algo BUY stop ~5 % ABOVE the entry, reduce-only.
    first = wait_until(lambda: stop_near(sandbox, entry * 1.05), 60, "the initial conditional stop at +5 %")
    assert first["orderType"] == "STOP" and first["side"] == "BUY" and first["reduceOnly"] is True
    assert float(first["triggerPrice"]) > entry
    assert request_indexes(sandbox, "DELETE", "/fapi/v1/algoOrder") == []
    assert len(request_indexes(sandbox, "POST", "/fapi/v1/algoOrder")) == 1
    state = wait_until(lambda: stored_state(bot, trade_id), 30, "the stored state")
    assert state["side"] == "short" and state["phase"] == "WAITING"

    # Price falls past activation (entry x 0.985): the stop comes down to the trough x 1.005.
    sandbox.set_price(PAIR, entry * 0.97)
    second = wait_until(lambda: stop_near(sandbox, entry * 0.97 * 1.005), 60, "the make-before-break move down")
    assert second["algoId"] != first["algoId"] and second["side"] == "BUY" and second["reduceOnly"] is True
    assert float(second["triggerPrice"]) < entry
    creates = request_indexes(sandbox, "POST", "/fapi/v1/algoOrder")
    cancels = request_indexes(sandbox, "DELETE", "/fapi/v1/algoOrder")
    assert len(creates) == 2 and len(cancels) == 1 and creates[1] < cancels[0]  # new stop first
    assert sandbox.futures.get_algo(first["algoId"])["algoStatus"] == "CANCELED"
    assert [s["algoId"] for s in live_stops(sandbox)] == [second["algoId"]]
    wait_until(lambda: only_open_stop_is(bot, trade_id, second["algoId"]), 30,
               "freqtrade to record the new stop as its only open stop order")
    wait_until(lambda: counter(bot, "moves_make_before_break") == 1, 30, "the health view to count the move")
    assert health(bot)["exchange"]["replacement_path"] == "make_before_break"
    assert bot.events("ACTIVATED") == 1 and bot.events("UNPROTECTED_WINDOW") == 0
    active = wait_until(lambda: (s := stored_state(bot, trade_id)) and s.get("exchange_moves") == 1 and s, 30,
                        "the move to be stored")
    assert active["phase"] == "ACTIVE" and active["side"] == "short"
    # A short's exit is priced at the book's best ask: about price x 1.0001, on the tick grid.
    (best_ask,) = book_levels(entry * 0.97, sandbox.futures.markets["BTCUSDT"].tick_size, 1)[1]
    assert active["peak"] == pytest.approx(float(best_ask), rel=1e-9)
    assert active["stop"] == pytest.approx(active["peak"] * 1.005, rel=1e-9)
    assert active["exchange_stop_id"] == str(second["algoId"])

    # Price rises through the stop (~0.9749) and stays below its limit (x 1.01): it fills and closes.
    sandbox.set_price(PAIR, entry * 0.98)
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the short to close on its stop")
    assert closed["exit_reason"] == "stoploss_on_exchange" and closed["is_short"]
    assert closed["close_rate"] == pytest.approx(entry * 0.98, rel=1e-6) and closed["profit_abs"] > 0
    assert positions(sandbox) == [] and live_stops(sandbox) == []
    triggered = sandbox.futures.get_algo(second["algoId"])
    assert triggered["algoStatus"] == "TRIGGERED" and triggered["actualOrderId"]
    fill = sandbox.futures.orders[int(triggered["actualOrderId"])]
    assert fill["side"] == "BUY" and fill["status"] == "FILLED" and fill["reduceOnly"] is True
    final = wait_until(lambda: (s := stored_state(bot, trade_id)) and s.get("phase") == "CLOSED" and s, 30,
                       "the stored state to be CLOSED")
    assert final["side"] == "short" and final["exchange_moves"] == 1
    assert "Traceback" not in bot.log_text()
    assert sandbox.unknown_paths == []


def test_kill_and_restart_mid_trail_on_futures_keeps_the_trailing_stop(sandbox, start_bot):
    bot, trade, entry, first = start_and_enter(start_bot, sandbox)
    trade_id = trade["trade_id"]
    sandbox.set_price(PAIR, entry * 1.03)  # activates
    second = wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the trailed exchange stop")
    wait_until(lambda: (stored_state(bot, trade_id) or {}).get("exchange_moves") == 1, 30, "the move to be stored")
    wait_until(lambda: only_open_stop_is(bot, trade_id, second["algoId"]), 30,
               "freqtrade to record the new stop as its only open stop order")
    assert bot.events("ACTIVATED") == 1
    before = stored_state(bot, trade_id)
    assert before["phase"] == "ACTIVE" and before["exchange_stop_id"] == str(second["algoId"])

    bot.kill()
    bot.health_file.unlink(missing_ok=True)
    restarted = start_bot(dry_run=False, smart_trailing=SETTINGS, workdir=bot.workdir, api_port=free_port(),
                          **FUTURES)
    wait_until(lambda: health(restarted).get("exchange", {}).get("reconciled"), 60, "the first reconciliation")
    assert restarted.log != bot.log  # a fresh log: the events counted below are the new process's only

    assert stored_state(restarted, trade_id) == before  # state, activation time, peak, stop, counters
    assert restarted.events("ACTIVATED") == 0 and "rebuilt from the trade" not in restarted.log_text()
    assert restarted.events("STOP_ADOPTED") == 0 and restarted.events("ORPHAN_CANCELLED") == 0
    assert [s["algoId"] for s in live_stops(sandbox)] == [second["algoId"]]  # exactly one, the same one
    assert only_open_stop_is(restarted, trade_id, second["algoId"])

    sandbox.set_price(PAIR, entry * 1.06)  # it keeps trailing from where it was
    third = wait_until(lambda: stop_near(sandbox, entry * 1.06 * 0.995), 60, "a move after the restart")
    assert third["algoId"] != second["algoId"]
    creates = request_indexes(sandbox, "POST", "/fapi/v1/algoOrder")
    cancels = request_indexes(sandbox, "DELETE", "/fapi/v1/algoOrder")
    assert len(creates) == 3 and len(cancels) == 2 and creates[2] < cancels[1]  # still make-before-break
    assert sandbox.futures.get_algo(second["algoId"])["algoStatus"] == "CANCELED"
    wait_until(lambda: only_open_stop_is(restarted, trade_id, third["algoId"]), 30,
               "freqtrade to record the post-restart stop as its only open stop order")
    final = wait_until(lambda: (s := stored_state(restarted, trade_id)) and s.get("exchange_moves") == 2 and s,
                       30, "the post-restart move to be stored")
    assert final["activated_at"] == before["activated_at"] and final["opened_at"] == before["opened_at"]
    assert final["stop_raises"] > before["stop_raises"] and final["stop"] > before["stop"]
    assert final["exchange_stop_id"] == str(third["algoId"]) and final["rebuilds"] == 0
    assert restarted.events("ACTIVATED") == 0
    assert "Traceback" not in restarted.log_text()
