"""The backtest's fast path (``core/quiet_tick.py``) never skips a tick on which a rule would act.

``QuietPlan.is_quiet`` may say True only when ``machine.step`` returns the very same state and no
events; ``moves_peak_only`` may build a state only when ``step`` builds an equal one, with no events.
Held to that over random tick sequences for every combination of the settings it reads: both
activation bases, breakeven, time activation, steps and momentum on or off, longs and shorts,
prices on and a hair around the activation price, the peak and the stop, freqtrade's profit given,
missing, NaN or infinite, position adjustments (which move the entry and the breakeven floor),
states read back from their stored form, and closed states. The adapter's answers with and without
the fast path are compared on the same ticks too, through the strategy's own ``custom_stoploss``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from freqtrade.enums import RunMode
from hypothesis import given, settings
from hypothesis import strategies as st

from ts_plugin.core import machine
from ts_plugin.core.config import parse_config
from ts_plugin.core.machine import Momentum, new_state, rebase_entry, step
from ts_plugin.core.quiet_tick import QuietPlan
from ts_plugin.core.state import Phase, decode, encode
from ts_plugin.strategy.mixin import SmartTrailingMixin

T0 = 1_700_000_000.0
ENTRY = 100.0


@st.composite
def configs(draw):
    activation = draw(st.floats(0.002, 0.1))
    distance = draw(st.floats(0.001, 0.05))
    raw: dict = {
        "activation_basis": draw(st.sampled_from(["price", "profit_after_fees"])),
        "activation_profit": activation,
        "trail_distance": distance,
    }
    if draw(st.booleans()):
        trigger = activation * draw(st.floats(0.1, 0.9))
        raw["breakeven"] = {"trigger_profit": trigger, "offset": trigger * draw(st.floats(0.0, 0.9))}
    if draw(st.booleans()):
        raw["time_activation"] = {"after_minutes": draw(st.floats(1, 600)),
                                  "min_profit": draw(st.floats(0.0, 0.02))}
    if draw(st.booleans()):
        raw["steps"] = [{"profit": activation * 2, "trail_distance": distance * 0.8},
                        {"profit": activation * 4, "trail_distance": distance * 0.5}]
    if draw(st.booleans()):
        low = draw(st.floats(0.001, 0.02))
        raw["momentum"] = {"atr_multiplier": 2.0, "roc_threshold": 0.01, "min_distance": low,
                           "max_distance": low * draw(st.floats(1.0, 5.0))}
    return parse_config(raw)


# What a tick does: a price (as a ratio of the entry, or pinned to a level of the state), the time
# step, freqtrade's profit, the momentum, and now and then a position adjustment or a store/reload.
ticks = st.tuples(
    st.one_of(st.floats(0.8, 1.3), st.sampled_from(["activation", "peak", "stop", "floor"])),
    st.sampled_from([0.0, -3e-15, -1e-15, 1e-15, -1e-13, 1e-13, -1e-12, 1e-12, 1e-9]),  # nudged by this ratio
    st.floats(0, 20_000),  # seconds since the previous tick
    # freqtrade's profit: None, the price's own gain shifted by fees, a hair around the activation
    # profit (the profit basis activates strictly above it), or not a number at all
    st.one_of(st.none(), st.floats(-0.01, 0.01), st.sampled_from([math.nan, math.inf, -math.inf]),
              st.tuples(st.just("activation"), st.sampled_from([-1e-12, 0.0, 1e-15, 1e-12, 1e-4]))),
    st.one_of(st.none(), st.builds(Momentum, st.floats(0.0, 0.05), st.floats(-0.1, 0.1))),
    st.sampled_from(["tick"] * 8 + ["adjust", "reload"]),
)


def _price(state, target, nudge, config):
    if isinstance(target, float):
        base = ENTRY * target
    elif target == "activation":
        base = state.activation_price
    elif target == "peak":
        base = state.peak
    elif target == "stop":
        base = state.stop if state.stop is not None else state.peak
    else:
        guard = config.breakeven
        base = machine.breakeven_level(state.entry, state.is_short, guard) if guard else state.entry
    return base * (1 + nudge)


@settings(max_examples=400, deadline=None)
@given(configs(), st.booleans(), st.lists(ticks, min_size=1, max_size=60))
def test_a_quiet_tick_is_one_step_leaves_unchanged(config, is_short, sequence):
    plan = QuietPlan(config)
    state = new_state(ENTRY, is_short, T0, config)
    now = T0
    for target, nudge, gap, fee_offset, momentum, action in sequence:
        now += gap
        price = _price(state, target, nudge, config)
        if action == "adjust":  # a position adjustment filled at ``price``, or at the new activation price
            entry = state.entry * (1 + nudge * 1e9 - 0.01)
            if target == "activation":
                price = machine.activation_price(entry, is_short, config) * (1 + nudge)
            state = rebase_entry(state, entry, now, config, price=price)
            continue
        if action == "reload":
            state = decode(encode(state))
        profit = fee_offset
        if isinstance(fee_offset, tuple):
            profit = config.activation_profit + fee_offset[1]
        elif fee_offset is not None and math.isfinite(fee_offset):
            profit = machine.profit_ratio(state.entry, price, is_short) + fee_offset
        updated, events = step(state, price, now, config, momentum, profit)
        if plan.is_quiet(state, price, now, profit):
            assert updated is state and events == (), (state, price, now, profit, momentum)
        moved = plan.moves_peak_only(state, price, now, profit)
        if moved is not None:
            assert events == () and moved == updated and moved is not state, (state, price, now, profit)
        state = updated
    closed = machine.close(state, now, "stop_loss")
    assert plan.is_quiet(closed, state.peak, now, None)


class Strategy(SmartTrailingMixin):
    """The plugin on its own (no entries, no indicators): its custom_stoploss called directly."""

    timeframe = "5m"
    stoploss = -0.1
    minimal_roi = {"0": 10}

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        return dataframe


def _config(**extra):
    return parse_config({"activation_profit": 0.015, "trail_distance": 0.005, **extra})


def test_the_fast_path_takes_the_common_ticks():
    """Not vacuous: a waiting trade below its best price and every threshold, and an active trade below its peak, with
    its stop on the safe side, are quiet (the ticks a backtest sees most)."""
    for config in (_config(), _config(activation_basis="profit_after_fees"),
                   _config(breakeven={"trigger_profit": 0.008}, steps=[{"profit": 0.03, "trail_distance": 0.004}],
                           time_activation={"after_minutes": 60})):
        plan = QuietPlan(config)
        waiting = new_state(ENTRY, False, T0, config)
        assert plan.is_quiet(waiting, 99.8, T0 + 60, -0.003)
        active, _ = step(waiting, 102.0, T0 + 300, config, None, 0.018)
        assert active.phase is Phase.ACTIVE and active.stop is not None
        assert plan.is_quiet(active, 101.9, T0 + 600, 0.017)
        assert not plan.is_quiet(active, 102.1, T0 + 600, 0.02)  # a new peak
        assert plan.moves_peak_only(active, 102.1, T0 + 600, 0.02) is None  # trailing: the level moves too
        moved = plan.moves_peak_only(waiting, 100.5, T0 + 60, 0.003)
        assert moved is not None and moved.peak == 100.5 and moved.updated_at == T0 + 60
        assert not plan.is_quiet(active, active.stop, T0 + 600, 0.0)  # the stop reached


def test_momentum_keeps_an_active_trade_on_the_full_step():
    config = _config(momentum={"atr_multiplier": 2.0, "min_distance": 0.002, "max_distance": 0.03})
    plan = QuietPlan(config)
    active, _ = step(new_state(ENTRY, False, T0, config), 102.0, T0, config, Momentum(0.002, 0.0))
    assert active.phase is Phase.ACTIVE
    assert not plan.is_quiet(active, 101.9, T0 + 300, None)
    assert plan.is_quiet(new_state(ENTRY, False, T0, config), 99.8, T0 + 300, None)


@settings(max_examples=60, deadline=None)
@given(configs().filter(lambda config: config.momentum is None), st.booleans(),
       st.lists(st.tuples(st.floats(0.9, 1.2), st.floats(-0.004, 0.004), st.booleans()), min_size=1, max_size=40))
def test_the_strategy_answers_the_same_with_and_without_the_fast_path(config, is_short, sequence):
    """Through the strategy's own custom_stoploss: every answer equal, on the same ticks."""
    answers = []
    for fast in (True, False):
        strategy = Strategy({"runmode": RunMode.BACKTEST})
        strategy._ts_base_config = config
        if not fast:
            strategy._ts_plan = SimpleNamespace(config=config, needs_time=True, is_quiet=lambda *a: False,
                                                moves_peak_only=lambda *a: None)
        opened = datetime(2026, 1, 1, tzinfo=timezone.utc)
        trade = SimpleNamespace(id=1, pair="BTC/USDT", open_date=opened, open_date_utc=opened, open_rate=ENTRY,
                                is_short=is_short, leverage=1.0, stop_loss=ENTRY * 0.9)
        strategy._ts_load(trade.pair, trade, opened.timestamp(), new_trade=True)
        seen = []
        for i, (ratio, fee, after_fill) in enumerate(sequence):
            price = ENTRY * ratio
            profit = machine.profit_ratio(ENTRY, price, is_short) + fee
            seen.append(strategy.custom_stoploss(trade.pair, trade, opened + timedelta(minutes=5 * i), price,
                                                 profit, after_fill))
        answers.append((seen, strategy._ts_store.cache))
    assert answers[0] == answers[1]


def test_a_price_within_float_noise_of_the_activation_price_goes_to_the_full_step():
    """step compares the activation price in its stored (noise-free) form, so a price a hair below
    it can activate: a waiting trade whose best price is past it (as after a position adjustment
    filled above the new activation price) must not be judged quiet there."""
    config = _config()
    plan = QuietPlan(config)
    waiting = rebase_entry(new_state(ENTRY, False, T0, config), ENTRY, T0, config, price=103.0)
    level = waiting.activation_price  # 101.49999999999999, stored as 101.5
    for below in (1e-15, 1e-14, 4e-14):
        price = level * (1 - below)
        activated, _ = step(waiting, price, T0 + 60, config)
        assert activated.phase is Phase.ACTIVE
        assert not plan.is_quiet(waiting, price, T0 + 60)
