"""Views for events that name only a trade id and pair (the exchange governor's): the trade's price
precision and quote, from freqtrade's database or, failing that, the exchange's markets. Kept out of
``core.events`` because it reads freqtrade's objects."""

from __future__ import annotations

from typing import Any

from ts_plugin.core.events import TradeView, trade_view


def exchange_view(exchange: Any, pair: str) -> TradeView | None:
    """Price precision of ``pair`` from the exchange's markets, when no trade is known."""
    try:
        precision = exchange.get_precision_price(pair)
        mode = exchange.precision_mode_price
        quote = exchange.markets.get(pair, {}).get("quote")
    except Exception:
        return None
    return TradeView(price_precision=precision, precision_mode=mode, quote=quote)


def lookup_view(exchange: Any, trade_id: int | None, pair: str) -> TradeView | None:
    """The view for an event that names only its trade id and pair (the exchange governor's)."""
    trade = None
    if trade_id is not None:
        try:
            from freqtrade.persistence import Trade

            trade = Trade.session.get(Trade, trade_id)
        except Exception:
            trade = None
    if trade is not None:
        return trade_view(trade)
    return exchange_view(exchange, pair) if exchange is not None and pair and pair != "-" else None
