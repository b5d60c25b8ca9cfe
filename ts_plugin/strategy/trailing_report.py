"""The text of the ``/trailing`` Telegram command: one message per open trade, readable on a phone.

Pure: a trade (freqtrade's Trade attributes), the plugin's state of it (or None), what the running
bot knows of its exchange side (``health.trade_section``'s entry) and the moment go in; Markdown in
freqtrade's own style (``*Label:* `value```, like ``/status``) comes out. Prices are written at the
pair's precision and the profit a stop locks in is against the entry, before fees
(``events.format_price`` / ``locked_profit``), as in the plugin's event messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from ts_plugin.core.events import TradeView, format_price, locked_profit, trade_view
from ts_plugin.core.state import Phase, TrailState

NO_OPEN_TRADES = "\N{SHIELD} *Smart trailing:* no open trade."
USAGE = "Usage: `/trailing` (every open trade) or `/trailing <trade_id>`"
_PHASE_WORDS = {
    Phase.WAITING: "waiting: the hard stop is in charge",
    Phase.BREAKEVEN: "breakeven: stop at entry plus offset",
    Phase.ACTIVE: "trailing behind the peak",
    Phase.CLOSED: "closed",
}


@dataclass(frozen=True)
class TrailingRow:
    """One open trade as ``/trailing`` shows it."""

    trade: Any
    state: TrailState | None
    bot_side: Mapping[str, Any] = field(default_factory=dict)  # health.trade_section's entry
    circuit: str | None = None  # the exchange circuit's state; None without stoploss on exchange


def age_text(seconds: float) -> str:
    """``45s``, ``12m``, ``3h 05m``, ``2d 04h``: how long ago, compactly."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds // 60 % 60:02d}m"
    return f"{seconds // 86400}d {seconds // 3600 % 24:02d}h"


def _code(value: object) -> str:
    return f"`{str(value).replace('`', chr(39))}`"


def plain(text: object) -> str:
    """Text outside code spans, escaped for Telegram's Markdown (an unpaired ``_`` in a pair name or a
    skip reason would make Telegram refuse the whole message)."""
    out = str(text)
    for char in ("_", "*", "`", "["):  # legacy Markdown's escapable characters
        out = out.replace(char, "\\" + char)
    return out


def _with_lock(stop: float | None, view: TradeView) -> str:
    text = _code(format_price(stop, view))
    locked = locked_profit(stop, view)
    if locked is not None:
        word = "locks in" if locked >= 0 else "limits the loss to"
        text += f" ({word} {_code(f'{locked:+.2%}')})"
    return text


def warnings(row: TrailingRow) -> list[str]:
    """What is wrong or unusual with the trade's stop, in words (empty: nothing)."""
    state, side = row.state, row.bot_side
    found: list[str] = []
    if state is None:
        found.append("no plugin state yet: the bot follows the trade from its next iteration")
    else:
        if state.crossed_at is not None:
            found.append("stop through the price: exiting now")
        if state.rebuilds:
            found.append(f"state rebuilt from the trade x{state.rebuilds}")
    if side.get("unprotected"):
        found.append("unprotected: no live stop on the exchange")
    elif side.get("awaiting_stop"):
        found.append("exchange stop not placed yet")
    if side.get("create_failed"):
        found.append("last stop placement failed")
    if side.get("exchange_lagging"):
        found.append(f"exchange stop behind ({side.get('last_skip') or 'waiting'})")
    if row.circuit == "OPEN":
        found.append("exchange calls keep failing: stop moves on the exchange paused")
    return found


def trade_message(row: TrailingRow, now: float) -> str:
    """The message of one open trade."""
    trade, state = row.trade, row.state
    view = trade_view(trade)
    direction = "short" if view.is_short else "long"
    if view.leverage and view.leverage != 1.0:
        direction += f" {view.leverage:g}x"
    lines = [f"\N{SHIELD} *Smart trailing:* {plain(trade.pair)} (#{trade.id}) {_code(direction)}"]
    if state is not None:
        lines.append(f"*Phase:* {_code(state.phase.value)} ({_PHASE_WORDS[state.phase]})")
    lines.append(f"*Entry:* {_code(format_price(view.entry, view))}")
    if state is not None:
        best = locked_profit(state.peak, view)
        gain = f" ({_code(f'{best:+.2%}')})" if best is not None else ""
        lines.append(f"*Peak:* {_code(format_price(state.peak, view))}{gain}")
        if state.phase is Phase.WAITING:
            lines.append(f"*Activates at:* {_code(format_price(state.activation_price, view))}")
    if state is not None and state.stop is not None:
        lines.append(f"*Bot stop:* {_with_lock(state.stop, view)}")
    elif getattr(trade, "stop_loss", None):
        lines.append(f"*Bot stop:* {_with_lock(float(trade.stop_loss), view)} (hard stop)")
    exchange_stop = state.exchange_stop if state is not None else None
    if exchange_stop is not None:
        text = f"*Exchange stop:* {_code(format_price(exchange_stop, view))}"
        if state.exchange_moved_at is not None:
            moved = datetime.fromtimestamp(state.exchange_moved_at, tz=timezone.utc)
            text += f", moved {moved:%H:%M:%S} UTC ({age_text(now - state.exchange_moved_at)} ago)"
        lines.append(text)
    elif row.circuit is not None:
        lines.append("*Exchange stop:* `none`")
    found = warnings(row)
    lines.append("*Warnings:* " + ("; ".join(f"\N{WARNING SIGN} {plain(w)}" for w in found) if found else "none"))
    return "\n".join(lines)


def messages(rows: list[TrailingRow], now: float, trade_id: int | None = None) -> list[str]:
    """The messages ``/trailing`` sends: one per open trade (or the one asked for)."""
    if trade_id is not None:
        rows = [row for row in rows if row.trade.id == trade_id]
        if not rows:
            return [f"\N{SHIELD} *Smart trailing:* no open trade #{trade_id}."]
    if not rows:
        return [NO_OPEN_TRADES]
    return [trade_message(row, now) for row in rows]


def parse_trade_id(args: list[str] | None) -> int | None:
    """The trade id in ``/trailing <trade_id>``; None without one; ValueError for anything else."""
    if not args:
        return None
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        raise ValueError(USAGE)
    return int(args[0].lstrip("#"))
