"""The exchange's open stop orders for some pairs: used by the reconciliation and by the search for a
stop whose answer was lost. Dry-run stops live in freqtrade's memory; on futures the listing must ask
for conditional (algo) orders (``params={"stop": True}``) or it misses them."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

logger = logging.getLogger("ts_plugin")

OPEN_STATUSES = frozenset({"open", "new", "untriggered"})
STOP_ORDER_TYPES = frozenset({"stop_loss", "stop_loss_limit", "stop", "stop_market", "take_profit"})


def is_stop(order: dict) -> bool:
    kind = str(order.get("type") or order.get("info", {}).get("type") or "").lower()
    return (
        kind in STOP_ORDER_TYPES
        or order.get("ft_order_type") == "stoploss"
        or bool(order.get("triggerPrice") or order.get("stopPrice"))
    )


def open_stop_orders(exchange: Any, pairs: Iterable[str], dry_run: bool,
                     call: Callable[[str, Callable[[], Any]], Any]) -> list[dict]:
    """Open stop orders of ``pairs``; ``call(label, func)`` runs each request (retries, circuit)."""
    wanted = set(pairs)
    if dry_run:
        orders = list(exchange._dry_run_open_orders.values())
        logger.debug("smart_trailing: dry-run orders %s",
                     [(o.get("id"), o.get("status"), o.get("type"), o.get("symbol")) for o in orders])
        return [o for o in orders if o.get("status") in OPEN_STATUSES and is_stop(o) and o.get("symbol") in wanted]
    params = {"stop": True} if exchange.get_option("stoploss_query_requires_stop_flag") else {}
    found: list[dict] = []
    for pair in sorted(wanted):
        orders = call("list open orders", lambda pair=pair: exchange._api.fetch_open_orders(pair, params=params))
        found.extend(o for o in orders if is_stop(o))
    return found
