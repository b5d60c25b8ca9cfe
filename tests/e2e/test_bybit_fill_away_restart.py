"""A market entry that fills away from its quote survives a kill -9 and restart on Bybit unrebuilt.

The real `freqtrade trade` process with ccxt's bybit client against the sandbox's v5 API. The entry
is asked at the quote; the sandbox's ``slip`` fault moves the price 0.3 % up just before the order is
carried out, so it fills above the quote (the Bybit soak's trade: asked 103.479, filled 103.796).
freqtrade then re-sets its hard stop from the fill and flags the stop as trailing, though nothing
trailed. After the kill and restart the stored state (WAITING, no stop of its own) must be kept, not
rebuilt with a WARNING as "no stored stop but the trade's stop was moved", and the trade must trail
from its own entry once the price gets there.
"""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import enter, open_trade, stored_state
from tests.e2e.test_bybit_amend import PAIR, SETTINGS, SYMBOL, sandbox, start_bybit_bot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

SLIP = 0.003


def one_stop_near(sandbox, price, rel=0.001):
    stops = sandbox.bybit.book.open_stops(SYMBOL)
    return len(stops) == 1 and abs(float(stops[0]["triggerPrice"]) - price) / price < rel and stops[0]


def test_a_fill_away_from_the_quote_is_kept_across_a_kill_and_restart(sandbox, start_bybit_bot):
    bot = start_bybit_bot(settings=SETTINGS)
    quote = sandbox.price(PAIR)
    sandbox.faults.add("POST /v5/order/create", {"kind": "slip", "ratio": SLIP, "when": {"orderType": "Market"}})
    trade = enter(bot, PAIR)
    trade_id, entry = trade["trade_id"], trade["open_rate"]
    assert entry == pytest.approx(quote * (1 + SLIP), rel=2e-4)  # filled away from the quote
    wait_until(lambda: one_stop_near(sandbox, entry * 0.95), 60, "the exchange stop at -5 % from the fill")
    trade = open_trade(bot, PAIR)
    assert trade["stop_loss_abs"] > trade["initial_stop_loss_abs"]  # freqtrade re-set it from the fill
    before = wait_until(lambda: stored_state(bot, trade_id), 30, "the stored state")
    assert before["phase"] == "WAITING" and before["stop"] is None
    assert before["entry"] == pytest.approx(entry, rel=1e-9)

    bot.kill()
    restarted = start_bybit_bot(workdir=bot.workdir, settings=SETTINGS)
    wait_until(lambda: open_trade(restarted, PAIR), 60, "the restarted bot to show the trade")
    top = entry * 1.02  # past the 1.5 % activation measured from the fill
    sandbox.set_price(PAIR, top)
    state = wait_until(lambda: (s := stored_state(restarted, trade_id)) and s.get("phase") == "ACTIVE" and s,
                       60, "the restarted bot to activate trailing")
    assert state["rebuilds"] == 0 and state["opened_at"] == before["opened_at"]
    assert "rebuilt from the trade" not in restarted.log_text()
    assert state["activation_price"] == pytest.approx(before["activation_price"], rel=1e-12)
    wait_until(lambda: one_stop_near(sandbox, top * 0.995), 60, "the exchange stop trailed to the peak - 0.5 %")
    assert "Traceback" not in restarted.log_text()
    assert sandbox.unknown_paths == []
