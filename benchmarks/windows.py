"""Unprotected window per replacement path, measured on the exchange's side of the sandbox.

Real freqtrade Exchange objects (real ccxt clients) talk to the sandbox with an injected latency on
every request; the governor is installed on them exactly as in a bot. Every path is judged the same
way: while each replacement runs, a thread counts the live stops the sandbox's book holds for the
symbol (no request, no latency), and the time spanned by samples that show none is the window (an
upper bound: from the last sample with a stop to the next one with a stop). The samples are as far
apart as the thread gets scheduled, so the largest gap between two samples is the resolution: a
window shorter than that could pass unseen. Paths:
- cancel-then-create (Binance spot: stops lock the balance): freqtrade's own sequence, cancel then
  create; the governor's own clock (confirmed cancel -> acknowledged create) is shown beside it;
- make-before-break (Binance USD-M futures, isolated: algo stops lock nothing): the governor's
  ``_make_before_break`` creates the new stop, then cancels the old one;
- amend (Bybit USDT perpetual, the sandbox's /v5 API): the governor's ``_amend`` moves the trigger and
  the limit of the one stop in place;
- refused amend -> fallback (Bybit): each amend is refused (an error the exchange would give for its
  rules), so the governor replaces the stop new stop first.
The requests each replacement sent (the sandbox's request log) are counted per path: what a stop
move costs in requests, used by ``benchmarks/replacements.py`` for the requests per trade.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ts_plugin.core.config import parse_config
from ts_plugin.core.events import EventLog
from ts_plugin.exchange.governor import StopGovernor

SPOT_PAIR = "BTC/USDT"
FUTURES_PAIR = "BTC/USDT:USDT"
SYMBOL = "BTCUSDT"
PRICE = 50_000.0
AMOUNT = 0.02
ORDER_TYPES = {"stoploss": "limit", "stoploss_on_exchange_limit_ratio": 0.99}
SAMPLE_INTERVAL_S = 0.0005  # far below one request (the injected latency alone is 20 ms)
# ccxt's client-side rate limiter (freqtrade leaves it on) spaces requests by their declared cost:
# Bybit's order endpoints 100 ms apart, Binance spot's 10 ms. Each replacement starts with it idle, so
# its time is its own (the fetch of the stop order before it would otherwise delay its first request).
RATE_LIMITER_IDLE_S = 0.25
# Bybit's answer for an amend it will not do (its rules, not its health); the governor falls back.
AMEND_REFUSAL = {"kind": "error", "code": 10001, "msg": "amend refused (benchmark)"}

Sample = tuple[float, int]  # (monotonic time, live stops on the exchange)


class _NoTrades:
    def open_trade(self, pair: str) -> None:
        return None

    def state_of(self, trade: Any) -> None:
        return None

    peek = state_of

    def save(self, trade: Any, state: Any, persist: bool = True) -> None:
        pass


@dataclass
class _Trade:
    """What the governor reads from a freqtrade trade; it holds freqtrade's real Order rows."""

    pair: str
    amount: float
    leverage: float = 1.0
    id: int = 1
    orders: list = field(default_factory=list)

    def select_order_by_order_id(self, order_id: str) -> Any:
        return next((order for order in self.orders if order.order_id == order_id), None)


class _LiveStopSampler:
    """Counts the exchange's live stops on a thread, straight from the sandbox's book (no request, no
    latency): each sample is what the exchange held at that instant."""

    def __init__(self, count_live: Callable[[], int]) -> None:
        self._count = count_live
        self.samples: list[Sample] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-stop-sampler", daemon=True)

    def sample(self) -> Sample:
        taken = (time.monotonic(), self._count())
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


def unprotected_ms(samples: list[Sample]) -> float:
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


def largest_gap_ms(samples: list[Sample]) -> float:
    """The resolution of one sampled replacement: the longest time between two samples."""
    return max((later[0] - earlier[0] for earlier, later in zip(samples, samples[1:])), default=0.0) * 1000.0


def _trading_mode_keys(futures: bool) -> dict:
    from freqtrade.enums import CandleType, MarginMode, TradingMode

    if futures:
        return {"trading_mode": TradingMode.FUTURES, "margin_mode": MarginMode.ISOLATED,
                "candle_type_def": CandleType.FUTURES}
    return {"trading_mode": TradingMode.SPOT, "margin_mode": "", "candle_type_def": CandleType.SPOT}


def _exchange(name: str, pair: str, url: str, datadir: Path) -> Any:
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import ExchangeResolver
    from ts_plugin.sandbox import ccxt_overrides

    config = {
        "dry_run": False, "runmode": RunMode.LIVE, "stake_currency": "USDT", "timeframe": "5m",
        "datadir": datadir, **_trading_mode_keys(futures=":" in pair),
        "exchange": {"name": name, "key": "bench", "secret": "bench", "enable_ws": False,
                     "pair_whitelist": [pair], **ccxt_overrides(url, name)},
    }
    return ExchangeResolver.load_exchange(config, validate=False)


def _governed(exchange: Any) -> StopGovernor:
    settings = parse_config({"exchange": {"alert_unprotected_window_ms": 10_000}}).exchange
    governor = StopGovernor(exchange, settings, _NoTrades(), EventLog(verbose=False),
                            order_types=lambda: ORDER_TYPES)
    governor.install()
    return governor


def _open_position(exchange: Any, pair: str) -> _Trade:
    """A filled entry and its first stop (placed as freqtrade places it, through the governor)."""
    from freqtrade.persistence import Order

    exchange.create_order(pair=pair, ordertype="market", side="buy", amount=AMOUNT, rate=PRICE, leverage=1.0)
    trade = _Trade(pair, AMOUNT)
    first = exchange.create_stoploss(pair, AMOUNT, 41_000.0, ORDER_TYPES, "sell", 1.0)
    trade.orders.append(Order.parse_from_ccxt_object(first, pair, "stoploss", AMOUNT, 41_000.0))
    return trade


@dataclass
class _Path:
    """One replacement path: the exchange object, its governor, and how it moves the stop once."""

    exchange: Any
    governor: StopGovernor
    trade: _Trade
    count_live: Callable[[], int]
    move: Callable[["_Path", dict, float], None]
    before_each: Callable[[], None] = lambda: None

    @property
    def stop_id(self) -> str:
        return self.trade.orders[-1].order_id


def _freqtrades_cancel_then_create(path: _Path, current: dict, stop_price: float) -> None:
    """freqtrade's own sequence on spot (``handle_trailing_stoploss_on_exchange``), through the governor's
    wrappers: cancel, then create."""
    from freqtrade.persistence import Order

    trade = path.trade
    path.exchange.cancel_stoploss_order(current["id"], trade.pair)
    created = path.exchange.create_stoploss(trade.pair, trade.amount, stop_price, ORDER_TYPES, "sell", 1.0)
    trade.orders.append(Order.parse_from_ccxt_object(created, trade.pair, "stoploss", trade.amount, stop_price))


def _governors_make_before_break(path: _Path, current: dict, stop_price: float) -> None:
    path.governor._make_before_break(path.trade, current, stop_price, "sell")


def _governors_amend(path: _Path, current: dict, stop_price: float) -> None:
    path.governor._amend(path.trade, current, stop_price, "sell")


def _replace_once(path: _Path, sandbox: Any, stop_price: float, sampler: _LiveStopSampler) -> dict:
    """One replacement, with the exchange's live stops sampled and the requests it sent logged."""
    current = path.exchange.fetch_stoploss_order(path.stop_id, path.trade.pair)  # as freqtrade holds it
    path.before_each()
    time.sleep(RATE_LIMITER_IDLE_S)
    sent_before = len(sandbox.requests)
    before = sampler.sample()
    started = time.monotonic()
    path.move(path, current, stop_price)
    whole_ms = (time.monotonic() - started) * 1000.0
    after = sampler.sample()
    sent = sandbox.requests[sent_before:]
    seen = sampler.between(before, after)
    return {"whole_ms": whole_ms, "window_ms": unprotected_ms(seen), "samples": len(seen),
            "largest_gap_ms": largest_gap_ms(seen),
            "min_live": min(live for _, live in seen), "max_live": max(live for _, live in seen),
            "live_after": after[1], "requests": [f"{method} {route}" for method, route in sent]}


def _measure_path(path: _Path, sandbox: Any, replacements: int) -> dict:
    rows = []
    with _LiveStopSampler(path.count_live) as sampler:
        for i in range(replacements):
            rows.append(_replace_once(path, sandbox, 41_001.0 + i, sampler))
    return summarise(rows)


def summarise(rows: list[dict]) -> dict:
    """A path's figures from its sampled replacements."""
    windows = [row["window_ms"] for row in rows]
    whole = [row["whole_ms"] for row in rows]
    kinds = Counter(request for row in rows for request in row["requests"])
    return {
        "n": len(rows), "median_ms": statistics.median(windows), "max_ms": max(windows),
        "replacement_ms": statistics.median(whole), "replacement_max_ms": max(whole),
        "min_live_sampled": min(row["min_live"] for row in rows),
        "both_live_seen": sum(row["max_live"] >= 2 for row in rows),
        "samples_per_replacement": statistics.median(row["samples"] for row in rows),
        "median_sample_gap_ms": statistics.median(row["largest_gap_ms"] for row in rows),
        "largest_sample_gap_ms": max(row["largest_gap_ms"] for row in rows),
        "left_zero_live": sum(row["live_after"] == 0 for row in rows),
        "left_two_or_more_live": sum(row["live_after"] >= 2 for row in rows),
        "requests_per_move": sum(kinds.values()) / len(rows),
        "requests": {kind: count / len(rows) for kind, count in kinds.most_common()},
    }


def measure(latency_ms: float = 20.0, replacements: int = 60) -> dict:
    from ts_plugin.sandbox import SandboxExchange

    results: dict = {"latency_ms": latency_ms, "replacements": replacements}
    with tempfile.TemporaryDirectory() as datadir, SandboxExchange(
            {SPOT_PAIR: PRICE, FUTURES_PAIR: PRICE}, balances={"USDT": 1_000_000.0, "BTC": 0.0},
            futures_wallet={"USDT": 1_000_000.0}) as sandbox:
        spot = _exchange("binance", SPOT_PAIR, sandbox.url, Path(datadir))
        futures = _exchange("binance", FUTURES_PAIR, sandbox.url, Path(datadir))
        bybit = _exchange("bybit", FUTURES_PAIR, sandbox.url, Path(datadir))
        spot_governor, futures_governor, bybit_governor = _governed(spot), _governed(futures), _governed(bybit)
        paths = {
            "cancel_then_create": _Path(spot, spot_governor, _open_position(spot, SPOT_PAIR),
                                        lambda: len(sandbox.book.open_orders(SYMBOL)),
                                        _freqtrades_cancel_then_create),
            "make_before_break": _Path(futures, futures_governor, _open_position(futures, FUTURES_PAIR),
                                       lambda: len(sandbox.futures.open_algo_orders(SYMBOL)),
                                       _governors_make_before_break),
            "amend": _Path(bybit, bybit_governor, _open_position(bybit, FUTURES_PAIR),
                           lambda: len(sandbox.bybit.book.open_stops(SYMBOL)), _governors_amend),
        }
        sandbox.faults.latency_ms = latency_ms
        for name, path in paths.items():
            results[name] = _measure_path(path, sandbox, replacements)
        results["cancel_then_create"]["governor_median_ms"] = statistics.median(spot_governor.windows_ms)
        results["cancel_then_create"]["governor_max_ms"] = max(spot_governor.windows_ms)
        amend = paths["amend"]
        # the same stop, each amend refused; its prices go on up from where the amends left it
        refused = _Path(amend.exchange, amend.governor, amend.trade, amend.count_live,
                        lambda p, order, stop: _governors_amend(p, order, stop + replacements),
                        before_each=lambda: sandbox.faults.add("POST /v5/order/amend", dict(AMEND_REFUSAL)))
        results["amend_refused"] = _measure_path(refused, sandbox, replacements)
        results["amend_refused"]["refusals"] = bybit_governor.counters["amend_refused"]
        results["amend_refused"]["fallback_failures"] = bybit_governor.counters["amend_fallback_failures"]
        sandbox.faults.latency_ms = 0
    return results


def main() -> int:
    import json

    print(json.dumps(measure(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
