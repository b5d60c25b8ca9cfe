"""Unprotected window per replacement path, measured by the governor on the sandbox.

Real freqtrade Exchange objects (real ccxt clients) talk to the sandbox with an injected latency on
every request; the governor is installed on them exactly as in a bot. 50+ replacements per path:
- cancel-then-create (Binance spot, stops lock the balance): the window from the confirmed cancel to
  the acknowledged create, timed by the governor on a monotonic clock;
- make-before-break (Binance USD-M futures, isolated: algo (conditional) stops lock nothing): the
  governor's own ``_make_before_break`` creates the new stop, then cancels the old one. The window is
  what the exchange showed: a thread counts the sandbox's live conditional stops for the symbol
  throughout each replacement, and the time spanned by samples with none is the window;
- amend: one request that edits the trigger in place (Bybit / OKX); the sandbox, being Binance, has no
  such endpoint, so only the request latency is shown and the window is zero by construction.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ts_plugin.config import parse_config
from ts_plugin.events import EventLog
from ts_plugin.exchange.governor import StopGovernor

SPOT_PAIR = "BTC/USDT"
FUTURES_PAIR = "BTC/USDT:USDT"
FUTURES_SYMBOL = "BTCUSDT"
PRICE = 50_000.0
ORDER_TYPES = {"stoploss": "limit", "stoploss_on_exchange_limit_ratio": 0.99}
SAMPLE_INTERVAL_S = 0.0005  # far below one request (the injected latency alone is 20 ms)

Sample = tuple[float, int]  # (monotonic time, live conditional stops)


class _NoTrades:
    def open_trade(self, pair: str) -> None:
        return None

    def state_of(self, trade: Any) -> None:
        return None

    def save(self, trade: Any, state: Any, persist: bool = True) -> None:
        pass


@dataclass
class _FuturesTrade:
    """What ``_make_before_break`` reads from a freqtrade trade; it holds freqtrade's real Order rows."""

    pair: str
    amount: float
    leverage: float
    orders: list = field(default_factory=list)

    def select_order_by_order_id(self, order_id: str) -> Any:
        return next((order for order in self.orders if order.order_id == order_id), None)


class _LiveStopSampler:
    """Counts the sandbox's live conditional stops on a thread, straight from its book (no request,
    no latency): each sample is what the exchange held at that instant."""

    def __init__(self, sandbox: Any, symbol: str) -> None:
        self._book, self._symbol = sandbox.futures, symbol
        self.samples: list[Sample] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-stop-sampler", daemon=True)

    def sample(self) -> Sample:
        taken = (time.monotonic(), len(self._book.open_algo_orders(self._symbol)))
        self.samples.append(taken)
        return taken

    def between(self, first: Sample, last: Sample) -> list[Sample]:
        return sorted(s for s in self.samples if first[0] <= s[0] <= last[0])

    def _run(self) -> None:
        while not self._done.wait(SAMPLE_INTERVAL_S):
            self.sample()

    def __enter__(self) -> "_LiveStopSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def _trading_mode_keys(futures: bool) -> dict:
    from freqtrade.enums import CandleType, MarginMode, TradingMode

    if futures:
        return {"trading_mode": TradingMode.FUTURES, "margin_mode": MarginMode.ISOLATED,
                "candle_type_def": CandleType.FUTURES}
    return {"trading_mode": TradingMode.SPOT, "margin_mode": "", "candle_type_def": CandleType.SPOT}


def _exchange(pair: str, overrides: dict) -> Any:
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import ExchangeResolver

    config = {
        "dry_run": False, "runmode": RunMode.LIVE, "stake_currency": "USDT", "timeframe": "5m",
        **_trading_mode_keys(futures=":" in pair),
        "exchange": {"name": "binance", "key": "bench", "secret": "bench", "enable_ws": False,
                     "pair_whitelist": [pair], **overrides},
    }
    return ExchangeResolver.load_exchange(config, validate=False)


def _governed(exchange: Any) -> StopGovernor:
    settings = parse_config({"exchange": {"alert_unprotected_window_ms": 10_000}}).exchange
    governor = StopGovernor(exchange, settings, _NoTrades(), EventLog(verbose=False),
                            order_types=lambda: ORDER_TYPES)
    governor.install()
    return governor


def _buy(exchange: Any, pair: str, amount: float) -> None:
    exchange.create_order(pair=pair, ordertype="market", side="buy", amount=amount, rate=PRICE, leverage=1.0)


def _summary(values: list[float]) -> dict:
    return {"n": len(values), "median_ms": statistics.median(values), "max_ms": max(values)}


def _cancel_then_create(exchange: Any, governor: StopGovernor, replacements: int) -> tuple[dict, str]:
    """freqtrade's own sequence on spot; the governor's wrappers time each window. Also returns the
    stop left live."""
    stop = exchange.create_stoploss(SPOT_PAIR, 0.01, 40_000.0, ORDER_TYPES, "sell", 1.0)
    for i in range(replacements):
        exchange.cancel_stoploss_order(stop["id"], SPOT_PAIR)
        stop = exchange.create_stoploss(SPOT_PAIR, 0.01, 40_000.0 + i, ORDER_TYPES, "sell", 1.0)
    return _summary(list(governor.windows_ms)), stop["id"]


def _unprotected_ms(samples: list[Sample]) -> float:
    """Time with no live stop, as an upper bound: each run of empty samples counts from the last
    sample that showed a stop to the next one (or to the last sample)."""
    total, protected_at, in_gap = 0.0, samples[0][0], False
    for at, live in samples:
        if live:
            total += at - protected_at if in_gap else 0.0
            protected_at = at
        in_gap = not live
    if in_gap:
        total += samples[-1][0] - protected_at
    return total * 1000.0


def _replace_once(exchange: Any, governor: StopGovernor, trade: _FuturesTrade, stop_id: str,
                  stop_price: float, sampler: _LiveStopSampler) -> dict:
    """One replacement through the governor, with the exchange's live stops sampled around it."""
    current = exchange.fetch_stoploss_order(stop_id, FUTURES_PAIR)  # the order as freqtrade holds it
    before = sampler.sample()
    started = time.monotonic()
    governor._make_before_break(trade, current, stop_price, "sell")
    whole_ms = (time.monotonic() - started) * 1000.0
    after = sampler.sample()
    seen = sampler.between(before, after)
    largest_gap = max(later[0] - earlier[0] for earlier, later in zip(seen, seen[1:]))
    return {"whole_ms": whole_ms, "window_ms": _unprotected_ms(seen), "samples": len(seen),
            "largest_gap_ms": largest_gap * 1000.0,
            "min_live": min(live for _, live in seen), "max_live": max(live for _, live in seen),
            "live_after": after[1], "stop_id": trade.orders[-1].order_id}


def _make_before_break(exchange: Any, governor: StopGovernor, sandbox: Any, replacements: int) -> dict:
    """Binance USD-M algo stops replaced by the governor's make-before-break, judged by the exchange."""
    from freqtrade.persistence import Order

    trade = _FuturesTrade(FUTURES_PAIR, amount=0.02, leverage=1.0)
    first = exchange.create_stoploss(FUTURES_PAIR, trade.amount, 41_000.0, ORDER_TYPES, "sell", trade.leverage)
    trade.orders.append(Order.parse_from_ccxt_object(first, FUTURES_PAIR, "stoploss", trade.amount, 41_000.0))
    rows, stop_id = [], first["id"]
    with _LiveStopSampler(sandbox, FUTURES_SYMBOL) as sampler:
        for i in range(replacements):
            rows.append(_replace_once(exchange, governor, trade, stop_id, 41_001.0 + i, sampler))
            stop_id = rows[-1]["stop_id"]
    return _make_before_break_summary(rows, governor)


def _make_before_break_summary(rows: list[dict], governor: StopGovernor) -> dict:
    whole = [row["whole_ms"] for row in rows]
    return {
        **_summary([row["window_ms"] for row in rows]),
        "replacement_ms": statistics.median(whole), "replacement_max_ms": max(whole),
        "min_live_sampled": min(row["min_live"] for row in rows),
        "both_live_seen": sum(row["max_live"] >= 2 for row in rows),
        "samples_per_replacement": statistics.median(row["samples"] for row in rows),
        "largest_sample_gap_ms": max(row["largest_gap_ms"] for row in rows),
        "left_zero_live": sum(row["live_after"] == 0 for row in rows),
        "left_two_or_more_live": sum(row["live_after"] >= 2 for row in rows),
        "governor_windows": len(governor.windows_ms),
    }


def _amend_request(exchange: Any, stop_id: str, replacements: int) -> dict:
    requests = []
    for _ in range(replacements):
        started = time.monotonic()
        exchange.fetch_stoploss_order(stop_id, SPOT_PAIR)  # one signed request, as an amend is
        requests.append((time.monotonic() - started) * 1000)
    return {"n": replacements, "median_ms": 0.0, "max_ms": 0.0, "request_ms": statistics.median(requests)}


def measure(latency_ms: float = 20.0, replacements: int = 60) -> dict:
    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides

    results: dict = {"latency_ms": latency_ms, "replacements": replacements}
    with SandboxExchange({SPOT_PAIR: PRICE, FUTURES_PAIR: PRICE}, balances={"USDT": 1_000_000.0, "BTC": 0.0},
                         futures_wallet={"USDT": 1_000_000.0}) as sandbox:
        spot = _exchange(SPOT_PAIR, ccxt_overrides(sandbox.url))
        futures = _exchange(FUTURES_PAIR, ccxt_overrides(sandbox.url))
        spot_governor, futures_governor = _governed(spot), _governed(futures)
        _buy(spot, SPOT_PAIR, 0.02)
        _buy(futures, FUTURES_PAIR, 0.02)
        sandbox.faults.latency_ms = latency_ms
        results["cancel_then_create"], spot_stop = _cancel_then_create(spot, spot_governor, replacements)
        results["make_before_break"] = _make_before_break(futures, futures_governor, sandbox, replacements)
        results["amend"] = _amend_request(spot, spot_stop, replacements)
        sandbox.faults.latency_ms = 0
    return results
