"""An exchange stop that lags beyond the policy's limits is an alarm, not a DEBUG line.

The policy lets an exchange stop trail the bot's stop on purpose (interval, minimum improvement,
hold while tightening), but never by an emergency-sized gap for longer than one update interval,
and no move waits for a reconciliation longer than its interval. Past those limits (plus slack for a
slow iteration or a retry budget) something is stuck (the circuit, failing requests, a strategy whose
``bot_loop_start`` never reaches the plugin): one WARNING per trade and episode says so.
"""

from __future__ import annotations

from typing import Callable

from ts_plugin.core.config import ExchangeConfig
from ts_plugin.exchange.policy import improvement
from ts_plugin.exchange.watch import BEHIND, NOT_RECONCILED, TradeKey, TradeWatch, Watches

ALARM_SLACK_S = 30.0


class LagAlarms:
    def __init__(self, settings: ExchangeConfig, watches: Watches,
                 alarm: Callable[..., None]) -> None:
        self.settings = settings
        self.watches = watches
        self.alarm = alarm  # alarm(key, kind, reason, **fields): once per episode

    def gap(self, key: TradeKey, watch: TradeWatch, exchange_stop: float | None, bot_stop: float,
            is_short: bool, now: float) -> None:
        """Seen at every question: an emergency gap goes out at once, one that lasts is stuck."""
        gap = improvement(exchange_stop, bot_stop, is_short) if exchange_stop else 0.0
        if gap < self.settings.emergency_improvement:
            watch.behind_since = None
            self.watches.settle(key, BEHIND)
            return
        if watch.behind_since is None:
            watch.behind_since = now
        lasted = now - watch.behind_since
        if lasted > self.settings.min_update_interval_s + ALARM_SLACK_S:
            self.alarm(key, BEHIND, "exchange stop stays behind the bot's stop beyond the policy's limits",
                       exchange_stop=exchange_stop, bot_stop=bot_stop, gap=round(gap, 6),
                       for_s=round(lasted, 1), last_skip=watch.last_skip)

    def unreconciled(self, key: TradeKey, watch: TradeWatch, now: float) -> None:
        """A move was wanted but no reconciliation has run yet."""
        if watch.unreconciled_since is None:
            watch.unreconciled_since = now
        lasted = now - watch.unreconciled_since
        if lasted > self.settings.orphan_check_interval_s + ALARM_SLACK_S:
            self.alarm(key, NOT_RECONCILED,
                       "exchange stop not moved: no reconciliation has run (does the strategy's "
                       "bot_loop_start call super()?)", for_s=round(lasted, 1))

    def reconciled(self, key: TradeKey, watch: TradeWatch) -> None:
        watch.unreconciled_since = None
        self.watches.settle(key, NOT_RECONCILED)

