"""The sandbox's USD-M futures through the real ccxt client (HTTPS-proxy mode, so ccxt keeps Binance's
real URLs and its futures error mapping): positions, isolated margin, algo (conditional) orders."""

import ccxt
import pytest

from tests.sandbox_clients import sandbox_client
from ts_plugin.sandbox import SandboxExchange

PAIR = "BTC/USDT:USDT"


@pytest.fixture
def sandbox():
    exchange = SandboxExchange({PAIR: 100.0, "BTC/USDT": 100.0}).start()
    yield exchange
    exchange.stop()


@pytest.fixture
def client(sandbox, monkeypatch):
    with sandbox_client(sandbox, monkeypatch, "binance", {"defaultType": "swap"}) as api:
        yield api


def open_long(client, amount=0.5):
    client.set_margin_mode("isolated", PAIR)
    client.set_leverage(2, PAIR)
    return client.create_order(PAIR, "market", "buy", amount)


def stop(client, trigger, amount=0.5, kind="stop_market", limit=None):
    return client.create_order(PAIR, kind, "sell", amount, limit, {"stopPrice": trigger, "reduceOnly": True})


def open_stops(client):
    return client.fetch_open_orders(PAIR, params={"stop": True})


def test_perpetual_market_and_public_data(sandbox, client):
    market = client.markets[PAIR]
    assert market["swap"] and market["linear"] and market["settle"] == "USDT"
    assert client.markets["BTC/USDT"]["spot"]  # the spot pair of the same symbol stays spot
    sandbox.set_price(PAIR, 101.0)
    assert client.fetch_ticker(PAIR)["last"] == 101.0 and client.fetch_ticker(PAIR)["bid"] is None
    assert client.fetch_bids_asks([PAIR])[PAIR]["bid"] < 101.0
    assert client.fetch_funding_rate(PAIR)["markPrice"] == 101.0
    assert client.fetch_ohlcv(PAIR, "1m", limit=3, params={"price": "mark"})[-1][4] == 101.0
    assert client.fetch_leverage_tiers([PAIR])[PAIR][0]["maxLeverage"] == 125
    assert sandbox.unknown_paths == []


def test_isolated_position_margin_and_profit(sandbox, client):
    entry = open_long(client)
    assert entry["status"] == "closed" and entry["average"] == 100.0
    (position,) = client.fetch_positions([PAIR])
    assert position["side"] == "long" and position["contracts"] == 0.5 and position["entryPrice"] == 100.0
    assert position["marginMode"] == "isolated" and position["collateral"] == pytest.approx(25.0)
    assert client.fetch_balance()["USDT"]["free"] == pytest.approx(10_000 - 25)
    with pytest.raises(ccxt.MarginModeAlreadySet):
        client.set_margin_mode("isolated", PAIR)
    sandbox.set_price(PAIR, 110.0)
    client.create_order(PAIR, "market", "sell", 0.5, None, {"reduceOnly": True})
    assert client.fetch_positions([PAIR]) == []
    assert client.fetch_balance()["USDT"]["total"] == pytest.approx(10_000 + 5.0)
    assert [t["info"]["realizedPnl"] for t in client.fetch_my_trades(PAIR)] == ["0.00000000", "5.00000000"]


def test_conditional_orders_go_through_the_algo_api_and_do_not_lock_the_position(sandbox, client):
    open_long(client)
    first = stop(client, 95.0)
    second = stop(client, 96.0, kind="stop", limit=95.0)  # a second full-size stop: nothing is locked
    assert sandbox.count("POST", "/fapi/v1/algoOrder") == 2 and sandbox.count("POST", "/fapi/v1/order") == 1
    assert {o["id"] for o in open_stops(client)} == {first["id"], second["id"]}
    assert client.fetch_open_orders(PAIR) == []  # without the stop flag they are invisible
    assert second["triggerPrice"] == 96.0 and second["reduceOnly"] is True
    client.cancel_order(first["id"], PAIR, params={"stop": True})
    assert client.fetch_order(first["id"], PAIR, params={"stop": True})["status"] == "canceled"
    assert [o["id"] for o in open_stops(client)] == [second["id"]]
    with pytest.raises(ccxt.OrderNotFound):  # -2011: already cancelled
        client.cancel_order(first["id"], PAIR, params={"stop": True})


def test_a_stop_triggers_and_its_reduce_only_order_closes_the_position(sandbox, client):
    open_long(client)
    placed = stop(client, 95.0)
    sandbox.set_price(PAIR, 96.0)
    assert client.fetch_order(placed["id"], PAIR, params={"stop": True})["status"] == "open"
    sandbox.set_price(PAIR, 94.5)  # crosses the trigger
    triggered = client.fetch_order(placed["id"], PAIR, params={"stop": True})
    assert triggered["status"] == "closed" and triggered["info"]["algoStatus"] == "TRIGGERED"
    actual = client.fetch_order(triggered["info"]["actualOrderId"], PAIR)
    assert actual["status"] == "closed" and actual["average"] == 94.5 and actual["reduceOnly"] is True
    assert client.fetch_positions([PAIR]) == [] and open_stops(client) == []
    assert client.fetch_balance()["USDT"]["total"] == pytest.approx(10_000 - 0.5 * 5.5)


def test_a_stop_without_a_position_expires_instead_of_opening_one(sandbox, client):
    open_long(client)
    orphan = stop(client, 95.0)
    client.create_order(PAIR, "market", "sell", 0.5, None, {"reduceOnly": True})  # flat
    sandbox.set_price(PAIR, 94.0)
    actual_id = client.fetch_order(orphan["id"], PAIR, params={"stop": True})["info"]["actualOrderId"]
    assert client.fetch_order(actual_id, PAIR)["status"] == "expired"
    assert client.fetch_positions([PAIR]) == []


def test_futures_errors_map_to_ccxt_exceptions(sandbox, client):
    open_long(client)
    with pytest.raises(ccxt.OrderImmediatelyFillable):  # -2021
        stop(client, 101.0)
    with pytest.raises(ccxt.InsufficientFunds):  # -2019
        client.create_order(PAIR, "market", "buy", 1_000)
    with pytest.raises(ccxt.InvalidOrder):  # -2022: a reduce-only buy cannot shrink a long
        client.create_order(PAIR, "market", "buy", 0.5, None, {"reduceOnly": True})
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order("12345", PAIR, params={"stop": True})
    placed = stop(client, 95.0)
    sandbox.faults.add("DELETE /fapi/v1/algoOrder", {"kind": "unknown_order_live"})
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order(placed["id"], PAIR, params={"stop": True})
    assert [o["id"] for o in open_stops(client)] == [placed["id"]]  # still live


def test_resurrected_conditional_order_is_listed_again(sandbox, client):
    open_long(client)
    placed = stop(client, 95.0)
    client.cancel_order(placed["id"], PAIR, params={"stop": True})
    assert open_stops(client) == []
    sandbox.futures.resurrect(int(placed["id"]))
    assert [o["id"] for o in open_stops(client)] == [placed["id"]]


def test_regular_order_endpoint_refuses_conditional_types(sandbox, client):
    market = client.market(PAIR)
    with pytest.raises(ccxt.ExchangeError, match="-4120"):
        client.fapiPrivatePostOrder({"symbol": market["id"], "side": "SELL", "type": "STOP_MARKET",
                                     "quantity": "0.5", "stopPrice": "95"})


def test_url_mode_reaches_every_futures_route_too(sandbox):
    from ts_plugin.sandbox import ccxt_overrides

    api = ccxt.binance({**ccxt_overrides(sandbox.url)["ccxt_config"], "apiKey": "k", "secret": "s",
                        "options": {"defaultType": "swap"}})
    api.load_markets()
    open_long(api)
    placed = stop(api, 95.0)
    assert [o["id"] for o in open_stops(api)] == [placed["id"]]
    assert api.fetch_positions([PAIR])[0]["contracts"] == 0.5
    assert sandbox.unknown_paths == []


def test_a_perpetual_only_symbol_stays_out_of_the_spot_endpoints():
    import json
    from urllib.request import urlopen

    with SandboxExchange({"BTC/USDT": 100.0, "ETH/USDT:USDT": 50.0}) as exchange:
        with urlopen(f"{exchange.url}/api/v3/ticker/24hr", timeout=10) as answer:
            assert [t["symbol"] for t in json.loads(answer.read())] == ["BTCUSDT"]
        with urlopen(f"{exchange.url}/fapi/v1/exchangeInfo", timeout=10) as answer:
            assert [s["symbol"] for s in json.loads(answer.read())["symbols"]] == ["ETHUSDT"]
        exchange.set_price("ETH/USDT:USDT", 51.0)
        assert exchange.price("ETH/USDT:USDT") == 51.0
