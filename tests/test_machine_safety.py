"""Issue 6, A: an ACTIVE trade always has its stop; the breakeven floor holds in every phase."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ts_plugin.core.config import parse_config
from ts_plugin.core.machine import adopt, is_safe_side, new_state, rebase_entry, step
from ts_plugin.core.state import Phase

T0 = 1_700_000_000.0
TIMED = parse_config({"activation_profit": 0.015, "trail_distance": 0.005,
                      "time_activation": {"after_minutes": 60, "min_profit": 0.0}})
WIDE = parse_config({"activation_profit": 0.015, "trail_distance": 0.03,
                     "breakeven": {"trigger_profit": 0.008, "offset": 0.002}})


def names(events):
    return [e.name for e in events]


def test_time_activation_after_a_fall_back_exits_at_once():
    """Peak 101, back to 100.3 when the timer fires: the level 101 x 0.995 is already above the price."""
    state = new_state(100.0, False, T0, TIMED)
    state, _ = step(state, 101.0, T0 + 600, TIMED)
    state, events = step(state, 100.3, T0 + 3660, TIMED)
    assert state.phase is Phase.ACTIVE and state.stop == pytest.approx(101 * 0.995)
    assert state.crossed_at == T0 + 3660 and "TRIGGERED" in names(events)


def test_a_rebuilt_state_past_its_level_exits_at_once():
    config = parse_config({"activation_profit": 0.015, "trail_distance": 0.005})
    state = adopt(100.0, False, T0, T0, best_price=110.0, current_stop=None, config=config, rebuilds=1)
    assert state.phase is Phase.ACTIVE and state.stop == pytest.approx(110 * 0.995)
    state, events = step(state, 104.0, T0 + 5, config)
    assert state.phase is Phase.ACTIVE and state.stop is not None and state.crossed_at is not None
    assert "TRIGGERED" in names(events)


def test_short_mirror_of_the_fall_back():
    state = new_state(100.0, True, T0, TIMED)
    state, _ = step(state, 99.0, T0 + 600, TIMED)
    state, _ = step(state, 99.7, T0 + 3660, TIMED)
    assert state.stop == pytest.approx(99 * 1.005) and state.crossed_at is not None


def test_one_tick_through_trigger_and_activation_keeps_the_breakeven_floor():
    one, events = step(new_state(100.0, False, T0, WIDE), 101.6, T0, WIDE)
    assert names(events)[:2] == ["BREAKEVEN", "ACTIVATED"]
    assert one.phase is Phase.ACTIVE and one.stop == pytest.approx(100.2)  # not 101.6 x 0.97
    two, _ = step(new_state(100.0, False, T0, WIDE), 100.9, T0, WIDE)
    two, _ = step(two, 101.6, T0 + 1, WIDE)
    assert one.stop == two.stop


@pytest.mark.parametrize("phase_price", [100.9, 101.6])  # BREAKEVEN, then ACTIVE
def test_adding_at_a_higher_price_moves_the_floor_to_the_new_entry(phase_price):
    state, _ = step(new_state(100.0, False, T0, WIDE), phase_price, T0, WIDE)
    state = rebase_entry(state, 100.6, T0 + 60, WIDE, price=phase_price)
    state, _ = step(state, phase_price, T0 + 65, WIDE)
    assert state.stop == pytest.approx(100.6 * 1.002)


def test_averaging_down_does_not_activate_on_the_old_peak():
    state, _ = step(new_state(100.0, False, T0, WIDE), 101.0, T0, WIDE)  # BREAKEVEN at 100.2
    state, _ = step(state, 100.3, T0 + 60, WIDE)
    state = rebase_entry(state, 100.25, T0 + 61, WIDE, price=100.3)
    assert state.peak == 100.3


# ----- properties -------------------------------------------------------------------------------

configs = st.builds(
    lambda act, dist, be, timer: parse_config({
        "activation_profit": act, "trail_distance": dist,
        "breakeven": {"trigger_profit": be * act, "offset": be * act / 3} if be else None,
        "time_activation": {"after_minutes": timer, "min_profit": 0.0} if timer else None,
    }),
    st.floats(0.003, 0.1), st.floats(0.001, 0.1), st.one_of(st.none(), st.floats(0.1, 0.9)),
    st.one_of(st.none(), st.integers(5, 120)),
)
ratios = st.lists(st.floats(0.8, 1.3), min_size=1, max_size=40)


def tighter_or_equal(a, b, is_short):
    """a protects at least as much as b (None protects least)."""
    if b is None:
        return True
    if a is None:
        return False
    return a <= b * (1 + 1e-12) if is_short else a >= b * (1 - 1e-12)


def run(config, is_short, prices, start=T0, state=None, spacing=300):
    state = state or new_state(100.0, is_short, T0, config)
    for i, price in enumerate(prices):
        state, _ = step(state, price, start + spacing * i, config)
    return state


@settings(max_examples=300, deadline=None)
@given(configs, st.booleans(), ratios)
def test_active_always_has_a_stop_and_a_stop_through_the_price_is_due_to_exit(config, is_short, path):
    state = new_state(100.0, is_short, T0, config)
    for i, ratio in enumerate(path):
        price = 100.0 * ratio
        state, _ = step(state, price, T0 + 300 * i, config)
        if state.phase is Phase.ACTIVE:
            assert state.stop is not None
        if state.stop is not None and not is_safe_side(state.stop, price, is_short):
            assert state.crossed_at is not None


@settings(max_examples=300, deadline=None)
@given(configs, st.booleans(), ratios, st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4))
def test_splitting_a_move_into_more_ticks_never_loosens(config, is_short, path, cuts):
    """The last move, made in one tick or through intermediate prices in the same time, ends no looser."""
    prices = [100.0 * r for r in path]
    before = run(config, is_short, prices[:-1]) if len(prices) > 1 else new_state(100.0, is_short, T0, config)
    end = T0 + 300 * (len(prices) - 1)
    one, _ = step(before, prices[-1], end, config)
    start_price = prices[-2] if len(prices) > 1 else 100.0
    split = before
    for k, cut in enumerate(sorted(cuts)):
        split, _ = step(split, start_price + (prices[-1] - start_price) * cut, end - 1 - k * 1e-3, config)
    split, _ = step(split, prices[-1], end, config)
    assert tighter_or_equal(split.stop, one.stop, is_short)


@settings(max_examples=200, deadline=None)
@given(configs, st.booleans(), ratios, st.integers(0, 39))
def test_a_rebuild_in_the_middle_of_a_path_is_never_looser(config, is_short, path, cut):
    prices = [100.0 * r for r in path]
    straight = run(config, is_short, prices)
    cut = min(cut, len(prices))
    state = run(config, is_short, prices[:cut])
    rebuilt = adopt(100.0, is_short, T0, T0 + 300 * cut, best_price=state.peak, current_stop=state.stop,
                    config=config, rebuilds=1)
    rebuilt = run(config, is_short, prices[cut:], start=T0 + 300 * cut, state=rebuilt)
    assert tighter_or_equal(rebuilt.stop, straight.stop, is_short)


@settings(max_examples=200, deadline=None)
@given(configs.filter(lambda c: c.breakeven is not None), st.booleans(), ratios, ratios,
       st.floats(0.1, 3.0))
def test_position_adjustments_keep_the_breakeven_rule(config, is_short, before, after, weight):
    """Once the trigger was reached, the stop is never looser than the breakeven level of the
    current average entry, whatever adjustments came in between."""
    state = run(config, is_short, [100.0 * r for r in before])
    fill = 100.0 * after[0]
    entry = (state.entry + weight * fill) / (1 + weight)
    state = rebase_entry(state, entry, T0 + 300 * len(before), config, price=fill)
    state = run(config, is_short, [100.0 * r for r in after], start=T0 + 300 * (len(before) + 1), state=state)
    if state.breakeven_at is not None:
        guard = config.breakeven
        floor = state.entry * (1 - guard.offset) if is_short else state.entry * (1 + guard.offset)
        assert tighter_or_equal(state.stop, floor, is_short)
