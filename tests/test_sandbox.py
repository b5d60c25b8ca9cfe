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
