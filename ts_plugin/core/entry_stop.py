"""The tightest stop freqtrade gives a trade from its entries alone, without any trailing. Pure.

freqtrade's ``is_stop_loss_trailing`` does not mean that a stop trailed. Its stop walks up (down for a
short) by itself whenever the trade's entry moves: the hard stop is first set from the quote the entry
was asked at; a market fill away from that quote sets the trade's ``open_rate`` to the fill and
recomputes the hard stop from it (``recalc_trade_from_orders`` then ``adjust_stop_loss``), and a
position adjustment recomputes it from the new average entry. Each time the new hard stop is tighter,
freqtrade keeps it and sets the flag, though nothing trailed. It never loosens, so the stop it holds
without trailing is the tightest of these hard stops: the one from the quote (``initial_stop_loss``)
and the one from each average entry the trade has had. Only a stop tighter than that was moved by
a trailing stop (the plugin's, or the strategy's own).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple


class Fill(NamedTuple):
    """One filled order of the trade, in the order freqtrade recalculates them."""

    is_entry: bool
    price: float
    amount: float


def hard_stop(rate: float, stoploss: float, leverage: float, is_short: bool, price_step: float) -> float:
    """freqtrade's ``adjust_stop_loss`` level for ``rate``: ``stoploss`` (a ratio, either sign) over
    the leverage, rounded to the tick towards the price as freqtrade rounds a stop."""
    distance = abs(stoploss) / (leverage or 1.0)
    level = rate * (1 + distance) if is_short else rate * (1 - distance)
    if price_step <= 0:
        return level
    ticks = level / price_step
    ticks = math.floor(ticks + 1e-9) if is_short else math.ceil(ticks - 1e-9)
    return ticks * price_step


def average_entries(fills: Iterable[Fill]) -> list[float]:
    """The trade's average entry after each entry fill, as ``recalc_trade_from_orders`` computes it
    (an exit takes its amount out at the average, leaving the average as it was)."""
    amount = stake = 0.0
    averages = []
    for fill in fills:
        if fill.price <= 0 or fill.amount <= 0:
            continue
        if fill.is_entry:
            amount += fill.amount
            stake += fill.price * fill.amount
            averages.append(stake / amount)
        elif amount > 0:
            average = stake / amount
            amount = max(amount - fill.amount, 0.0)
            stake = average * amount
    return averages


def untrailed_stop(
    *,
    is_short: bool,
    leverage: float,
    stoploss: float | None,
    initial_stop: float | None,
    open_rate: float,
    fills: Iterable[Fill] = (),
    price_step: float = 0.0,
) -> float | None:
    """The tightest stop freqtrade sets this trade without trailing: the hard stop from the quote
    (``initial_stop``), from the current ``open_rate`` and from every average entry of ``fills``.
    None when nothing is known (no ratio and no initial stop)."""
    levels = [initial_stop] if initial_stop and initial_stop > 0 else []
    if stoploss is not None:
        rates = [open_rate, *average_entries(fills)]
        if price_step > 0:  # freqtrade rounds each average entry to the tick before the stop
            rates = [round(rate / price_step) * price_step for rate in rates] + rates
        levels += [hard_stop(rate, stoploss, leverage, is_short, price_step) for rate in rates if rate > 0]
    if not levels:
        return None
    return min(levels) if is_short else max(levels)
