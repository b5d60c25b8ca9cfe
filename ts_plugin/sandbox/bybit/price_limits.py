"""Bybit's order price limits on linear perpetuals: the highest bid and lowest ask an order may carry.

Bybit bounds a limit order's price around the mark price: highest bid (``buyLmt``) =
min(mark x (1 + Y), max(index, mark x (1 + X))), lowest ask (``sellLmt``) = max(mark x (1 - Y),
min(index, mark x (1 - X))), with X and Y the instrument's ``riskParameters.priceLimitRatioX`` and
``priceLimitRatioY`` (Bybit's later order-book premium term is left out: the sandbox's book sits on
its price, and index and mark are the sandbox's price). What happens to a price beyond them is the
account's choice (``/v5/account/set-limit-px-action``): by default for futures it is moved to the
limit; with ``modifyEnable=false`` the order is refused with retCode 110003.

A conditional order's price meets the limits when it fires, at its trigger: the sandbox checks it at
placement and amend against the limits around its own trigger price. A falling trigger only lowers a
sell's lowest ask by the time it fires (and a rising one only raises a buy's highest bid), so a stop
that passes that check is inside the limits when it fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ts_plugin.sandbox.errors import ApiError

OUT_OF_RANGE = 110003
SLACK = 1e-9  # relative: a price on the limit itself is inside, whatever the float arithmetic says


@dataclass(frozen=True)
class PriceLimit:
    """One symbol's ratios (Bybit's usual ones for a major USDT perpetual by default)."""

    ratio_x: float = 0.05
    ratio_y: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.ratio_x <= self.ratio_y < 1:
            raise ValueError(f"price limit ratios X={self.ratio_x}, Y={self.ratio_y}: expected 0 < X <= Y < 1")

    def bounds(self, mark: float, index: float | None = None) -> tuple[float, float]:
        """(lowest ask, highest bid) around ``mark``."""
        index = mark if index is None else index
        lowest = max(mark * (1 - self.ratio_y), min(index, mark * (1 - self.ratio_x)))
        highest = min(mark * (1 + self.ratio_y), max(index, mark * (1 + self.ratio_x)))
        return lowest, highest


def on_tick(value: float, tick: str, inward_from_below: bool) -> Decimal:
    """``value`` on the tick grid, rounded into the range it bounds (a lowest ask up, a highest bid down)."""
    step = Decimal(tick).normalize()
    units = Decimal(str(value)) / step
    nearest = units.to_integral_value()
    if abs(units - nearest) > Decimal("1e-6"):  # not on the grid already (float arithmetic aside)
        nearest = units.to_integral_value(ROUND_CEILING if inward_from_below else ROUND_FLOOR)
    return (nearest * step).normalize()


def published(limit: PriceLimit, mark: float, tick: str) -> tuple[str, str]:
    """(``buyLmt``, ``sellLmt``) as ``/v5/market/price-limit`` writes them: on the tick, its decimals kept."""
    lowest, highest = limit.bounds(mark)
    decimals = max(-Decimal(tick).normalize().as_tuple().exponent, 0)
    return f"{on_tick(highest, tick, False):.{decimals}f}", f"{on_tick(lowest, tick, True):.{decimals}f}"


def allowed_price(limit: PriceLimit, side: str, price: float, mark: float, tick: str, adjust: bool) -> float:
    """The price Bybit takes for a ``side`` ("Buy"/"Sell") limit order against the limits around ``mark``:
    unchanged inside them; beyond them moved to the limit (``adjust``) or refused with 110003."""
    lowest, highest = limit.bounds(mark)
    buying = side == "Buy"
    if (price <= highest * (1 + SLACK)) if buying else (price >= lowest * (1 - SLACK)):
        return price
    if not adjust:
        raise ApiError(200, OUT_OF_RANGE, "Order price is out of permissible range")
    return float(on_tick(highest, tick, False) if buying else on_tick(lowest, tick, True))
