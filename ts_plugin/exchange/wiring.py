"""Connects the governor and reconciler to a running bot: freqtrade's order table and trades."""

from __future__ import annotations

import logging
from typing import Any, Iterable

from ts_plugin.core.state import StateError, TrailState
from ts_plugin.exchange.backstop_keeper import BackstopKeeper, unsupported, venue_for
from ts_plugin.exchange.governor import StopGovernor
from ts_plugin.exchange.reconciler import Reconciler

logger = logging.getLogger("ts_plugin")


def bot_created_stops(pairs: Iterable[str]) -> set[tuple[str, str]]:
    """(pair, id) of every stop order freqtrade ever placed for these pairs (open or closed trades)."""
    from freqtrade.persistence import Order
    from sqlalchemy import select

    query = select(Order.ft_pair, Order.order_id).where(
        Order.ft_order_side == "stoploss", Order.ft_pair.in_(list(pairs)))
    return {(pair, str(order_id)) for pair, order_id in Order.session.execute(query).all() if order_id}


class StrategyLedger:
    """The governor's view of the strategy: open trades and their trailing state (cache first)."""

    def __init__(self, strategy: Any) -> None:
        self.strategy = strategy

    def open_trade(self, pair: str) -> Any | None:
        """The open trade of ``pair`` (freqtrade holds at most one per pair)."""
        from freqtrade.persistence import Trade

        trades = Trade.get_trades_proxy(pair=pair, is_open=True)
        return trades[0] if trades else None

    def state_of(self, trade: Any) -> TrailState | None:
        store = self.strategy._ts_store
        state = store.cache.get(store.key(trade))
        if state is None:
            state = self.strategy._ts_load(trade.pair, trade, trade.open_date_utc.timestamp())
        return state

    def peek(self, trade: Any) -> TrailState | None:
        """The state as it is (cache, else stored), never created or rebuilt: for the reconciler,
        which runs in bot_loop_start outside freqtrade's exit lock and can see a trade whose entry
        fill is still being handled in the API thread (a forced entry)."""
        store = self.strategy._ts_store
        state = store.cache.get(store.key(trade))
        if state is None:
            try:
                state = store.read(trade)
            except StateError:
                return None
        return state

    def save(self, trade: Any, state: TrailState, persist: bool = True) -> None:
        store = self.strategy._ts_store
        store.cache[store.key(trade)] = state
        if persist:
            store.write(trade, state)


def install_governor(strategy: Any, exchange: Any) -> tuple[StopGovernor, Reconciler]:
    """Wrap the bot's exchange object; our policy replaces freqtrade's fixed update interval."""
    settings = strategy._ts_base_config.exchange
    dry_run = bool(strategy.config.get("dry_run"))
    governor = getattr(exchange, "_ts_governor", None)
    if governor is not None:  # same exchange, new strategy object: follow the new one
        governor.ledger, governor.events = StrategyLedger(strategy), strategy._ts_events
        governor._order_types = lambda: strategy.order_types
    else:
        governor = StopGovernor(exchange, settings, StrategyLedger(strategy), strategy._ts_events,
                                order_types=lambda: strategy.order_types, dry_run=dry_run)
        governor.install()
    governor.on_through_price = strategy._ts_stop_through_price  # the strategy exits such a trade
    previous = strategy.order_types.get("stoploss_on_exchange_interval", 60)
    # freqtrade re-reads this every check; 0 lets an emergency move out at once. The plugin's own
    # min_update_interval_s now rules the pace.
    strategy.order_types["stoploss_on_exchange_interval"] = 0
    logger.info(
        "smart_trailing: stoploss_on_exchange_interval %s -> 0, pace set by min_update_interval_s=%s",
        previous, settings.min_update_interval_s,
    )
    governor.backstop = backstop_keeper(governor, settings.native_backstop, dry_run)
    reconciler = Reconciler(governor, dry_run=dry_run,
                            bot_created_stops=bot_created_stops)
    return governor, reconciler


def backstop_keeper(governor: StopGovernor, wanted: bool, dry_run: bool) -> BackstopKeeper | None:
    """The native trailing backstop's keeper when ``exchange.native_backstop`` is on and this exchange
    has one; otherwise a WARNING at start-up saying that no backstop will be held (the regular stop
    on exchange still protects every trade, so the bot runs). Off on an exchange that has one (live),
    a keeper that places nothing still looks after the backstops an earlier run left: turning the
    feature off must not leave them live to close a later trade."""
    if dry_run:
        if wanted:
            logger.info("smart_trailing: exchange.native_backstop is on; dry-run holds no backstop on the exchange")
        return None
    venue = venue_for(governor.exchange)
    if not wanted:
        if venue is not None:
            logger.info("smart_trailing: exchange.native_backstop is off; backstops an earlier run left on %s "
                        "are still looked for and cancelled", venue.name)
            return BackstopKeeper(governor, venue, enabled=False)
        return None
    if venue is None:
        logger.warning("smart_trailing: exchange.native_backstop is on, but %s; no native trailing backstop "
                       "will be held, the regular stop on exchange protects the trades as before",
                       unsupported(governor.exchange))
        return None
    logger.info("smart_trailing: native trailing backstop on %s (%s, %g..%g in steps of %g)", venue.name,
                venue.grid.unit, venue.grid.minimum, venue.grid.maximum, venue.grid.step)
    return BackstopKeeper(governor, venue)


def reconcile_now(strategy: Any, reconciler: Reconciler, now: float) -> None:
    """One reconciliation pass over the whitelist and the open trades; never raises."""
    from freqtrade.persistence import Trade

    reconciler.last_run = now  # a pass that fails before it lists anything waits its interval too
    try:
        pairs = strategy.dp.current_whitelist() if strategy.dp else []
        reconciler.run(Trade.get_open_trades(), pairs, now)
    except Exception:
        reconciler.governor.counters["reconcile_failures"] += 1
        logger.exception("smart_trailing: reconciliation failed")
