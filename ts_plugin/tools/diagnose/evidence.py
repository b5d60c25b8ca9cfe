"""The evidence printed for each trade and for the plugin's health: what the bot reported, for people.

One short block per trade: side, age, price against the entry, the trailing phase with its levels,
the stop the plugin holds and freqtrade's, and (with stoploss on exchange) the exchange stop, its
order and how far it trails the bot's stop.
"""

from __future__ import annotations

from typing import Any, Mapping

from ts_plugin.core.machine import profit_ratio
from ts_plugin.exchange.policy import improvement
from ts_plugin.tools.diagnose import formatting as fmt
from ts_plugin.tools.diagnose.checks import live_stop_orders, read_state


def _trade_time(trade: Mapping[str, Any]) -> float | None:
    stamp = trade.get("open_fill_timestamp") or trade.get("open_timestamp")
    return stamp / 1000 if stamp else None


def trade_lines(trade: Mapping[str, Any], stored: Any, stop_on_exchange: bool, now: float) -> list[str]:
    is_short = bool(trade.get("is_short"))
    side = "short" if is_short else "long"
    leverage = trade.get("leverage") or 1.0
    coin = trade.get("base_currency") or str(trade.get("pair", "")).split("/")[0]
    head = (f"{side}{f' {leverage:g}x' if leverage != 1 else ''}, opened "
            f"{fmt.when(_trade_time(trade), now)}, amount {fmt.amount(float(trade.get('amount') or 0), coin)}")
    lines = [head]

    def p(value: float | None) -> str:
        return fmt.price(value, trade)

    entry, current = trade.get("open_rate"), trade.get("current_rate")
    best = trade.get("min_rate" if is_short else "max_rate")
    if entry and current:
        lines.append(f"price {p(current)} ({fmt.pct(profit_ratio(entry, current, is_short))} vs entry "
                     f"{p(entry)}), best seen {p(best)}")
    state, unreadable = read_state(stored)
    if state is None:
        lines.append("trailing: " + (f"stored state unreadable ({unreadable})" if unreadable else "no state stored"))
    else:
        since = state.activated_at if state.activated_at is not None else state.breakeven_at
        phase = state.phase.value + (f" since {fmt.when(since, now)}" if since is not None else "")
        distance = f", distance {state.distance:.2%}" if state.distance is not None else ""
        lines.append(f"trailing {phase}: activation {p(state.activation_price)}, peak {p(state.peak)}"
                     f"{distance}")
        locks = (f", locks in {fmt.pct(profit_ratio(state.entry, state.stop, is_short))} vs entry"
                 if state.stop is not None else "")
        lines.append(f"stop {p(state.stop)} (freqtrade's {p(trade.get('stop_loss_abs'))}{locks}), "
                     f"{state.stop_raises} raise(s), {state.rebuilds} rebuild(s)")
        if state.crossed_at is not None:
            lines.append(f"stop through the price since {fmt.when(state.crossed_at, now)}: exit due")
    if stop_on_exchange:
        lines.append(_exchange_line(trade, state, now, p))
    return lines


def _exchange_line(trade, state, now: float, p) -> str:
    live = live_stop_orders(trade)
    orders = ", ".join(f"order {o['order_id']} {o['status']}" for o in live)
    if state is None or state.exchange_stop is None:
        return f"exchange: {orders or 'no live stop order'}"
    moved = (f", moved {state.exchange_moves} time(s), last {fmt.when(state.exchange_moved_at, now)}"
             if state.exchange_moved_at is not None else "")
    if not live:
        return (f"exchange: no live stop order (the plugin's record: {p(state.exchange_stop)}, order "
                f"{state.exchange_stop_id}{moved})")
    bot_stop = trade.get("stop_loss_abs")
    gap = (f", {improvement(state.exchange_stop, float(bot_stop), state.is_short):.2%} behind the bot's stop"
           if bot_stop else "")
    return f"exchange stop {p(state.exchange_stop)}{gap}: {orders}{moved}"


def health_line(health: Mapping[str, Any] | None, logged_at: float | None, now: float) -> str:
    if health is None:
        return "no smart_trailing health line in the bot's log buffer yet"
    at = fmt.iso_epoch(health.get("at")) or logged_at
    parts = [f"rebuilt states {health.get('rebuilt_states', 0)}", f"tick errors {health.get('tick_errors', 0)}"]
    exchange = health.get("exchange")
    if exchange:
        parts.insert(0, f"circuit {exchange.get('circuit')}")
        reconciliation = health.get("last_reconciliation") or {}
        unprotected = reconciliation.get("unprotected_trades") or []
        parts.append("unprotected trades " + (", ".join(f"#{t}" for t in unprotected) or "none"))
        windows = exchange.get("unprotected_windows_ms") or {}
        if windows.get("count"):
            parts.append(f"unprotected windows {windows['count']} (max {windows.get('max_of_last')} ms)")
    return f"health line of {fmt.when(at, now)}: " + ", ".join(parts)
