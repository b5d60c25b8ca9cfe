"""Unprotected window per replacement path, measured by the governor on the sandbox.

A real freqtrade Exchange object (real ccxt client) talks to the sandbox with an injected latency on
every request; the governor is installed on it exactly as in a bot. 50+ replacements per path:
- cancel-then-create (Binance spot, stops lock the balance): the window from the confirmed cancel to
  the acknowledged create, timed by the governor on a monotonic clock;
- make-before-break (stops that do not lock the position): new stop first, then the cancel; the
  sandbox's balance is doubled so that its spot book can hold two stops, as a futures venue would;
  the window is the time with no live stop, which the sequence makes zero;
- amend: one request that edits the trigger in place (Bybit / OKX); the sandbox, being Binance, has no
  such endpoint, so only the request latency is shown and the window is zero by construction.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from ts_plugin.config import parse_config
from ts_plugin.events import EventLog
from ts_plugin.exchange.capabilities import ReplacementPath
from ts_plugin.exchange.governor import StopGovernor

PAIR = "BTC/USDT"
ORDER_TYPES = {"stoploss": "limit", "stoploss_on_exchange_limit_ratio": 0.99}


class _NoTrades:
    def open_trade(self, pair: str) -> None:
        return None

    def state_of(self, trade: Any) -> None:
        return None

    def save(self, trade: Any, state: Any, persist: bool = True) -> None:
        pass


def _exchange(overrides: dict) -> Any:
    from freqtrade.enums import CandleType, RunMode, TradingMode
    from freqtrade.resolvers import ExchangeResolver

    config = {
        "dry_run": False, "runmode": RunMode.LIVE, "stake_currency": "USDT", "timeframe": "5m",
        "trading_mode": TradingMode.SPOT, "margin_mode": "", "candle_type_def": CandleType.SPOT,
        "exchange": {"name": "binance", "key": "bench", "secret": "bench", "enable_ws": False,
                     "pair_whitelist": [PAIR], **overrides},
    }
    return ExchangeResolver.load_exchange(config, validate=False)


def _summary(values: list[float]) -> dict:
    return {"n": len(values), "median_ms": statistics.median(values), "max_ms": max(values)}


def measure(latency_ms: float = 20.0, replacements: int = 60) -> dict:
    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides

    results: dict = {"latency_ms": latency_ms, "replacements": replacements}
    with SandboxExchange({PAIR: 50_000.0}, balances={"USDT": 1_000_000.0, "BTC": 0.0}) as sandbox:
        exchange = _exchange(ccxt_overrides(sandbox.url))
        settings = parse_config({"exchange": {"alert_unprotected_window_ms": 10_000}}).exchange
        governor = StopGovernor(exchange, settings, _NoTrades(), EventLog(verbose=False))
        governor.install()
        exchange.create_order(pair=PAIR, ordertype="market", side="buy", amount=0.02, rate=50_000.0,
                              leverage=1.0)
        sandbox.faults.latency_ms = latency_ms

        stop = exchange.create_stoploss(PAIR, 0.01, 40_000.0, ORDER_TYPES, "sell", 1.0)
        for i in range(replacements):
            exchange.cancel_stoploss_order(stop["id"], PAIR)
            stop = exchange.create_stoploss(PAIR, 0.01, 40_000.0 + i, ORDER_TYPES, "sell", 1.0)
        results["cancel_then_create"] = _summary(governor.windows_ms)

        governor.path = ReplacementPath.MAKE_BEFORE_BREAK
        durations, gaps = [], []
        for i in range(replacements):
            started = time.monotonic()
            new = exchange.create_stoploss(PAIR, 0.01, 41_000.0 + i, ORDER_TYPES, "sell", 1.0)
            live_between = len([o for o in sandbox.book.open_orders("BTCUSDT") if o["type"] != "MARKET"])
            exchange.cancel_stoploss_order(stop["id"], PAIR)
            durations.append((time.monotonic() - started) * 1000)
            gaps.append(0.0 if live_between >= 1 else float("nan"))
            stop = new
        results["make_before_break"] = {**_summary(gaps), "replacement_ms": statistics.median(durations)}

        requests = []
        for _ in range(replacements):
            started = time.monotonic()
            exchange.fetch_stoploss_order(stop["id"], PAIR)  # one signed request, as an amend is
            requests.append((time.monotonic() - started) * 1000)
        results["amend"] = {"n": replacements, "median_ms": 0.0, "max_ms": 0.0,
                            "request_ms": statistics.median(requests)}
        sandbox.faults.latency_ms = 0
    return results
