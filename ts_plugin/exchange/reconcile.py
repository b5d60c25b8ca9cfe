"""Orphaned stop orders: compare what the exchange holds with what the bot believes, decide actions.

``classify`` is pure. An open stop order on the exchange is
- *current* when it is the live stop order of an open trade;
- an *orphan* when the bot created it (freqtrade has it in its order table, or the plugin recorded
  it) but it is not current: it is cancelled;
- *adoptable* when freqtrade has no record of it but the plugin recorded it as the stop it placed last
  for an open trade that has no other live stop: the bot died between placing it and committing
  freqtrade's record, so it is re-attached to the trade rather than left unmanaged;
- a *replacement* when freqtrade has no record of it, the plugin recorded it as the stop it placed
  last, and the trade's current stop is live beside it: the bot died in a make-before-break between
  creating the new stop and cancelling the old one. The reconciler keeps the one that protects more
  (re-attaching the new one and cancelling the old, or cancelling the new one as an orphan);
- *foreign* when the bot never created it: reported, cancelled only with cancel_foreign_stop_orders.
An open trade whose current stop is not among the exchange's open stop orders (and has nothing to
adopt) is *unprotected*.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reconciliation:
    orphans: tuple[dict, ...] = ()
    foreign: tuple[dict, ...] = ()
    unprotected: tuple[str, ...] = ()  # pairs
    current: tuple[dict, ...] = field(default=())
    adoptable: tuple[dict, ...] = ()
    replacements: tuple[dict, ...] = ()


def classify(
    exchange_stops: list[dict],
    current_ids_by_pair: dict[str, set[str]],
    bot_created: set[tuple[str, str]],
    recorded_id_by_pair: dict[str, str] | None = None,
) -> Reconciliation:
    """Sort the exchange's open stop orders into current, adoptable, orphaned and foreign ones.

    Orders are matched by (pair, id): Binance numbers spot orders per symbol. ``bot_created``: every
    (pair, id) freqtrade has a stop record of; ``recorded_id_by_pair``: for open trades, the stop
    order id the plugin recorded last.
    """
    def key(order: dict) -> tuple[str, str]:
        return str(order.get("symbol")), str(order.get("id"))

    current_keys = {(pair, order_id) for pair, ids in current_ids_by_pair.items() for order_id in ids}
    live_keys = {key(order) for order in exchange_stops}
    covered = {pair for pair, _ in current_keys & live_keys}
    recorded_keys = set((recorded_id_by_pair or {}).items())
    adoptable_keys = {
        (pair, order_id) for pair, order_id in recorded_keys
        if pair in current_ids_by_pair and pair not in covered and (pair, order_id) not in bot_created
    }
    replacement_keys = {
        (pair, order_id) for pair, order_id in recorded_keys
        if pair in covered and (pair, order_id) not in bot_created and (pair, order_id) not in current_keys
    }
    ours = bot_created | recorded_keys  # a recorded order that cannot be adopted is still the bot's
    orphans, foreign, current, adoptable, replacements = [], [], [], [], []
    for order in exchange_stops:
        if key(order) in current_keys:
            current.append(order)
        elif key(order) in adoptable_keys:
            adoptable.append(order)
        elif key(order) in replacement_keys:
            replacements.append(order)
        elif key(order) in ours:
            orphans.append(order)
        else:
            foreign.append(order)
    adopted_pairs = {key(order)[0] for order in adoptable}
    unprotected = tuple(pair for pair in sorted(current_ids_by_pair)
                        if pair not in covered and pair not in adopted_pairs)
    return Reconciliation(tuple(orphans), tuple(foreign), unprotected, tuple(current), tuple(adoptable),
                          tuple(replacements))
