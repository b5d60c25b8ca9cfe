"""The native trailing backstop's units (pure) and the sandbox's TRAILING_STOP_MARKET through the real
ccxt client: peak tracking, activation, trigger, and what it is worth when the bot is gone."""

import math

import ccxt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sandbox_clients import sandbox_client
from ts_plugin.exchange.backstop import (BINANCE_USDM, binance_spot_grid, bybit_distance, grid_for,
                                         needs_replacing)
from ts_plugin.sandbox import SandboxExchange

PERP, SYMBOL = "BTC/USDT:USDT", "BTCUSDT"


# ----- units ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("distance, rate", [(0.005, 0.5), (0.0037, 0.4), (0.015, 1.5), (0.0004, 0.1),
                                            (0.1, 10.0), (0.1001, None), (0.0, None), (math.nan, None)])
def test_binance_usdm_callback_rate_is_rounded_up_to_its_grid(distance, rate):
    assert BINANCE_USDM.native(distance) == rate


@given(st.floats(min_value=1e-6, max_value=0.2))
def test_a_backstop_is_never_tighter_than_the_bot(distance):
    rate = BINANCE_USDM.native(distance)
    if rate is None:
        assert distance > 0.1
        return
    assert BINANCE_USDM.fraction(rate) >= distance - 1e-12
    assert 0.1 <= rate <= 10.0 and abs(rate * 10 - round(rate * 10)) < 1e-9
    assert BINANCE_USDM.fraction(rate) - distance < 0.001 or rate == 0.1  # at most one step wider


def test_binance_spot_trailing_delta_in_basis_points_from_the_symbol_filter():
    market = {"spot": True, "info": {"filters": [
        {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000,
         "minTrailingBelowDelta": 20, "maxTrailingBelowDelta": 500}]}}
    grid = binance_spot_grid(market)
    assert grid.native(0.005) == 50.0 and grid.native(0.001) == 20.0 and grid.native(0.06) is None
    assert grid_for("binance", market).unit == "bips"
    assert grid_for("binance", {"swap": True, "linear": True}) is BINANCE_USDM
    assert grid_for("okx", market) is None


def test_bybit_takes_a_price_distance_rounded_up_to_the_tick():
    assert bybit_distance(0.005, 60_123.4, 0.5) == 301.0
    assert bybit_distance(0.005, 0.0, 0.5) is None


def test_replaced_only_when_the_native_value_changes():
    assert not needs_replacing(0.5, BINANCE_USDM.native(0.0049))  # a tick's drift: same grid value
    assert needs_replacing(0.5, BINANCE_USDM.native(0.003))  # a step tightened the distance
    assert needs_replacing(None, 0.5) and needs_replacing(0.5, None) and not needs_replacing(None, None)


# ----- the sandbox's trailing order -----------------------------------------------------------------


@pytest.fixture
def sandbox():
    exchange = SandboxExchange({PERP: 100.0}).start()
    yield exchange
    exchange.stop()


@pytest.fixture
def client(sandbox, monkeypatch):
    with sandbox_client(sandbox, monkeypatch, "binance", {"defaultType": "swap"}) as api:
        api.create_order(PERP, "market", "buy", 1.0)
        yield api


def backstop(api, rate, activate=None):
    params = {"trailingPercent": rate, "reduceOnly": True}
    if activate is not None:
        params["trailingTriggerPrice"] = activate
    return api.create_order(PERP, "market", "sell", 1.0, None, params)


def walk(sandbox, prices):
    for price in prices:
        sandbox.set_price(PERP, price)


def test_a_trailing_order_goes_through_the_algo_api_and_fires_after_the_turn(sandbox, client):
    order = backstop(client, 1.0)
    (algo,) = sandbox.futures.open_algo_orders(SYMBOL)
    assert algo["orderType"] == "TRAILING_STOP_MARKET" and algo["callbackRate"] == "1"
    assert sandbox.count("POST", "/fapi/v1/algoOrder") == 1 and order["id"] == str(algo["algoId"])
    walk(sandbox, [101.0, 103.0, 102.5, 102.0])  # best 103: fires at or below 101.97
    assert sandbox.futures.get_algo(algo["algoId"])["algoStatus"] == "NEW"
    walk(sandbox, [101.9])
    fired = sandbox.futures.get_algo(algo["algoId"])
    assert fired["algoStatus"] == "TRIGGERED" and fired["actualOrderId"]
    assert sandbox.futures.account.position_risk(SYMBOL) == []


def test_an_activation_price_holds_the_trail_until_it_is_reached(sandbox, client):
    backstop(client, 0.5, activate=104.0)
    (algo,) = sandbox.futures.open_algo_orders(SYMBOL)
    walk(sandbox, [103.0, 101.0, 99.0])  # not active yet: no trail, no fire
    assert sandbox.futures.get_algo(algo["algoId"])["algoStatus"] == "NEW"
    walk(sandbox, [104.5, 104.0])  # active at 104.5, fires at or below 103.98
    assert sandbox.futures.get_algo(algo["algoId"])["algoStatus"] == "NEW"
    walk(sandbox, [103.9])
    assert sandbox.futures.get_algo(algo["algoId"])["algoStatus"] == "TRIGGERED"


@pytest.mark.parametrize("rate", [0.05, 10.5, 0.25])
def test_a_callback_rate_off_the_grid_is_refused(client, rate):
    with pytest.raises(ccxt.BaseError, match="callbackRate"):
        backstop(client, rate)


def test_bot_gone_mid_trail_the_backstop_keeps_trailing_and_the_regular_stop_does_not(sandbox, client):
    """The scripted path: entry 100, trailing at 0.5 % from +1.5 %; the bot's last move put the stop at
    102 x 0.995 when it died; then the price rises to 105 (+5 %) and falls back to 100."""
    sandbox.set_price(PERP, 102.0)
    client.create_order(PERP, "stop_market", "sell", 1.0, None,
                        {"stopPrice": round(102 * 0.995, 2), "reduceOnly": True})
    rate = BINANCE_USDM.native(0.005)
    trailing = backstop(client, rate)
    path = [round(102 + 0.1 * i, 1) for i in range(31)] + [round(105 - 0.1 * i, 1) for i in range(1, 51)]
    walk(sandbox, path)
    fills = {o["orderId"]: float(o["avgPrice"]) for o in sandbox.futures.orders.values() if o["status"] == "FILLED"}
    fired = sandbox.futures.get_algo(int(trailing["id"]))
    assert fired["algoStatus"] == "TRIGGERED"
    exit_with_backstop = fills[int(fired["actualOrderId"])]
    assert exit_with_backstop == pytest.approx(104.4)  # first price of the path at or below 105 x 0.995
    # closed once: the regular stop, reached later, finds nothing to reduce and opens nothing
    assert sandbox.futures.account.position_risk(SYMBOL) == [] and len(fills) == 2  # entry and backstop
    exit_without = round(102 * 0.995, 2)  # what the regular stop alone gives (and freqtrade's own trailing)
    assert exit_with_backstop - exit_without == pytest.approx(2.91, abs=0.01)  # +2.9 % of the entry
