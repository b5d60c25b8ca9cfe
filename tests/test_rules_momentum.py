"""Rule 4 with the momentum block on: the bounds always apply, warm-up included (issue 15, item 1).

Before ATR / ROC have a value the distance used to be the step distance unclamped, so
``trail_distance`` 0.040 with ``max_distance`` 0.0039 trailed ten times wider on a pair's first
ticks than a few candles later. The rule now: while the block is on the distance is always inside
[min_distance, max_distance]; an input without a value simply does not act (no ATR: the step
distance stands; no ROC: no factor), the clamp still does.
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ts_plugin.core.config import parse_config
from ts_plugin.core.indicators import MomentumSeries
from ts_plugin.core.machine import Momentum, new_state, step, trail_distance

T0 = 1_700_000_000.0
NAN = math.nan


def _config(base, low, high, atr=2.0, roc=0.01, steps=()):
    return parse_config({
        "activation_profit": 0.01, "trail_distance": base, "steps": list(steps),
        "momentum": {"atr_multiplier": atr, "roc_threshold": roc, "roc_factor": 0.5,
                     "min_distance": low, "max_distance": high},
    })


inputs = st.one_of(
    st.none(),
    st.builds(Momentum, st.one_of(st.just(NAN), st.floats(0.0, 0.2)), st.floats(-0.3, 0.3)),
)


@settings(max_examples=300, deadline=None)
@given(
    base=st.floats(0.0005, 0.2), low=st.floats(0.0005, 0.05), width=st.floats(0.0, 0.1),
    atr=st.one_of(st.none(), st.floats(0.1, 50)), roc=st.one_of(st.none(), st.floats(0.001, 0.5)),
    momentum=inputs, peak_profit=st.floats(0.0, 0.5), is_short=st.booleans(),
)
def test_the_distance_is_always_inside_the_bounds(base, low, width, atr, roc, momentum, peak_profit, is_short):
    if atr is None and roc is None:
        atr = 1.0
    high = min(low + width, 0.99)
    config = _config(base, low, high, atr=atr, roc=roc)
    distance = trail_distance(peak_profit, config, momentum, is_short)
    assert low <= distance <= high


def test_the_first_ticks_of_a_pair_trail_inside_the_bounds():
    """The issue's case: 0.040 base, 0.0039 upper bound, no indicator value yet."""
    config = _config(0.040, 0.002, 0.0039)
    state, _ = step(new_state(100.0, False, T0, config), 102.0, T0 + 60, config, None)
    assert state.stop == pytest.approx(102.0 * (1 - 0.0039))
    warm, _ = step(new_state(100.0, False, T0, config), 102.0, T0 + 60, config, Momentum(0.01, 0.0))
    assert warm.stop == state.stop  # 2 x 1 % = 0.02 clamped to the same bound as before warm-up


@pytest.mark.parametrize("is_short", [False, True])
def test_only_atr_without_a_value_keeps_the_step_distance_and_roc_still_acts(is_short):
    config = _config(0.01, 0.002, 0.03, steps=[{"profit": 0.05, "trail_distance": 0.008}])
    favourable = -0.02 if is_short else 0.02
    assert trail_distance(0.06, config, Momentum(NAN, favourable), is_short) == pytest.approx(0.004)
    assert trail_distance(0.0, config, Momentum(NAN, -favourable), is_short) == pytest.approx(0.01)


def test_only_roc_without_a_value_leaves_the_atr_distance_unscaled():
    config = _config(0.01, 0.002, 0.03)
    momentum = MomentumSeries([T0], [0.004], [NAN]).at(T0)  # the series' reading of a NaN ROC
    assert momentum == Momentum(0.004, 0.0)
    assert trail_distance(0.0, config, momentum) == pytest.approx(0.008)


def test_a_base_distance_below_the_lower_bound_is_raised_to_it_before_warm_up():
    config = _config(0.001, 0.003, 0.03, atr=None)
    assert MomentumSeries([T0], [NAN], [NAN]).at(T0) is None  # both warming up
    assert trail_distance(0.0, config, None) == pytest.approx(0.003)
