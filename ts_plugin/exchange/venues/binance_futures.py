"""Binance USD-M futures: the native trailing backstop's order calls.

- The backstop is a ``TRAILING_STOP_MARKET`` conditional order on the algo order API
  (``/fapi/v1/algoOrder``): ccxt's ``create_order`` with ``trailingPercent`` (sent as ``callbackRate``,
  percent, 0.1 to 10 in steps of 0.1) and ``activationPrice`` (sent as ``activatePrice``), reduce-only.
  Conditional orders lock nothing, so it lives beside freqtrade's regular stop, and a replacement
  places the new backstop before cancelling the old one.
- A trailing order with an activation price waits until the price reaches it, then follows the best
  price since; without one it follows from the price at placement. A sell's activation price must be
  above the last price (a buy's below), or Binance refuses it (-2021).
- Once it fires, ``algoStatus`` is TRIGGERED and ``actualOrderId`` names the market order that closed
  the position; freqtrade's own ``fetch_stoploss_order`` follows that link to the fill, so the keeper
  reads a backstop through it.
- It is recognised by its client id (``clientAlgoId``), which carries the trade id (``backstop.py``).
"""

from __future__ import annotations

from typing import Any

CCXT_IDS = ("binanceusdm", "binance")
TRIGGER = {"trigger": True}  # ccxt: address the algo (conditional) order API


def place(exchange: Any, pair: str, side: str, amount: float, callback_rate: float,
          activation: float | None, client_id: str) -> dict:
    """Place the backstop; ``callback_rate`` is already on Binance's grid (percent)."""
    params: dict[str, Any] = {"trailingPercent": f"{callback_rate:g}", "reduceOnly": True,
                              "clientOrderId": client_id}
    if activation is not None:
        params["activationPrice"] = activation
    return exchange._api.create_order(pair, "market", side, exchange.amount_to_precision(pair, amount),
                                      None, params)


def cancel(exchange: Any, order_id: str, pair: str) -> Any:
    return exchange._api.cancel_order(order_id, pair, dict(TRIGGER))


def client_id_of(order: dict) -> str:
    info = order.get("info") or {}
    return str(order.get("clientOrderId") or info.get("clientAlgoId") or "")
