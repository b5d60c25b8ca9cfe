"""Bybit's position trailing stop (``/v5/position/trading-stop`` with ``trailingStop``).

Why it looks like this: on Bybit a trailing stop is not an order of its own but a setting of the
position (``tpslMode=Full``: it closes the whole position). ``trailingStop`` is a price distance in
the quote currency ("0" clears it); ``activePrice``, when given, is where it starts trailing (above
the last price for a long, below for a short), otherwise it trails from the last price at once. It
follows the best price since activation and, when the last price comes back ``trailingStop`` from
it, closes the position with a reduce-only market order that the order history shows with
``stopOrderType=TrailingStop``. Setting it again replaces it (trailing restarts from the new
activation or the current price); it goes away with the position. ``/v5/position/list`` shows it as
``trailingStop`` and ``activePrice``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ts_plugin.sandbox.errors import ApiError


def invalid(message: str) -> ApiError:
    return ApiError(200, 10001, message)


@dataclass
class PositionTrailingStop:
    distance: float  # price distance, on the tick
    active_price: float | None  # None: trailing from placement
    long: bool
    peak: float | None = None  # the best price since activation; None until activated

    @property
    def level(self) -> float | None:
        """Where it fires now (the best price less the distance), None before activation."""
        if self.peak is None:
            return None
        return self.peak - self.distance if self.long else self.peak + self.distance

    def on_price(self, price: float) -> bool:
        """Follow one last price; True when the stop fires at it."""
        if self.peak is None:
            reached = self.active_price is None or (price >= self.active_price if self.long
                                                    else price <= self.active_price)
            if not reached:
                return False
            self.peak = price
        self.peak = max(self.peak, price) if self.long else min(self.peak, price)
        level = self.level
        return price <= level if self.long else price >= level


def _price(params: dict, name: str) -> float | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid(f"params error: {name} invalid") from None
    if not math.isfinite(number) or number < 0:
        raise invalid(f"params error: {name} invalid")
    return number


def _on_tick(value: float, tick: float) -> bool:
    steps = value / tick
    return abs(steps - round(steps)) < 1e-6


def parse(params: dict, position_amount: float, last: float, tick: float) -> PositionTrailingStop | None:
    """The trailing stop a trading-stop request asks for (None: cleared), or Bybit's refusal."""
    if str(params.get("positionIdx", "0")) != "0":
        raise invalid("position idx not match position mode")  # one-way mode only
    if str(params.get("tpslMode") or "Full") != "Full":
        raise invalid("the sandbox's trading-stop supports tpslMode=Full only")
    if any(params.get(name) not in (None, "") for name in ("takeProfit", "stopLoss")):
        raise invalid("the sandbox's trading-stop supports trailingStop only (no takeProfit/stopLoss)")
    distance = _price(params, "trailingStop")
    if distance is None:
        raise invalid("params error: trailingStop is required")
    if not position_amount:
        raise invalid("can not set tp/sl/ts for zero position")
    if distance == 0:
        return None
    long = position_amount > 0
    if not _on_tick(distance, tick):
        raise invalid(f"params error: trailingStop {params['trailingStop']} is not a multiple of the "
                      f"tick size {tick:g}")
    if distance >= last:
        raise invalid(f"params error: trailingStop {params['trailingStop']} must be less than the "
                      f"last price {last:g}")
    active = _price(params, "activePrice") or None
    if active is not None and not (active > last if long else active < last):
        side = "higher" if long else "lower"
        raise invalid(f"activePrice {params['activePrice']} should be {side} than the last price {last:g} "
                      f"for a {'long' if long else 'short'} position")
    stop = PositionTrailingStop(distance, active, long)
    stop.on_price(last)  # without an activation price it trails from the last price at once
    return stop
