"""The sandbox exchange through the real ccxt client: markets, prices, orders, balances, faults."""

import subprocess
import sys

import ccxt
import pytest

from ts_plugin.sandbox import SandboxExchange, ccxt_overrides
from ts_plugin.sandbox.server import ensure_loopback


@pytest.fixture
def sandbox():
    exchange = SandboxExchange({"BTC/USDT": 50_000.0, "ETH/BTC": 0.05}).start()
    yield exchange
    exchange.stop()


@pytest.fixture
def client(sandbox):
    api = ccxt.binance({**ccxt_overrides(sandbox.url)["ccxt_config"], "apiKey": "k", "secret": "s",
                        "options": {"fetchMarkets": {"types": ["spot"]}}})
    api.load_markets()
    return api


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "192.168.1.2", "example.org"])
def test_refuses_anything_but_loopback(host):
    with pytest.raises(ValueError, match="loopback"):
        ensure_loopback(host)
    with pytest.raises(ValueError):
        SandboxExchange({"BTC/USDT": 1.0}, host=host)


def test_markets_tickers_and_candles(sandbox, client):
    assert set(client.markets) == {"BTC/USDT", "ETH/BTC"}
    assert client.markets["BTC/USDT"]["limits"]["cost"]["min"] == 5.0
    sandbox.set_price("BTC/USDT", 51_000.0)
    assert client.fetch_ticker("BTC/USDT")["last"] == 51_000.0
    candles = client.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    assert len(candles) == 5 and candles[-1][4] == 51_000.0 and candles[-1][2] >= candles[-1][3]
    assert client.fetch_order_book("BTC/USDT")["bids"][0][0] < 51_000.0 < client.fetch_order_book("BTC/USDT")["asks"][0][0]
    assert sandbox.unknown_paths == []


def test_stop_order_locks_triggers_and_fills(sandbox, client):
    client.create_order("BTC/USDT", "market", "buy", 0.01)
    stop = client.create_order("BTC/USDT", "stop_loss_limit", "sell", 0.01, 48_500, {"stopPrice": 49_000})
    balance = client.fetch_balance()
    assert balance["BTC"]["used"] == pytest.approx(0.01) and balance["BTC"]["free"] == pytest.approx(0)
    with pytest.raises(ccxt.InsufficientFunds):  # the stop locks the coins: a second one cannot go in
        client.create_order("BTC/USDT", "stop_loss_limit", "sell", 0.01, 48_000, {"stopPrice": 48_800})
    sandbox.set_price("BTC/USDT", 48_900)
    filled = client.fetch_order(stop["id"], "BTC/USDT")
    assert filled["status"] == "closed" and filled["average"] == pytest.approx(48_900)
    assert client.fetch_balance()["USDT"]["free"] == pytest.approx(10_000 - 500 + 489)


def test_a_gap_below_the_limit_leaves_the_stop_open(sandbox, client):
    client.create_order("BTC/USDT", "market", "buy", 0.01)
    stop = client.create_order("BTC/USDT", "stop_loss_limit", "sell", 0.01, 48_500, {"stopPrice": 49_000})
    sandbox.set_price("BTC/USDT", 45_000)
    assert client.fetch_order(stop["id"], "BTC/USDT")["status"] == "open"


def test_immediate_trigger_and_unknown_orders_map_to_ccxt_errors(sandbox, client):
    client.create_order("BTC/USDT", "market", "buy", 0.01)
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        client.create_order("BTC/USDT", "stop_loss_limit", "sell", 0.01, 50_400, {"stopPrice": 50_500})
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order("999999", "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order("999999", "BTC/USDT")


def test_injected_faults(sandbox, client):
    client.create_order("BTC/USDT", "market", "buy", 0.01)
    stop = client.create_order("BTC/USDT", "stop_loss_limit", "sell", 0.01, 48_500, {"stopPrice": 49_000})
    sandbox.faults.add("DELETE /api/v3/order", {"kind": "unknown_order_live"})
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order(stop["id"], "BTC/USDT")
    assert client.fetch_order(stop["id"], "BTC/USDT")["status"] == "open"  # still live
    sandbox.faults.add("GET /api/v3/ticker/24hr", {"kind": "http", "status": 429})
    with pytest.raises(ccxt.DDoSProtection):
        client.fetch_ticker("BTC/USDT")
    sandbox.faults.add("GET /api/v3/ticker/24hr", {"kind": "http", "status": 503})
    with pytest.raises(ccxt.OperationFailed):  # 5xx: transient, retried by the governor
        client.fetch_ticker("BTC/USDT")
    sandbox.faults.add("POST /api/v3/order", {"kind": "error", "code": -1021, "msg": "Timestamp for this request is outside of the recvWindow.",
                                              "when": {"type": "STOP_LOSS_LIMIT"}})
    client.create_order("BTC/USDT", "market", "buy", 0.001)  # not a stop: untouched by the fault
    with pytest.raises(ccxt.InvalidNonce):
        client.create_order("BTC/USDT", "stop_loss_limit", "sell", 0.001, 48_000, {"stopPrice": 48_500})
    assert client.fetch_ticker("BTC/USDT")["last"] == 50_000.0


def test_a_lost_answer_places_the_order_and_answers_504(sandbox, client):
    client.create_order("BTC/USDT", "market", "buy", 0.01)
    sandbox.faults.add("POST /api/v3/order", {"kind": "lost_answer", "when": {"type": "STOP_LOSS_LIMIT"}})
    with pytest.raises(ccxt.BaseError):  # ccxt maps 504 / -1007 to a transient error
        client.create_order("BTC/USDT", "stop_loss_limit", "sell", 0.01, 48_500, {"stopPrice": 49_000})
    (placed,) = client.fetch_open_orders("BTC/USDT")
    assert float(placed["stopPrice"]) == 49_000 and placed["side"] == "sell"


def test_command_line_scripts_a_running_sandbox(sandbox):
    run = [sys.executable, "-m", "ts_plugin.sandbox"]
    subprocess.run(run + ["price", "--url", sandbox.url, "BTC/USDT", "52000"], check=True, capture_output=True)
    assert sandbox.price("BTC/USDT") == 52_000.0
    subprocess.run(run + ["fault", "--url", sandbox.url, "GET /api/v3/depth", '{"kind": "http", "status": 500}'],
                   check=True, capture_output=True)
    assert sandbox.faults.take("GET /api/v3/depth") == {"kind": "http", "status": 500}


def test_https_proxy_mode_keeps_real_urls_and_answers_them_locally(sandbox, monkeypatch):
    import asyncio

    import ccxt.async_support as ccxt_async

    from ts_plugin.sandbox.tls_proxy import SandboxProxy

    with SandboxProxy(sandbox) as proxy:
        settings, environment = proxy.freqtrade_settings()
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        options = {"options": {"fetchMarkets": {"types": ["spot"]}}}
        sync = ccxt.binance({**settings["ccxt_config"], **settings["ccxt_sync_config"], **options,
                             "apiKey": "k", "secret": "s"})
        assert sync.urls["api"]["public"].startswith("https://api.binance.com")  # real URLs kept
        assert sync.fetch_ticker("BTC/USDT")["last"] == 50_000.0
        with pytest.raises(ccxt.OrderNotFound):  # ccxt's own spot error mapping still applies
            sync.cancel_order("1", "BTC/USDT")

        async def fetch_async():
            client = ccxt_async.binance({**settings["ccxt_config"], **settings["ccxt_async_config"], **options})
            try:
                return (await client.fetch_ticker("BTC/USDT"))["last"]
            finally:
                await client.close()

        assert asyncio.run(fetch_async()) == 50_000.0
        assert ("GET", "/api/v3/ticker/24hr") in sandbox.requests


def _get(url: str, path: str, method: str = "GET", payload: dict | None = None):
    """(status, JSON) of one plain HTTP request, errors included."""
    import json
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    data = json.dumps(payload).encode() if payload is not None else None
    request = Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())


def test_exchange_info_has_binance_filters(sandbox):
    status, info = _get(sandbox.url, "/api/v3/exchangeInfo")
    (btc,) = [s for s in info["symbols"] if s["symbol"] == "BTCUSDT"]
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert status == 200 and {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"} <= set(filters)
    assert float(filters["PRICE_FILTER"]["tickSize"]) > 0 and float(filters["LOT_SIZE"]["stepSize"]) > 0
    for futures in ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"):
        status, info = _get(sandbox.url, futures)
        assert status == 200 and info["symbols"] == []  # spot only: freqtrade still asks for both


def test_klines_are_in_wall_clock_time(sandbox):
    import time

    before = int(time.time() * 1000)
    _, rows = _get(sandbox.url, "/api/v3/klines?symbol=BTCUSDT&interval=5m&limit=3")
    after = int(time.time() * 1000)
    assert len(rows) == 3 and [r[0] for r in rows] == [rows[0][0] + i * 300_000 for i in range(3)]
    assert before - 300_000 < rows[-1][0] <= after  # the last row is the candle open right now
    assert all(float(r[2]) >= max(float(r[1]), float(r[4])) and float(r[3]) <= min(float(r[1]), float(r[4])) for r in rows)


def test_control_endpoint_changes_what_ccxt_sees(sandbox, client):
    status, answer = _get(sandbox.url, "/_sandbox/price", "POST", {"pair": "BTC/USDT", "price": 123.4})
    assert status == 200 and answer == {"pair": "BTC/USDT", "price": 123.4}
    assert client.fetch_ticker("BTC/USDT")["last"] == 123.4
    assert client.fetch_order_book("BTC/USDT")["bids"][0][0] < 123.4


def test_unknown_endpoints_answer_like_binance_and_are_logged(sandbox, caplog):
    status, answer = _get(sandbox.url, "/api/v3/somethingNew")
    assert status == 404 and answer["code"] == -1000 and "somethingNew" in answer["msg"]
    assert sandbox.unknown_paths == ["GET /api/v3/somethingNew"]
    assert "unknown endpoint GET /api/v3/somethingNew" in caplog.text
    assert _get(sandbox.url, "/api/v3/account")[1]["code"] == -2015  # known but private: needs a key
    assert sandbox.unknown_paths == ["GET /api/v3/somethingNew"]


def test_binds_ipv6_loopback_when_available():
    import socket

    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        exchange = SandboxExchange({"BTC/USDT": 1.0}, host="::1").start()
    except OSError as error:
        pytest.skip(f"IPv6 loopback unavailable: {error}")
    with exchange:
        assert exchange.url.startswith("http://[::1]:") and _get(exchange.url, "/api/v3/ping") == (200, {})


def test_freqtrade_loads_its_markets_from_the_sandbox(tmp_path):
    """freqtrade's own start-up market loading, with no network: the sandbox answers everything."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import ExchangeResolver

    from ts_plugin.tools.demo import DEFAULT_CONFIG

    with SandboxExchange({"BTC/USDT": 50_000.0, "ETH/USDT": 3_000.0}) as exchange:
        config = Configuration({"config": [str(DEFAULT_CONFIG)], "user_data_dir": str(tmp_path)},
                               RunMode.BACKTEST).get_config()
        config["exchange"].update(ccxt_overrides(exchange.url))
        config["exchange"]["pair_whitelist"] = ["BTC/USDT", "ETH/USDT"]
        bot_exchange = ExchangeResolver.load_exchange(config, validate=True, load_leverage_tiers=False)
        try:
            assert {"BTC/USDT", "ETH/USDT"} <= set(bot_exchange.markets)
        finally:
            bot_exchange.close()
        assert ("GET", "/api/v3/exchangeInfo") in exchange.requests and exchange.unknown_paths == []


def test_the_book_is_on_the_price_grid_so_a_limit_at_the_best_bid_crosses_it(sandbox, client):
    """A bid between two ticks would never be crossed by a sell limit rounded to the tick (what
    freqtrade's dry-run fill check needs)."""
    from decimal import Decimal

    sandbox.set_price("BTC/USDT", 50_000.0 * 1.010101)
    tick = Decimal(client.market("BTC/USDT")["info"]["filters"][0]["tickSize"])
    book = client.fetch_order_book("BTC/USDT", 5)
    ticker = client.fetch_ticker("BTC/USDT")
    for price, _ in book["bids"] + book["asks"]:
        assert Decimal(str(price)) % tick == 0
    assert ticker["bid"] == book["bids"][0][0] < sandbox.price("BTC/USDT") < ticker["ask"] == book["asks"][0][0]
    limit = float(client.price_to_precision("BTC/USDT", ticker["bid"]))
    assert limit <= book["bids"][0][0]


def test_a_host_changed_after_construction_is_refused_at_start():
    from ts_plugin.sandbox.tls_proxy import SandboxProxy

    exchange = SandboxExchange({"BTC/USDT": 1.0})
    exchange.host = "0.0.0.0"
    with pytest.raises(ValueError, match="loopback"):
        exchange.start()
    assert exchange._server is None  # refused before any socket was opened
    exchange.host = "127.0.0.1"
    with exchange:
        proxy = SandboxProxy(exchange)
        proxy.host = "0.0.0.0"
        with pytest.raises(ValueError, match="loopback"):
            proxy.start()
        assert proxy._server is None
        proxy.stop()


@pytest.mark.parametrize("prices, expected", [
    ({"BTCUSDT": 1.0}, "pair 'BTCUSDT': expected BASE/QUOTE"),
    ({"BTC/USDT": -5.0}, "price -5.0: expected a finite number > 0"),
    ({"BTC/USDT": float("nan")}, "price nan: expected a finite number > 0"),
])
def test_bad_pairs_and_prices_are_refused_at_construction(prices, expected):
    with pytest.raises(ValueError, match=expected):
        SandboxExchange(prices)


@pytest.mark.parametrize("payload, code, expected", [
    ({"pair": "BTC/USDT", "price": "abc"}, -1100, "price 'abc': expected a finite number > 0"),
    ({"pair": "BTC/USDT", "price": -5}, -1100, "price -5: expected a finite number > 0"),
    ({"pair": "BTC/USDT", "price": 0}, -1100, "price 0: expected a finite number > 0"),
    ({"pair": "BTC/USDT", "price": float("nan")}, -1100, "price nan: expected a finite number > 0"),
    ({"pair": "BTC/USDT", "price": float("inf")}, -1100, "price inf: expected a finite number > 0"),
    ({"pair": "BTC/USDT", "price": True}, -1100, "price True: expected a finite number > 0"),
    ({"pair": "BTC/USDT", "price": [1]}, -1100, "price [1]: expected a finite number > 0"),
    ({"pair": "BTC/USDT"}, -1102, "missing price"),
    ({"pair": "XRP/USDT", "price": 1.0}, -1121, "unknown pair 'XRP/USDT': the sandbox has BTC/USDT, ETH/BTC"),
    ({"pair": 7, "price": 1.0}, -1121, "unknown pair 7"),
])
def test_the_price_endpoint_answers_bad_input_with_400(sandbox, payload, code, expected):
    status, answer = _get(sandbox.url, "/_sandbox/price", "POST", payload)
    assert (status, answer["code"]) == (400, code) and expected in answer["msg"]
    assert sandbox.price("BTC/USDT") == 50_000.0


def test_a_bad_body_or_latency_is_a_400_not_a_500(sandbox):
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    for body in (b"{not json", b"[1, 2]"):
        request = Request(sandbox.url + "/_sandbox/price", data=body, method="POST",
                          headers={"Content-Type": "application/json"})
        with pytest.raises(HTTPError) as caught:
            urlopen(request, timeout=10)
        assert caught.value.code == 400
    status, answer = _get(sandbox.url, "/_sandbox/fault", "POST", {"latency_ms": "slow"})
    assert status == 400 and "latency 'slow'" in answer["msg"] and sandbox.faults.latency_ms == 0
