"""Bybit (v5, unified account, USDT linear perpetuals): what the plugin relies on beyond ccxt.

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

CCXT_ID = "bybit"
NOT_MODIFIED = 34040
_RET_CODE = re.compile(r'"retCode"\s*:\s*(-?\d+)')


def ret_code(error: BaseException) -> int | None:
    """Bybit's retCode in a ccxt error (ccxt puts the answer's body in the message)."""
    found = _RET_CODE.search(str(error))
    return int(found.group(1)) if found else None


def amend_unchanged(error: BaseException) -> bool:
    return ret_code(error) == NOT_MODIFIED
