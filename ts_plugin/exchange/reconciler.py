"""Runs the orphan reconciliation against the bot's exchange and acts on the result.

Once at start-up (before the governor lets any stop move) and then every ``orphan_check_interval_s``
from ``bot_loop_start``. Every action is an event; nothing raises into freqtrade's loop.

An open trade without a live stop is *unprotected* only once freqtrade had its chance to place one:
it was already without one at the previous pass (a whole bot iteration ran in between), or
freqtrade's last attempt to place it failed. Before that it is *awaiting* its stop (a brand-new
trade, or a dry-run restart whose stops lived in memory): an INFO line, no alarm. A stop that filled
is not a missing stop. Alarms are per trade, once per episode.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Callable, Iterable

from freqtrade.exceptions import InvalidOrderException

from ts_plugin.core.events import EventName
from ts_plugin.core.machine import is_tighter
from ts_plugin.exchange.cancel_outcome import covers
from ts_plugin.exchange.capabilities import ReplacementPath
from ts_plugin.exchange.governor import StopGovernor
from ts_plugin.exchange.listing import open_stop_orders
from ts_plugin.exchange.placement import find_placed
from ts_plugin.exchange.reconcile import Reconciliation, classify
from ts_plugin.exchange.watch import UNPROTECTED, TradeKey

logger = logging.getLogger("ts_plugin")

FILLED_STATUSES = frozenset({"closed", "triggered"})  # freqtrade's own test of a stop that went off


class Reconciler:
    """Lists open stop orders, classifies them against freqtrade's records and cleans up."""

    def __init__(self, governor: StopGovernor, dry_run: bool,
                 bot_created_stops: Callable[[Iterable[str]], set[tuple[str, str]]]) -> None:
        self.governor = governor
        self.dry_run = dry_run
        self._bot_created_stops = bot_created_stops
        self.last_run: float | None = None
        self.passes = 0  # since start-up, in the health view
        self.last_result: Reconciliation | None = None
        self.unprotected: list[TradeKey] = []  # trades found without a stop after their chance
        self.awaiting: list[TradeKey] = []  # trades found without a stop, before their chance
        self._reported: set[str] = set()  # foreign orders already reported
        self.backstops: list[dict] | None = []  # the native trailing backstops of the latest listing

    def open_stop_orders(self, pairs: Iterable[str]) -> list[dict]:
        """Open stop orders; native trailing backstops (``backstop_keeper.py``) are kept apart in
        ``self.backstops`` from the same listing, never classified as stops."""
        keeper, listed = self.governor.backstop, []

        def call(label: str, func: Callable[[], Any]) -> Any:
            orders = self.governor._guarded(label, func, read_only=True)
            listed.extend(orders or [])
            return orders

        stops = open_stop_orders(self.governor.exchange, pairs, self.dry_run, call)
        if keeper is None:
            return stops
        self.backstops = keeper.held(listed, pairs)  # Bybit: read from the positions
        return [o for o in stops if not keeper.is_backstop(o)]

    def due(self, now: float, interval_s: float) -> bool:
        """At start-up, then every ``interval_s`` after the last pass began."""
        return self.last_run is None or now - self.last_run >= interval_s

    def run(self, open_trades: list[Any], pairs: Iterable[str], now: float) -> Reconciliation | None:
        """One pass; returns what it found (None when the exchange could not be listed)."""
        governor = self.governor
        self.last_run = now
        self.passes += 1
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
        for order in result.replacements:
            self._settle_replacement(trades[order["symbol"]], order,
                                     [o for o in result.current if o.get("symbol") == order["symbol"]])
        lost_found = self._adopt_lost_answers(result, trades)
        for order in result.orphans:
            self._cancel(order, EventName.ORPHAN_CANCELLED)
        findings = set()
        for order in result.foreign:
            if order in lost_found:
                continue
            if governor.settings.cancel_foreign_stop_orders:
                self._cancel(order, EventName.ORPHAN_CANCELLED, foreign=True)
                continue
            finding = f"foreign:{order.get('symbol')}:{order.get('id')}"
            findings.add(finding)
            if finding not in self._reported:
                governor.events.emit(EventName.WARNING, None, order.get("symbol", "-"),
                                     reason="foreign stop order left alone", order_id=order.get("id"))
        self._reported = findings
        missing = set(result.unprotected) - {o["symbol"] for o in lost_found}
        self._check_protection(trades, missing)
        governor.forget_closed({(t.pair, t.id) for t in open_trades})
        governor.counters["reconciliations"] += 1
        governor.reconciled = True
        if governor.backstop is not None:
            governor._backstop("reconcile", open_trades, self.backstops)
            result = self._with_backstops(result, governor.backstop)
        self.last_result = result
        return result

    @staticmethod
    def _with_backstops(result: Reconciliation, keeper: Any) -> Reconciliation:
        """The pass's findings with the backstops the keeper judged (orphans it cancelled, foreign
        position trailing stops), so the health view counts them with the stops."""
        return replace(result, orphans=result.orphans + ({"backstop": True},) * keeper.orphans,
                       foreign=result.foreign + ({"backstop": True},) * keeper.foreign)

    def _check_protection(self, trades: dict[str, Any], missing: set[str]) -> None:
        """Alarm, per trade, for those that had their chance to get a stop and have none live."""
        governor = self.governor
        previous, self.unprotected, self.awaiting = set(self.unprotected + self.awaiting), [], []
        for pair, trade in sorted(trades.items()):
            key = (pair, trade.id)
            if pair not in missing:
                governor.watches.settle(key, UNPROTECTED)
                continue
            if self._stop_filled(trade):
                governor.counters["stop_filled_not_missing"] += 1  # freqtrade closes the trade next
                continue
            watch = governor.watches.peek(key)
            if key in previous or (watch is not None and watch.create_failed):
                self.unprotected.append(key)
                governor.counters["unprotected_checks"] += 1
                governor.alarm(key, UNPROTECTED, "open trade has no live stop order on the exchange")
            else:
                self.awaiting.append(key)
                governor.counters["awaiting_stop"] += 1
                logger.info("smart_trailing: trade %s (%s) has no live stop order on the exchange yet; "
                            "freqtrade places it in its next iteration", trade.id, pair)

    def _stop_filled(self, trade: Any) -> bool:
        """Did one of the trade's stops go off? freqtrade then closes the trade: nothing is missing."""
        ids = {o.order_id for o in trade.open_sl_orders if o.order_id}
        state = self.governor.ledger.peek(trade)
        if state is not None and state.exchange_stop_id:
            ids.add(state.exchange_stop_id)
        exchange = self.governor.exchange
        for order_id in sorted(ids):
            try:
                # Dry-run: freqtrade's memory only. Its fetch would rebuild an order lost in a restart
                # from the database and, the rebuilt side being "stoploss", call it filled at once.
                order = (exchange._dry_run_open_orders.get(order_id) if self.dry_run
                         else exchange.fetch_stoploss_order(order_id, trade.pair))
            except Exception:
                continue  # unknown to the exchange (or unreachable): not evidence of a fill
            if order and (order.get("status") in FILLED_STATUSES or order.get("status_stop") == "triggered"):
                return True
        return False

    def _adopt_lost_answers(self, result: Reconciliation, trades: dict[str, Any]) -> list[dict]:
        """A trade without a stop whose last create lost its answer: is that stop among the orders
        nobody recorded? Then it is the trade's own, adopted like after a crash."""
        found = []
        for pair in result.unprotected:
            trade = trades[pair]
            placement = self.governor.lost_placement((pair, trade.id))
            order = placement and find_placed(placement, result.foreign, set(), self.governor._price_of)
            if order and self._adopt(trade, order):
                self.governor.adopted_lost((pair, trade.id), order, ReplacementPath.CANCEL_THEN_CREATE)
                found.append(order)
        return found

    def _recorded_ids(self, trades: Iterable[Any]) -> dict[str, str]:
        """The stop order id the plugin recorded last for each open trade."""
        recorded = {}
        for trade in trades:
            state = self.governor.ledger.peek(trade)
            if state is not None and state.exchange_stop_id:
                recorded[trade.pair] = state.exchange_stop_id
        return recorded

    def _adopt(self, trade: Any, order: dict) -> bool:
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
            return False
        self.governor.counters["stops_adopted"] += 1
        self.governor.events.emit(EventName.STOP_ADOPTED, trade.id, trade.pair, order_id=order.get("id"),
                                  stop=stop, reason="live stop order without freqtrade record re-attached")
        return True

    def _settle_replacement(self, trade: Any, new: dict, old: list[dict]) -> None:
        """A make-before-break the bot did not finish (``reconcile.py``): ``new`` is the stop the plugin
        placed last, ``old`` the trade's current stops, live beside it. The new one is kept when it
        protects at least as much as each old one (its stop no looser, its amount no smaller): it is
        re-attached to the trade first, then the old ones are cancelled; otherwise the new one is
        cancelled as an orphan. The position is never without a stop in between."""
        price, is_short = self.governor._price_of, bool(getattr(trade, "is_short", False))
        stop = price(new)
        keep_new = stop is not None and all(
            (old_stop := price(o)) is not None and not is_tighter(old_stop, stop, is_short)
            and covers(_amount(new), _amount(o) or 0.0) for o in old)
        if not keep_new:
            self._cancel(new, EventName.ORPHAN_CANCELLED)
            return
        if not self._adopt(trade, new):
            return  # both stay live (reduce-only): the next pass tries again
        self.governor.counters["replacements_finished_by_reconciliation"] += 1
        logger.info("smart_trailing: trade %s (%s): the replacement of its stop was interrupted; keeping the "
                    "new stop %s, cancelling %s", trade.id, trade.pair, new.get("id"),
                    ", ".join(str(o.get("id")) for o in old))
        for order in old:
            if self._cancel(order, EventName.ORPHAN_CANCELLED, replaced_by=new.get("id")):
                self._mark_cancelled(trade, order)
        self.governor._record_move(trade.pair, stop, None, ReplacementPath.MAKE_BEFORE_BREAK, new)

    def _mark_cancelled(self, trade: Any, order: dict) -> None:
        """freqtrade's record of a stop the reconciliation cancelled: closed now, not at its next read."""
        from freqtrade.persistence import Trade

        record = trade.select_order_by_order_id(str(order.get("id")))
        if record is None:
            return
        try:
            record.update_from_ccxt_object({**order, "status": "canceled"})
            Trade.commit()
        except Exception as exc:  # freqtrade reads the order's status itself at its next iteration
            Trade.session.rollback()
            logger.warning("smart_trailing: could not mark stop order %s cancelled: %s", order.get("id"), exc)

    def _cancel(self, order: dict, event: EventName, foreign: bool = False, **fields: Any) -> bool:
        """Cancel one of the listed stop orders; False (with a WARNING event) when it could not be."""
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
            return False
        governor.counters["orphans_cancelled"] += 1
        governor.events.emit(event, None, pair, order_id=order_id, foreign=foreign or None,
                             stop=governor._price_of(order), **fields)
        return True


def _amount(order: dict) -> float | None:
    try:
        return float(order["amount"]) if order.get("amount") is not None else None
    except (TypeError, ValueError):
        return None
