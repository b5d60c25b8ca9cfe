"""What the consistency check reads from freqtrade's Trade: the adapter side of ``consistency``.

Kept apart from the mixin so the load-and-check path and the rebuild read the same facts, in the
same way, from one place: the trade's side, entry, filled entry prices, the stop freqtrade holds and
the stop it would hold without trailing (``entry_stop.untrailed_stop``, from its orders).
"""

from __future__ import annotations

from typing import Any

from freqtrade.exchange.exchange_utils import TICK_SIZE

from ts_plugin.core.consistency import TradeFacts, trailed_stop
from ts_plugin.core.entry_stop import Fill, untrailed_stop


def price_step(trade: Any) -> float:
    """The trade's price tick (0 when unknown), from the precision freqtrade stored on it."""
    precision = getattr(trade, "price_precision", None)
    if not precision:
        return 0.0
    if getattr(trade, "precision_mode_price", None) == TICK_SIZE:
        return float(precision)
    return 10.0 ** -float(precision)


def _filled(trade: Any) -> list[Any]:
    """The trade's orders with a fill and a price, in freqtrade's order."""
    return [order for order in getattr(trade, "orders", ()) if order.filled and order.safe_price]


def _fills(orders: list[Any], entry_side: str) -> list[Fill]:
    """The fills ``recalc_trade_from_orders`` averages (it skips orders still open)."""
    return [
        Fill(order.ft_order_side == entry_side, float(order.safe_price), float(order.safe_amount_after_fee or 0))
        for order in orders if not getattr(order, "ft_is_open", False)
    ]


def trade_facts(trade: Any) -> TradeFacts:
    """The facts ``consistency.contradiction`` checks a stored state against."""
    filled = _filled(trade)
    fills = _fills(filled, trade.entry_side)
    step = price_step(trade)
    ratio = getattr(trade, "initial_stop_loss_pct", None)
    if ratio is None:
        ratio = getattr(trade, "stop_loss_pct", None)
    initial = getattr(trade, "initial_stop_loss", None)
    stop = trade.stop_loss
    return TradeFacts(
        is_short=bool(trade.is_short),
        is_open=bool(trade.is_open),
        open_rate=float(trade.open_rate),
        entry_prices=tuple(float(order.safe_price) for order in filled if order.ft_order_side == trade.entry_side),
        stop_loss=float(stop) if stop else None,
        untrailed_stop=untrailed_stop(
            is_short=bool(trade.is_short), leverage=float(getattr(trade, "leverage", None) or 1.0),
            stoploss=float(ratio) if ratio is not None else None,
            initial_stop=float(initial) if initial else None,
            open_rate=float(trade.open_rate), fills=fills, price_step=step,
        ),
        price_step=step,
    )


def moved_stop(trade: Any) -> float | None:
    """The stop freqtrade holds when a trailing stop moved it, else None (``consistency.trailed_stop``:
    not freqtrade's ``is_stop_loss_trailing``, which an entry fill away from the quote, a position
    adjustment or a hard stop rounded one tick also set)."""
    return trailed_stop(trade_facts(trade))
