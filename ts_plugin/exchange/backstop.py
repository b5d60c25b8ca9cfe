"""The native trailing backstop: the plugin's trailing distance in each exchange's own unit and limits.

While a trade trails, the exchange can hold a native trailing order beside the regular stop, so that if
the bot stops the exchange goes on trailing from where the bot was. Each exchange takes the distance in
its own unit and grid: Binance USD-M ``callbackRate`` in percent (0.1 to 10, steps of 0.1), Binance spot
``trailingDelta`` in basis points (per-symbol TRAILING_DELTA filter), Bybit ``trailingStop`` as a price
distance on the tick (``PriceDistance``: placed with headroom, since a fixed price distance tightens
as the peak rises). The conversion lives here, in one place, with each exchange's limits.

A backstop must never fire before the bot's own stop while the bot runs, so the distance is rounded
*up* to the exchange's grid (wider, never tighter); a distance wider than the exchange allows gets no
backstop at all rather than a tighter one. It is replaced only when its rounded value changes (a step or
a momentum change of the distance), never per tick. Pure: no exchange, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TrailGrid:
    """What one exchange accepts for a native trailing order's distance, in its own unit."""

    name: str
    unit: str  # "percent", "bips"
    per_fraction: float  # units per 1.0 of distance (100 for percent, 10 000 for basis points)
    minimum: float
    maximum: float
    step: float

    def native(self, distance: float) -> float | None:
        """The plugin's distance (a fraction of the best price, 0.005 = 0.5 %) in this exchange's unit,
        rounded up to its grid and at least its minimum; None when it is wider than the maximum."""
        if not (math.isfinite(distance) and distance > 0):
            return None
        value = distance * self.per_fraction
        steps = math.ceil(round(value / self.step, 9))  # round first: 0.5 / 0.1 is 5.000000000000001
        native = max(self.minimum, round(steps * self.step, 9))
        return native if native <= self.maximum + 1e-12 else None

    def fraction(self, native: float, peak: float | None = None) -> float:
        return native / self.per_fraction

    # The same questions as ``PriceDistance``: a percent or bips grid ignores the peak and the tick.
    def native_at(self, distance: float, peak: float, tick: float | None) -> float | None:
        return self.native(distance)

    def stale(self, live: float | None, distance: float, peak: float, tick: float | None) -> bool:
        return needs_replacing(live, self.native(distance))

    @property
    def limits(self) -> str:
        return f"{self.minimum:g} to {self.maximum:g} {self.unit}"

    def shown(self, native: float) -> str:
        return f"{native:g} {self.unit}"


BINANCE_USDM = TrailGrid("Binance USD-M callbackRate", "percent", 100.0, 0.1, 10.0, 0.1)
BINANCE_SPOT = TrailGrid("Binance spot trailingDelta", "bips", 10_000.0, 10.0, 2000.0, 1.0)


def binance_spot_grid(market: dict) -> TrailGrid:
    """Binance spot's grid from the symbol's TRAILING_DELTA filter (below-delta bounds a sell's trail)."""
    filters = {f.get("filterType"): f for f in (market.get("info") or {}).get("filters") or []}
    delta = filters.get("TRAILING_DELTA") or {}
    low = float(delta.get("minTrailingBelowDelta", BINANCE_SPOT.minimum))
    high = float(delta.get("maxTrailingBelowDelta", BINANCE_SPOT.maximum))
    return TrailGrid(BINANCE_SPOT.name, "bips", 10_000.0, low, high, 1.0)


def bybit_distance(distance: float, best_price: float, tick: float) -> float | None:
    """Bybit's ``trailingStop`` is a price distance: the fraction of the best price, rounded up to
    the tick (wider, never tighter)."""
    if not (distance > 0 and best_price > 0 and tick > 0):
        return None
    return math.ceil(round(distance * best_price / tick, 9)) * tick


@dataclass(frozen=True)
class PriceDistance:
    """An exchange whose trailing distance is a price distance (Bybit ``trailingStop``), fixed while
    the price moves: the plugin's distance is a fraction of the *peak*, so a distance held in price
    grows too tight as the peak rises. It is placed ``headroom`` wider (rounded up to the tick) and
    replaced only when it no longer covers the plugin's distance at the current peak (the peak rose
    about ``headroom``, or a step widened it) or is more than twice the headroom too wide (a step or
    momentum tightened it): a few replacements per trade, never one per tick."""

    name: str
    headroom: float = 0.05
    unit: str = "ticks of price distance"
    minimum: float = 1.0
    maximum: float = math.inf
    step: float = 1.0

    def native_at(self, distance: float, peak: float, tick: float | None) -> float | None:
        """The price distance to place; None without a usable tick or when it is not below the peak."""
        if not tick:
            return None
        native = bybit_distance(distance * (1 + self.headroom), peak, tick)
        return round(native, 12) if native is not None and native < peak else None

    def stale(self, live: float | None, distance: float, peak: float, tick: float | None) -> bool:
        wanted = self.native_at(distance, peak, tick)
        if live is None or wanted is None:
            return needs_replacing(live, wanted)
        needed = distance * peak
        loosest = bybit_distance(distance * (1 + 2 * self.headroom), peak, tick or 0.0) or wanted
        return not (needed - 1e-12 <= live <= loosest + 1e-12)

    def fraction(self, native: float, peak: float | None = None) -> float:
        return native / peak if peak else 0.0

    @property
    def limits(self) -> str:
        return "a price distance below the price"

    def shown(self, native: float) -> str:
        return f"{native:g} below its best price"


BYBIT_LINEAR = PriceDistance("Bybit trailingStop")


# The one place that knows which exchange (ccxt id, market type) takes which grid.
def grid_for(exchange_id: str, market: dict | None) -> TrailGrid | None:
    if exchange_id not in ("binance", "binanceusdm") or not market:
        return None
    if market.get("swap") or market.get("future"):
        return BINANCE_USDM if market.get("linear", True) else None
    return binance_spot_grid(market)


def needs_replacing(live: float | None, wanted: float | None) -> bool:
    """Replace the backstop only when its native value really changes (both are on the grid)."""
    if wanted is None:
        return live is not None
    return live is None or not math.isclose(live, wanted, rel_tol=1e-9, abs_tol=1e-12)


# A backstop is recognised on the exchange by its client id, which names the trade it protects:
# "tsbk-<trade id>-<serial>" (Binance allows 36 characters of [.A-Za-z0-9:/_-]).
CLIENT_PREFIX = "tsbk-"


def client_id(trade_id: int, serial: int) -> str:
    return f"{CLIENT_PREFIX}{trade_id}-{serial}"


def trade_id_of(client: str | None) -> int | None:
    """The trade a backstop protects, from its client id; None for any other order."""
    if not client or not client.startswith(CLIENT_PREFIX):
        return None
    head = client[len(CLIENT_PREFIX):].split("-", 1)[0]
    return int(head) if head.isdigit() else None
