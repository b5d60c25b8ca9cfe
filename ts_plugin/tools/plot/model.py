"""What a chart shows of one trade: plain values, from a backtest replay or a dry-run/live trace."""

from __future__ import annotations

from dataclasses import dataclass

from ts_plugin.strategy.trace import StopPoint

__all__ = ["StopPoint", "TradePicture"]


@dataclass(frozen=True, slots=True)
class TradePicture:
    """One trade as drawn: entry, exit, its stop path and where breakeven and activation happened.

    ``stops`` is a step line (each point holds until the next); ``stops_source`` says where it came
    from, for the hover text and the page's note (replayed from candles, recorded live, ...)."""

    trade_id: int | str
    pair: str
    is_short: bool
    open_time: float
    open_rate: float
    close_time: float | None
    close_rate: float | None
    exit_reason: str | None
    stops: tuple[StopPoint, ...]
    stops_source: str
    breakeven_at: float | None = None
    activated_at: float | None = None
    activation_price: float | None = None

    def stop_at(self, time: float) -> float | None:
        """The stop in force at ``time`` (None before the first point)."""
        found = None
        for point in self.stops:
            if point.time > time:
                break
            found = point.stop
        return found
