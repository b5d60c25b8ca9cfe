"""A stop placement whose answer was lost, and how to recognise the order it left on the exchange.

A create answered by a timeout, a 5xx or Binance's -1007 ("execution status unknown") may have been
placed all the same. Placing it again doubles the stop (or, where a stop locks the coins, fails with
insufficient funds for ever), and an order nobody recorded is reported as foreign while the trade looks
unprotected. So the open stop orders of the pair are searched for the one just placed: same side,
same amount and stop price (within rounding to the exchange's precision), created after the attempt
began, and not an order the bot already knows. Pure: no exchange, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

# Rounding to the market's precision moves price and amount by at most a step: a relative tolerance
# of 0.1 % covers it without confusing two stops the bot would place one after the other.
PRICE_TOLERANCE = 0.001
AMOUNT_TOLERANCE = 0.001
# The exchange stamps the order with its own clock: allow for a few seconds of skew.
CLOCK_SKEW_S = 5.0


@dataclass(frozen=True, slots=True)
class Placement:
    """One attempt to place a stop: what was asked for and when (wall-clock seconds)."""

    pair: str
    side: str
    amount: float
    stop: float
    started_at: float


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(abs(a), abs(b))


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def find_placed(placement: Placement, orders: Iterable[dict], known_ids: set[str],
                stop_of: Callable[[dict], float | None]) -> dict | None:
    """The open order that ``placement`` left on the exchange, or None (the latest if several match).

    ``known_ids``: ids of orders the bot already holds a record of (never the lost one);
    ``stop_of``: the order's stop (trigger) price as the exchange reports it.
    """
    earliest_ms = (placement.started_at - CLOCK_SKEW_S) * 1000.0
    matches = []
    for order in orders:
        stop, amount = stop_of(order), _number(order.get("amount"))
        created = _created_ms(order)
        if (
            order.get("symbol") != placement.pair
            or str(order.get("id")) in known_ids
            or str(order.get("side") or "").lower() != placement.side.lower()
            or stop is None or not _close(stop, placement.stop, PRICE_TOLERANCE)
            or amount is None or not _close(amount, placement.amount, AMOUNT_TOLERANCE)
            or (created is not None and created < earliest_ms)
        ):
            continue
        matches.append(order)
    return max(matches, key=lambda o: _created_ms(o) or 0.0, default=None)


def _created_ms(order: dict) -> float | None:
    """The order's creation time in ms, None when the answer gives none: Binance answers an untriggered
    conditional order with ``workingTime`` -1 and no ``time``, which ccxt reads as timestamp -1."""
    try:
        created = float(order.get("timestamp"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return created if created > 0 else None
