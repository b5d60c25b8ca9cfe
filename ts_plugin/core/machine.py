"""The smart trailing state machine: pure functions of (state, tick, config).

One explicit step per price tick. Decide first, then build the new state once: nothing is modified and
rolled back. Nothing here knows about freqtrade, databases or exchanges; the mixin feeds it prices and
times that freqtrade passed in and stores what comes out.

Rules, for a long trade (a short mirrors every comparison):
- the peak is the highest price seen since entry (for a trade not yet trailing: since the last
  position adjustment);
- WAITING -> ACTIVE when price >= entry x (1 + activation_profit), or when the trade is
  ``time_activation.after_minutes`` old and at least ``time_activation.min_profit`` up;
- breakeven: once a tick's profit has reached ``breakeven.trigger_profit`` (WAITING -> BREAKEVEN, or
  noted while ACTIVE), the stop is never below entry x (1 + offset) of the *current* average entry;
- while ACTIVE the trailing level is peak x (1 - distance), where distance comes from the steps reached
  by the peak profit, optionally replaced and tightened by the momentum signal, and clamped;
- the stop of a tick is the tightest of every rule that applies (the stop held, the breakeven floor,
  the trailing level), so it only ever tightens and no rule waits for a second tick;
- an ACTIVE trade always has a stop. When the stop a rule demands is already at or through the price
  (a time activation after the price fell back from its peak, a rebuilt state, a momentum tightening,
  a breakeven floor raised by a position adjustment) the trade is due to exit now: ``crossed_at`` is
  set and a TRIGGERED event says so; the adapter then exits through freqtrade's normal exit path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ts_plugin.core.config import BreakevenConfig, TrailingConfig
from ts_plugin.core.evolve import evolve
from ts_plugin.core.state import Phase, TrailState, noise_free

NO_EVENTS: tuple = ()
# The phases as module constants for step: in Python 3.11 reading an Enum member through its class
# costs several times a global's lookup, and step reads them on every tick.
_WAITING, _BREAKEVEN, _ACTIVE, _CLOSED = Phase.WAITING, Phase.BREAKEVEN, Phase.ACTIVE, Phase.CLOSED


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


def breakeven_level(entry: float, is_short: bool, guard: BreakevenConfig) -> float:
    """The breakeven floor: entry x (1 + offset), mirrored for shorts."""
    return entry * (1 - guard.offset) if is_short else entry * (1 + guard.offset)


def profit_ratio(entry: float, price: float, is_short: bool) -> float:
    """Price move from entry in the trade's favour, as a ratio (no leverage, no fees)."""
    return (entry - price) / entry if is_short else (price - entry) / entry


def is_tighter(candidate: float, current: float | None, is_short: bool) -> bool:
    """True when ``candidate`` protects more than ``current`` (None means no plugin stop yet)."""
    if current is None:
        return True
    return candidate < current if is_short else candidate > current


def tightest(first: float | None, second: float | None, is_short: bool) -> float | None:
    """The more protective of two stops (None means no stop)."""
    if second is None:
        return first
    return second if is_tighter(second, first, is_short) else first


def is_safe_side(stop: float, price: float, is_short: bool) -> bool:
    """True when the stop sits strictly on the losing side of ``price`` (below it for a long)."""
    return stop > price if is_short else stop < price


def is_valid_price(price: float) -> bool:
    """Prices the machine acts on: finite and positive (anything else is ignored, never stored)."""
    return isinstance(price, (int, float)) and math.isfinite(price) and price > 0


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
    if tuning is None:
        return distance
    # With the momentum block on, the bounds always apply: while ATR has no value the step distance
    # stands (it is not replaced) and while ROC has none it is not scaled, but it is still clamped,
    # so the first ticks of a pair never trail wider (or closer) than the bounds allow.
    if momentum is not None:
        if tuning.atr_multiplier is not None and math.isfinite(momentum.atr_ratio):
            distance = tuning.atr_multiplier * momentum.atr_ratio
        favourable_roc = -momentum.roc if is_short else momentum.roc
        if tuning.roc_threshold is not None and favourable_roc >= tuning.roc_threshold:
            distance *= tuning.roc_factor
    return min(max(distance, tuning.min_distance), tuning.max_distance)


def _should_activate(
    state: TrailState, price: float, now: float, config: TrailingConfig, profit: float | None = None
) -> str | None:
    """Why the trade activates on this tick ('price' or 'time'), or None.

    With ``activation_basis`` "profit_after_fees" and the caller's ``profit`` (freqtrade's own profit
    ratio at this price: fees, leverage and funding included), the price rule is freqtrade's
    ``trailing_stop_positive_offset`` rule instead: strictly above ``activation_profit``. Without a
    profit (a state rebuilt from the trade) the price level stands in for it."""
    if config.activation_basis == "profit_after_fees" and profit is not None:
        if math.isfinite(profit) and profit > config.activation_profit:
            return "price"
    else:
        # Compared as stored (without float noise): 50000 x 1.015 = 50749.99999999999 activates at
        # 50750, and a state reloaded from its stored form activates on exactly the same ticks.
        level, seen = noise_free(state.activation_price), noise_free(price)
        if seen <= level if state.is_short else seen >= level:
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
    profit: float | None = None,
) -> tuple[TrailState, tuple[Event, ...]]:
    """Advance one tick. Returns the same ``state`` object (and no events) when nothing changes.
    ``profit``: freqtrade's profit ratio at ``price``, read only by ``activation_basis``
    "profit_after_fees"."""
    if state.phase is _CLOSED or not is_valid_price(price):
        return state, NO_EVENTS
    is_short = state.is_short
    peak = price if is_tighter(price, state.peak, is_short) else state.peak
    phase, activated_at, breakeven_at = state.phase, state.activated_at, state.breakeven_at
    distance = state.distance
    events: list[Event] = []

    guard = config.breakeven
    if (
        guard is not None
        and breakeven_at is None
        and profit_ratio(state.entry, price, is_short) >= guard.trigger_profit
    ):
        breakeven_at = now
        if phase is _WAITING:
            phase = _BREAKEVEN
        events.append(Event("BREAKEVEN", price, breakeven_level(state.entry, is_short, guard)))
    if phase is not _ACTIVE:
        reason = _should_activate(state, price, now, config, profit)
        if reason is not None:
            phase, activated_at = _ACTIVE, now
            events.append(Event("ACTIVATED", price, state.stop, f"by {reason}"))

    stop = state.stop
    if guard is not None and breakeven_at is not None:
        stop = tightest(stop, breakeven_level(state.entry, is_short, guard), is_short)
    if phase is _ACTIVE:
        distance = trail_distance(profit_ratio(state.entry, peak, is_short), config, momentum, is_short)
        stop = tightest(stop, peak * (1 + distance) if is_short else peak * (1 - distance), is_short)
    if state.stop is not None and not is_tighter(noise_free(stop), noise_free(state.stop), is_short):
        # Tighter only within float noise (not in the stored form): no raise. So a state reloaded
        # from its stored form (state.encode) steps exactly like the one that was never stored.
        stop = state.stop
    return _settle(state, events, price, now, peak, phase, stop, distance, activated_at, breakeven_at)


def _settle(
    state: TrailState, events: list[Event], price: float, now: float, peak: float, phase: Phase,
    stop: float | None, distance: float | None, activated_at: float | None, breakeven_at: float | None,
) -> tuple[TrailState, tuple[Event, ...]]:
    """Build the new state once, note a raise, and mark the exit as due when the stop is through price."""
    raises, crossed_at = state.stop_raises, state.crossed_at
    if stop != state.stop:
        raises += 1
        if not (events and events[-1].name == "BREAKEVEN" and events[-1].stop == stop):
            events.append(Event("STOP_RAISED", price, stop, f"distance {distance:.5f}" if distance else "floor"))
    if crossed_at is None and stop is not None and not is_safe_side(stop, price, state.is_short):
        crossed_at = now
        events.append(Event("TRIGGERED", price, stop, "stop already at or through the price: exit now"))
    if (
        peak == state.peak and stop == state.stop and phase is state.phase
        and breakeven_at == state.breakeven_at and crossed_at == state.crossed_at
    ):
        return state, NO_EVENTS
    updated = evolve(  # dataclasses.replace, cheaper: this runs on every tick that changes the state
        state, peak=peak, stop=stop, phase=phase, activated_at=activated_at, breakeven_at=breakeven_at,
        distance=distance, stop_raises=raises, crossed_at=crossed_at, updated_at=now,
    )
    return updated, tuple(events)


def rebase_entry(
    state: TrailState, entry: float, now: float, config: TrailingConfig, price: float | None = None
) -> TrailState:
    """Follow a new average entry after a position adjustment; the stop is kept (never loosen).

    A trade not yet trailing restarts its peak at the fill ``price``: a peak seen against the old
    entry must not activate (and at once cross) a trailing level behind it. The breakeven floor, once
    reached, follows the new entry from the next tick on.
    """
    peak = state.peak
    if state.phase is not Phase.ACTIVE and price is not None and is_valid_price(price):
        peak = price
    return replace(
        state,
        entry=entry,
        activation_price=activation_price(entry, state.is_short, config),
        peak=peak,
        updated_at=now,
    )


def close(state: TrailState, now: float, exit_reason: str | None) -> TrailState:
    """The final state of an exited trade."""
    return evolve(state, phase=Phase.CLOSED, updated_at=now, exit_reason=exit_reason)


def adopt(
    entry: float,
    is_short: bool,
    opened_at: float,
    now: float,
    best_price: float | None,
    current_stop: float | None,
    config: TrailingConfig,
    rebuilds: int,
    momentum: Momentum | None = None,
) -> TrailState:
    """Rebuild a state from what the trade itself knows (entry, best price seen, current stop).

    Used when a trade has no trustworthy stored state. The peak resumes from the trade's best price;
    the phase, the breakeven floor and the trailing level follow from it exactly as if that price had
    been one tick, judged with ``momentum`` (the indicators the next tick reads), so a rebuilt level
    is the level the rules give. Time activation is not judged here (a best price has no time): the
    next tick judges it at its own price. ``current_stop`` (a stop the plugin had set, as freqtrade
    holds it) is kept when it is tighter than what the rules give (never loosened) without changing
    the phase: a stop past the entry is not a breakeven that no tick reached. The next tick then
    applies every rule to the current price (and exits at once if the stop is through it).
    """
    state = new_state(entry, is_short, opened_at, config)
    best = best_price if best_price is not None and is_valid_price(best_price) else entry
    if is_tighter(best, entry, is_short):
        state, _ = step(state, best, opened_at, config, momentum)
    stop = state.stop
    if current_stop is not None and is_valid_price(current_stop):
        stop = tightest(stop, current_stop, is_short)
    phase = state.phase
    return replace(
        state,
        stop=stop,
        activated_at=now if phase is Phase.ACTIVE else None,
        breakeven_at=now if state.breakeven_at is not None else None,
        stop_raises=0,
        crossed_at=None,
        updated_at=now,
        rebuilds=rebuilds,
    )
