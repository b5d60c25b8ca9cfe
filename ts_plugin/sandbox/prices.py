"""Scripted prices per symbol with their history, served as wall-clock candles, tickers and books."""

from __future__ import annotations

import bisect
import threading

from ts_plugin.sandbox.inputs import valid_price


class PriceBook:
    """Current price per symbol plus every change (time in ms, price), for candles and matching."""

    def __init__(self, initial: dict[str, float], start_ms: int) -> None:
        self._lock = threading.Lock()
        self._history: dict[str, tuple[list[int], list[float]]] = {
            symbol: ([start_ms], [valid_price(price)]) for symbol, price in initial.items()
        }

    def symbols(self) -> list[str]:
        return list(self._history)

    def price(self, symbol: str) -> float:
        with self._lock:
            return self._history[symbol][1][-1]

    def set(self, symbol: str, price: float, at_ms: int) -> None:
        """Record a change; a non-positive or non-finite price is refused (the book would match it)."""
        price = valid_price(price)
        with self._lock:
            times, prices = self._history[symbol]
            if at_ms < times[-1]:
                at_ms = times[-1]
            times.append(at_ms)
            prices.append(price)

    def candles(self, symbol: str, interval_ms: int, start_ms: int | None, end_ms: int,
                limit: int) -> list[list]:
        """Binance kline rows covering [start, end], the price path's OHLC within each interval."""
        with self._lock:
            times, prices = (list(x) for x in self._history[symbol])
        last_open = end_ms - end_ms % interval_ms
        first_open = last_open - (limit - 1) * interval_ms
        if start_ms is not None:
            first_open = max(first_open, start_ms - start_ms % interval_ms)
        rows = []
        for open_ms in range(first_open, last_open + 1, interval_ms):
            close_ms = open_ms + interval_ms
            before = max(bisect.bisect_right(times, open_ms) - 1, 0)
            inside = prices[before: bisect.bisect_left(times, close_ms)] or [prices[before]]
            opening, closing = inside[0], inside[-1]
            rows.append([open_ms, f"{opening:.8f}", f"{max(inside):.8f}", f"{min(inside):.8f}",
                         f"{closing:.8f}", "100.00000000", close_ms - 1, f"{100 * closing:.8f}",
                         10, "50.00000000", f"{50 * closing:.8f}", "0"])
        return rows[-limit:]
