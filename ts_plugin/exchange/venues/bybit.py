"""Bybit (v5, unified account, USDT linear perpetuals): what the plugin relies on beyond ccxt: the stop
amended in place, and the position's trailing stop as the native trailing backstop (below).

- freqtrade places the stop as a reduce-only conditional order (``stopLossPrice`` -> ``triggerPrice``,
  falling for a long, rising for a short). It locks nothing, so a second stop can be placed before
  the first is cancelled.
- ``/v5/order/amend`` moves an untriggered conditional order's ``triggerPrice`` (and, for a limit stop,
  its limit ``price``) in place, keeping its ``orderId``: ccxt's ``edit_order`` with
  ``{"triggerPrice": ...}``. Prices are absolute, in the quote currency, on the instrument's tick.
- An amend that changes nothing is refused with retCode 34040 ("not modified"): the exchange already
  holds that stop, e.g. after a retried amend whose first answer was lost. That is a success.
- retCode 110001 (ccxt ``OrderNotFound``): the order is no longer live (triggered, filled, cancelled).
- Other refusals, e.g. 110092/110093 (the trigger is through the current price) or 10001 (parameter
  rules): the stop stays where it was; a replacement (new stop first, then cancel) is the fallback.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

CCXT_ID = "bybit"
NOT_MODIFIED = 34040
_RET_CODE = re.compile(r'"retCode"\s*:\s*(-?\d+)')


def ret_code(error: BaseException) -> int | None:
    """Bybit's retCode in a ccxt error (ccxt puts the answer's body in the message)."""
    found = _RET_CODE.search(str(error))
    return int(found.group(1)) if found else None


def amend_unchanged(error: BaseException) -> bool:
    return ret_code(error) == NOT_MODIFIED


# ----- the native trailing backstop: the position's trailing stop ---------------------------------
#
# - Bybit's trailing stop is a setting of the position, not an order: ``/v5/position/trading-stop``
#   with ``trailingStop`` (a price distance on the tick, "0" clears it) and ``activePrice`` (where it
#   starts trailing; above the last price for a long). ccxt sets it with ``create_order`` and
#   ``trailingAmount`` / ``trailingTriggerPrice``. With ``tpslMode=Full`` it closes the whole position.
# - A position holds one: setting it again replaces it in place, so there is nothing to cancel after a
#   replacement, and it goes away with the position. It has no id and no client id: the keeper names
#   it ``tsbk-<trade>-<ms>`` itself (the milliseconds say since when to look for its fill) and finds
#   it on the position (``/v5/position/list`` shows ``trailingStop``).
# - When it fires, Bybit closes the position with a reduce-only market order; the order history shows
#   it with ``stopOrderType=TrailingStop``.

TRAILING_STOP = "TrailingStop"
CLOCK_SLACK_MS = 5_000  # the bot's clock (the backstop's name) against the exchange's
NO_POSITION = "zero position"  # 10001 "can not set tp/sl/ts for zero position"


def place_trailing(exchange: Any, pair: str, side: str, amount: float, distance: float,
                   activation: float | None, client_id: str) -> dict:
    """Set the position's trailing stop; ``distance`` is already a price distance on the tick."""
    params: dict[str, Any] = {"trailingAmount": exchange.price_to_precision(pair, distance),
                              "tpslMode": "Full", "positionIdx": 0}
    if activation is not None:
        params["trailingTriggerPrice"] = activation
    exchange._api.create_order(pair, "market", side, 0, None, params)
    return {"id": client_id, "clientOrderId": client_id, "symbol": pair, "status": "open"}


def clear_trailing(exchange: Any, order_id: str, pair: str) -> None:
    """Clear the position's trailing stop; a flat position has none left to clear."""
    import ccxt

    try:
        exchange._api.create_order(pair, "market", "sell", 0, None,
                                   {"trailingAmount": "0", "tpslMode": "Full", "positionIdx": 0})
    except ccxt.BadRequest as error:
        if NO_POSITION not in str(error):
            raise


def held_trailing(exchange: Any, pairs: Iterable[str]) -> list[dict]:
    """The positions of ``pairs`` holding a trailing stop, as backstop listings (no id of their own)."""
    wanted = sorted(set(pairs))
    if not wanted:
        return []
    held = []
    for position in exchange._api.fetch_positions(wanted):
        info = position.get("info") or {}
        if position.get("contracts") and float(info.get("trailingStop") or 0) > 0:
            held.append({"id": None, "symbol": position["symbol"], "native": float(info["trailingStop"]),
                         "info": info})
    return held


def is_position_trailing(order: dict) -> bool:
    """A position's trailing stop as the order list shows it (``stopOrderType=TrailingStop``)."""
    return (order.get("info") or {}).get("stopOrderType") == TRAILING_STOP


def read_trailing(exchange: Any, backstop_id: str, pair: str) -> dict | None:
    """The backstop now: open while the position holds a trailing stop; once it fired, the market
    order that closed the position (placed after the backstop); None when it is gone otherwise."""
    positions = exchange._api.fetch_positions([pair])
    info = (positions[0].get("info") or {}) if positions else {}
    if positions and positions[0].get("contracts") and float(info.get("trailingStop") or 0) > 0:
        return {"id": backstop_id, "symbol": pair, "status": "open"}
    placed = _placed_ms(backstop_id)
    since = placed - CLOCK_SLACK_MS if placed is not None else None
    closed = exchange._api.fetch_canceled_and_closed_orders(pair, since, None, {"trigger": True})
    fired = [o for o in closed if (o.get("info") or {}).get("stopOrderType") == TRAILING_STOP
             and o.get("filled") and (since is None or (o.get("timestamp") or 0) >= since)]
    return fired[-1] if fired else None


def _placed_ms(backstop_id: str) -> int | None:
    tail = backstop_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None
