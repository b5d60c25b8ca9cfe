"""An entry adjustment's fill on Bybit perpetuals: the stop for the new amount is placed before the old
one goes, end to end (the real `freqtrade trade` process, ccxt's bybit client, the sandbox's v5 API).

What the exchange held is sampled from the sandbox's book on a thread, so "never a moment without a
stop" is the exchange's word, not the bot's. freqtrade's own cancel-then-create left the position
without any stop from the cancel to the create (the soak: 6.9 s of the added part uncovered).
"""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import enter, stored_state
from tests.e2e.test_backstop_adjust import ask_adjustment
from tests.e2e.test_bybit_amend import PAIR, LiveStops, live_stops, open_stop_records, position_size, requests
from tests.e2e.test_bybit_amend import sandbox, start_bybit_bot  # noqa: F401  (fixtures)
from tests.e2e.test_live_spot import counter

pytestmark = pytest.mark.slow


def test_bybit_a_dca_fill_is_covered_by_a_stop_for_the_new_amount_without_a_moment_uncovered(
        sandbox, start_bybit_bot):  # noqa: F811
    bot = start_bybit_bot(strategy="E2EDca")
    trade = enter(bot, PAIR)
    trade_id, entry = trade["trade_id"], trade["open_rate"]
    wait_until(lambda: len(live_stops(sandbox)) == 1, 60, "the initial conditional stop")
    sandbox.set_price(PAIR, entry * 1.03)
    wait_until(lambda: (s := stored_state(bot, trade_id)) and s["phase"] == "ACTIVE", 60, "the trade to trail")
    (trailed,) = wait_until(lambda: (held := live_stops(sandbox)) and len(held) == 1
                            and float(held[0]["triggerPrice"]) > entry and held, 60, "the trailed stop")
    before = position_size(sandbox)
    requests_before = len(list(sandbox.requests))
    with LiveStops(sandbox) as sampled:
        ask_adjustment(bot, trade_id, 100.0)
        after = wait_until(lambda: (amount := position_size(sandbox)) > before * 1.5 and amount, 60,
                           "the DCA entry to fill")
        (stop,) = wait_until(lambda: (held := live_stops(sandbox)) and len(held) == 1
                             and float(held[0]["qty"]) == pytest.approx(after) and held, 60,
                             "the stop for the whole position")
        wait_until(lambda: [i for i, _ in open_stop_records(bot, trade_id)] == [stop["orderId"]], 30,
                   "freqtrade to hold the new stop as its only open stop order")
    assert 0 not in sampled.counts() and sampled.unprotected_ms() == 0
    wait_until(lambda: counter(bot, "stops_followed_entry") == 1, 30, "the health view to count the follow")
    creates = [i for i in requests(sandbox, "POST", "/v5/order/create") if i >= requests_before]
    cancels = [i for i in requests(sandbox, "POST", "/v5/order/cancel") if i >= requests_before]
    assert len(cancels) == 1 and creates and min(c for c in creates) < cancels[0]
    assert float(stop["triggerPrice"]) >= float(trailed["triggerPrice"])  # never less protection
    assert counter(bot, "unprotected_windows") == 0 and "Traceback" not in bot.log_text()
