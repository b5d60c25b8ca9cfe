"""The price band an exchange accepts for a stop order, and the tightest stop inside it.

Exchanges refuse orders whose price is too far from a reference: Binance spot's PERCENT_PRICE_BY_SIDE
(limit price within multipliers of the average price of the last ``avgPriceMins`` minutes, per side),
Binance USD-M's PERCENT_PRICE on conditional orders (limit price within multipliers of the order's
own stop price, -4184 / -4183), Bybit's ``priceLimitRatioX`` (spot: around the last price;
linear perpetuals: a conditional order's limit price around the mark price when it fires, taken as its
trigger, 110003), and everywhere the static PRICE_FILTER / ``priceFilter`` min and max. freqtrade
treats the refusal like any invalid stop and exits the trade at market (freqtrade issue #12598).

Clamping moves the order into the band in one direction only: towards the price, i.e. tighter. A
long's (sell) stop and limit are only raised, a short's (buy) only lowered: the limit to the band's
edge, the stop only if the limit would pass it (then keeping the asked stop-to-limit gap); a stop that
would land at or through the price is not clamped at all. The
exchange's reference price is not always the last price (Binance spot averages over minutes), so
reference-based bounds are pulled in by a margin; bounds relative to the order's own stop are exact.

Pure: the market dict is ccxt's (``market["info"]`` is the exchange's raw symbol description); the
reference price comes from a callable that is only called for rules that need it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

# Error texts that mean "outside the price band" (exchange codes and filter names).
BAND_REFUSALS = ("PERCENT_PRICE", "-4183", "-4184", "170193", "170194", "110003")


@dataclass(frozen=True)
class Band:
    """Prices the exchange accepts for one stop order.

    ``low``/``high`` bound the order's limit price, and so do ``limit_to_stop`` (multipliers of the
    order's own stop price); ``trigger_low``/``trigger_high`` bound the stop (trigger) price itself
    (static per-symbol limits). ``rule`` says where the numbers come from.
    """

    low: float = 0.0
    high: float = math.inf
    trigger_low: float = 0.0
    trigger_high: float = math.inf
    limit_to_stop: tuple[float, float] = (0.0, math.inf)
    rule: str = ""

    def limit_bounds(self, stop: float) -> tuple[float, float]:
        """The limit prices accepted together with this stop price."""
        down, up = self.limit_to_stop
        return max(self.low, stop * down), min(self.high, stop * up)

    def accepts(self, stop: float, limit: float | None) -> bool:
        if not self.trigger_low <= stop <= self.trigger_high:
            return False
        if limit is None:
            return True
        low, high = self.limit_bounds(stop)
        return low <= limit <= high

    def describe(self, stop: float, price: Callable[[float], str] = "{:.10g}".format) -> str:
        """The band for people; the trigger's limits only where they bind ``stop`` (the asked one)."""
        def bound(value: float) -> str:
            return "-" if value in (0.0, math.inf) else price(value)

        if self.limit_to_stop != (0.0, math.inf):
            text = f"limit x{self.limit_to_stop[0]:g}..x{self.limit_to_stop[1]:g} of the stop"
        else:
            text = f"limit {bound(self.low)}..{bound(self.high)}"
        if not self.trigger_low <= stop <= self.trigger_high:
            text += f", stop {bound(self.trigger_low)}..{bound(self.trigger_high)}"
        return f"{text} ({self.rule})" if self.rule else text


@dataclass(frozen=True)
class Clamped:
    """The order to place: ``stop`` and ``limit`` (None for a stop-market order)."""

    stop: float
    limit: float | None
    clamped: bool


def _number(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) and number > 0 else default


def _filters(market: dict) -> dict[str, dict]:
    info = market.get("info") or {}
    return {f.get("filterType"): f for f in info.get("filters") or [] if isinstance(f, dict)}


def _is_contract(market: dict) -> bool:
    return bool(market.get("contract") or market.get("swap") or market.get("future"))


def binance_band(market: dict, side: str, stop: float, reference: Callable[[], float],
                 margin: float) -> Band | None:
    """Binance spot and USD-M: PRICE_FILTER plus PERCENT_PRICE(_BY_SIDE)."""
    filters = _filters(market)
    static = filters.get("PRICE_FILTER", {})
    trigger_low = _number(static.get("minPrice"), 0.0)
    trigger_high = _number(static.get("maxPrice"), math.inf)
    rules = []
    low, high = trigger_low, trigger_high
    if _is_contract(market):
        percent = filters.get("PERCENT_PRICE")
        if percent:  # conditional orders: limit price against the order's own stop price (exact)
            down, up = _number(percent.get("multiplierDown"), 0.0), _number(percent.get("multiplierUp"), math.inf)
            rules.append(f"PERCENT_PRICE x{down:g}..x{up:g} of the stop price")
            return Band(low, high, trigger_low, trigger_high, (down, up), "; ".join(rules))
    else:  # spot: limit price against the average price; the per-side filter replaced the older one
        name = "PERCENT_PRICE_BY_SIDE" if "PERCENT_PRICE_BY_SIDE" in filters else "PERCENT_PRICE"
        percent = filters.get(name)
        if percent:
            prefix = ("ask" if side == "sell" else "bid") if name == "PERCENT_PRICE_BY_SIDE" else ""
            down = _number(percent.get(f"{prefix}MultiplierDown" if prefix else "multiplierDown"), 0.0)
            up = _number(percent.get(f"{prefix}MultiplierUp" if prefix else "multiplierUp"), math.inf)
            price = reference()
            low = max(low, price * down * (1 + margin))
            high = min(high, price * up * (1 - margin))
            rules.append(f"{name} x{down:g}..x{up:g} of the {percent.get('avgPriceMins', '?')}-minute "
                         f"average price, taken as {price:.10g} less a {margin:.1%} margin")
    if not rules and trigger_low == 0.0 and trigger_high == math.inf:
        return None
    return Band(low, high, trigger_low, trigger_high, rule="; ".join(rules) or "PRICE_FILTER")


def bybit_band(market: dict, side: str, stop: float, reference: Callable[[], float],
               margin: float) -> Band | None:
    """Bybit v5: ``priceFilter`` min/max and ``riskParameters.priceLimitRatioX`` (X).

    Spot: a buy's limit at most last x (1 + X), a sell's at least last x (1 - X). Linear perpetuals: the
    order price limits are min(mark x (1 + Y), max(index, mark x (1 + X))) for a buy and max(mark x
    (1 - Y), min(index, mark x (1 - X))) for a sell; a conditional order meets them when it fires, where
    the mark price is about its trigger, and a limit within X of it passes whatever the index (Y >= X).
    Mark and trigger may differ a little (a last-price trigger), so X shrinks by the margin."""
    info = market.get("info") or {}
    static = info.get("priceFilter") or {}
    trigger_low = _number(static.get("minPrice"), 0.0)
    trigger_high = _number(static.get("maxPrice"), math.inf)
    low, high, rules = trigger_low, trigger_high, []
    ratio = _number((info.get("riskParameters") or {}).get("priceLimitRatioX"), 0.0)
    if ratio and _is_contract(market) and ratio < 1:
        kept = ratio * (1 - margin)
        rules.append(f"priceLimitRatioX {ratio:g} of the mark price at the trigger, less a {margin:.1%} margin")
        return Band(low, high, trigger_low, trigger_high, (1 - kept, 1 + kept), "; ".join(rules))
    if ratio and not _is_contract(market):
        price = reference()
        if side == "sell":
            low = max(low, price * (1 - ratio) * (1 + margin))
        else:
            high = min(high, price * (1 + ratio) * (1 - margin))
        rules.append(f"priceLimitRatioX {ratio:g} of the last price {price:.10g}, less a {margin:.1%} margin")
    if not rules and trigger_low == 0.0 and trigger_high == math.inf:
        return None
    return Band(low, high, trigger_low, trigger_high, rule="; ".join(rules) or "priceFilter")


# The one place that knows which exchange reads which filters (ccxt ids).
_READERS = {"binance": binance_band, "binanceusdm": binance_band, "bybit": bybit_band}


def band_for(exchange_id: str, market: dict | None, side: str, stop: float,
             reference: Callable[[], float], margin: float) -> Band | None:
    """The band for a stop order on ``side`` ("sell" protects a long), or None if none is known."""
    reader = _READERS.get(exchange_id)
    if reader is None or not market:
        return None
    return reader(market, side, stop, reference, margin)


def clamp(side: str, stop: float, limit: float | None, band: Band, price: float | None) -> Clamped | None:
    """The order closest to (stop, limit) inside ``band`` reached by tightening only, or None.

    The limit moves to the band's edge. When the stop has to follow (a sell's limit may not be above
    its stop), it keeps the asked gap to the limit, so the triggered order still has the same room to
    fill; if that would put it at or through ``price`` (the current price) the gap shrinks to zero.
    None means the band cannot be met by tightening alone (it would need a looser order, or a stop at
    or through the price): the order is then left to the exchange as asked.
    """
    selling = side == "sell"
    tighten = max if selling else min

    def through(value: float) -> bool:
        return value != stop and (price is None or (value >= price if selling else value <= price))

    new_stop = tighten(stop, band.trigger_low if selling else band.trigger_high)
    new_limit = limit
    if limit is not None and limit > 0:
        low, high = band.limit_bounds(new_stop)
        new_limit = tighten(limit, low if selling else high)
        if new_limit != limit:
            # the asked gap as a ratio first: new_limit x (a ratio >= 1 for a sell, <= 1 for a buy) rounds
            # to the limit's side of the stop at every magnitude (new_limit x stop / limit can land 1 ulp
            # past it)
            candidates = [tighten(new_stop, new_limit * (stop / limit)), tighten(new_stop, new_limit)]
            new_stop = next((c for c in candidates if band.accepts(c, new_limit) and not through(c)),
                            candidates[-1])
    if not band.accepts(new_stop, new_limit) or through(new_stop):
        return None
    return Clamped(new_stop, new_limit, new_stop != stop or new_limit != limit)


def is_band_refusal(error: BaseException) -> bool:
    """Whether an exchange's refusal names a price band (Binance filter failures, Bybit limits)."""
    text = str(error)
    return any(marker in text for marker in BAND_REFUSALS)
