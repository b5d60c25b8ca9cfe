"""The exchange's open stop orders for some pairs: used by the reconciliation and by the search for a
stop whose answer was lost. Dry-run stops live in freqtrade's memory; on futures the listing must ask
for conditional (algo) orders (``params={"stop": True}``) or it misses them."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

logger = logging.getLogger("ts_plugin")

OPEN_STATUSES = frozenset({"open", "new", "untriggered"})
# Words in an order's type that make it a stop: a trailing or conditional order counts even without a
# trigger price (Binance's TRAILING_STOP_MARKET has none until it fires, and ccxt calls it "market").
STOP_KIND_MARKERS = ("stop", "takeprofit", "trailing", "conditional", "tpsl")
# Where an exchange names an order's kind: ccxt's type, Binance's type / orderType / origType /
# algoType, Bybit's stopOrderType.
KIND_FIELDS = ("type", "orderType", "origType", "algoType", "stopOrderType")


def order_kinds(order: dict) -> set[str]:
    """Every name the order's kind goes by, lower case without separators ("trailingstopmarket")."""
    info = order.get("info") or {}
    names = [order.get("type")] + [info.get(field) for field in KIND_FIELDS]
    return {str(name).lower().replace("_", "") for name in names if name}


def is_stop(order: dict) -> bool:
    return (
        any(marker in kind for kind in order_kinds(order) for marker in STOP_KIND_MARKERS)
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
