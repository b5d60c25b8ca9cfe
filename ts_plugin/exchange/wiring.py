"""Connects the governor and reconciler to a running bot: freqtrade's order table and trades."""

from __future__ import annotations

import logging
from typing import Any, Iterable

from ts_plugin.exchange.governor import StopGovernor
from ts_plugin.exchange.reconciler import Reconciler

logger = logging.getLogger("ts_plugin")


def bot_created_stop_ids(pairs: Iterable[str]) -> set[str]:
    """Ids of every stop order freqtrade ever placed for these pairs (open or closed trades)."""
    from freqtrade.persistence import Order
    from sqlalchemy import select

    query = select(Order.order_id).where(Order.ft_order_side == "stoploss", Order.ft_pair.in_(list(pairs)))
    return {str(order_id) for order_id in Order.session.scalars(query).all() if order_id}


def install_governor(strategy: Any, exchange: Any) -> tuple[StopGovernor, Reconciler]:
    """Wrap the bot's exchange object; our policy replaces freqtrade's fixed update interval."""
    settings = strategy._ts_base_config.exchange
    governor = getattr(exchange, "_ts_governor", None)
    if governor is not None:  # same exchange, new strategy object: follow the new one
        governor.ledger, governor.events = strategy, strategy._ts_events
        governor._order_types = lambda: strategy.order_types
    else:
        governor = StopGovernor(exchange, settings, strategy, strategy._ts_events,
                                order_types=lambda: strategy.order_types)
        governor.install()
    previous = strategy.order_types.get("stoploss_on_exchange_interval", 60)
    # freqtrade re-reads this every check; 0 lets an emergency move out at once. The plugin's own
    # min_update_interval_s now rules the pace.
    strategy.order_types["stoploss_on_exchange_interval"] = 0
    logger.info(
        "smart_trailing: stoploss_on_exchange_interval %s -> 0, pace set by min_update_interval_s=%s",
        previous, settings.min_update_interval_s,
    )
    reconciler = Reconciler(governor, dry_run=bool(strategy.config.get("dry_run")),
                            bot_created_ids=bot_created_stop_ids)
    return governor, reconciler


def reconcile_now(strategy: Any, reconciler: Reconciler, now: float) -> None:
    """One reconciliation pass over the whitelist and the open trades; never raises."""
    from freqtrade.persistence import Trade

    try:
        pairs = strategy.dp.current_whitelist() if strategy.dp else []
        reconciler.run(Trade.get_open_trades(), pairs, now)
    except Exception:
        reconciler.governor.counters["reconcile_failures"] += 1
        logger.exception("smart_trailing: reconciliation failed")
