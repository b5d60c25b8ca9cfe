"""Events: every transition gets a stable name, one structured log line, a counter and, when it
matters to a person, a message.

The log keeps one ``key=value`` line per event (``smart_trailing event=ACTIVATED trade_id=12 ...``)
for grep and dashboards. In dry-run and live, chosen events also reach Telegram / webhooks through
``dp.send_msg``, written for people the way freqtrade writes its own messages: what happened, the
pair and trade id, the direction, prices at the pair's precision and the profit the stop locks in.
In backtesting and hyperopt events are only counted (and logged at debug level) so reports stay
readable.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Callable, Mapping

logger = logging.getLogger("ts_plugin")


class EventName(str, Enum):
    """Stable event names; dashboards and log filters may rely on them."""

    CREATED = "CREATED"
    BREAKEVEN = "BREAKEVEN"
    ACTIVATED = "ACTIVATED"
    STOP_RAISED = "STOP_RAISED"
    TRIGGERED = "TRIGGERED"
    REMOVED = "REMOVED"
    WARNING = "WARNING"
    EXCHANGE_STOP_MOVED = "EXCHANGE_STOP_MOVED"
    UNPROTECTED_WINDOW = "UNPROTECTED_WINDOW"
    ORPHAN_CANCELLED = "ORPHAN_CANCELLED"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    STOP_ADOPTED = "STOP_ADOPTED"


# Events a person wants on their phone; STOP_RAISED would be far too chatty.
NOTIFIED = frozenset({EventName.BREAKEVEN, EventName.ACTIVATED, EventName.TRIGGERED,
                      EventName.WARNING, EventName.UNPROTECTED_WINDOW,
                      EventName.ORPHAN_CANCELLED, EventName.CIRCUIT_OPEN, EventName.STOP_ADOPTED})
_NOTIFIED_NAMES = frozenset(e.value for e in NOTIFIED)
# Events that mean protection is (or was) at risk: always logged at WARNING.
_ALARM_NAMES = frozenset({"WARNING", "UNPROTECTED_WINDOW", "CIRCUIT_OPEN"})
# The detail of a TRIGGERED event raised on a tick (machine.py): the stop is through the price.
CROSSED_DETAIL = "stop already at or through the price: exit now"
# ccxt's precision modes (freqtrade.exchange.exchange_utils); the numbers are ccxt's constants.
_DECIMAL_PLACES, _SIGNIFICANT_DIGITS, _TICK_SIZE = 2, 3, 4


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


# ----- what a message knows about the trade -------------------------------------------------------


@dataclass(frozen=True)
class TradeView:
    """What a message says about a trade: direction, entry, leverage and how to write its prices.

    ``stop`` is the stop in force once the event's tick is done (an ACTIVATED event carries the stop
    from before the tick; the trailing level it starts comes with it)."""

    is_short: bool | None = None
    entry: float | None = None
    leverage: float = 1.0
    price_precision: float | None = None
    precision_mode: int | None = None
    quote: str | None = None
    stop: float | None = None


def trade_view(trade: Any, stop: float | None = None) -> TradeView:
    """The view of a freqtrade trade (any object with freqtrade's Trade attributes)."""
    entry = getattr(trade, "open_rate", None)
    return TradeView(
        is_short=bool(getattr(trade, "is_short", False)),
        entry=float(entry) if entry else None,
        leverage=float(getattr(trade, "leverage", None) or 1.0),
        price_precision=getattr(trade, "price_precision", None),
        precision_mode=getattr(trade, "precision_mode_price", None),
        quote=getattr(trade, "stake_currency", None),
        stop=stop,
    )


def price_decimals(value: float, precision: float | None, mode: int | None) -> int | None:
    """Decimals a price of this pair is written with (ccxt's three precision modes), or None."""
    if precision is None or mode is None:
        return None
    try:
        if mode == _TICK_SIZE:
            exponent = Decimal(repr(float(precision))).normalize().as_tuple().exponent
            return max(0, -int(exponent))
        if mode == _DECIMAL_PLACES:
            return max(0, int(precision))
        if mode == _SIGNIFICANT_DIGITS and value:
            return max(0, int(precision) - 1 - math.floor(math.log10(abs(value))))
    except (ValueError, TypeError, OverflowError):
        return None
    return None


def format_price(value: float | None, view: TradeView | None) -> str:
    """A price as the pair is quoted (``51242.50``); without a known precision, 10 significant digits."""
    if value is None:
        return "none"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return str(value)
    decimals = price_decimals(value, view.price_precision, view.precision_mode) if view else None
    text = f"{value:.{decimals}f}" if decimals is not None else f"{value:.10g}"
    return f"{text} {view.quote}" if view is not None and view.quote else text


def locked_profit(stop: float | None, view: TradeView | None) -> float | None:
    """The profit (ratio of price, before fees) the stop locks in against the entry, for the stop as
    the message writes it (at the pair's precision)."""
    if stop is None or view is None or not view.entry or view.is_short is None:
        return None
    decimals = price_decimals(stop, view.price_precision, view.precision_mode)
    if decimals is not None:
        stop = round(stop, decimals)
    return (1 - stop / view.entry) if view.is_short else (stop / view.entry - 1)


def _pct(ratio: float) -> str:
    return f"{ratio:+.2%}"


def _code(value: object) -> str:
    """A value in Telegram's Markdown code span (freqtrade's style; no Markdown can break out)."""
    return f"`{str(value).replace('`', chr(39))}`"


# ----- messages -----------------------------------------------------------------------------------

_HEADLINES = {
    "BREAKEVEN": "Breakeven stop set",
    "ACTIVATED": "Trailing stop activated",
    "STOP_RAISED": "Stop raised",
    "REMOVED": "Trade closed",
    "WARNING": "Warning",
    "EXCHANGE_STOP_MOVED": "Stop order on the exchange moved",
    "UNPROTECTED_WINDOW": "No stop order on the exchange while it was replaced",
    "ORPHAN_CANCELLED": "Orphaned stop order cancelled",
    "CIRCUIT_OPEN": "Exchange calls keep failing: stop moves on the exchange paused",
    "STOP_ADOPTED": "Stop order on the exchange re-attached to its trade",
    "CREATED": "Trade followed",
}
# Phase at exit -> what closed the trade (TRIGGERED at a stop exit).
_STOP_KIND = {"WAITING": "hard stop", "BREAKEVEN": "breakeven stop", "ACTIVE": "trailing stop"}


def _headline(key: str, fields: Mapping[str, Any]) -> str:
    if key == "TRIGGERED":
        if fields.get("detail") == CROSSED_DETAIL:
            return "Stop already at or through the price: exiting now"
        kind = _STOP_KIND.get(str(fields.get("phase")), "stop")
        return f"Closed by the {kind}"
    if key == "ACTIVATED" and fields.get("detail"):
        return f"Trailing stop activated {fields['detail']}"  # "by price" / "by time"
    return _HEADLINES.get(key, key.replace("_", " ").capitalize())


def format_message(key: str, trade_id: int | None, pair: str, fields: Mapping[str, Any],
                   view: TradeView | None = None) -> str:
    """The Telegram / webhook text of one event (Markdown like freqtrade's own messages)."""
    subject = f" {pair}" if pair and pair != "-" else ""
    number = f" (#{trade_id})" if trade_id is not None else ""
    lines = [f"\N{SHIELD} *Smart trailing:* {_headline(key, fields)}{subject}{number}"]
    if view is not None and view.is_short is not None:
        leverage = f" ({view.leverage:.3g}x)" if view.leverage and view.leverage != 1.0 else ""
        lines.append(f"*Direction:* {_code(('short' if view.is_short else 'long') + leverage)}")
    entry = view.entry if view is not None and view.entry else fields.get("entry")
    if entry:
        lines.append(f"*Entry:* {_code(format_price(entry, view))}")
    price = fields.get("price")
    if price is not None:
        label = "Exit price" if key in ("TRIGGERED", "REMOVED") and fields.get("reason") else "Price"
        lines.append(f"*{label}:* {_code(format_price(price, view))}")
        if entry and view is not None and view.is_short is not None:
            lines.append(f"*Price vs entry:* {_code(_pct(locked_profit(price, view)))}")
    stop = view.stop if view is not None and view.stop is not None else fields.get("stop")
    if stop is not None and key not in ("ORPHAN_CANCELLED",):
        locked = locked_profit(stop, view)
        text = f"*Stop:* {_code(format_price(stop, view))}"
        if locked is not None:
            word = "locks in" if locked >= 0 else "limits the loss to"
            text += f" ({word} {_code(_pct(locked))} vs entry, before fees)"
        lines.append(text)
    elif key == "ORPHAN_CANCELLED" and stop is not None:
        lines.append(f"*Stop price:* {_code(format_price(stop, view))}")
    if fields.get("reason"):
        label = "Exit reason" if key in ("TRIGGERED", "REMOVED") else "Reason"
        lines.append(f"*{label}:* {_code(fields['reason'])}")
    for name, value in fields.items():
        if name in ("price", "stop", "entry", "reason", "detail", "phase") or value is None:
            continue
        shown = format_price(value, view) if name in ("peak", "exchange_stop", "bot_stop") else _fmt(value)
        lines.append(f"*{name.replace('_', ' ').capitalize()}:* {_code(shown)}")
    return "\n".join(lines)


# ----- the log ------------------------------------------------------------------------------------


class EventLog:
    """Counts, logs and (optionally) sends events. One instance per strategy object.

    ``send`` delivers a message (``dp.send_msg`` in dry-run/live); ``lookup`` finds the trade view of
    an event that comes with a trade id only (the exchange governor's events)."""

    def __init__(self, verbose: bool, send: Callable[[str], None] | None = None) -> None:
        self.counts: Counter[str] = Counter()
        # ACTIVATED by what: "price" / "time" (the event's detail), for the summary.
        self.activated_by: Counter[str] = Counter()
        self._level = logging.INFO if verbose else logging.DEBUG
        self.send = send
        self.lookup: Callable[[int | None, str], TradeView | None] | None = None

    def emit(self, name: EventName | str, trade_id: int | None, pair: str, *, trade: Any = None,
             stop_now: float | None = None, **fields: object) -> None:
        """Record one event: counter, one ``key=value`` log line, and a message when it matters.

        ``trade`` and ``stop_now`` (the stop in force once the tick is done) only shape the message;
        the log line holds ``fields``."""
        key = name.value if isinstance(name, EventName) else name
        self.counts[key] += 1
        if key == "ACTIVATED" and isinstance(fields.get("detail"), str):
            self.activated_by[str(fields["detail"]).removeprefix("by ")] += 1
        level = logging.WARNING if key in _ALARM_NAMES else self._level
        if not logger.isEnabledFor(level) and self.send is None:
            return
        details = " ".join(f"{k}={_fmt(v)}" for k, v in fields.items() if v is not None)
        line = f"smart_trailing event={key} trade_id={trade_id} pair={pair} {details}".rstrip()
        logger.log(level, line)
        if self.send is not None and key in _NOTIFIED_NAMES:
            try:
                view = trade_view(trade, stop_now) if trade is not None else None
                if view is None and self.lookup is not None:
                    view = self.lookup(trade_id, pair)
                text = format_message(key, trade_id, pair, fields, view)
            except Exception:  # a message problem must never touch trading: send the log line
                logger.exception("smart_trailing: could not write the event message")
                text = line
            self.notify(text)

    def notify(self, text: str) -> None:
        """Send a message to people (Telegram / webhooks) when sending is set up; never raises."""
        if self.send is None:
            return
        try:
            self.send(text)
        except Exception:  # a notification problem must never touch trading
            logger.exception("smart_trailing: could not send event message")
