"""Orphaned stop orders: compare what the exchange holds with what the bot believes, decide actions.

``classify`` is pure. An open stop order on the exchange is
- *current* when it is the live stop order of an open trade;
- an *orphan* when the bot created it (freqtrade has it in its order table) but it is not current:
  it is cancelled;
- *foreign* when the bot never created it: reported, cancelled only with cancel_foreign_stop_orders.
An open trade whose current stop is not among the exchange's open stop orders is *unprotected*.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reconciliation:
    orphans: tuple[dict, ...] = ()
    foreign: tuple[dict, ...] = ()
    unprotected: tuple[str, ...] = ()  # pairs
    current: tuple[dict, ...] = field(default=())


def classify(
    exchange_stops: list[dict],
    current_ids_by_pair: dict[str, set[str]],
    bot_created_ids: set[str],
) -> Reconciliation:
    """Sort the exchange's open stop orders into current, orphaned and foreign ones."""
    current_ids = set().union(*current_ids_by_pair.values()) if current_ids_by_pair else set()
    orphans, foreign, current = [], [], []
    for order in exchange_stops:
        order_id = str(order.get("id"))
        if order_id in current_ids:
            current.append(order)
        elif order_id in bot_created_ids:
            orphans.append(order)
        else:
            foreign.append(order)
    live_ids = {str(o.get("id")) for o in current}
    unprotected = tuple(
        pair for pair, ids in sorted(current_ids_by_pair.items()) if not ids & live_ids
    )
    return Reconciliation(tuple(orphans), tuple(foreign), unprotected, tuple(current))
