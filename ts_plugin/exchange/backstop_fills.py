"""A native backstop's fill that closed only part of the position, booked as a partial exit.

The backstop is placed for the trade's amount and re-placed when that changes (a DCA entry, a partial
exit), but for a moment after a change, or while a re-placement is refused, the exchange can hold a
backstop for less than the position. When that one fires it closes only part: freqtrade's regular stop
(reduce-only, for the whole amount) still covers the rest and must stay, and the fill is not the
trade's exit. It is booked the way freqtrade books an order it finds on the exchange
(``handle_onexchange_order``): an exit order record on the trade, then ``update_trade``, which
recalculates the trade's amount and profit from its orders (a partial exit). The keeper then places
the backstop again for the remainder.
"""

from __future__ import annotations

from typing import Any


def closes_all(exchange: Any, trade: Any, fill: dict) -> bool:
    """Did this fill close the whole position freqtrade holds? Compared at the exchange's amount
    precision, as the backstop (and freqtrade's stop) was placed."""
    filled = float(fill.get("filled") or 0)
    try:
        whole = float(exchange.amount_to_precision(trade.pair, float(trade.amount)))
    except Exception:
        whole = float(trade.amount)
    return filled >= whole * (1 - 1e-9)


def book_partial_exit(trade: Any, fill: dict) -> bool:
    """Record the fill as an exit order of the trade (once per fill); False when it was booked before."""
    from freqtrade.persistence import Order, Trade

    order_id = str(fill.get("id_stop") or fill.get("id"))
    if trade.select_order_by_order_id(order_id) is not None:
        return False
    order = {key: value for key, value in fill.items() if key not in ("id_stop", "status_stop")}
    order.update(id=order_id, type="market", status="closed")
    record = Order.parse_from_ccxt_object(order, trade.pair, trade.exit_side)
    try:
        trade.orders.append(record)
        trade.update_trade(record)
        Trade.commit()
    except Exception:
        Trade.session.rollback()
        raise
    return True
