"""An entry adjustment's fill moves the stop on the exchange to the new amount at once, new stop first:
the real `freqtrade trade` process with ccxt against the sandbox, Binance USD-M futures.

freqtrade itself cancels the trade's stop right after it books an entry fill and creates one for the
new amount later in the iteration: the whole position is naked in between (the soak saw the added part
without a stop for 6.9 to 22.6 s). The plugin places the stop for the new amount when the fill is
booked, before the old stop is cancelled, and freqtrade's own cancel then keeps it. The order of the
exchange's requests shows it: after the DCA entry, the new stop's create comes before any cancel.
"""

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import enter, stored_state
from tests.e2e.test_backstop import regular_stops
from tests.e2e.test_backstop_adjust import ask_adjustment, position_amount
from tests.e2e.test_live_futures import FUTURES, PAIR, open_stop_records, request_indexes
from tests.e2e.test_live_futures import sandbox  # noqa: F401  (the one-perpetual sandbox fixture)
from tests.e2e.test_live_spot import POLICY, counter

pytestmark = pytest.mark.slow

ALGO = "/fapi/v1/algoOrder"


def test_a_dca_fill_is_covered_by_a_stop_for_the_new_amount_placed_before_the_old_one_goes(sandbox, start_bot):
    trailing = {"activation_profit": 0.015, "trail_distance": 0.005, "exchange": POLICY}
    bot = start_bot(dry_run=False, strategy="E2EDca", smart_trailing=trailing, **FUTURES)
    trade = enter(bot, PAIR)
    trade_id, entry = trade["trade_id"], trade["open_rate"]
    (first,) = wait_until(lambda: (held := regular_stops(sandbox)) and len(held) == 1 and held, 60,
                          "the initial conditional stop")
    sandbox.set_price(PAIR, entry * 1.03)
    wait_until(lambda: (s := stored_state(bot, trade_id)) and s["phase"] == "ACTIVE", 60, "the trade to trail")
    (trailed,) = wait_until(lambda: (held := regular_stops(sandbox)) and len(held) == 1
                            and held[0]["algoId"] != first["algoId"] and held, 60, "the trailed stop")
    before = position_amount(sandbox)
    requests_before = len(list(sandbox.requests))
    ask_adjustment(bot, trade_id, 100.0)
    after = wait_until(lambda: (amount := position_amount(sandbox)) > before * 1.5 and amount, 60,
                       "the DCA entry to fill")
    (stop,) = wait_until(lambda: (held := regular_stops(sandbox)) and len(held) == 1
                         and float(held[0]["quantity"]) == pytest.approx(after) and held, 60,
                         "the stop for the whole position")
    wait_until(lambda: [o["order_id"] for o in open_stop_records(bot, trade_id)] == [str(stop["algoId"])], 30,
               "freqtrade to hold the new stop as its only open stop order")

    creates = [i for i in request_indexes(sandbox, "POST", ALGO) if i >= requests_before]
    cancels = [i for i in request_indexes(sandbox, "DELETE", ALGO) if i >= requests_before]
    assert creates and cancels and creates[0] < cancels[0]  # never a moment without a stop
    assert len(creates) == 1 and len(cancels) == 1  # freqtrade's own cancel kept the new stop
    assert sandbox.futures.get_algo(trailed["algoId"])["algoStatus"] == "CANCELED"
    assert float(stop["triggerPrice"]) >= float(trailed["triggerPrice"])  # never less protection
    wait_until(lambda: counter(bot, "stops_followed_entry") == 1, 30, "the health view to count the follow")
    assert counter(bot, "stops_kept_after_entry") == 1 and counter(bot, "unprotected_windows") == 0
    assert bot.events("UNPROTECTED_WINDOW") == 0 and "Traceback" not in bot.log_text()
