"""The sandbox's order book around the scripted price, on the market's price grid.

A real book only holds prices that are multiples of the tick size; a bid between two ticks would let
no limit order at a valid price ever cross it (freqtrade's dry-run fills a sell limit only when it is
at or below the best bid, and rounds its own limit to the tick). Best bid and ask sit about 0.01 %
either side of the price, then one level per 0.01 % (at least one tick) outwards.
"""

from __future__ import annotations

import math

SPREAD = 0.0001
EPSILON = 1e-9  # keeps a price that is already on the grid from falling to the tick below


def book_levels(price: float, tick_size: str, levels: int) -> tuple[list[str], list[str]]:
    """Bid and ask prices (best first), formatted like Binance, ``levels`` deep."""
    tick = float(tick_size)
    best_bid = math.floor(price * (1 - SPREAD) / tick + EPSILON) * tick
    best_ask = math.ceil(price * (1 + SPREAD) / tick - EPSILON) * tick
    step = max(tick, round(price * SPREAD / tick) * tick)
    return ([f"{best_bid - i * step:.8f}" for i in range(levels)],
            [f"{best_ask + i * step:.8f}" for i in range(levels)])
