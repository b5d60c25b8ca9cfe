"""A bot stop already at or through the price while the exchange stop is not: the trade must exit now.

Live with stoploss on exchange, freqtrade never exits on its own stop: it leaves that to the order on
the exchange. When the price falls through the bot's stop before the exchange stop has followed it
(the update policy held the move, or the exchange refused the new stop because it would trigger at
once: Binance -2021, Bybit 110092/110093), nothing closes the trade at the bot's stop; only the older,
looser exchange stop guards it. README rule 6 promises an exit at once: the governor recognises both
cases here and the strategy exits through freqtrade's normal exit path (``custom_exit``).
Pure: numbers and exception texts only.
"""

from __future__ import annotations

from ts_plugin.core.machine import is_safe_side

# What the exchanges answer to a stop whose trigger is already through the price. ccxt keeps the
# exchange's own answer in the message: Binance's code -2021 ("Order would immediately trigger."),
# Bybit's 110092 ("expect Rising, but trigger_price ... <= current") and 110093 (the falling side).
WOULD_TRIGGER_MARKS = ("-2021", "110092", "110093", "would immediately trigger")
ALARM_KIND = "stop_through_price"  # one WARNING per trade and episode (``Watches.raise_once``)


def is_would_trigger(error: BaseException | None) -> bool:
    """Whether an exchange refusal (or what freqtrade wrapped it in) says the stop would trigger at once."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        text = str(error).lower()
        if any(mark in text for mark in WOULD_TRIGGER_MARKS):
            return True
        error = error.__cause__ or error.__context__
    return False


def exit_due(bot_stop: float | None, exchange_stop: float | None, rate: float | None, is_short: bool) -> bool:
    """True when the bot's stop is at or through ``rate`` and the exchange stop is not (it is looser
    and has not gone off: its own fill closes the trade otherwise). No exchange stop known counts as
    not gone off. A missing or unusable rate or bot stop decides nothing."""
    if bot_stop is None or rate is None or not rate > 0 or not bot_stop > 0:
        return False
    if is_safe_side(bot_stop, rate, is_short):
        return False
    return exchange_stop is None or is_safe_side(exchange_stop, rate, is_short)
