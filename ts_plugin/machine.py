"""The smart trailing state machine: pure functions of (state, tick, config).

One explicit step per price tick. Decide first, then build the new state once: nothing is modified and
rolled back. Nothing here knows about freqtrade, databases or exchanges; the mixin feeds it prices and
times that freqtrade passed in and stores what comes out.

Rules, for a long trade (a short mirrors every comparison):
- the peak is the highest price seen since entry;
- WAITING -> ACTIVE when price >= entry x (1 + activation_profit), or when the trade is
  ``time_activation.after_minutes`` old and at least ``time_activation.min_profit`` up;
- WAITING -> BREAKEVEN when profit >= ``breakeven.trigger_profit``: stop = entry x (1 + offset);
- while ACTIVE the stop is peak x (1 - distance), where distance comes from the steps reached by the
  peak profit, optionally replaced and tightened by the momentum signal, and clamped;
- the stop only ever tightens and never reaches the price that produced it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ts_plugin.config import TrailingConfig
from ts_plugin.state import Phase, TrailState

NO_EVENTS: tuple = ()


@dataclass(frozen=True, slots=True)
class Momentum:
    """Indicator values of the last closed candle: ATR as a ratio of close, rate of change as a ratio."""

    atr_ratio: float
    roc: float


@dataclass(frozen=True, slots=True)
class Event:
    """A transition worth telling someone about; ``name`` is stable (see events.EventName)."""

    name: str
    price: float
    stop: float | None
    detail: str = ""


def activation_price(entry: float, is_short: bool, config: TrailingConfig) -> float:
    """Price at which trailing activates: entry x (1 + activation_profit), mirrored for shorts."""
    if is_short:
        return entry * (1 - config.activation_profit)
    return entry * (1 + config.activation_profit)


def profit_ratio(entry: float, price: float, is_short: bool) -> float:
    """Price move from entry in the trade's favour, as a ratio (no leverage, no fees)."""
    return (entry - price) / entry if is_short else (price - entry) / entry


def is_tighter(candidate: float, current: float | None, is_short: bool) -> bool:
    """True when ``candidate`` protects more than ``current`` (None means no plugin stop yet)."""
    if current is None:
        return True
    return candidate < current if is_short else candidate > current


def is_safe_side(stop: float, price: float, is_short: bool) -> bool:
    """True when the stop sits strictly on the losing side of ``price`` (below it for a long)."""
    return stop > price if is_short else stop < price


def new_state(
    entry: float,
    is_short: bool,
    opened_at: float,
    config: TrailingConfig,
    peak: float | None = None,
) -> TrailState:
    """A fresh WAITING state for a trade that just opened (``peak`` defaults to the entry)."""
    return TrailState(
        is_short=is_short,
        entry=entry,
        activation_price=activation_price(entry, is_short, config),
        peak=entry if peak is None else peak,
        stop=None,
        phase=Phase.WAITING,
        opened_at=opened_at,
        updated_at=opened_at,
    )


def trail_distance(
    peak_profit: float, config: TrailingConfig, momentum: Momentum | None, is_short: bool = False
) -> float:
    """The distance behind the peak for this peak profit, steps first, then momentum, clamped."""
    distance = config.trail_distance
    for step in config.steps:
        if peak_profit < step.profit:
            break
        distance = step.trail_distance
    tuning = config.momentum
    if tuning is None or momentum is None:
        return distance
    if tuning.atr_multiplier is not None and math.isfinite(momentum.atr_ratio):
        distance = tuning.atr_multiplier * momentum.atr_ratio
    favourable_roc = -momentum.roc if is_short else momentum.roc
    if tuning.roc_threshold is not None and favourable_roc >= tuning.roc_threshold:
        distance *= tuning.roc_factor
    return min(max(distance, tuning.min_distance), tuning.max_distance)


def _should_activate(
    state: TrailState, price: float, now: float, config: TrailingConfig
) -> str | None:
    """Why the trade activates on this tick ('price' or 'time'), or None."""
    if price <= state.activation_price if state.is_short else price >= state.activation_price:
        return "price"
    timer = config.time_activation
    if (
        timer is not None
        and now - state.opened_at >= timer.after_minutes * 60
        and profit_ratio(state.entry, price, state.is_short) >= timer.min_profit
    ):
        return "time"
    return None


def step(
    state: TrailState,
    price: float,
    now: float,
    config: TrailingConfig,
    momentum: Momentum | None = None,
) -> tuple[TrailState, tuple[Event, ...]]:
    """Advance one tick. Returns the same ``state`` object (and no events) when nothing changes."""
    if state.phase is Phase.CLOSED or not (price > 0 and math.isfinite(price)):
        return state, NO_EVENTS
    is_short = state.is_short
    peak = state.peak
    if price < peak if is_short else price > peak:
        peak = price
    phase, stop = state.phase, state.stop
    activated_at, breakeven_at = state.activated_at, state.breakeven_at
    distance, raises = state.distance, state.stop_raises
    events: list[Event] = []

    if phase is not Phase.ACTIVE:
        reason = _should_activate(state, price, now, config)
        if reason is not None:
            phase, activated_at = Phase.ACTIVE, now
            events.append(Event("ACTIVATED", price, stop, f"by {reason}"))
        elif phase is Phase.WAITING and config.breakeven is not None:
            guard = config.breakeven
            if profit_ratio(state.entry, price, is_short) >= guard.trigger_profit:
                level = state.entry * (1 - guard.offset if is_short else 1 + guard.offset)
                if is_tighter(level, stop, is_short) and is_safe_side(level, price, is_short):
                    phase, stop, breakeven_at = Phase.BREAKEVEN, level, now
                    events.append(Event("BREAKEVEN", price, stop))

    if phase is Phase.ACTIVE:
        peak_profit = profit_ratio(state.entry, peak, is_short)
        distance = trail_distance(peak_profit, config, momentum, is_short)
        candidate = peak * (1 + distance) if is_short else peak * (1 - distance)
        if is_tighter(candidate, stop, is_short) and is_safe_side(candidate, price, is_short):
            stop, raises = candidate, raises + 1
            events.append(Event("STOP_RAISED", price, stop, f"distance {distance:.5f}"))

    if peak == state.peak and stop == state.stop and phase is state.phase:
        return state, NO_EVENTS
    updated = replace(
        state,
        peak=peak,
        stop=stop,
        phase=phase,
        activated_at=activated_at,
        breakeven_at=breakeven_at,
        distance=distance,
        stop_raises=raises,
        updated_at=now,
    )
    return updated, tuple(events)


def rebase_entry(state: TrailState, entry: float, now: float, config: TrailingConfig) -> TrailState:
    """Follow a new average entry after a position adjustment; peak and stop are kept (never loosen)."""
    return replace(
        state,
        entry=entry,
        activation_price=activation_price(entry, state.is_short, config),
        updated_at=now,
    )


def close(state: TrailState, now: float, exit_reason: str | None) -> TrailState:
    """The final state of an exited trade."""
    return replace(state, phase=Phase.CLOSED, updated_at=now, exit_reason=exit_reason)


def adopt(
    entry: float,
    is_short: bool,
    opened_at: float,
    now: float,
    best_price: float | None,
    current_stop: float | None,
    config: TrailingConfig,
    rebuilds: int,
) -> TrailState:
    """Rebuild a state from what the trade itself knows (entry, best price seen, current stop).

    Used when a trade has no readable stored state: the peak resumes from the trade's best price,
    a stop already tighter than the entry is kept (never loosened), and the phase follows from them.
    """
    state = new_state(entry, is_short, opened_at, config, peak=best_price or entry)
    phase, activated_at = Phase.WAITING, None
    reached = state.peak <= state.activation_price if is_short else state.peak >= state.activation_price
    if reached:
        phase, activated_at = Phase.ACTIVE, now
    stop = None
    if current_stop is not None and current_stop > 0 and is_tighter(current_stop, entry, is_short):
        stop = current_stop
        if phase is Phase.WAITING:
            phase = Phase.BREAKEVEN
    return replace(
        state,
        phase=phase,
        stop=stop,
        activated_at=activated_at,
        breakeven_at=now if phase is Phase.BREAKEVEN else None,
        updated_at=now,
        rebuilds=rebuilds,
    )
