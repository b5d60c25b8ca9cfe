"""Shared fixtures: a small synthetic dataset and a sandbox exchange serving its pairs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ts_plugin.sandbox import SandboxExchange, ccxt_overrides
from ts_plugin.tools.demo import pairs_in
from ts_plugin.tools.sampledata import generate

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data" / "binance"
SYNTHETIC_PAIRS = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0, "SOL/USDT": 150.0}

# Property tests judge results, never wall time: hypothesis's per-example deadline and its "too slow"
# health check are timing thresholds that fail on a loaded machine. Examples stay random (a failure
# prints its falsifying example); tests with their own @settings keep their example counts.
settings.register_profile("ts_plugin", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ts_plugin")


@pytest.fixture(scope="session")
def synthetic_datadir(tmp_path_factory) -> Path:
    datadir = tmp_path_factory.mktemp("synthetic") / "binance"
    generate(datadir, pairs=SYNTHETIC_PAIRS, days=60, seed=7)
    return datadir


@pytest.fixture(scope="session")
def shared_datadir() -> Path:
    if not any(SHARED_DATA.glob("*-5m.feather")):
        pytest.skip(f"real Binance candles not present at {SHARED_DATA}")
    return SHARED_DATA


def start_sandbox_for(datadir: Path) -> SandboxExchange:
    return SandboxExchange(pairs_in(datadir)).start()


@pytest.fixture(scope="session")
def market_sandbox(synthetic_datadir, tmp_path_factory):
    """One sandbox serving the synthetic pairs and, when present, the real data's pairs."""
    prices = dict(pairs_in(synthetic_datadir))
    if any(SHARED_DATA.glob("*-5m.feather")):
        prices.update(pairs_in(SHARED_DATA))
    sandbox = SandboxExchange(prices).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def exchange_overrides(market_sandbox) -> dict:
    return ccxt_overrides(market_sandbox.url)


@pytest.fixture
def db(tmp_path):
    """A real trade database (SQLite file), opened as a bot process opens it; its path."""
    from freqtrade.persistence import Trade

    from tests.freqtrade_helpers import open_database

    path = tmp_path / "tradesv3.sqlite"
    open_database(path)
    yield path
    Trade.session.remove()
