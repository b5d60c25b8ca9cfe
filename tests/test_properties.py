"""Invariants of the state machine over arbitrary price paths (hypothesis)."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ts_plugin.core.config import parse_config
from ts_plugin.core.machine import Momentum, new_state, step
from ts_plugin.core.state import Phase

T0 = 1_700_000_000.0
ENTRY = 100.0

configs = st.builds(
    lambda act, dist, be, steps: parse_config(
        {
            "activation_profit": act,
            "trail_distance": dist,
            "breakeven": {"trigger_profit": be * act, "offset": be * act / 3} if be else None,
            "steps": [{"profit": act * 2, "trail_distance": dist * 0.8}] if steps else [],
        }
    ),
    st.floats(0.002, 0.2),
    st.floats(0.001, 0.2),
    st.one_of(st.none(), st.floats(0.1, 0.9)),
    st.booleans(),
)
paths = st.lists(st.floats(0.5, 1.6), min_size=1, max_size=60)  # price / entry
momenta = st.one_of(st.none(), st.builds(Momentum, st.floats(0.0, 0.05), st.floats(-0.1, 0.1)))
momentum_config = parse_config(
    {"momentum": {"atr_multiplier": 2.0, "roc_threshold": 0.01, "min_distance": 0.002, "max_distance": 0.03}}
)


def _run(config, is_short, prices, momentum=None):
    state = new_state(ENTRY, is_short, T0, config)
    trace = []
    for i, price in enumerate(prices):
        before = state
        state, events = step(state, price, T0 + 300 * i, config, momentum)
        trace.append((before, state, price, events))
    return trace


def _assert_never_loosens_nor_crosses(trace, is_short):
    for before, after, price, _ in trace:
        if before.stop is not None:
            assert after.stop is not None
            assert (after.stop <= before.stop) if is_short else (after.stop >= before.stop)
        if after.stop != before.stop:
            assert (after.stop > price) if is_short else (after.stop < price)


@settings(max_examples=300, deadline=None)
@given(configs, st.booleans(), paths)
def test_stop_never_loosens_and_never_crosses_its_price(config, is_short, ratios):
    trace = _run(config, is_short, [ENTRY * r for r in ratios])
    _assert_never_loosens_nor_crosses(trace, is_short)


@settings(max_examples=200, deadline=None)
@given(st.booleans(), paths, momenta)
def test_momentum_keeps_the_invariants(is_short, ratios, momentum):
    trace = _run(momentum_config, is_short, [ENTRY * r for r in ratios], momentum)
    _assert_never_loosens_nor_crosses(trace, is_short)


@settings(max_examples=300, deadline=None)
@given(configs, paths)
def test_long_and_short_mirror_each_other(config, ratios):
    """A short on the path mirrored around the entry goes through the same phases at the same ticks,
    and whenever both trail from their peak they keep the same relative distance behind it.

    (Breakeven levels and peak-relative stops are multiplicative, so absolute stops are not
    mirror images; which of the two is tighter can differ near the crossover.)"""
    long_trace = _run(config, False, [ENTRY * r for r in ratios])
    short_trace = _run(config, True, [ENTRY * (2 - r) for r in ratios])
    for (_, long_state, _, long_events), (_, short_state, _, short_events) in zip(long_trace, short_trace):
        assert long_state.phase is short_state.phase
        transitions = {"ACTIVATED", "BREAKEVEN"}
        assert [e.name for e in long_events if e.name in transitions] == [
            e.name for e in short_events if e.name in transitions
        ]
        raised = {"STOP_RAISED"}
        trailing = (
            long_state.distance is not None and short_state.distance is not None
            and long_state.stop == long_state.peak * (1 - long_state.distance)
            and short_state.stop == short_state.peak * (1 + short_state.distance)
        )
        if trailing and raised & {e.name for e in long_events} and raised & {e.name for e in short_events}:
            long_gap = (long_state.peak - long_state.stop) / long_state.peak
            short_gap = (short_state.stop - short_state.peak) / short_state.peak
            assert abs(long_gap - short_gap) < 1e-9


@settings(max_examples=300, deadline=None)
@given(configs, st.booleans(), st.floats(0.5, 1.6), st.floats(0.0, 0.5))
def test_activation_is_monotonic_in_price(config, is_short, ratio, extra):
    """If a price activates, every price further in the trade's favour activates too."""
    state = new_state(ENTRY, is_short, T0, config)
    price = ENTRY * ratio
    better = price * (1 - extra) if is_short else price * (1 + extra)
    if step(state, price, T0, config)[0].phase is Phase.ACTIVE:
        assert step(state, better, T0, config)[0].phase is Phase.ACTIVE


@settings(max_examples=200, deadline=None)
@given(configs, st.booleans(), paths, st.integers(0, 59))
def test_restart_is_invisible(config, is_short, ratios, cut):
    """Stepping through a stored-and-reloaded state gives exactly the same result."""
    from ts_plugin.core.state import decode, encode

    prices = [ENTRY * r for r in ratios]
    straight = _run(config, is_short, prices)[-1][1]
    cut = min(cut, len(prices))
    state = new_state(ENTRY, is_short, T0, config)
    for i, price in enumerate(prices):
        if i == cut:
            state = decode(encode(state))
        state, _ = step(state, price, T0 + 300 * i, config)
    assert encode(state) == encode(straight)


@settings(max_examples=300, deadline=None)
@given(configs, st.booleans(), paths, st.integers(0, 59))
@example(parse_config({"activation_profit": 0.015, "trail_distance": 0.005}), True,
         [1.0, 1.0, 0.5000000000000001, 0.5], 3)  # a peak one float step further: noise, no raise
@example(parse_config({"activation_profit": 0.015, "trail_distance": 0.005}), False,
         [1.0, 1.5, 1.5000000000000002, 1.4], 2)
def test_restart_through_the_stored_form_changes_no_event(config, is_short, ratios, cut):
    """The stored form drops float noise (state.encode); a reload still makes the same decisions:
    same events on every tick, same stored state at the end."""
    from ts_plugin.core.state import decode, encode

    prices = [ENTRY * r for r in ratios]
    trace = _run(config, is_short, prices)
    state = new_state(ENTRY, is_short, T0, config)
    names = []
    for i, price in enumerate(prices):
        if i == min(cut, len(prices) - 1):
            state = decode(encode(state))
        state, events = step(state, price, T0 + 300 * i, config)
        names.append([e.name for e in events])
    assert names == [[e.name for e in events] for _, _, _, events in trace]
    assert encode(state) == encode(trace[-1][1])
