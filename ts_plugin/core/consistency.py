"""Does a stored state belong to the trade it is stored on? A pure check, run on every way in.

A well-formed row can still contradict its trade (a row edited by hand, restored from another
database, written by an older version or for another trade): trusting it would silently switch the
trailing stop off (a short trailed as a long, a CLOSED phase on an open trade) or loosen the stop.
Anything that contradicts the trade is reported so the adapter rebuilds the state from the trade.
"""

from __future__ import annotations

from dataclasses import dataclass

from ts_plugin.core.state import Phase, TrailState

# Stored entry vs the trade: the trade's average entry moves with position adjustments, so the
# stored entry must lie within the range of the trade's filled entry prices, widened by this.
ENTRY_TOLERANCE = 0.005
# A stored stop may sit this much (ratio), or one price tick, looser than freqtrade's before it counts
# as a contradiction: freqtrade keeps the stop as a distance from a rate (float noise) and rounds it
# to the pair's tick, towards the price.
STOP_TOLERANCE = 1e-6


def tick_slack(price: float, price_step: float) -> float:
    """How far two stops may differ and still be the same stop: one price tick (with room for the
    float noise of a tick difference) plus the relative noise of a distance round trip."""
    return price_step * 1.001 + abs(price) * STOP_TOLERANCE


@dataclass(frozen=True, slots=True)
class TradeFacts:
    """What the trade itself says, as freqtrade holds it."""

    is_short: bool
    is_open: bool
    open_rate: float
    entry_prices: tuple[float, ...]  # prices of the filled entry orders (empty when unknown)
    stop_loss: float | None
    # The tightest stop freqtrade sets this trade without trailing (entry_stop.untrailed_stop): its
    # hard stop from the quote and from every entry; None when unknown (then any stop counts as moved).
    untrailed_stop: float | None
    price_step: float = 0.0  # the pair's price tick: freqtrade rounds the stop it holds to it


def trailed_stop(facts: TradeFacts) -> float | None:
    """freqtrade's stop when a trailing stop moved it, else None.

    Not freqtrade's ``is_stop_loss_trailing``: that flag is also set when an entry fill away from the
    quote or a position adjustment re-sets the hard stop from the new entry, which trails nothing.
    A stop counts as moved only when it is tighter than every hard stop the trade's entries give,
    by more than a tick (freqtrade rounds a recomputed hard stop, float noise can make that a tick)."""
    held, untrailed = facts.stop_loss, facts.untrailed_stop
    if held is None or held <= 0:
        return None
    if untrailed is not None:
        tighter = held < untrailed if facts.is_short else held > untrailed
        if not tighter or abs(held - untrailed) <= tick_slack(untrailed, facts.price_step):
            return None
    return held


def contradiction(state: TrailState, facts: TradeFacts) -> str | None:
    """Why ``state`` cannot be the trailing state of this trade, or None when it can."""
    side = "short" if state.is_short else "long"
    if state.is_short != facts.is_short:
        return f"stored side {side} but the trade is {'short' if facts.is_short else 'long'}"
    if state.phase is Phase.CLOSED and facts.is_open:
        return "stored phase CLOSED but the trade is open"
    prices = [p for p in facts.entry_prices if p > 0] + [facts.open_rate]
    low, high = min(prices) * (1 - ENTRY_TOLERANCE), max(prices) * (1 + ENTRY_TOLERANCE)
    if not low <= state.entry <= high:
        return f"stored entry {state.entry:g} far from the trade's entry {facts.open_rate:g}"
    held = trailed_stop(facts)
    if held is not None:
        if state.stop is None:
            return f"no stored stop but the trade's stop was moved to {held:g}"
        slack = tick_slack(held, facts.price_step)
        looser = state.stop > held + slack if state.is_short else state.stop < held - slack
        if looser:
            return f"stored stop {state.stop:g} looser than the trade's stop {held:g}"
    return None
