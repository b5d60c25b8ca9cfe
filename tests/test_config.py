"""Configuration validation: every bad value is named with its key, value and what is allowed."""

import pytest

from ts_plugin.config import ConfigError, merge_settings, parse_config


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
        ({"time_activation": {"after_minutes": "soon"}}, "smart_trailing.time_activation.after_minutes = 'soon'"),
    ],
)
def test_invalid_settings_are_named(settings, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(settings)
    assert expected in str(caught.value)


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


@pytest.mark.parametrize("name", ["config.json", "config_demo.json"])
def test_shipped_configs_are_valid(name):
    import json
    from pathlib import Path

    section = json.loads((Path(__file__).parents[1] / "user_data" / name).read_text())["smart_trailing"]
    assert parse_config(section).activation_profit > 0
