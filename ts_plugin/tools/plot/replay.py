"""Replay a backtest trade's stop path from its candles: the machine is pure and deterministic, so
feeding it the ticks freqtrade's backtester fed ``custom_stoploss`` gives back every stop it held.

The ticks, as freqtrade's backtesting runs them (optimize/backtesting.py, strategy/interface.py):
- on the entry fill, one call at the entry rate and the entry candle's time (``after_fill``);
- then on every candle from the entry candle on (the ``--timeframe-detail`` candles where there are
  any), one call at the candle's high (long) or low (short) and its open time, made only while the
  stop freqtrade holds is not already at or through the candle's low (high);
- after each call freqtrade holds the stop the plugin handed over, rounded to the pair's price
  step away from the price (``adjust_stop_loss``), and only ever tighter;
- the trade then exits on that candle when the plugin found its stop through the price (at the
  candle's open, ``custom_exit``), or when the candle's low (high) reached the stop freqtrade holds
  (at that stop, or at the open when the candle opened through it); the exit price is rounded to
  the pair's step, and an exit order whose rounded price falls outside the candle stays open until a
  candle fills it or a new exit at another price replaces it.

Each tick also carries freqtrade's ``current_profit`` at that rate (``Trade.calc_profit_ratio``: after
the trade's fees, with its leverage), which ``activation_basis: "profit_after_fees"`` activates on;
without it the machine would fall back to the price level and activate early, short of the fees.

Nothing here imports freqtrade: the caller passes the pair's rounding, momentum and profit lookups.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Callable, Iterable

from ts_plugin.core import machine
from ts_plugin.core.config import TrailingConfig
from ts_plugin.core.consistency import STOP_TOLERANCE
from ts_plugin.core.state import TrailState
from ts_plugin.strategy.builtin_match import trailing_value
from ts_plugin.tools.plot.model import StopPoint

# The exit reason of a trade whose stop the rules put through the price (the mixin's custom_exit).
CROSSED_EXIT_REASON = "smart_trailing_stop_crossed"
STOP_EXIT_REASONS = frozenset({"stop_loss", "trailing_stop_loss"})


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLC candle; ``time`` is its open time in epoch seconds."""

    time: float
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True, slots=True)
class BacktestTrade:
    """What the replay needs of a backtest trade (freqtrade's exported trade record)."""

    is_short: bool
    open_rate: float
    open_time: float
    close_time: float
    initial_stop: float  # initial_stop_loss_abs: the hard stop freqtrade set at entry
    leverage: float = 1.0


@dataclass(frozen=True, slots=True)
class Rounding:
    """The pair's price rounding as freqtrade applies it: ``stop`` away from the price (up for a
    long's stop, down for a short's), ``price`` to the nearest step (exit prices)."""

    stop: Callable[[float], float] = float
    price: Callable[[float], float] = float


@dataclass(frozen=True, slots=True)
class ReplayedExit:
    """Where the replay says the trade ended: candle time, freqtrade's exit reason, price."""

    time: float
    reason: str
    price: float


@dataclass(frozen=True, slots=True)
class Replay:
    """The stop freqtrade held over the trade's life (first point: the initial hard stop), the
    machine's final state, the stop held at the end, and the exit the stops caused (None when the
    trade ended otherwise: ROI, exit signal, end of the backtest)."""

    stops: tuple[StopPoint, ...]
    state: TrailState
    stop: float
    exit: ReplayedExit | None


def _held_after(
    held: float, trailing: bool, rate: float, value: float, is_short: bool, leverage: float,
    after_fill: bool, rounding: Rounding,
) -> tuple[float, bool]:
    """freqtrade's ``adjust_stop_loss(rate, value, allow_refresh=after_fill)`` on the held stop."""
    distance = abs(value / leverage)
    new = rounding.stop(rate * (1 + distance) if is_short else rate * (1 - distance))
    if after_fill or machine.is_tighter(new, held, is_short):
        return new, trailing or not after_fill
    return held, trailing


def _handed_over(
    before: TrailState, after: TrailState, rate: float, held: float, resync: bool, leverage: float,
    config: TrailingConfig,
) -> float | None:
    """The relative stop the mixin returns for this tick (``_ts_tick`` and ``_ts_never_looser``)."""
    stop, is_short = after.stop, after.is_short
    if stop is None or (stop == before.stop and not resync) or not machine.is_safe_side(stop, rate, is_short):
        return None
    exact = trailing_value(after, rate, leverage) if config.activation_basis == "profit_after_fees" else None
    if exact is not None:
        value = exact  # the built-in's own number, as the mixin hands it over
    else:
        ratio = 1 - stop / rate
        value = max(-ratio if is_short else ratio, 0.0) * leverage  # freqtrade's stoploss_from_absolute
    if value == 0:
        return None
    distance = value / leverage
    candidate = rate * (1 + distance) if is_short else rate * (1 - distance)
    if machine.is_tighter(held, candidate, is_short) and abs(held - candidate) > held * STOP_TOLERANCE:
        return None
    return value


def replay(
    trade: BacktestTrade,
    candles: Iterable[Candle],
    config: TrailingConfig,
    *,
    momentum_at: Callable[[float], machine.Momentum | None] | None = None,
    rounding: Rounding = Rounding(),
    profit_at: Callable[[float], float] | None = None,
) -> Replay:
    """Feed the machine the backtest's ticks from the entry to ``trade.close_time`` (or the exit the
    stops cause first). ``candles`` in time order; those before the entry candle are skipped.
    ``profit_at(rate)``: freqtrade's ``current_profit`` for the trade at that rate
    (None: the machine goes by price alone, as for a state rebuilt without a profit)."""
    is_short, leverage = trade.is_short, trade.leverage or 1.0
    state = machine.new_state(trade.open_rate, is_short, trade.open_time, config)
    held, trailing = trade.initial_stop, False
    last_value = None
    stops = [StopPoint(trade.open_time, held, state.phase.value)]

    def tick(rate: float, now: float, after_fill: bool) -> None:
        nonlocal state, held, trailing, last_value
        momentum = momentum_at(now) if momentum_at is not None and config.momentum is not None else None
        profit = profit_at(rate) if profit_at is not None else None
        updated, _ = machine.step(state, rate, now, config, momentum, profit=profit)
        value = _handed_over(state, updated, rate, held, after_fill, leverage, config)
        state = updated
        if value is not None:
            held, trailing = _held_after(held, trailing, rate, value, is_short, leverage, after_fill, rounding)
            last_value = value
        if held != stops[-1].stop or state.phase.value != stops[-1].phase:
            stops.append(StopPoint(now, held, state.phase.value))

    tick(trade.open_rate, trade.open_time, after_fill=True)
    ended = order = None
    for candle in candles:
        if candle.time < trade.open_time:
            continue
        if candle.time > trade.close_time:
            break
        low, high = candle.low, candle.high
        if (held > high) if is_short else (held < low):
            tick(low if is_short else high, candle.time, after_fill=False)
        wanted = None
        if state.crossed_at is not None:
            wanted = ReplayedExit(candle.time, CROSSED_EXIT_REASON, rounding.price(candle.open))
        elif (held <= high) if is_short else (held >= low):
            wanted = ReplayedExit(candle.time, "trailing_stop_loss" if trailing else "stop_loss",
                                  rounding.price(_stop_exit_price(candle, held, trailing, last_value, trade)))
        if wanted is not None and (order is None or wanted.price != order.price):
            order = wanted  # an open exit order at another price is replaced (handle_similar_order)
        if order is not None and low <= order.price <= high:
            ended = ReplayedExit(candle.time, order.reason, order.price)
            break
    return Replay(stops=tuple(stops), state=state, stop=held, exit=ended)


def _stop_exit_price(candle: Candle, held: float, trailing: bool, value: float | None,
                     trade: BacktestTrade) -> float:
    """freqtrade's ``_get_close_rate_for_stoploss``: the stop, the open when the candle opened
    through it, and its pessimistic guess for a trailing exit within the entry's own minute."""
    is_short = trade.is_short
    if (held < candle.low) if is_short else (held > candle.high):
        return candle.open
    if trailing and int((candle.time - trade.open_time) // 60) == 0:
        distance = abs(value or 0.0) / (trade.leverage or 1.0)
        if is_short:
            return min(candle.high, candle.open * (1 + distance))
        return max(candle.low, candle.open * (1 - distance))
    return held


def with_detail(main: Iterable[Candle], detail: Iterable[Candle], timeframe_seconds: int) -> list[Candle]:
    """The candles the backtester walks with ``--timeframe-detail``: each main candle replaced by the
    detail candles inside it (open time in [start, start + timeframe)), or kept where there are none."""
    main = list(main)
    starts = [candle.time for candle in main]
    inside: dict[int, list[Candle]] = {}
    for candle in detail:
        index = bisect_right(starts, candle.time) - 1
        if index >= 0 and candle.time < starts[index] + timeframe_seconds:
            inside.setdefault(index, []).append(candle)
    walked: list[Candle] = []
    for index, candle in enumerate(main):
        walked.extend(inside.get(index) or (candle,))
    return walked
