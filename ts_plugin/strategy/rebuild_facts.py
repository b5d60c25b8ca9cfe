"""What a rebuild reads from the trade: the best price it resumes the peak from.

freqtrade's ``max_rate`` (``min_rate`` for a short) is the best price since the trade opened. After a
position adjustment it can hold a peak seen against the old entry, which rule 1 restarts at the
adjustment's fill: rebuilt from it, that old peak could activate trailing (and at once cross a level
behind it) although no price since the adjustment reached the activation price. So an adjusted trade
(more than one filled entry order) is rebuilt from its last entry fill's price, the one best price
known to belong to the current entry. Nothing loosens by it: the rebuild keeps the stop freqtrade
holds, so a trade that was already trailing keeps the level it had reached.
"""

from __future__ import annotations

from typing import Any


def rebuild_best_price(trade: Any) -> float | None:
    """The best price a rebuilt state starts from (None when the trade knows none)."""
    fills = [
        float(order.safe_price) for order in getattr(trade, "orders", ())
        if order.ft_order_side == trade.entry_side and order.filled and order.safe_price
    ]
    if len(fills) > 1:
        return fills[-1]
    best = trade.min_rate if trade.is_short else trade.max_rate
    return float(best) if best else None
