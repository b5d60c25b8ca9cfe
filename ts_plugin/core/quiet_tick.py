"""Ticks that cannot change a trade's state, told apart cheaply: the backtest's fast path.

Most ``custom_stoploss`` calls of a backtest change nothing: a trade waiting for its activation
sees a candle below its best price and below every threshold, or an active trade sees a candle
below its peak with its stop still on the safe side. ``machine.step`` would then return the very
same state after building its events list, its distance and its noise-free comparisons. ``is_quiet``
answers the one question the adapter needs on such a tick, "would ``step`` return the state
itself?", with the same comparisons ``step`` makes and without building anything; the settings it
reads are taken out of the (pydantic) config once, into a ``QuietPlan``.

It is a one-way promise: True only when ``step(state, price, now, config, momentum, profit)``
returns ``state`` itself (and no events), whatever ``momentum`` is. Whenever a rule could act (a
new best price, a breakeven trigger, an activation by profit, price or time, a tighter breakeven
floor or trailing level, a stop found through the price) it answers False and the caller runs the
full ``step``. The property
test ``tests/test_quiet_tick.py`` holds it to that over random tick sequences and settings.
``moves_peak_only`` does the same for the next most common tick, a new best price of a trade not
trailing yet on which no rule acts: it builds the one state ``step`` would build.
"""

from __future__ import annotations

import math

from ts_plugin.core.config import TrailingConfig
from ts_plugin.core.evolve import evolve
from ts_plugin.core.machine import trail_distance
from ts_plugin.core.state import Phase, TrailState

# A price this far (relatively) on the near side of the activation price cannot reach it in the
# noise-free form ``step`` compares (14 significant digits move a value by at most 5e-14 of it).
_NOISE_MARGIN = 1e-12
# Module constants: an Enum member read through its class costs several times a global's lookup.
_CLOSED, _ACTIVE = Phase.CLOSED, Phase.ACTIVE
_INF = math.inf
_isfinite = math.isfinite


class QuietPlan:
    """The settings ``is_quiet`` reads, as plain values read once from one ``TrailingConfig``.

    ``needs_time``: whether ``now`` matters (time activation is on); when it is False the caller may
    pass any number. An active trade with the momentum block on is never quiet here: its distance
    moves with the indicators on any tick, so ``step`` decides."""

    __slots__ = ("config", "trigger", "offset", "by_profit", "activation_profit", "timer_seconds",
                 "timer_profit", "needs_time", "momentum_on", "fixed_distance")

    def __init__(self, config: TrailingConfig) -> None:
        self.config = config
        guard = config.breakeven
        self.trigger = None if guard is None else guard.trigger_profit
        self.offset = None if guard is None else guard.offset
        self.by_profit = config.activation_basis == "profit_after_fees"
        self.activation_profit = config.activation_profit
        timer = config.time_activation
        self.timer_seconds = None if timer is None else timer.after_minutes * 60
        self.timer_profit = None if timer is None else timer.min_profit
        self.needs_time = timer is not None
        self.momentum_on = config.momentum is not None
        # With neither steps nor momentum the distance is trail_distance whatever the peak.
        self.fixed_distance = config.trail_distance if not config.steps and config.momentum is None else None

    def is_quiet(self, state: TrailState, price: float, now: float, profit: float | None = None) -> bool:
        """True only when ``machine.step(state, price, now, self.config, momentum, profit)`` returns
        ``state`` unchanged, for any ``momentum``."""
        if state.phase is _CLOSED:
            return True
        if not isinstance(price, float) or not 0.0 < price < _INF:
            return False  # step ignores such a price too, but the adapter reports it: not ours to skip
        peak = state.peak
        if (price < peak) if state.is_short else (price > peak):
            return False  # a new best price
        return self._nothing_acts(state, price, now, profit)

    def moves_peak_only(
        self, state: TrailState, price: float, now: float, profit: float | None = None
    ) -> TrailState | None:
        """The state ``machine.step`` returns (with no events) when ``price`` is a new best price of a
        trade not trailing yet and no rule acts on it: the same state with that peak, at ``now``.
        None otherwise (the caller runs ``step``). The other common tick of a backtest."""
        phase = state.phase
        if phase is _CLOSED or phase is _ACTIVE:
            return None
        if not isinstance(price, float) or not 0.0 < price < _INF:
            return None
        peak = state.peak
        if not ((price < peak) if state.is_short else (price > peak)):
            return None
        if not self._nothing_acts(state, price, now, profit):
            return None
        return evolve(state, peak=price, updated_at=now)

    def _nothing_acts(self, state: TrailState, price: float, now: float, profit: float | None) -> bool:
        """No rule acts on this tick, judged from the state's own peak (a trailing trade's level)."""
        phase = state.phase
        is_short = state.is_short
        peak = state.peak
        entry = state.entry
        trigger = self.trigger
        breakeven_at = state.breakeven_at
        if trigger is not None and breakeven_at is None:
            if ((entry - price) / entry if is_short else (price - entry) / entry) >= trigger:
                return False  # the breakeven trigger
        stop = state.stop
        if phase is not _ACTIVE:
            if self.by_profit and profit is not None:
                if _isfinite(profit) and profit > self.activation_profit:
                    return False  # activation on freqtrade's profit
            else:
                level = state.activation_price
                if (price <= level * (1 + _NOISE_MARGIN)) if is_short else (price >= level * (1 - _NOISE_MARGIN)):
                    return False  # at or near the activation price: step's noise-free comparison decides
            timer_seconds = self.timer_seconds
            if timer_seconds is not None and now - state.opened_at >= timer_seconds and (
                    (entry - price) / entry if is_short else (price - entry) / entry) >= self.timer_profit:
                return False  # activation by time
        else:
            if stop is None or self.momentum_on:
                return False
            distance = self.fixed_distance
            if distance is None:
                gain = (entry - peak) / entry if is_short else (peak - entry) / entry
                distance = trail_distance(gain, self.config, None, is_short)
            if (peak * (1 + distance) < stop) if is_short else (peak * (1 - distance) > stop):
                return False  # a tighter trailing level
        if self.offset is not None and breakeven_at is not None:
            if stop is None:
                return False
            floor = entry * (1 - self.offset) if is_short else entry * (1 + self.offset)
            if (floor < stop) if is_short else (floor > stop):
                return False  # a tighter breakeven floor (the entry moved)
        if stop is None or state.crossed_at is not None:
            return True
        return stop > price if is_short else stop < price  # else the stop is through the price: exit due
