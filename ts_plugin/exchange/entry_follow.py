"""The stop on the exchange follows an entry adjustment's new amount at once, new stop first.

freqtrade (2026.9) re-places the stop after a DCA entry by cancel-then-create: it cancels the trade's
stop when it books the entry fill (in ``execute_entry`` for an order filled at once, before
``order_filled``; in ``_update_trade_after_fill`` right after ``order_filled`` for one that filled
later) and creates one for the new amount in ``handle_stoploss_on_exchange``, for an order filled at
once only at the next iteration. The whole position is naked in between, and a stop that fires before
freqtrade books the fill closes only the old amount.

Where stops lock nothing (Binance USD-M, Bybit: reduce-only conditional orders, the replacement paths
make-before-break and amend) the governor instead places the stop for the new amount first, at the
bot's stop and never looser than the stop it replaces, then cancels the old one; freqtrade's cancels
around that fill keep the new stop. Where stops lock the coins (spot), freqtrade's own replacement stays.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ts_plugin.core.machine import is_tighter
from ts_plugin.exchange.cancel_outcome import covers
from ts_plugin.exchange.capabilities import ReplacementPath
from ts_plugin.exchange.listing import OPEN_STATUSES

if TYPE_CHECKING:
    from ts_plugin.exchange.governor import StopGovernor

logger = logging.getLogger("ts_plugin")


def short_of(record: Any, amount: float) -> bool:
    """Whether an open stop record covers less than ``amount`` (the trade grew since it was placed)."""
    held = getattr(record, "safe_amount", None)
    return bool(held) and not covers(float(held), float(amount))


class EntryFollower:
    """The governor's part for entry adjustments; state per (pair, order id), dropped once used."""

    def __init__(self, governor: StopGovernor) -> None:
        self.governor = governor
        self.keep: set[tuple[str, str]] = set()  # stops placed for a new amount: freqtrade's next cancel keeps
        self._answers: dict[tuple[str, str], dict | None] = {}  # the old stops' cancel answers
        self._following = False

    def _can_follow(self) -> bool:
        governor = self.governor
        return (not governor.dry_run and governor.path is not ReplacementPath.CANCEL_THEN_CREATE
                and governor.reconciled)

    def follow(self, trade: Any) -> str | None:
        """Place the stop for ``trade.amount`` before cancelling the one that covers less. Returns the
        replaced stop's order id, None when nothing was replaced. Never raises: on a failure the old
        stop stays and freqtrade replaces it as before (cancel, then create)."""
        if not self._can_follow() or trade is None or not getattr(trade, "is_open", True):
            return None
        self._following = True
        try:
            return self._follow(trade)
        except Exception as exc:
            self.governor.counters["entry_follow_failures"] += 1
            logger.warning("smart_trailing: placing the stop of %s for the adjusted amount failed; freqtrade "
                           "re-places it (cancel, then create): %s", trade.pair, exc)
            return None
        finally:
            self._following = False

    def _follow(self, trade: Any) -> str | None:
        from freqtrade.exchange.exchange_utils import ROUND_DOWN, ROUND_UP

        governor, exchange = self.governor, self.governor.exchange
        held = [o for o in trade.open_sl_orders if o.order_id]
        amount = float(trade.amount)
        if not held or not short_of(held[-1], amount):
            return None  # no stop yet (freqtrade places the first one) or it covers the amount
        old = held[-1]
        is_short = bool(trade.is_short)
        stop = float(exchange.price_to_precision(
            trade.pair, trade.stoploss_or_liquidation, rounding_mode=ROUND_DOWN if is_short else ROUND_UP))
        if old.stop_price and is_tighter(float(old.stop_price), stop, is_short):
            stop = float(old.stop_price)  # never less protection than the stop it replaces
        before = {o.order_id for o in trade.orders}
        governor._make_before_break(trade, old.to_ccxt_object(exchange.get_option("stop_price_prop", "stopPrice")),
                                    stop, trade.exit_side)
        created = [o.order_id for o in trade.orders if o.order_id not in before and o.ft_is_open]
        if not created:
            return None  # refused (the trade exits when it would trigger at once): the old stop stays
        self.keep.update((trade.pair, str(order_id)) for order_id in created)
        governor.counters["stops_followed_entry"] += 1
        logger.info("smart_trailing: stop of %s placed for the adjusted amount %s before the old one (%s) was "
                    "cancelled", trade.pair, f"{amount:.10g}", f"{float(old.safe_amount):.10g}")
        return str(old.order_id)

    def before_cancel(self, trade: Any, order_id: str, pair: str) -> dict | None:
        """A cancel asked by freqtrade: the answer to give it instead of cancelling, or None.

        - the stop just placed for the new amount: kept, answered with the live order;
        - a stop that covers less than the trade (freqtrade's cancel when it books a DCA fill): the
          stop for the new amount is placed first, then this one is cancelled, and its answer given;
          when the exchange refuses the new stop because it would trigger at once, the old stop is
          kept (it still covers part of the position) while the strategy exits the trade."""
        key = (pair, str(order_id))
        if key in self.keep:
            self.keep.discard(key)
            return self._kept(trade, order_id, pair)
        if self._following or trade is None or not hasattr(trade, "open_sl_orders"):
            return None  # a trade without freqtrade's order records (nothing to compare)
        record = trade.select_order_by_order_id(order_id)
        if record is None or record.ft_order_side != "stoploss" or not short_of(record, trade.amount):
            return None
        if self.follow(trade) != str(order_id):
            if trade.is_open and (pair, getattr(trade, "id", None)) in self.governor.through_price:
                return self._live(order_id, pair, "old_stops_kept_while_exiting")
            return None
        return self._answers.pop(key, None) or {**record.to_ccxt_object(), "status": record.status}

    def cancelled(self, pair: str, order_id: str, answer: dict | None) -> None:
        if self._following:
            self._answers[(pair, str(order_id))] = answer

    def settled(self, pair: str, order_id: Any) -> None:
        """freqtrade asks about the trade's stop again: its cancels after the entry fill are behind us."""
        self.keep.discard((pair, str(order_id)))
        self._answers = {k: v for k, v in self._answers.items() if k[0] != pair}

    def _kept(self, trade: Any, order_id: str, pair: str) -> dict | None:
        """The live order, when it still covers the trade; None (cancel as asked) otherwise."""
        record = trade.select_order_by_order_id(order_id) if trade is not None else None
        if record is None or short_of(record, trade.amount):
            return None
        return self._live(order_id, pair, "stops_kept_after_entry")

    def _live(self, order_id: str, pair: str, counter: str) -> dict | None:
        """The order as the exchange has it, when it is still live; None otherwise (cancel as asked)."""
        fetch = self.governor._original.get("fetch_stoploss_order", self.governor.exchange.fetch_stoploss_order)
        try:
            current = fetch(order_id, pair)
        except Exception:
            return None
        if not current or current.get("status") not in OPEN_STATUSES:
            return None
        self.governor.counters[counter] += 1
        return current
