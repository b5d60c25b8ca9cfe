"""What the governor remembers between freqtrade's calls, per trade, and its alarm episodes.

freqtrade holds at most one open trade per pair, but a pair sees many trades: anything remembered
under the pair alone outlives its trade and is charged to the next one (a cancel time turned into a
window of the next trade, a "still live" block refusing the next trade's stops, an alarm episode used
up by the previous trade). So memory is keyed by the trade, ``(pair, trade id)``, and dropped when
the trade is no longer open; a guard about an order is keyed by that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ts_plugin.exchange.placement import Placement

TradeKey = tuple[str, Any]  # (pair, trade id); the id is None only where no trade is known

# Alarm kinds, one episode each per trade.
UNPROTECTED = "unprotected"
NOT_RECONCILED = "not_reconciled"
BEHIND = "behind"


@dataclass
class TradeWatch:
    last_candidate: float | None = None  # the bot's stop at the previous question (hold rule)
    cancelled_at: float | None = None  # monotonic time its stop was confirmed cancelled
    create_failed: bool = False  # freqtrade's last attempt to place its stop failed
    lost: Placement | None = None  # a placement whose answer was lost and that is not found yet
    behind_since: float | None = None  # wall time the exchange stop fell an emergency gap behind
    unreconciled_since: float | None = None  # wall time of the first move skipped as not_reconciled
    last_skip: str | None = None  # why the last wanted move did not go out


@dataclass
class Watches:
    """Per-trade memory, per-order guards and alarm episodes, all forgotten with their trade."""

    trades: dict[TradeKey, TradeWatch] = field(default_factory=dict)
    blockers: dict[tuple[str, str], Any] = field(default_factory=dict)  # (pair, order id) -> trade id
    _raised: set[tuple[TradeKey, str]] = field(default_factory=set)

    def of(self, key: TradeKey) -> TradeWatch:
        watch = self.trades.get(key)
        if watch is None:
            watch = self.trades[key] = TradeWatch()
        return watch

    def peek(self, key: TradeKey) -> TradeWatch | None:
        return self.trades.get(key)

    def raise_once(self, key: TradeKey, kind: str, emit: Callable[[], None]) -> bool:
        """Call ``emit`` unless this trade's episode of ``kind`` was already raised."""
        if (key, kind) in self._raised:
            return False
        self._raised.add((key, kind))
        emit()
        return True

    def raised_for(self, kind: str) -> set[Any]:
        """The trade ids whose episode of ``kind`` is raised and not settled yet."""
        return {trade_id for (_, trade_id), raised in self._raised if raised == kind}

    def settle(self, key: TradeKey, kind: str) -> None:
        """The episode is over: the next one alarms again."""
        self._raised.discard((key, kind))

    def forget_all_but(self, open_keys: set[TradeKey]) -> None:
        """Drop what belongs to trades that are no longer open."""
        open_ids = {trade_id for _, trade_id in open_keys}
        self.trades = {k: w for k, w in self.trades.items() if k in open_keys}
        self.blockers = {k: t for k, t in self.blockers.items() if t in open_ids}
        self._raised = {(k, kind) for k, kind in self._raised if k in open_keys}
