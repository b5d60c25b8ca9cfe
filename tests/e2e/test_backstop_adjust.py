"""The native trailing backstop when the position changes or the feature is switched off, end to end: a
real freqtrade bot on Binance USD-M futures (the sandbox, through the real ccxt client).

- a DCA entry while trailing: the backstop is re-placed for the whole position; killed mid-trail, the
  exchange's backstop then closes all of it (the BENCHMARKS figure);
- a backstop that still holds the amount before the DCA (its re-placement refused) and fires: the
  regular stop, which covers the rest, stays; freqtrade books a partial exit, not the trade's exit; the
  backstop is placed again for the rest, and the trade ends with nothing left on the exchange;
- ``native_backstop`` switched off at a restart: the plugin's leftover backstop is found and cancelled
  and the health view counts it.
"""

import json

import pytest

from tests.e2e.bot import free_port, wait_until
from tests.e2e.conftest import closed_trade, enter, stored_state
from tests.e2e.test_backstop import TRAILING, activate, backstops, fill_of, regular_stops, settings, walk
from tests.e2e.test_live_futures import FUTURES, PAIR, SYMBOL, positions
from tests.e2e.test_live_futures import sandbox  # noqa: F401  (the one-perpetual sandbox fixture)
from tests.e2e.test_live_spot import POLICY, counter

pytestmark = pytest.mark.slow

DISTANCE = 0.005
# The regular stop holds still through rises under 2 %: a dip can then fire the backstop alone.
LAZY = {**POLICY, "min_improvement": 0.02, "emergency_improvement": 0.03}


def position_amount(sandbox) -> float:
    held = positions(sandbox)
    return float(held[0]["positionAmt"]) if held else 0.0


def ask_adjustment(bot, trade_id: int, stake: float) -> None:
    """Ask the strategy (E2EDca) for a DCA entry (stake > 0) or a partial exit (stake < 0)."""
    folder = bot.workdir / "user_data"
    draft = folder / "adjust.json.tmp"
    draft.write_text(json.dumps({"trade_id": trade_id, "stake": stake}))
    draft.replace(folder / "adjust.json")


def trailing_with_dca(start_bot, sandbox, policy=POLICY, backstop=True):
    """A long trailing after a 3 % rise, then a DCA entry of the same stake at that price; returns
    (bot, trade id, the price it trails at, the position before the DCA, after it)."""
    trailing = {**settings(DISTANCE, backstop), "exchange": {**policy, "native_backstop": backstop}}
    bot = start_bot(dry_run=False, strategy="E2EDca", smart_trailing=trailing, **FUTURES)
    trade = enter(bot, PAIR)
    trade_id, entry = trade["trade_id"], trade["open_rate"]
    wait_until(lambda: len(regular_stops(sandbox)) == 1, 60, "the initial conditional stop")
    top = entry * 1.03
    sandbox.set_price(PAIR, top)
    wait_until(lambda: (s := stored_state(bot, trade_id)) and s["phase"] == "ACTIVE", 60, "the trade to trail")
    if backstop:
        wait_until(lambda: len(backstops(sandbox)) == 1, 60, "the native trailing backstop")
    before = position_amount(sandbox)
    ask_adjustment(bot, trade_id, 100.0)
    after = wait_until(lambda: (amount := position_amount(sandbox)) > before * 1.5 and amount, 60,
                       "the DCA entry to fill")
    wait_until(lambda: bot.client.trade(trade_id)["amount"] == pytest.approx(after, rel=1e-9), 60,
               "freqtrade to book the DCA entry")
    wait_until(lambda: [float(s["quantity"]) for s in regular_stops(sandbox)] == [pytest.approx(after)], 60,
               "freqtrade's stop for the whole position")
    return bot, trade_id, top, before, after


def test_after_a_dca_the_backstop_covers_the_whole_position_and_closes_it_after_kill(sandbox, start_bot):
    bot, trade_id, top, before, after = trailing_with_dca(start_bot, sandbox)
    (backstop,) = wait_until(lambda: (held := backstops(sandbox)) and len(held) == 1
                             and float(held[0]["quantity"]) == pytest.approx(after) and held, 60,
                             "the backstop re-placed for the whole position")
    assert backstop["reduceOnly"] is True and backstop["callbackRate"] == "0.5"
    state = wait_until(lambda: (s := stored_state(bot, trade_id)) and s.get("backstop_id") == str(backstop["algoId"])
                       and s, 30, "the new backstop's id and amount to be stored")
    assert state["backstop_amount"] == pytest.approx(after) and state["phase"] == "ACTIVE"
    # the keeper stores the new id, then counts it: the REST API may answer in between
    wait_until(lambda: counter(bot, "backstops_replaced") >= 1, 30, "the health view to count the replacement")

    bot.kill()
    peak = top * 1.05
    walk(sandbox, top, peak, 0.005)
    walk(sandbox, peak, peak * (1 - DISTANCE) * 0.9995, 0.0005)
    assert positions(sandbox) == []  # all of it, the DCA entry too
    exit_price = float(fill_of(sandbox, backstop)["avgPrice"])
    assert peak * (1 - DISTANCE) * 0.9995 <= exit_price <= peak * (1 - DISTANCE)
    print(f"\nFIGURE backstop after DCA: entry x {top / 1.03:.4f}, DCA at {top:.4f}, position {before:g} -> "
          f"{after:g}, peak {peak:.4f}, exit {exit_price:.4f} (peak x {exit_price / peak:.5f}) for {after:g}")

    restarted = start_bot(dry_run=False, strategy="E2EDca", smart_trailing=settings(DISTANCE, True),
                          workdir=bot.workdir, api_port=free_port(), **FUTURES)
    closed = wait_until(lambda: closed_trade(restarted, trade_id), 60, "the restarted bot to close the trade")
    assert closed["exit_reason"] == "stoploss_on_exchange" and closed["amount"] == pytest.approx(after)
    assert closed["close_rate"] == pytest.approx(exit_price, rel=1e-9)
    wait_until(lambda: sandbox.futures.open_algo_orders(SYMBOL) == [], 30, "nothing left on the exchange")
    assert positions(sandbox) == [] and "Traceback" not in restarted.log_text()


def test_after_a_dca_without_backstop_the_frozen_regular_stop_sells_lower_after_kill(sandbox, start_bot):
    """The same path without the backstop (the BENCHMARKS figure's other column)."""
    bot, trade_id, top, before, after = trailing_with_dca(start_bot, sandbox, backstop=False)
    (stop,) = regular_stops(sandbox)
    bot.kill()
    peak = top * 1.05
    walk(sandbox, top, peak, 0.005)
    walk(sandbox, peak, top * 0.98, 0.0005)
    assert positions(sandbox) == []
    exit_price = float(fill_of(sandbox, stop)["avgPrice"])
    assert exit_price < top
    print(f"\nFIGURE no backstop after DCA: entry x {top / 1.03:.4f}, DCA at {top:.4f}, position {before:g} -> "
          f"{after:g}, peak {peak:.4f}, exit {exit_price:.4f} (peak x {exit_price / peak:.5f})")


def test_a_backstop_fill_that_leaves_the_dca_part_is_a_partial_exit_and_the_stop_stays(sandbox, start_bot):
    """The backstop's re-placement after the DCA is refused, so it still holds the amount before it;
    it fires on a dip the regular stop does not reach. The regular stop (whole position, reduce-only)
    must stay, freqtrade books a partial exit and keeps the trade open for the rest, and the backstop
    is placed again for the rest."""
    refusal = {"kind": "error", "code": -4164, "times": 1000, "when": {"type": TRAILING},
               "msg": "Order's notional must be no smaller than 20 (unless you choose reduce only)."}
    bot = start_bot(dry_run=False, strategy="E2EDca",
                    smart_trailing={**settings(DISTANCE, True), "exchange": {**LAZY, "native_backstop": True}},
                    **FUTURES)
    trade = enter(bot, PAIR)
    trade_id, entry = trade["trade_id"], trade["open_rate"]
    top = entry * 1.03
    wait_until(lambda: len(regular_stops(sandbox)) == 1, 60, "the initial conditional stop")
    sandbox.set_price(PAIR, top)
    (backstop,) = wait_until(lambda: backstops(sandbox) or None, 60, "the native trailing backstop")
    before = position_amount(sandbox)
    sandbox.faults.add("POST /fapi/v1/algoOrder", refusal)
    ask_adjustment(bot, trade_id, 100.0)
    after = wait_until(lambda: (amount := position_amount(sandbox)) > before * 1.5 and amount, 60,
                       "the DCA entry to fill")
    (stop,) = wait_until(lambda: (held := regular_stops(sandbox)) and len(held) == 1
                         and float(held[0]["quantity"]) == pytest.approx(after) and held, 60,
                         "freqtrade's stop for the whole position")
    assert [float(b["quantity"]) for b in backstops(sandbox)] == [pytest.approx(before)]  # every re-placement refused

    trigger = float(stop["triggerPrice"])
    high = max(top * 1.01, trigger / (1 - DISTANCE) * 1.002)  # the backstop's level above the stop's
    sandbox.set_price(PAIR, high)
    sandbox.set_price(PAIR, high * (1 - DISTANCE) * 0.9999)  # under the backstop's level, over the stop
    assert sandbox.futures.get_algo(backstop["algoId"])["algoStatus"] == "TRIGGERED"
    rest = after - before
    assert position_amount(sandbox) == pytest.approx(rest)
    booked = wait_until(lambda: (t := bot.client.trade(trade_id)) and t["amount"] == pytest.approx(rest) and t, 60,
                        "freqtrade to book the backstop's fill as a partial exit")
    assert booked["is_open"] and sandbox.futures.get_algo(stop["algoId"])["algoStatus"] == "NEW"
    exits = [o for o in booked["orders"] if o["ft_order_side"] == "sell" and o["status"] == "closed"]
    assert [float(o["filled"]) for o in exits] == [pytest.approx(before)]
    wait_until(lambda: counter(bot, "backstop_partial_exits") == 1, 30, "the health view to count it")
    assert counter(bot, "backstop_exits") == 0
    wait_until(lambda: counter(bot, "backstop_failures") >= 1, 60, "a re-placement to be tried (refused)")

    sandbox.faults.clear()
    wait_until(lambda: [float(b["quantity"]) for b in backstops(sandbox)] == [pytest.approx(rest)], 60,
               "the backstop placed again for the rest")
    sandbox.set_price(PAIR, trigger * 0.997)  # through the regular stop (and the new backstop)
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to close")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    wait_until(lambda: sandbox.futures.open_algo_orders(SYMBOL) == [], 30, "nothing left on the exchange")
    assert positions(sandbox) == [] and "Traceback" not in bot.log_text()


def test_switched_off_at_restart_the_leftover_backstop_is_cancelled_and_counted(sandbox, start_bot):
    bot, trade_id, top, stop = activate(start_bot, sandbox, DISTANCE, backstop=True)
    (backstop,) = wait_until(lambda: backstops(sandbox) or None, 60, "the native trailing backstop")
    wait_until(lambda: (s := stored_state(bot, trade_id)) and s.get("backstop_id")
               and s.get("exchange_stop_id") == str(stop["algoId"]), 30, "the backstop and the moved stop stored")
    bot.kill()  # the regular stop's move is over: only the backstop is left to judge

    restarted = start_bot(dry_run=False, smart_trailing=settings(DISTANCE, False), workdir=bot.workdir,
                          api_port=free_port(), **FUTURES)
    wait_until(lambda: sandbox.futures.get_algo(backstop["algoId"])["algoStatus"] == "CANCELED", 60,
               "the leftover backstop to be cancelled")
    wait_until(lambda: counter(restarted, "orphans_cancelled") >= 1, 30, "the health view to count it")
    assert restarted.events("ORPHAN_CANCELLED") == 1 and "backstop=True" in restarted.log_text()
    state = wait_until(lambda: (s := stored_state(restarted, trade_id)) and "backstop_id" not in s and s, 30,
                       "the stored state to forget it")
    assert state["phase"] == "ACTIVE"
    wait_until(lambda: counter(restarted, "reconciliations") >= 3, 30, "more reconciliations")
    assert backstops(sandbox) == [] and len(regular_stops(sandbox)) == 1  # none placed again; the stop stays
    assert closed_trade(restarted, trade_id) is None
    assert "Traceback" not in restarted.log_text()


def test_a_partial_exit_while_trailing_resizes_the_backstop(sandbox, start_bot):
    """After the DCA entry, a partial exit through adjust_trade_position: the backstop follows the
    smaller position (new one first, the old one cancelled), never more than one live."""
    bot, trade_id, top, before, after = trailing_with_dca(start_bot, sandbox)
    wait_until(lambda: [float(b["quantity"]) for b in backstops(sandbox)] == [pytest.approx(after)], 60,
               "the backstop for the whole position")
    ask_adjustment(bot, trade_id, -60.0)
    rest = wait_until(lambda: (amount := position_amount(sandbox)) < after * 0.9 and amount, 60,
                      "the partial exit to fill")
    wait_until(lambda: bot.client.trade(trade_id)["amount"] == pytest.approx(rest, rel=1e-9), 60,
               "freqtrade to book the partial exit")
    (backstop,) = wait_until(lambda: (held := backstops(sandbox)) and len(held) == 1
                             and float(held[0]["quantity"]) == pytest.approx(rest) and held, 60,
                             "the backstop re-placed for the rest")
    assert backstop["reduceOnly"] is True and bot.client.trade(trade_id)["is_open"]
    assert "Traceback" not in bot.log_text()
