"""freqtrade's built-in trailing stop, expressed in the plugin's settings (a drop-in starting point).

freqtrade's ``trailing_stop`` with ``trailing_stop_positive`` (the distance),
``trailing_stop_positive_offset`` (the activation) and ``trailing_only_offset_is_reached: true``
does, on every candle (``IStrategy.ft_stoploss_adjust``, run after ``custom_stoploss``):

- nothing while the trade's profit at the candle's best price (the high of a long, the low of a
  short; after fees, with leverage and funding, as ``Trade.calc_profit_ratio`` gives it) is not
  strictly above the offset;
- then moves the stop to best x (1 - positive / leverage) (mirrored for a short), never looser.

The plugin does the same with ``activation_basis: "profit_after_fees"`` (activation on freqtrade's own
``current_profit``, strictly above ``activation_profit``), ``activation_profit`` = the offset and
``trail_distance`` = positive / leverage, and no other rule. ``trailing_value`` hands freqtrade the
very number the built-in passes to ``Trade.adjust_stop_loss``, so the stop lands on the same price
to the last bit (and so on the same tick after freqtrade's rounding).

What cannot match through ``custom_stoploss``: freqtrade prices a trailing exit on the trade's entry
candle by a worst case that depends on who moved the stop (``Backtesting._get_close_rate_for_stoploss``):
open x (1 + offset - positive / leverage) for the built-in, open x (1 - positive / leverage) for a
custom stoploss, both kept within the candle. Those trades have the same dates and exit reason and a
lower exit price with the plugin (see the README, "Coming from freqtrade's trailing stop").
One more, of measure zero: on a candle whose best price gives a profit of exactly the offset, the
built-in (with ``trailing_only_offset_is_reached``) moves the stop to the hard-stop distance behind
that price; the plugin does not move it.
"""

from __future__ import annotations

import math
from typing import Any

from ts_plugin.core.state import Phase, TrailState

# freqtrade's offset 0 means "once in profit at all"; the plugin's activation_profit must be above 0.
SMALLEST_ACTIVATION = 1e-9


def settings_from_builtin(
    trailing_stop: bool,
    trailing_stop_positive: float | None,
    trailing_stop_positive_offset: float,
    trailing_only_offset_is_reached: bool,
    leverage: float = 1.0,
) -> dict[str, Any]:
    """The ``smart_trailing`` settings that reproduce these built-in settings; ValueError naming the
    built-in setting the plugin has no equivalent for."""
    if not trailing_stop:
        raise ValueError("trailing_stop is false: the built-in does not trail, there is nothing to map")
    if not trailing_stop_positive:
        raise ValueError(
            "trailing_stop_positive is not set: the built-in then trails the hard stop (stoploss) from the "
            "highest price on every candle, a rule the plugin does not have"
        )
    if not trailing_only_offset_is_reached:
        raise ValueError(
            "trailing_only_offset_is_reached is false: below the offset the built-in trails the hard stop "
            "(stoploss) from the highest price, a rule the plugin does not have; set it to true"
        )
    if leverage <= 0:
        raise ValueError(f"leverage {leverage} must be above 0")
    return {
        "activation_basis": "profit_after_fees",
        "activation_profit": max(float(trailing_stop_positive_offset), SMALLEST_ACTIVATION),
        "trail_distance": float(trailing_stop_positive) / leverage,
        "breakeven": None,
        "time_activation": None,
        "steps": None,
        "momentum": None,
    }


def trailing_value(state: TrailState, rate: float, leverage: float) -> float | None:
    """freqtrade's relative stop value for a stop set by the trailing level from ``rate`` on this tick
    (the peak is ``rate``): distance x leverage, which freqtrade turns back into
    rate x (1 -/+ distance), as the built-in does. None when another rule set the stop."""
    distance = state.distance
    if state.phase is not Phase.ACTIVE or not distance or state.stop is None or state.peak != rate:
        return None
    level = rate * (1 + distance) if state.is_short else rate * (1 - distance)
    if state.stop != level:
        return None
    value = distance * leverage
    # freqtrade divides by the leverage again: pick the float whose quotient is the distance itself
    # (0.01 / 3 x 3 / 3 may land one bit off, and a bit can round the stop onto another tick).
    for _ in range(4):
        quotient = value / leverage
        if quotient == distance:
            break
        value = math.nextafter(value, math.inf if quotient < distance else -math.inf)
    return value
