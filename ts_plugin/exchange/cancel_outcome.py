"""What a cancel's answer says happened to the order: cancelled, or filled before the cancel reached it.

In a make-before-break replacement the old stop can fill between the new stop's creation and the old
one's cancel. The cancel then answers "unknown order" and the governor's re-check reads the order
back: closed and filled. That answer must reach freqtrade as a fill, never be rewritten as
"canceled" (freqtrade would never book the exit, and the trade would stay open on an empty
position). Pure: reads ccxt order dicts only.
"""

from __future__ import annotations

# freqtrade's own test of a stop that went off (``handle_stoploss_on_exchange``).
FILLED_STATUSES = frozenset({"closed", "triggered"})
# Rounding to the market's amount precision: a fill this close to the trade's amount covers it.
AMOUNT_TOLERANCE = 0.001


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if number > 0 else 0.0


def went_off(answer: dict | None) -> bool:
    """Whether the order filled (in full or in part) before the cancel reached it.

    A stop that went off says so by its status (closed or triggered), by ``status_stop`` triggered
    (freqtrade's fetch of a Binance algo order), or by a non-zero ``filled``."""
    if not answer:
        return False
    return (answer.get("status") in FILLED_STATUSES or answer.get("status_stop") == "triggered"
            or _number(answer.get("filled")) > 0)


def filled_amount(answer: dict | None) -> float | None:
    """How much of an order that went off filled: its ``filled``, else its ``amount``, else None."""
    if not answer:
        return None
    return _number(answer.get("filled")) or _number(answer.get("amount")) or None


def covers(filled: float | None, amount: float) -> bool:
    """Whether a fill closed a position of ``amount`` (within rounding). An unknown figure counts as
    the whole: a stop that went off is a market (or marketable limit) order for the whole amount."""
    return filled is None or filled >= amount * (1 - AMOUNT_TOLERANCE)
