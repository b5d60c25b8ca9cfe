"""Configuration validation: every bad value is named with its key, value and what is allowed."""

import json

import pytest

from ts_plugin.core.config import ConfigError, merge_settings, parse_config


def test_defaults():
    config = parse_config(None)
    assert (config.activation_profit, config.trail_distance) == (0.015, 0.005)
    assert config.breakeven is None and config.steps == () and config.momentum is None


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"trail_distanse": 0.01}, "smart_trailing.trail_distanse: unknown key. Did you mean 'trail_distance'?"),
        ({"trail_distance": 0}, "smart_trailing.trail_distance = 0: allowed: > 0 and < 1"),
        ({"trail_distance": -0.01}, "smart_trailing.trail_distance = -0.01: allowed: > 0 and < 1"),
        ({"activation_profit": 1.0}, "smart_trailing.activation_profit = 1.0: allowed: > 0 and < 1"),
        ({"breakeven": {"trigger_profit": 0.01, "ofset": 0.0}}, "breakeven.ofset: unknown key. Did you mean 'offset'?"),
        ({"breakeven": {"trigger_profit": 0.005, "offset": 0.006}}, "offset 0.006 must be below trigger_profit 0.005"),
        ({"breakeven": {"trigger_profit": 0.02}}, "trigger_profit 0.02 must be below activation_profit 0.015"),
        ({"steps": [{"profit": 0.03, "trail_distance": 0.004}, {"profit": 0.02, "trail_distance": 0.003}]},
         "steps[1].profit 0.02 must be greater than the previous step's profit 0.03"),
        ({"steps": [{"profit": 0.03, "trail_distance": 0.004}, {"profit": 0.03, "trail_distance": 0.003}]},
         "steps[1].profit 0.03 must be greater"),
        ({"steps": [{"profit": 0.03, "trail_distance": 0.009}]}, "steps[0].trail_distance 0.009 must not exceed 0.005"),
        ({"steps": [{"profit": 0.03}]}, "smart_trailing.steps[0].trail_distance: required key is missing"),
        ({"momentum": {"atr_multiplier": 2, "min_distance": 0.02, "max_distance": 0.01}},
         "min_distance 0.02 must not exceed max_distance 0.01"),
        ({"momentum": {"min_distance": 0.01, "max_distance": 0.02}}, "set atr_multiplier and/or roc_threshold"),
        ({"momentum": {"atr_multiplier": 2, "atr_period": 1, "min_distance": 0.01, "max_distance": 0.02}},
         "smart_trailing.momentum.atr_period = 1: allowed: >= 2 and <= 500"),
        ({"time_activation": {"after_minutes": "soon"}},
         'smart_trailing.time_activation.after_minutes = "soon": allowed: a number > 0 and <= 525600, not a string'),
        # strict types: nothing is coerced
        ({"activation_profit": "0.01"}, 'smart_trailing.activation_profit = "0.01": allowed: a number > 0 and < 1, not a string'),
        ({"trail_distance": True}, "smart_trailing.trail_distance = true: allowed: a number > 0 and < 1, not a boolean"),
        ({"notify": "yes"}, 'smart_trailing.notify = "yes": allowed: true or false, not a string'),
        ({"notify": 1}, "smart_trailing.notify = 1: allowed: true or false, not an integer"),
        ({"notify": None}, "smart_trailing.notify = null: allowed: true or false, not null"),
        ({"exchange": {"retry_attempts": True}},
         "smart_trailing.exchange.retry_attempts = true: allowed: an integer >= 1 and <= 20, not a boolean"),
        ({"exchange": {"retry_attempts": 2.5}}, "smart_trailing.exchange.retry_attempts = 2.5: allowed: an integer"),
        ({"exchange": {"hold_while_tightening": "false"}},
         'smart_trailing.exchange.hold_while_tightening = "false": allowed: true or false, not a string'),
        ({"exchange": {"min_update_interval_s": None}},
         "smart_trailing.exchange.min_update_interval_s = null: allowed: a number >= 0 and <= 86400, not null"),
        ({"steps": [{"profit": "x", "trail_distance": 0.001}]},
         'smart_trailing.steps[0].profit = "x": allowed: a number > 0 and < 1, not a string'),
        ({"momentum": {"atr_multiplier": "2", "min_distance": 0.01, "max_distance": 0.02}},
         'smart_trailing.momentum.atr_multiplier = "2": allowed: a number > 0 and <= 50, or null, not a string'),
        ({"trail_distance": float("nan")}, "smart_trailing.trail_distance = NaN: allowed: > 0 and < 1"),
        ({"exchange": {"retry_budget_s": float("inf")}}, "smart_trailing.exchange.retry_budget_s = Infinity: allowed: > 0 and <= 120"),
        # wrong shapes are named, in the same words
        ({"steps": "tight"}, 'smart_trailing.steps = "tight": allowed: a list of objects with keys profit, trail_distance, not a string'),
        ({"steps": {"profit": 0.03}}, "smart_trailing.steps = {\"profit\": 0.03}: allowed: a list of objects"),
        ({"steps": [3]}, "smart_trailing.steps[0] = 3: allowed: an object with keys profit, trail_distance, not an integer"),
        ({"breakeven": 0.01}, "smart_trailing.breakeven = 0.01: allowed: an object with keys trigger_profit, offset, or null (off)"),
        ({"exchange": []}, "smart_trailing.exchange = []: allowed: an object with keys min_update_interval_s"),
        ({"breakeven": {}}, "smart_trailing.breakeven.trigger_profit: required key is missing; allowed: a number > 0 and < 1"),
    ],
)
def test_invalid_settings_are_named(settings, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(settings)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    "settings, check",
    [
        ({"steps": None}, lambda c: c.steps == ()),  # null: no steps
        ({"exchange": None}, lambda c: c.exchange == parse_config({}).exchange),  # null: the defaults
        ({"breakeven": None, "time_activation": None, "momentum": None},
         lambda c: (c.breakeven, c.time_activation, c.momentum) == (None, None, None)),  # null: off
        ({"time_activation": {"after_minutes": 1}}, lambda c: c.time_activation.after_minutes == 1.0),  # int for a number
        ({"exchange": {"min_update_interval_s": 0, "retry_attempts": 1}},
         lambda c: (c.exchange.min_update_interval_s, c.exchange.retry_attempts) == (0.0, 1)),
        ({"notify": False}, lambda c: c.notify is False),
    ],
)
def test_null_and_integer_values_that_are_accepted(settings, check):
    assert check(parse_config(settings))


def test_a_flood_of_bad_steps_gives_a_short_message():
    with pytest.raises(ConfigError) as caught:
        parse_config({"steps": [{"profit": "x"}] * 20_000})
    message = str(caught.value)
    assert len(message) < 2_000 and message.endswith("and 39,990 more problems")
    assert 'smart_trailing.steps[0].profit = "x": allowed: a number > 0 and < 1, not a string' in message


def test_a_long_value_is_shortened_in_the_message():
    with pytest.raises(ConfigError) as caught:
        parse_config({"steps": "x" * 100_000})
    assert len(str(caught.value)) < 300 and "(100,002 characters)" in str(caught.value)


@pytest.mark.parametrize("section", [[{"trail_distance": 0.01}], "trail_distance=0.01", [], 0.01, True])
def test_a_section_that_is_not_an_object_is_refused_by_name(section):
    expected = f"smart_trailing = {json.dumps(section)}: allowed: an object of settings, or null"
    for layers in ((section, None), ({}, section), (section, {"trail_distance": 0.01})):
        with pytest.raises(ConfigError) as caught:
            merge_settings(*layers)  # the mixin's call: (strategy attribute, config.json section)
        assert expected in str(caught.value)
    with pytest.raises(ConfigError, match="allowed: an object of settings"):
        parse_config(section)


def test_null_layers_are_skipped():
    assert merge_settings(None, {"notify": False}, None) == {"notify": False}


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        parse_config({"trail_distance": 2, "activation_profit": -1})
    assert "trail_distance" in str(caught.value) and "activation_profit" in str(caught.value)


def test_config_layer_wins_key_by_key_and_replaces_blocks():
    merged = merge_settings(
        {"trail_distance": 0.004, "breakeven": {"trigger_profit": 0.01, "offset": 0.003}},
        {"activation_profit": 0.02, "breakeven": {"trigger_profit": 0.005}},
    )
    config = parse_config(merged)
    assert config.trail_distance == 0.004 and config.activation_profit == 0.02
    assert config.breakeven.trigger_profit == 0.005 and config.breakeven.offset == 0.002


@pytest.mark.parametrize("name", ["user_data/config.json", "ts_plugin/data/config_demo.json"])
def test_shipped_configs_are_valid(name):
    import json
    from pathlib import Path

    section = json.loads((Path(__file__).parents[1] / name).read_text())["smart_trailing"]
    assert parse_config(section).activation_profit > 0
