"""One sandbox serving the recordings' pairs, and the real ccxt clients through its HTTPS proxy."""

from __future__ import annotations

import pytest

from tests.sandbox_clients import sandbox_client
from ts_plugin.sandbox import SandboxExchange

# The recordings' pairs, priced near their recorded prices (limit prices then stay inside the bands).
PRICES = {"BTC/USDT": 73_000.0, "LTC/USDT": 70.0, "SOL/USDT": 250.0, "ETH/USDT": 3_800.0,
          "BTC/USDT:USDT": 100_000.0, "LTC/USDT:USDT": 70.0}


@pytest.fixture
def sandbox():
    exchange = SandboxExchange(PRICES).start()
    yield exchange
    exchange.stop()


def client_fixture(exchange_id: str, options: dict):
    @pytest.fixture
    def client(sandbox, monkeypatch):
        with sandbox_client(sandbox, monkeypatch, exchange_id, options) as api:
            api.enableLastJsonResponse = True
            yield api
    return client


spot = client_fixture("binance", {"defaultType": "spot"})
usdm = client_fixture("binance", {"defaultType": "swap"})
bybit = client_fixture("bybit", {"defaultSettle": "USDT"})
