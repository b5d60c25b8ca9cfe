"""The plugin with freqtrade's built-in trailing mapped (ts_plugin.strategy.builtin_match) against the built-in
itself, in freqtrade's real backtesting engine, trade for trade: real and generated candles, spot and
USD-M futures, long and short, with and without ``--timeframe-detail 1m``.

Every trade must be identical (pair, side, open and close dates, open and exit price, exit reason)
until, on a pair, a trailing exit on the entry candle: freqtrade prices that one by a worst case that
depends on whether the built-in or a custom stoploss moved the stop (README, "Coming from freqtrade's
trailing stop"), and the pair's later entries may shift with it. Nothing else may differ."""

from __future__ import annotations

import pytest

from tests.builtin_match_data import write_generated
from tests.builtin_match_runs import SHARED, run_pair_of
from ts_plugin.sandbox.server import SandboxExchange, ccxt_overrides
from ts_plugin.tools.demo import pairs_in

pytestmark = pytest.mark.slow

GENERATED = {"BTC/USDT": 60_000.0, "SOL/USDT": 150.0}
ORDER_BOOK = {"price_side": "same", "use_order_book": True, "order_book_top": 1}  # Binance futures: no tickers
REAL_FUTURES = SHARED / "binance_futures"
REAL_FUTURES_PAIR = "XRP/USDT:USDT"
REAL_DETAIL = SHARED / "binance_detail"
REAL_DETAIL_PAIR = "UNITTEST/BTC"


def _spot(stake_currency: str, stake_amount: float, pairs: int) -> dict:
    return {"stake_currency": stake_currency, "stake_amount": stake_amount, "dry_run_wallet": stake_amount * pairs * 10,
            "max_open_trades": pairs}


def _futures(direction: str, leverage: float, pairs: int) -> dict:
    return {"trading_mode": "futures", "margin_mode": "isolated", "stake_currency": "USDT", "stake_amount": 100,
            "dry_run_wallet": 100_000, "max_open_trades": pairs, "entry_pricing": ORDER_BOOK,
            "exit_pricing": ORDER_BOOK, "builtin_match_direction": direction, "builtin_match_leverage": leverage}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("builtin_match")
    spot = write_generated(root / "spot", GENERATED, days=10, seed=16, futures=False)
    futures = write_generated(root / "futures", GENERATED, days=10, seed=16, futures=True)
    return {"spot": (root / "spot", list(spot), spot), "futures": (root / "futures", list(futures), futures)}


@pytest.fixture(scope="module")
def sandbox(generated):
    prices = {**generated["spot"][2], **generated["futures"][2]}
    if any((SHARED / "binance").glob("*-5m.feather")):
        prices.update(pairs_in(SHARED / "binance"))
    if (REAL_DETAIL / "UNITTEST_BTC-5m.feather").exists():
        prices[REAL_DETAIL_PAIR] = 0.0027
    if (REAL_FUTURES / "futures").exists():
        prices[REAL_FUTURES_PAIR] = 1.07
    server = SandboxExchange(prices).start()
    yield ccxt_overrides(server.url)
    server.stop()


def _check(comparison, label: str, least_trades: int) -> None:
    print(f"\n{label}: {comparison.line()}")  # the figures (pytest -s shows them)
    assert len(comparison.builtin) >= least_trades, comparison.line()
    assert not comparison.unexplained, [
        (t["pair"], str(t["open_date"]), str(t["close_date"]), t["exit_reason"]) for t in comparison.unexplained]
    assert comparison.identical >= len(comparison.builtin) // 2, comparison.line()


def _need(path, what: str) -> None:
    if not path.exists():
        pytest.skip(f"{what} not present at {path} (see the shared data README)")


@pytest.mark.parametrize("detail", [None, "1m"])
def test_generated_spot_long(generated, sandbox, tmp_path, detail):
    datadir, pairs, _ = generated["spot"]
    comparison = run_pair_of(datadir, sandbox, tmp_path, _spot("USDT", 100, len(pairs)), pairs,
                             timeframe_detail=detail)
    _check(comparison, f"generated spot long detail={detail}", 50)


@pytest.mark.parametrize("direction", ["long", "short"])
@pytest.mark.parametrize("detail", [None, "1m"])
@pytest.mark.parametrize("leverage", [1.0, 3.0])
def test_generated_futures(generated, sandbox, tmp_path, direction, detail, leverage):
    datadir, pairs, _ = generated["futures"]
    comparison = run_pair_of(datadir, sandbox, tmp_path, _futures(direction, leverage, len(pairs)), pairs,
                             timeframe_detail=detail)
    _check(comparison, f"generated futures {direction} x{leverage:g} detail={detail}", 50)


def test_real_spot_month_long(sandbox, tmp_path):
    _need(SHARED / "binance", "real Binance candles")
    pairs = list(pairs_in(SHARED / "binance"))
    comparison = run_pair_of(SHARED / "binance", sandbox, tmp_path, _spot("BTC", 0.01, len(pairs)), pairs)
    _check(comparison, "real spot month long", 500)


@pytest.mark.parametrize("detail", [None, "1m"])
def test_real_detail_long(sandbox, tmp_path, detail):
    _need(REAL_DETAIL / "UNITTEST_BTC-1m.feather", "real 1-minute candles")
    comparison = run_pair_of(REAL_DETAIL, sandbox, tmp_path, _spot("BTC", 0.01, 1), [REAL_DETAIL_PAIR],
                             timeframe_detail=detail)
    _check(comparison, f"real detail long detail={detail}", 50)


@pytest.mark.parametrize("direction", ["long", "short"])
@pytest.mark.parametrize("leverage", [1.0, 3.0])
def test_real_futures(sandbox, tmp_path, direction, leverage):
    _need(REAL_FUTURES / "futures", "real Binance futures candles")
    comparison = run_pair_of(REAL_FUTURES, sandbox, tmp_path, _futures(direction, leverage, 1), [REAL_FUTURES_PAIR],
                             timerange="20211118-20211121")
    _check(comparison, f"real futures {direction} x{leverage:g}", 5)
