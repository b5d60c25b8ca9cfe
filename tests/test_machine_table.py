"""The audit's tables, straight from its numbers, against the pure state machine."""

import pytest

from ts_plugin.core.config import parse_config
from ts_plugin.core.machine import Momentum, adopt, new_state, step, trail_distance
from ts_plugin.core.state import Phase

T0 = 1_700_000_000.0
AUDIT = parse_config({"activation_profit": 0.015, "trail_distance": 0.005})


@pytest.mark.parametrize(
    "is_short, entry, price, activation, activates",
    [
        (False, 50000, 51500, 50750, True),
        (True, 3000, 2940, 2955, True),
        (False, 50000, 50700, 50750, False),
    ],
)
def test_activation_table(is_short, entry, price, activation, activates):
    state = new_state(entry, is_short, T0, AUDIT)
    assert state.activation_price == pytest.approx(activation)
    after, events = step(state, price, T0 + 60, AUDIT)
    assert (after.phase is Phase.ACTIVE) is activates
    assert ("ACTIVATED" in [e.name for e in events]) is activates


def test_activation_exactly_at_price_activates():
    state = new_state(50000, False, T0, AUDIT)
    after, _ = step(state, 50000 * 1.015, T0, AUDIT)
    assert after.phase is Phase.ACTIVE


def test_audit_trail_sequence_long():
    state = new_state(50000, False, T0, AUDIT)
    state, _ = step(state, 51500, T0 + 1800, AUDIT)
    assert state.stop == pytest.approx(51242.5)
    state, _ = step(state, 52000, T0 + 2700, AUDIT)
    assert state.stop == pytest.approx(51740)
    state, events = step(state, 51800, T0 + 3000, AUDIT)
    assert state.stop == pytest.approx(51740) and events == ()
    state, _ = step(state, 52500, T0 + 3600, AUDIT)
    assert state.stop == pytest.approx(52237.5)


def test_unchanged_tick_returns_same_object():
    state = new_state(50000, False, T0, AUDIT)
    state, _ = step(state, 52000, T0, AUDIT)
    again, events = step(state, 51900, T0 + 5, AUDIT)
    assert again is state and events == ()


def test_breakeven_before_activation_long_and_short():
    config = parse_config({"breakeven": {"trigger_profit": 0.008, "offset": 0.002}})
    long_state, events = step(new_state(100.0, False, T0, config), 100.9, T0, config)
    assert long_state.phase is Phase.BREAKEVEN and long_state.stop == pytest.approx(100.2)
    assert [e.name for e in events] == ["BREAKEVEN"]
    short_state, _ = step(new_state(100.0, True, T0, config), 99.1, T0, config)
    assert short_state.phase is Phase.BREAKEVEN and short_state.stop == pytest.approx(99.8)
    # Activation later trails from the peak, and never below the breakeven level.
    active, events = step(long_state, 101.6, T0 + 60, config)
    assert active.phase is Phase.ACTIVE and active.stop == pytest.approx(101.6 * 0.995)
    assert [e.name for e in events] == ["ACTIVATED", "STOP_RAISED"]


def test_time_activation_needs_age_and_profit():
    config = parse_config({"time_activation": {"after_minutes": 60, "min_profit": 0.004}})
    state = new_state(100.0, False, T0, config)
    young, _ = step(state, 100.5, T0 + 59 * 60, config)
    assert young.phase is Phase.WAITING
    flat, _ = step(state, 100.3, T0 + 61 * 60, config)
    assert flat.phase is Phase.WAITING
    old, events = step(state, 100.5, T0 + 61 * 60, config)
    assert old.phase is Phase.ACTIVE and "by time" in events[0].detail
    assert old.stop == pytest.approx(100.5 * 0.995)


def test_steps_tighten_with_peak_profit():
    config = parse_config(
        {"steps": [{"profit": 0.03, "trail_distance": 0.004}, {"profit": 0.06, "trail_distance": 0.002}]}
    )
    assert trail_distance(0.02, config, None) == 0.005
    assert trail_distance(0.03, config, None) == 0.004
    assert trail_distance(0.07, config, None) == 0.002
    state, _ = step(new_state(100.0, False, T0, config), 107.0, T0, config)
    assert state.stop == pytest.approx(107.0 * 0.998)


def test_momentum_scales_and_clamps_distance():
    config = parse_config(
        {"momentum": {"atr_multiplier": 2.0, "roc_threshold": 0.01, "roc_factor": 0.5,
                      "min_distance": 0.003, "max_distance": 0.012}}
    )
    assert trail_distance(0.0, config, Momentum(atr_ratio=0.004, roc=0.0)) == pytest.approx(0.008)
    assert trail_distance(0.0, config, Momentum(atr_ratio=0.004, roc=0.02)) == pytest.approx(0.004)
    assert trail_distance(0.0, config, Momentum(atr_ratio=0.02, roc=0.0)) == 0.012  # clamped
    assert trail_distance(0.0, config, Momentum(atr_ratio=0.001, roc=0.05)) == 0.003  # clamped
    # A short gains from a falling price: negative ROC is its favourable momentum.
    assert trail_distance(0.0, config, Momentum(0.004, -0.02), is_short=True) == pytest.approx(0.004)
    assert trail_distance(0.0, config, None) == 0.005  # no candle yet: base distance


def test_adopt_resumes_from_trade_facts():
    state = adopt(50000, False, T0, T0 + 3600, best_price=52000, current_stop=51740,
                  config=AUDIT, rebuilds=1)
    assert state.phase is Phase.ACTIVE and state.peak == 52000 and state.stop == 51740
    after, events = step(state, 51800, T0 + 3700, AUDIT)
    assert after.stop == 51740 and not [e for e in events if e.name == "ACTIVATED"]


def test_adopt_without_moved_stop_waits():
    state = adopt(100.0, True, T0, T0, best_price=None, current_stop=None, config=AUDIT, rebuilds=1)
    assert state.phase is Phase.WAITING and state.stop is None and state.peak == 100.0
