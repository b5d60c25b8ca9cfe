"""A native backstop's fill is booked exactly once, end to end: a real freqtrade bot on Binance USD-M
futures (the sandbox, through the real ccxt client) with ``exchange.native_backstop: true``.

The backstop fires while the bot runs and freqtrade closes the trade on its stop path. The pair's next
trade opens seconds later, and then finds too little in the wallet to exit (the user closed part of
the position by hand while its stop could not be placed; the bot restarts and reads its wallet):
freqtrade's own recovery lists the pair's
orders on the exchange from shortly before that trade opened and books each one it does not know.
The backstop's fill must be known by then (booked on the first trade), so the second trade books only
the hand-made close: its amount is its own fill less that close, exactly the position the exchange
holds, and the stop freqtrade places then covers that position (seen before: the fill was booked
again, the trade's amount fell to 0.0094 and the rest of the position stayed open with no trade)."""

import pytest

from tests.e2e.bot import free_port, wait_until
from tests.e2e.conftest import closed_trade, enter
from tests.e2e.test_backstop import activate, backstops, fill_of, regular_stops, settings
from tests.e2e.test_live_futures import FUTURES, PAIR, SYMBOL, positions
from tests.e2e.test_live_futures import sandbox  # noqa: F401  (the one-perpetual sandbox fixture)

pytestmark = pytest.mark.slow

STOP_REFUSED = {"kind": "http", "status": 503, "times": 100000, "when": {"type": "STOP"}}


def position_amount(sandbox) -> float:
    held = positions(sandbox)
    return abs(float(held[0]["positionAmt"])) if held else 0.0


def test_a_backstop_fill_is_never_booked_again_on_the_pairs_next_trade(sandbox, start_bot):
    distance = 0.005
    bot, first_id, top, _ = activate(start_bot, sandbox, distance, backstop=True)
    (backstop,) = wait_until(lambda: backstops(sandbox) or None, 60, "the native trailing backstop")
    high = top * 1.008
    sandbox.set_price(PAIR, high)
    sandbox.set_price(PAIR, high * (1 - distance) * 0.99997)  # under the backstop, over the regular stop
    assert positions(sandbox) == []
    fill = fill_of(sandbox, backstop)
    first = wait_until(lambda: closed_trade(bot, first_id), 60, "freqtrade to close the first trade")
    assert first["exit_reason"] == "stoploss_on_exchange"
    assert first["close_rate"] == pytest.approx(float(fill["avgPrice"]), rel=1e-9)
    wait_until(lambda: regular_stops(sandbox) == [], 30, "the first trade's regular stop to be cancelled")

    sandbox.faults.add("POST /fapi/v1/algoOrder", STOP_REFUSED)  # the next trade's stop cannot be placed
    second = enter(bot, PAIR)
    own = position_amount(sandbox)
    assert second["amount"] == pytest.approx(own)
    by_hand = round(own * 0.3, 3)
    manual = sandbox.futures.place({"symbol": SYMBOL, "side": "SELL", "type": "MARKET", "quantity": str(by_hand),
                                    "reduceOnly": "true"})
    held = position_amount(sandbox)
    bot.kill()  # freqtrade reads its wallet afresh at start-up (a running bot trusts its cached one)
    bot = start_bot(dry_run=False, smart_trailing=settings(distance, True), workdir=bot.workdir,
                    api_port=free_port(), **FUTURES)
    wait_until(lambda: f"handled order {manual['orderId']}" in bot.log_text(), 60,
               "freqtrade's recovery on the second trade to book the close made by hand")
    booked = bot.client.trade(second["trade_id"])
    assert str(fill["orderId"]) not in [o["order_id"] for o in booked["orders"]]  # nothing booked twice
    assert booked["is_open"] and booked["amount"] == pytest.approx(held, rel=1e-9)
    assert str(fill["orderId"]) in [o["order_id"] for o in bot.client.trade(first_id)["orders"]]

    sandbox.faults.clear()
    (stop,) = wait_until(lambda: regular_stops(sandbox) or None, 60, "the second trade's stop, once it can be placed")
    assert float(stop["quantity"]) == pytest.approx(held)  # it covers the whole position: nothing naked
    assert position_amount(sandbox) == pytest.approx(held)
    assert bot.client.trade(second["trade_id"])["is_open"]



def test_a_backstop_that_fires_while_the_trade_has_no_regular_stop_closes_it_as_a_stop_exit(sandbox, start_bot):
    """The trade trails with its backstop; its regular stop is cancelled (by hand) and cannot be placed
    again (refused), and the backstop fires: no stop order of freqtrade's can carry the fill, so the
    reconciliation books it as the trade's stop exit (main left the trade open on an empty position
    until freqtrade's recovery closed it with no exit reason, as with a backstop placed before the
    first regular stop). The pair's next trade then books only its own fill."""
    distance = 0.005
    bot, trade_id, top, stop = activate(start_bot, sandbox, distance, backstop=True)
    (backstop,) = wait_until(lambda: backstops(sandbox) or None, 60, "the native trailing backstop")
    sandbox.faults.add("POST /fapi/v1/algoOrder", STOP_REFUSED)
    sandbox.futures.cancel_algo(int(stop["algoId"]))
    wait_until(lambda: not [o for o in bot.client.trade(trade_id)["orders"]
                            if o["ft_order_side"] == "stoploss" and o["status"] == "open"], 60,
               "freqtrade to see its stop cancelled")
    sandbox.set_price(PAIR, top * (1 - distance) * 0.9999)
    assert positions(sandbox) == []
    fill = fill_of(sandbox, backstop)
    closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to be closed on the backstop")
    assert closed["exit_reason"] == "stoploss_on_exchange"
    assert closed["close_rate"] == pytest.approx(float(fill["avgPrice"]), rel=1e-9)
    assert str(fill["orderId"]) in [o["order_id"] for o in closed["orders"]]

    sandbox.faults.clear()
    second = enter(bot, PAIR)
    own = position_amount(sandbox)
    (stop,) = wait_until(lambda: regular_stops(sandbox) or None, 60, "the next trade's stop")
    assert float(stop["quantity"]) == pytest.approx(own) and second["amount"] == pytest.approx(own)
    again = bot.client.trade(second["trade_id"])
    assert again["is_open"] and str(fill["orderId"]) not in [o["order_id"] for o in again["orders"]]
