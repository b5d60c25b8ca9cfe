"""The plugin's backtest summary, printed after freqtrade's report (``make demo``, ``ts-plugin demo``
and ``ts-plugin backtest``).

It explains the result in the plugin's terms: what closed each trade, by the phase the trade was in
when its exit filled (counted in ``SmartTrailingMixin._ts_on_fill``), how trailing was activated
(by price or by time), and how many losing trailing exits closed on their entry candle, which
freqtrade prices pessimistically. The trade count is freqtrade's own (its results' trade list), and
the plugin's exit counts are checked against it.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from typing import Any, Mapping

# What closed a trade, by the phase it was in when its exit filled. Stable keys (trailing_summary).
HARD_STOP = "hard_stop"
BREAKEVEN_STOP = "breakeven_stop"
TRAILING_STOP = "trailing_stop"
CROSSED_STOP = "crossed_stop"
STRATEGY_EXIT = "strategy_exit"
OTHER = "other"
EXIT_KINDS = (HARD_STOP, BREAKEVEN_STOP, TRAILING_STOP, CROSSED_STOP, STRATEGY_EXIT, OTHER)
_LABELS = {
    HARD_STOP: "hard stop (still WAITING)",
    BREAKEVEN_STOP: "breakeven stop (BREAKEVEN)",
    TRAILING_STOP: "trailing stop (ACTIVE)",
    CROSSED_STOP: "stop already through the price",
    STRATEGY_EXIT: "strategy exit (signal, ROI, custom)",
    OTHER: "other (force exit, emergency, liquidation)",
}
# freqtrade's exit reasons for a stop hitting (stop_loss: the hard stop; trailing_stop_loss: a moved
# stop; stoploss_on_exchange: the exchange's stop order filled).
_STOP_REASONS = frozenset({"stop_loss", "trailing_stop_loss", "stoploss_on_exchange"})
# Exits neither the stop nor the strategy decided.
_OTHER_REASONS = frozenset({"force_exit", "emergency_exit", "liquidation", "partial_exit", "unknown"})
_BY_PHASE = {"WAITING": HARD_STOP, "BREAKEVEN": BREAKEVEN_STOP, "ACTIVE": TRAILING_STOP}


def exit_kind(phase: str, reason: str | None, crossed_reason: str) -> str:
    """What closed a trade: its exit reason, and for a stop exit the phase it was in at the exit."""
    if reason == crossed_reason:
        return CROSSED_STOP
    if reason in _STOP_REASONS:
        return _BY_PHASE.get(phase, OTHER)
    if not reason or reason in _OTHER_REASONS:
        return OTHER
    return STRATEGY_EXIT  # exit_signal, roi and the strategy's own custom_exit tags


def is_losing_entry_candle_trailing_exit(reason: str | None, opened_at: float, now: float,
                                         profit_ratio: float | None) -> bool:
    """A losing ``trailing_stop_loss`` exit on the trade's entry candle: freqtrade's backtesting prices
    those as ``open x (1 - stop distance)`` (trade duration 0 minutes: the entry candle, or the
    first minute with ``--timeframe-detail``)."""
    return (reason == "trailing_stop_loss" and now - opened_at < 60
            and profit_ratio is not None and profit_ratio < 0)


def exits_by_reason(results: Mapping[str, Any]) -> Counter:
    """freqtrade's closed trades by exit reason (every strategy in the results)."""
    reasons: Counter = Counter()
    for strategy_result in results.get("strategy", {}).values():
        for trade in strategy_result.get("trades", []):
            reasons[trade.get("exit_reason", "?")] += 1
    return reasons


def format_summary(summary: Mapping[str, Any], exits: Mapping[str, int]) -> str:
    """The summary table. ``summary``: the strategy's ``trailing_summary()``; ``exits``: freqtrade's
    closed trades by exit reason (``exits_by_reason(results)``), whose total is freqtrade's trade count."""
    trades = sum(exits.values())
    kinds = {kind: int((summary.get("exits_by_phase") or {}).get(kind, 0)) for kind in EXIT_KINDS}
    seen = sum(kinds.values())
    activated_by = summary.get("activated_by") or {}
    rows: list[tuple[str, Any]] = [
        ("trades (as freqtrade's report)", trades),
        ("reached breakeven", summary.get("breakeven", 0)),
        ("reached activation", summary.get("activated", 0)),
        ("  by price", activated_by.get("price", 0)),
        ("  by time", activated_by.get("time", 0)),
        ("stop raises", summary.get("stop_raises", 0)),
        ("exits, by what closed the trade", None),
    ]
    rows += [(f"  {_LABELS[kind]}", kinds[kind]) for kind in EXIT_KINDS]
    if seen != trades:
        rows.append(("  exits the plugin did not see (should be 0)", trades - seen))
    rows += [
        ("states rebuilt (should be 0)", summary.get("rebuilt", 0)),
        ("plugin errors (should be 0)", summary.get("tick_errors", 0)),
    ]
    rows.append(("freqtrade exit reasons", None))
    rows += [(f"  {reason}", count) for reason, count in Counter(exits).most_common()]
    width = max(len(label) for label, _ in rows)
    lines = ["", "SMART TRAILING SUMMARY", "=" * (width + 12)]
    lines += [f"{label:<{width}}  {value:>9}" if value is not None else label for label, value in rows]
    early = int(summary.get("losing_trailing_exits_on_entry_candle", 0))
    trailing_exits = exits.get("trailing_stop_loss", 0)
    if early:
        detail = summary.get("timeframe_detail")
        advice = (f"this run used --timeframe-detail {detail}: only exits in the trade's first minute "
                  "are priced that way" if detail else
                  "use --timeframe-detail 1m (with 1m candles) for realistic intra-candle prices")
        lines += [""] + textwrap.wrap(
            f"{early} of {trailing_exits} trailing exits lost money on their entry candle: freqtrade prices "
            f"a trailing exit on the entry candle pessimistically (open x (1 - stop distance)); {advice}.",
            width=100)
    return "\n".join(lines)
