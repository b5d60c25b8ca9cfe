"""Which stop replacement an exchange allows, decided in one place from what it can do.

- AMEND: the exchange edits an untriggered trigger order's price in place (one request, no window).
- MAKE_BEFORE_BREAK: stops do not lock the position (reduce-only futures): create the new stop,
  then cancel the old one (two requests, never unprotected).
- CANCEL_THEN_CREATE: a stop locks the balance (Binance spot): cancel, then create; the window in
  between is measured and reported.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

# ccxt ids whose ``edit_order`` moves the trigger price of an untriggered conditional order in place.
# Bybit is run end to end against the sandbox's v5 API (its rules: ``venues/bybit.py``); OKX is listed
# from its API documentation (``/trade/amend-algos``) only. A refused amend falls back to a replacement
# that places the new stop first (see ``StopGovernor._amend``). Binance is absent on purpose: its spot edit is cancelReplace (not atomic) and its futures
# conditional (algo) orders cannot be amended.
AMENDS_TRIGGER_IN_PLACE = frozenset({"bybit", "okx"})


class ReplacementPath(str, Enum):
    AMEND = "amend"
    MAKE_BEFORE_BREAK = "make_before_break"
    CANCEL_THEN_CREATE = "cancel_then_create"


def replacement_path(exchange: Any) -> ReplacementPath:
    """The cheapest safe replacement for this freqtrade Exchange object."""
    api = getattr(exchange, "_api", None)
    ccxt_id = getattr(api, "id", "")
    can_edit = bool(getattr(api, "has", {}).get("editOrder"))
    if can_edit and ccxt_id in AMENDS_TRIGGER_IN_PLACE:
        return ReplacementPath.AMEND
    if not exchange.get_option("stoploss_blocks_assets", True):
        return ReplacementPath.MAKE_BEFORE_BREAK
    return ReplacementPath.CANCEL_THEN_CREATE
