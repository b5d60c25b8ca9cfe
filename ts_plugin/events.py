"""Events: every transition gets a stable name, one structured log line and a counter.

In dry-run and live, chosen events also reach Telegram / webhooks through ``dp.send_msg``; in
backtesting and hyperopt they are only counted (and logged at debug level) so reports stay readable.
"""

from __future__ import annotations

import logging
from collections import Counter
from enum import Enum
from typing import Callable

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


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


class EventLog:
    """Counts, logs and (optionally) sends events. One instance per strategy object."""

    def __init__(self, verbose: bool, send: Callable[[str], None] | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self._level = logging.INFO if verbose else logging.DEBUG
        self.send = send

    def emit(self, name: EventName | str, trade_id: int | None, pair: str, **fields: object) -> None:
        """Record one event: counter, one ``key=value`` log line, and a message when it matters."""
        key = name.value if isinstance(name, EventName) else name
        self.counts[key] += 1
        level = logging.WARNING if key in _ALARM_NAMES else self._level
        if not logger.isEnabledFor(level) and self.send is None:
            return
        details = " ".join(f"{k}={_fmt(v)}" for k, v in fields.items() if v is not None)
        line = f"smart_trailing event={key} trade_id={trade_id} pair={pair} {details}".rstrip()
        logger.log(level, line)
        if self.send is not None and key in _NOTIFIED_NAMES:
            try:
                self.send(line)
            except Exception:  # a notification problem must never touch trading
                logger.exception("smart_trailing: could not send event message")
