"""What the plugin must know about one exchange beyond ccxt's unified API: one module per exchange,
looked up by ccxt id. Exchanges without a module get the unified behaviour."""

from __future__ import annotations

from ts_plugin.exchange.venues import bybit

_AMEND_UNCHANGED = {bybit.CCXT_ID: bybit.amend_unchanged}


def amend_unchanged(ccxt_id: str, error: BaseException) -> bool:
    """Whether ``error`` answered an amend by saying the order already is as asked (a success)."""
    check = _AMEND_UNCHANGED.get(ccxt_id)
    return check is not None and check(error)
