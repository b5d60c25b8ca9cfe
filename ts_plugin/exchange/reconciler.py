"""Runs the orphan reconciliation against the bot's exchange and acts on the result.

Once at start-up (before the governor lets any stop move) and then every ``orphan_check_interval_s``
from ``bot_loop_start``. Every action is an event; nothing raises into freqtrade's loop.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from freqtrade.exceptions import InvalidOrderException

from ts_plugin.events import EventName
from ts_plugin.exchange.governor import OPEN_STATUSES, StopGovernor
from ts_plugin.exchange.reconcile import Reconciliation, classify

logger = logging.getLogger("ts_plugin")

STOP_ORDER_TYPES = frozenset({"stop_loss", "stop_loss_limit", "stop", "stop_market", "take_profit"})


def _is_stop(order: dict) -> bool:
    kind = str(order.get("type") or order.get("info", {}).get("type") or "").lower()
    return (
        kind in STOP_ORDER_TYPES
        or order.get("ft_order_type") == "stoploss"
        or bool(order.get("triggerPrice") or order.get("stopPrice"))
    )


class Reconciler:
    """Lists open stop orders, classifies them against freqtrade's records and cleans up."""

    def __init__(self, governor: StopGovernor, dry_run: bool,
                 bot_created_stops: Callable[[Iterable[str]], set[tuple[str, str]]]) -> None:
        self.governor = governor
        self.dry_run = dry_run
        self._bot_created_stops = bot_created_stops
        self.last_run: float | None = None
        self.last_result: Reconciliation | None = None
        self._reported: set[str] = set()  # unprotected pairs / foreign orders already reported

    def open_stop_orders(self, pairs: Iterable[str]) -> list[dict]:
        exchange = self.governor.exchange
        wanted = set(pairs)
        if self.dry_run:
            orders = list(exchange._dry_run_open_orders.values())
            logger.debug("smart_trailing: dry-run orders %s",
                         [(o.get("id"), o.get("status"), o.get("type"), o.get("symbol")) for o in orders])
            return [o for o in orders
                    if o.get("status") in OPEN_STATUSES and _is_stop(o) and o.get("symbol") in wanted]
        params = {"stop": True} if exchange.get_option("stoploss_query_requires_stop_flag") else {}
        found: list[dict] = []
        for pair in sorted(set(pairs)):
            orders = self.governor._guarded(
                "list open orders", lambda pair=pair: exchange._api.fetch_open_orders(pair, params=params)
            )
            found.extend(o for o in orders if _is_stop(o))
        return found

    def run(self, open_trades: list[Any], pairs: Iterable[str], now: float) -> Reconciliation | None:
        """One pass; returns what it found (None when the exchange could not be listed)."""
        governor = self.governor
        self.last_run = now
        all_pairs = set(pairs) | {t.pair for t in open_trades}
        try:
            exchange_stops = self.open_stop_orders(all_pairs)
        except Exception as exc:
            governor.counters["reconcile_failures"] += 1
            logger.warning("smart_trailing: reconciliation could not list stop orders: %s", exc)
            return None
        trades = {t.pair: t for t in open_trades if t.has_open_position}
        current = {pair: {o.order_id for o in t.open_sl_orders if o.order_id} for pair, t in trades.items()}
        result = classify(exchange_stops, current, self._bot_created_stops(all_pairs),
                          self._recorded_ids(trades.values()))
        for order in result.adoptable:
            self._adopt(trades[order["symbol"]], order)
        for order in result.orphans:
            self._cancel(order, EventName.ORPHAN_CANCELLED)
        findings = set()
        for order in result.foreign:
            if governor.settings.cancel_foreign_stop_orders:
                self._cancel(order, EventName.ORPHAN_CANCELLED, foreign=True)
                continue
            findings.add(f"foreign:{order.get('id')}")
            if f"foreign:{order.get('id')}" not in self._reported:
                governor.events.emit(EventName.WARNING, None, order.get("symbol", "-"),
                                     reason="foreign stop order left alone", order_id=order.get("id"))
        for pair in result.unprotected:
            governor.counters["unprotected_checks"] += 1
            findings.add(f"unprotected:{pair}")
            if f"unprotected:{pair}" not in self._reported:  # once per episode, not every pass
                governor.events.emit(EventName.WARNING, None, pair,
                                     reason="open trade has no live stop order on the exchange")
        self._reported = findings
        governor.reconciled = True
        self.last_result = result
        return result

    def _recorded_ids(self, trades: Iterable[Any]) -> dict[str, str]:
        """The stop order id the plugin recorded last for each open trade."""
        recorded = {}
        for trade in trades:
            state = self.governor.ledger.state_of(trade)
            if state is not None and state.exchange_stop_id:
                recorded[trade.pair] = state.exchange_stop_id
        return recorded

    def _adopt(self, trade: Any, order: dict) -> None:
        """Give freqtrade back the record of a live stop it placed but never committed (the bot died
        in between), so it manages that order instead of placing a second one."""
        from freqtrade.persistence import Order, Trade

        stop = self.governor._price_of(order)
        try:
            trade.orders.append(Order.parse_from_ccxt_object(order, trade.pair, "stoploss", trade.amount, stop))
            Trade.commit()
        except Exception as exc:  # the rest of the pass (orphans, reports) must still run
            Trade.session.rollback()
            self.governor.counters["adopt_failures"] += 1
            self.governor.events.emit(EventName.WARNING, trade.id, trade.pair, order_id=order.get("id"),
                                      reason=f"could not re-attach live stop order: {exc}")
            return
        self.governor.counters["stops_adopted"] += 1
        self.governor.events.emit(EventName.STOP_ADOPTED, trade.id, trade.pair, order_id=order.get("id"),
                                  stop=stop, reason="live stop order without freqtrade record re-attached")

    def _cancel(self, order: dict, event: EventName, foreign: bool = False) -> None:
        governor = self.governor
        pair, order_id = order.get("symbol", ""), str(order.get("id"))
        original = governor._original["cancel_stoploss_order"]
        try:
            try:
                governor._guarded("cancel orphan", lambda: original(order_id, pair))
            except InvalidOrderException as exc:
                governor._confirm_gone(order_id, pair, None, exc, block_create=False)
        except Exception as exc:
            governor.counters["orphan_cancel_failures"] += 1
            governor.events.emit(EventName.WARNING, None, pair, order_id=order_id,
                                 reason=f"could not cancel orphaned stop order: {exc}")
            return
        governor.counters["orphans_cancelled"] += 1
        governor.events.emit(event, None, pair, order_id=order_id, foreign=foreign or None,
                             stop=governor._price_of(order))
