"""The sandbox's ``slip`` fault through the real ccxt bybit client: the price moves by the ratio just
before an order's create is carried out, so a market order fills that far from the quote its sender
read (the Bybit soak's entries filled up to 0.9 % from their quote); any other endpoint refuses it."""

import ccxt
import pytest

from tests.perpetual_fixtures import PAIR, bybit, sandbox  # noqa: F401 (pytest fixtures)


def test_a_market_order_fills_away_from_the_quote(sandbox, bybit):
    bybit.set_margin_mode("isolated", PAIR, {"leverage": 2})
    bybit.set_leverage(2, PAIR)
    quote = bybit.fetch_ticker(PAIR)["last"]
    sandbox.faults.add("POST /v5/order/create", {"kind": "slip", "ratio": 0.003, "when": {"orderType": "Market"}})
    placed = bybit.create_order(PAIR, "market", "buy", 0.5)
    filled = bybit.fetch_order(placed["id"], PAIR, {"acknowledged": True})
    assert sandbox.faults.hits["POST /v5/order/create"] == 1
    assert filled["status"] == "closed" and filled["average"] == pytest.approx(quote * 1.003, rel=1e-9)
    assert sandbox.price(PAIR) == pytest.approx(quote * 1.003, rel=1e-12)  # the market moved, and stays


def test_the_fault_on_another_endpoint_is_refused_not_ignored(sandbox, bybit):
    sandbox.faults.add("POST /v5/order/cancel", {"kind": "slip", "ratio": 0.003})
    placed = bybit.create_order(PAIR, "limit", "buy", 0.5, 90.0)
    with pytest.raises(ccxt.BaseError, match="slip applies to an order's create"):
        bybit.cancel_order(placed["id"], PAIR)
    assert sandbox.price(PAIR) == 100.0
