"""Pytest fixtures for sandbox tests of one perpetual (BTC/USDT:USDT at 100): the sandbox and ccxt's
Binance USD-M and Bybit clients through its HTTPS proxy. A test module imports the ones it uses."""

from __future__ import annotations

import pytest

from tests.sandbox_clients import sandbox_client
from ts_plugin.sandbox import SandboxExchange

PAIR = "BTC/USDT:USDT"


@pytest.fixture
def sandbox():
    exchange = SandboxExchange({PAIR: 100.0}).start()
    yield exchange
    exchange.stop()


@pytest.fixture
def binance(sandbox, monkeypatch):
    with sandbox_client(sandbox, monkeypatch, "binance", {"defaultType": "swap"}) as api:
        yield api


@pytest.fixture
def bybit(sandbox, monkeypatch):
    with sandbox_client(sandbox, monkeypatch, "bybit", {"defaultSettle": "USDT"}) as api:
        yield api
