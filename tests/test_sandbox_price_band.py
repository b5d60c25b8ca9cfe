"""The sandbox's price bands through the real ccxt client (HTTPS-proxy mode: ccxt's own error mapping).

Spot: PERCENT_PRICE_BY_SIDE around the average price refuses a stop-limit's limit with -1013.
USD-M: PERCENT_PRICE refuses a conditional order's limit too far from its own trigger (-4184 / -4183)
and a plain limit order too far from the mark price (-4024 / -4016). Tests make the band tight.
"""

import ccxt
import pytest

from tests.sandbox_clients import proxied_client
from ts_plugin.sandbox import SandboxExchange
from ts_plugin.sandbox.markets import with_band
from ts_plugin.sandbox.tls_proxy import SandboxProxy

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


@pytest.fixture
def sandbox():
    exchange = SandboxExchange({SPOT: 100.0, PERP: 100.0})
    exchange.markets["BTCUSDT"] = with_band(exchange.markets["BTCUSDT"], 0.9, 1.1)
    exchange.futures.markets["BTCUSDT"] = with_band(exchange.futures.markets["BTCUSDT"], 0.97, 1.03)
    exchange.start()
    yield exchange
    exchange.stop()


def client_for(sandbox, monkeypatch, proxy, default_type):
    return proxied_client(proxy, monkeypatch, "binance", {"defaultType": default_type})


@pytest.fixture
def proxy(sandbox):
    with SandboxProxy(sandbox) as tunnel:
        yield tunnel


def filters(market):
    return {f["filterType"]: f for f in market["info"]["filters"]}


def test_spot_serves_the_band_and_refuses_a_stop_limit_below_it_with_binance_s_error(sandbox, proxy, monkeypatch):
    api = client_for(sandbox, monkeypatch, proxy, "spot")
    band = filters(api.markets[SPOT])["PERCENT_PRICE_BY_SIDE"]
    assert (band["askMultiplierDown"], band["askMultiplierUp"], band["avgPriceMins"]) == ("0.9", "1.1", 5)
    api.create_order(SPOT, "market", "buy", 1.0)

    with pytest.raises(ccxt.InvalidOrder, match="^binance Filter failure: PERCENT_PRICE_BY_SIDE$"):
        api.create_order(SPOT, "STOP_LOSS_LIMIT", "sell", 1.0, 85.0, {"stopPrice": 86.0})
    assert sandbox.book.open_orders("BTCUSDT") == []

    placed = api.create_order(SPOT, "STOP_LOSS_LIMIT", "sell", 1.0, 91.0, {"stopPrice": 92.0})
    assert placed["status"] == "open" and float(placed["info"]["price"]) == 91.0


def test_spot_band_follows_the_average_price_not_the_last_one(sandbox, proxy, monkeypatch):
    api = client_for(sandbox, monkeypatch, proxy, "spot")
    api.create_order(SPOT, "market", "buy", 1.0)
    sandbox.set_price(SPOT, 80.0)  # a crash: the five-minute average still remembers 100
    average = sandbox.book.average_price("BTCUSDT")
    assert 80.0 < average < 100.0
    with pytest.raises(ccxt.InvalidOrder, match="PERCENT_PRICE_BY_SIDE"):  # in band of 80, not of the average
        api.create_order(SPOT, "STOP_LOSS_LIMIT", "sell", 1.0, 79.0, {"stopPrice": 79.5})
    placed = api.create_order(SPOT, "STOP_LOSS_LIMIT", "sell", 1.0, round(average * 0.9 + 0.5, 2),
                              {"stopPrice": 79.9})
    assert placed["status"] == "open"


def test_futures_conditional_limit_is_bounded_by_its_own_trigger(sandbox, proxy, monkeypatch):
    api = client_for(sandbox, monkeypatch, proxy, "swap")
    assert filters(api.markets[PERP])["PERCENT_PRICE"]["multiplierDown"] == "0.9700"
    api.create_order(PERP, "market", "buy", 1.0)
    with pytest.raises(ccxt.BadRequest, match=r'"code": -4184, "msg": "Limit price can\'t be lower than 87\.300\."'):
        api.create_order(PERP, "stop", "sell", 1.0, 84.0, {"stopPrice": 90.0, "reduceOnly": True})
    with pytest.raises(ccxt.BadRequest, match=r'"code": -4183, "msg": "Limit price can\'t be higher than 113\.300\."'):
        api.create_order(PERP, "stop", "buy", 1.0, 116.0, {"stopPrice": 110.0, "reduceOnly": True})
    assert sandbox.futures.open_algo_orders("BTCUSDT") == []
    placed = api.create_order(PERP, "stop", "sell", 1.0, 87.5, {"stopPrice": 90.0, "reduceOnly": True})
    assert placed["info"]["algoStatus"] == "NEW"
    # a stop-market order has no limit: the band does not apply to its trigger
    api.create_order(PERP, "stop_market", "sell", 1.0, None, {"stopPrice": 50.0, "reduceOnly": True})


def test_futures_plain_limit_is_bounded_by_the_mark_price(sandbox, proxy, monkeypatch):
    api = client_for(sandbox, monkeypatch, proxy, "swap")
    with pytest.raises(ccxt.BadRequest, match=r'"code": -4016, "msg": "Limit price can\'t be higher than 103\.000\."'):
        api.create_order(PERP, "limit", "buy", 1.0, 104.0)
    with pytest.raises(ccxt.BadRequest, match=r'"code": -4024, "msg": "Limit price can\'t be lower than 97\.000\."'):
        api.create_order(PERP, "limit", "sell", 1.0, 96.0)
    assert api.create_order(PERP, "limit", "buy", 1.0, 98.0)["status"] == "open"


def test_a_band_must_bracket_the_price():
    market = SandboxExchange({SPOT: 100.0}).markets["BTCUSDT"]
    with pytest.raises(ValueError, match="expected 0 < down < 1 < up"):
        with_band(market, 1.2, 1.5)
