"""The soak's end checks that compare the exchange with freqtrade and the operator's inbox.

Pure functions over what the soak collected (``soak_venues`` records and positions, freqtrade's
trades over REST, the bots' logs, the webhook receiver's messages), each returning findings, one
line per thing wrong; ``tests/test_soak_checks.py`` tests them without a bot.

- ``position_findings``: a coin or contract held on the exchange that no open trade accounts for (a
  naked position), or an open trade the exchange holds nothing for;
- ``stop_cover_findings``: a live regular stop that would close less than the position it guards;
- ``backstop_findings``: a native backstop without an open trade (an orphan), more than one per
  trade, one that would close a different amount than the position holds, or one left live while
  the feature is off;
- ``fill_findings``: per trade, what its positions on the exchange bought and sold against the filled
  entries and exits freqtrade booked for it (a filled stop booked as cancelled, a partial fill
  booked as the whole exit);
- ``crossed_findings``: an open trade whose stored stop is through the price (the strategy exits it
  at once), unless the exit cannot go through: on spot, its live stop is a -2011 target whose cancel
  the exchange still refuses, so the coins stay locked in that stop (which still guards them);
- ``wallet_findings``: the futures wallet against the realised profit of its fills;
- ``alarm_delivery``: every alarm the plugin raised against the messages the webhook received.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable

from tests.e2e.soak_venues import symbol

# Alarms: the events that mean protection is or was at risk, or that the plugin acted on the
# exchange by itself; each must reach the operator.
ALARMS = ("WARNING", "UNPROTECTED_WINDOW", "CIRCUIT_OPEN", "ORPHAN_CANCELLED")
_EVENT_LINE = re.compile(r" - ts_plugin - \w+ - smart_trailing event=(\w+) trade_id=(\w+) ")
_SENT_LINE = "Sending rpc strategy_msg:"
_MESSAGE_HEAD = re.compile(r"Smart trailing:\*\s*(.*?)(?:\s+\(#(\d+)\))?\s*$")


def _close(a: float, b: float, step: float) -> bool:
    return abs(a - b) <= max(step, 1e-9 * max(abs(a), abs(b)))


def position_findings(held: dict[str, float], open_trades: list[dict], step: float = 1e-6) -> list[str]:
    """Exchange holdings per symbol (signed) against freqtrade's open trades on that symbol."""
    booked: dict[str, float] = {}
    for trade in open_trades:
        sign = -1 if trade.get("is_short") else 1
        booked[symbol(trade["pair"])] = booked.get(symbol(trade["pair"]), 0.0) + sign * float(trade["amount"])
    found = []
    for name in sorted(set(held) | set(booked)):
        exchange, trades = held.get(name, 0.0), booked.get(name, 0.0)
        if not _close(exchange, trades, step):
            kind = ("naked position (no open trade)" if not trades else
                    "open trade without a position" if not exchange else "position and open trades differ")
            found.append(f"{name}: {kind}: exchange holds {exchange:g}, open trades {trades:g}")
    return found


def stop_cover_findings(live_stops: list[dict], held: dict[str, float], step: float = 1e-6) -> list[str]:
    """A live regular stop that would close less than the position it guards (futures; the rest is
    naked). One that closes more is reduce-only and stops at flat: a figure, not a finding."""
    return [f"{o['symbol']}: stop order {o['orderId']} closes {o['qty']:g}, the position is "
            f"{abs(held.get(o['symbol'], 0.0)):g}"
            for o in live_stops if o["symbol"] in held and o["qty"] < abs(held[o["symbol"]]) - max(step, 1e-9 * o["qty"])]


def backstop_findings(backstops: list[dict], held: dict[str, float], open_trades: list[dict], feature_on: bool,
                      step: float = 1e-6) -> list[str]:
    found = []
    traded = {symbol(t["pair"]) for t in open_trades}
    per_symbol = Counter(b["symbol"] for b in backstops)
    for backstop in backstops:
        name = backstop["symbol"]
        if name not in traded:
            found.append(f"{name}: native backstop {backstop['id']} live without an open trade (orphan)")
        elif not feature_on:
            found.append(f"{name}: native backstop {backstop['id']} live with native_backstop off")
        if not _close(backstop["qty"], abs(held.get(name, 0.0)), step):
            found.append(f"{name}: native backstop {backstop['id']} closes {backstop['qty']:g}, the position "
                         f"is {abs(held.get(name, 0.0)):g}")
    found += [f"{name}: {count} native backstops live" for name, count in per_symbol.items() if count > 1]
    return found


def _filled(orders: Iterable[dict], sides: tuple[str, ...]) -> float:
    return sum(float(o.get("filled") or 0) for o in orders if o.get("ft_order_side") in sides)


def fill_findings(positions: list[Any], trade_of_entry: dict[str, dict], step: float = 1e-6) -> list[str]:
    """Per freqtrade trade, what the exchange bought and sold for it (the ``soak.Position``s whose
    entry order is one of the trade's, with ``bought``/``sold``) against the entries and exits it booked.

    One trade can hold two positions in a row: a DCA sent the instant its stop filled (the stop read
    live just before) reopens the position the stop closed; freqtrade books the stop's fill as a
    partial exit and the trade goes on with the added amount. The trade's fills are summed over its
    positions; it is closed when its last position is."""
    found = []
    per_trade: dict[Any, tuple[dict, list[Any]]] = {}
    for position in positions:
        trade = trade_of_entry.get(str(position.entry_id))
        if trade is None:
            found.append(f"{position.symbol} position from order {position.entry_id}: no freqtrade trade")
            continue
        per_trade.setdefault(trade["trade_id"], (trade, []))[1].append(position)
    for trade, held in per_trade.values():
        short = bool(trade.get("is_short"))
        bought, sold = sum(p.bought for p in held), sum(p.sold for p in held)
        entries = _filled(trade.get("orders", []), ("sell",) if short else ("buy",))
        exits = _filled(trade.get("orders", []), ("buy", "stoploss") if short else ("sell", "stoploss"))
        label = f"trade {trade['trade_id']} {trade['pair']}"
        if not _close(entries, bought, step):
            found.append(f"{label}: freqtrade booked entries of {entries:g}, the exchange filled {bought:g}")
        if not _close(exits, sold, step):
            found.append(f"{label}: freqtrade booked exits of {exits:g}, the exchange filled {sold:g}")
        last = max(held, key=lambda p: p.opened_ms)
        if (last.closed_ms is not None) == bool(trade.get("is_open")):
            found.append(f"{label}: trade {'open' if trade.get('is_open') else 'closed'}, position on the "
                         f"exchange {'closed' if last.closed_ms is not None else 'open'}")
    return found


def crossed_findings(open_trades: list[dict], stop_of: dict[int, float | None], price_of: dict[str, float],
                     live: list[dict], refused_ids: set[str], stops_lock_coins: bool) -> list[str]:
    """Open trades whose stored stop is through the price at the end: their exit was due.

    ``refused_ids``: stop orders whose cancels the soak's -2011 fault still refuses. Where a stop
    locks the coins (spot), a trade whose live stop is one of them cannot exit (freqtrade cancels the
    stop first, and the exchange will not); the stop still guards the coins and fills when the price
    reaches it: not a finding."""
    found = []
    for trade in open_trades:
        stop, price = stop_of.get(trade["trade_id"]), price_of[trade["pair"]]
        if stop is None or not (stop <= price if trade.get("is_short") else stop >= price):
            continue
        held = {str(o["orderId"]) for o in live if o["symbol"] == symbol(trade["pair"])}
        if stops_lock_coins and held & refused_ids:
            continue
        found.append(f"trade {trade['trade_id']} {trade['pair']}: open at {price:g} with its stop {stop:g} "
                     "through the price")
    return found


def wallet_findings(wallet: dict | None) -> list[str]:
    if wallet is None:
        return []
    if abs(wallet["now"] - wallet["from_fills"]) > 1e-6 * max(1.0, abs(wallet["initial"])):
        return [f"wallet {wallet['now']:.8f} {wallet['asset']}, initial + realised profit of the fills "
                f"{wallet['from_fills']:.8f}"]
    return []


def _message_event(text: str) -> tuple[str, str] | None:
    """(event name, trade id or '-') of one of the plugin's messages, None for anything else."""
    from ts_plugin.core.events import _HEADLINES

    match = _MESSAGE_HEAD.search(text.splitlines()[0] if text else "")
    if match is None:
        return None
    head = match.group(1)
    if head.startswith(("Closed by the", "Stop already at or through")):
        name = "TRIGGERED"
    else:
        name = next((key for key, words in sorted(_HEADLINES.items(), key=lambda kv: -len(kv[1]))
                     if head.startswith(words)), "OTHER")
    return name, match.group(2) or "-"


def alarm_delivery(logs: list[tuple[str, bool]], received: list[str]) -> dict:
    """Alarms each bot logged (``logs``: its log text and whether it was killed) against the
    messages received. A killed bot's alarms raised after its last hand-over to freqtrade's RPC
    (``Sending rpc strategy_msg``) died with it: counted apart, not as undelivered."""
    raised: Counter = Counter()
    lost: Counter = Counter()
    for text, killed in logs:
        lines = text.splitlines()
        last_sent = max((i for i, line in enumerate(lines) if _SENT_LINE in line), default=-1)
        for number, line in enumerate(lines):
            match = _EVENT_LINE.search(line)
            if match and match.group(1) in ALARMS:
                key = (match.group(1), match.group(2) if match.group(2) != "None" else "-")
                (lost if killed and number > last_sent else raised)[key] += 1
    got = Counter(event for event in map(_message_event, received) if event is not None)
    missing = {f"{name} trade {trade}": count - got[(name, trade)]
               for (name, trade), count in raised.items() if got[(name, trade)] < count}
    return {"raised": sum(raised.values()), "lost_with_the_kill": sum(lost.values()),
            "received_plugin_messages": sum(got.values()),
            "received_by_event": dict(Counter(name for name, _ in got.elements())),
            "undelivered": missing}
