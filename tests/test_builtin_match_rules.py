"""activation_basis "profit_after_fees" and the built-in mapping, rule by rule (fast; the engine-level
trade-for-trade comparison is tests/test_builtin_match.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ts_plugin.core import machine
from ts_plugin.core.config import ConfigError, parse_config
from ts_plugin.core.state import Phase
from ts_plugin.strategy.builtin_match import settings_from_builtin, trailing_value

MAPPED = parse_config(settings_from_builtin(True, 0.01, 0.015, True))


def test_mapping_of_the_usual_built_in_settings():
    assert settings_from_builtin(True, 0.02, 0.03, True, leverage=2.0) == {
        "activation_basis": "profit_after_fees", "activation_profit": 0.03, "trail_distance": 0.01,
        "breakeven": None, "time_activation": None, "steps": None, "momentum": None}
    assert parse_config(settings_from_builtin(True, 0.01, 0.0, True)).activation_profit == pytest.approx(1e-9)


@pytest.mark.parametrize("args, named", [
    ((False, 0.01, 0.015, True), "trailing_stop is false"),
    ((True, None, 0.015, True), "trailing_stop_positive is not set"),
    ((True, 0.01, 0.015, False), "trailing_only_offset_is_reached is false"),
])
def test_built_in_settings_without_an_equivalent_are_refused_by_name(args, named):
    with pytest.raises(ValueError, match=named):
        settings_from_builtin(*args)


def test_activation_basis_is_validated():
    with pytest.raises(ConfigError, match='activation_basis = "fees": allowed: one of "price", "profit_after_fees"$'):
        parse_config({"activation_basis": "fees"})
    assert parse_config({}).activation_basis == "price"


def test_profit_after_fees_activates_strictly_above_the_offset_whatever_the_price():
    state = machine.new_state(100.0, False, 0.0, MAPPED)
    # The price is far above entry x 1.015, but freqtrade's profit (after fees) is not above the offset.
    same, _ = machine.step(state, 101.6, 60.0, MAPPED, profit=0.015)
    assert same.phase is Phase.WAITING and same.stop is None
    active, _ = machine.step(state, 101.6, 60.0, MAPPED, profit=0.0150001)
    assert active.phase is Phase.ACTIVE and active.stop == 101.6 * (1 - 0.01)


def test_price_basis_ignores_the_profit():
    price_based = parse_config({"activation_profit": 0.015, "trail_distance": 0.01})
    state = machine.new_state(100.0, False, 0.0, price_based)
    waiting, _ = machine.step(state, 101.0, 60.0, price_based, profit=0.5)
    assert waiting.phase is Phase.WAITING


def test_without_a_profit_the_price_level_stands_in():
    state = machine.new_state(100.0, True, 0.0, MAPPED)
    active, _ = machine.step(state, 98.5, 60.0, MAPPED)
    assert active.phase is Phase.ACTIVE and active.stop == 98.5 * (1 + 0.01)


@given(rate=st.floats(1e-6, 1e6), tsp=st.floats(0.001, 0.2), leverage=st.sampled_from([1.0, 2.0, 3.0, 7.0, 20.0, 125.0]),
       is_short=st.booleans())
def test_trailing_value_is_the_built_ins_own_number(rate, tsp, leverage, is_short):
    """freqtrade turns the value back into rate x (1 -/+ |value / leverage|); the built-in computes
    rate x (1 -/+ |positive / leverage|): the two must be the same float."""
    config = parse_config(settings_from_builtin(True, tsp, 0.015, True, leverage=leverage))
    entry = rate * (1.1 if is_short else 0.9)
    state, _ = machine.step(machine.new_state(entry, is_short, 0.0, config), rate, 60.0, config, profit=0.1)
    value = trailing_value(state, rate, leverage)
    assert value is not None
    side = 1 if is_short else -1
    assert rate * (1 + side * abs(value / leverage)) == rate * (1 + side * abs(tsp / leverage))
    assert state.stop == rate * (1 + side * config.trail_distance)


def test_trailing_value_only_for_a_stop_the_trailing_level_set_now():
    state, _ = machine.step(machine.new_state(100.0, False, 0.0, MAPPED), 102.0, 60.0, MAPPED, profit=0.02)
    assert trailing_value(state, 102.0, 1.0) == 0.01
    assert trailing_value(state, 101.0, 1.0) is None  # the peak is not this rate
    waiting = machine.new_state(100.0, False, 0.0, MAPPED)
    assert trailing_value(waiting, 100.0, 1.0) is None


def test_the_settings_line_shows_the_basis_and_reads_back():
    from ts_plugin.strategy.settings_report import format_line, format_message, settings_in_force
    from ts_plugin.tools.diagnose.logs import SETTINGS_PREFIX, parse_settings
    from ts_plugin.tools.diagnose.rules import settings_mapping

    layer = settings_from_builtin(True, 0.01, 0.015, True)
    settings = settings_in_force(parse_config(layer), None, layer)
    line = format_line(settings)
    assert "activation_basis=profit_after_fees [config.json]" in line
    assert "profit after fees" in format_message(settings)
    assert parse_config(settings_mapping(parse_settings(line[line.index(SETTINGS_PREFIX):]))) == parse_config(layer)
    price_line = format_line(settings_in_force(parse_config({}), None, {}))
    assert "activation_basis" not in price_line  # the default keeps the line as it always was
