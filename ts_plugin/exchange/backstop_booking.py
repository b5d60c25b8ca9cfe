"""A native backstop's fill that closed the whole position, booked once, under its own exchange id.

freqtrade knows a trade's orders by their exchange ids. When it finds too little in the wallet to
exit, its recovery (``handle_onexchange_order``) lists the pair's orders on the exchange from shortly
before the trade opened and books every order it does not know on that trade. A backstop fill booked
under another id (the regular stop's) stays unknown, so the pair's next trade, opened seconds later,
had it booked again as its own exit: its amount fell by the fill, the emergency exit sold too little
and left the rest of the position naked with no trade and no stop. Hence:

- ``carry_on_stop``: freqtrade reads its regular stop after the backstop closed the position. The
  stop's record takes the fill's exchange id (the id the exchange lists the fill by) and freqtrade is
  handed the fill under it, so freqtrade closes the trade on its own stop path (exit reason
  ``stoploss_on_exchange``, notifications, protections). The regular stop is recorded beside it as
  what it is, cancelled with nothing filled, so the reconciliation still knows it as the bot's if it
  outlives its cancel.
- ``book_exit``: the backstop closed the position while the trade had no regular stop to read (it
  was placed before the first one, or freqtrade's was refused): the fill is booked the way freqtrade
  books an order it finds on the exchange (an exit order record under the market order's id and
  ``update_trade``), with exit reason ``stoploss_on_exchange``. Recorded as a stop order, freqtrade
  would read it for its fee as a conditional order, which it is not (Binance answers -2013 after
  retries that hold up the bot's loop).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

STOP_SIDE = "stoploss"  # freqtrade's ft_order_side of a stop order


def fill_id(fill: dict) -> str:
    """The exchange id of the order that filled: a conditional order's fill names its market order
    (``id_stop``, Binance's ``actualOrderId``); what the exchange's order list shows."""
    return str(fill.get("id_stop") or fill.get("id"))


def known_elsewhere(trade: Any, fill: dict) -> bool:
    """Is this fill recorded already (on this trade or another)? Then it must not be booked again."""
    from freqtrade.persistence import Order

    return Order.order_by_id(fill_id(fill), trade.pair) is not None


def carried(fill: dict) -> dict:
    """The answer freqtrade books for its stop: the fill, named by its own exchange id."""
    real_id = fill_id(fill)
    return {**fill, "id": real_id, "id_stop": real_id, "type": "stoploss", "status": "closed",
            "status_stop": "triggered"}


def carry_on_stop(trade: Any, stop_record: Any, fill: dict) -> dict:
    """Hand freqtrade the backstop's ``fill`` as the outcome of its stop order ``stop_record``,
    recorded under the fill's own id; the stop is kept as a cancelled record under its id. Returns
    the answer freqtrade books (freqtrade reads the record's id after the answer)."""
    from freqtrade.persistence import Order, Trade

    real_id, stop_id = fill_id(fill), str(stop_record.order_id)
    answer = carried(fill)
    if real_id == stop_id:
        return answer
    try:
        stop_record.order_id = real_id
        Trade.session.flush()  # the id is free again before the cancelled record takes it
        cancelled = Order(order_id=stop_id, ft_order_side=STOP_SIDE, ft_pair=trade.pair, ft_is_open=False,
                          ft_amount=stop_record.ft_amount, ft_price=stop_record.ft_price, status="canceled",
                          order_type=stop_record.order_type, side=stop_record.side, price=stop_record.price,
                          amount=stop_record.amount, filled=0.0, remaining=stop_record.amount,
                          stop_price=stop_record.stop_price, order_date=stop_record.order_date,
                          order_update_date=datetime.now(timezone.utc))
        trade.orders.append(cancelled)
        Trade.commit()
    except Exception:
        Trade.session.rollback()
        raise
    return answer


def own_fill_under_its_id(trade: Any, stop_record: Any, order: dict) -> dict:
    """freqtrade's own conditional stop filled (Binance USD-M: the algo order, its fill a market order
    named by ``actualOrderId``, ``id_stop`` in freqtrade's answer): its record takes the market order's
    id, the one the exchange lists the fill by, so freqtrade's recovery never books that fill again on
    the pair's next trade (seen in the soak: a stop's fill booked a second time six seconds later).
    Returns the answer freqtrade books (unchanged when there is nothing to rename)."""
    from freqtrade.persistence import Trade

    real_id, stop_id = fill_id(order), str(stop_record.order_id)
    if real_id == stop_id or not getattr(stop_record, "ft_is_open", False) or known_elsewhere(trade, order):
        return order
    try:
        stop_record.order_id = real_id
        Trade.commit()
    except Exception:
        Trade.session.rollback()
        raise
    return {**order, "id": real_id, "id_stop": real_id}


def book_exit(trade: Any, fill: dict) -> bool:
    """Book ``fill`` as the trade's stop exit (no regular stop to carry it); False when it is booked
    already. The trade is closed by freqtrade's ``update_trade`` with exit reason stoploss_on_exchange."""
    from freqtrade.persistence import Order, Trade

    from freqtrade.enums import ExitType

    if known_elsewhere(trade, fill):
        return False
    order = {key: value for key, value in fill.items() if key not in ("id_stop", "status_stop")}
    order.update(id=fill_id(fill), type="market", status="closed")
    # An exit order under the market order's id, as freqtrade records an order it finds on the
    # exchange: freqtrade later reads it (its fee) as a regular order, which it is.
    record = Order.parse_from_ccxt_object(order, trade.pair, trade.exit_side)
    try:
        trade.orders.append(record)
        trade.exit_reason = ExitType.STOPLOSS_ON_EXCHANGE.value
        trade.close_rate_requested = trade.stop_loss
        trade.update_trade(record)
        Trade.commit()
    except Exception:
        Trade.session.rollback()
        raise
    return True
