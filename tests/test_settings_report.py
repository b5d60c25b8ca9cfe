"""Issue 7.4: at start-up one INFO line lists every setting in force and where it came from, and no
log line contradicts it (freqtrade's own "Strategy Parameter" lines included)."""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

from freqtrade.enums import RunMode

from tests.freqtrade_helpers import AuditStrategy, make_strategy, strategy_config
from ts_plugin.core.config import parse_config
from ts_plugin.strategy.settings_report import (
    PARAM_SETTINGS, Override, format_line, format_message, settings_in_force,
)

LINE = re.compile(r"smart_trailing settings in force: (.*)")
PARAMETER = re.compile(r"Strategy Parameter(?:\(default\))?: (ts_\w+) = ([0-9.]+)")


def settings_line(text: str) -> dict[str, tuple[str, str]]:
    """The settings line of a log: dotted key -> (value, source). Exactly one line is expected."""
    (found,) = LINE.findall(text)
    return {key: (value, source) for key, value, source in
            re.findall(r"([\w.]+)=(.*?) \[([^\]]*)\](?:, |$)", found)}


def contradictions(text: str) -> list[str]:
    """freqtrade's "Strategy Parameter" lines whose value is not the setting in force."""
    line = settings_line(text)
    wrong = []
    for name, value in PARAMETER.findall(text):
        shown = line[PARAM_SETTINGS[name]][0]
        if not shown.startswith("optimised") and float(shown) != float(value):
            wrong.append(f"{name} = {value} but {PARAM_SETTINGS[name]}={shown}")
    return wrong


def test_each_setting_names_its_layer():
    class_layer = {"activation_profit": 0.02, "trail_distance": 0.008,
                   "breakeven": {"trigger_profit": 0.01, "offset": 0.003}}
    config_layer = {"trail_distance": 0.006, "breakeven": {"trigger_profit": 0.009}, "momentum": None}
    config = parse_config({**class_layer, **config_layer})
    line = format_line(settings_in_force(config, class_layer, config_layer))
    parsed = settings_line(line)
    assert parsed["activation_profit"] == ("0.02", "strategy")
    assert parsed["trail_distance"] == ("0.006", "config.json")  # the class's 0.008 is not in force
    assert parsed["breakeven.trigger_profit"] == ("0.009", "config.json")
    assert parsed["breakeven.offset"] == ("0.002", "default")  # the block is replaced whole
    assert parsed["momentum"] == ("off", "config.json") and parsed["time_activation"] == ("off", "default")
    assert parsed["steps"] == ("none", "default") and parsed["notify"] == ("true", "default")
    assert "exchange.min_improvement" not in parsed  # only with stoploss_on_exchange


def test_hyperopt_values_name_their_origin_and_sampled_ones_their_range():
    config = parse_config({"trail_distance": 0.011})
    settings = settings_in_force(config, {}, {"trail_distance": 0.006},
                                 {"trail_distance": Override("params file"),
                                  "activation_profit": Override("hyperopt", "0.010-0.050")},
                                 exchange_in_use=True)
    parsed = settings_line(format_line(settings))
    assert parsed["trail_distance"] == ("0.011", "params file")
    assert parsed["activation_profit"] == ("optimised 0.010-0.050", "hyperopt")
    assert parsed["exchange.min_improvement"] == ("0.001", "default")
    message = format_message(settings)
    assert "*Trailing distance:* `1.1%` (params file)" in message
    assert "*Activation:* `optimised 0.010-0.050` (hyperopt)" in message


def test_the_strategy_logs_what_is_in_force_after_freqtrade_loaded_its_parameters(caplog):
    """The user's case: 0.008 in the class, 0.006 in config.json; freqtrade must not print 0.005."""

    class Mine(AuditStrategy):
        smart_trailing = {"activation_profit": 0.015, "trail_distance": 0.008}

    strategy = Mine(strategy_config(RunMode.BACKTEST, trail_distance=0.006))
    with caplog.at_level(logging.INFO):
        strategy.ft_bot_start()
    parsed = settings_line(caplog.text)
    assert parsed["trail_distance"] == ("0.006", "config.json")
    assert parsed["activation_profit"] == ("0.015", "strategy")
    assert "Strategy Parameter(default): ts_trail_distance = 0.006" in caplog.text
    assert not contradictions(caplog.text)


def test_values_from_smart_trailing_params_are_reported_as_such(caplog):
    class Tuned(AuditStrategy):
        smart_trailing_params = {"ts_trail_distance": 0.011}

    strategy = Tuned(strategy_config(RunMode.BACKTEST))
    with caplog.at_level(logging.INFO):
        strategy.ft_bot_start()
    assert settings_line(caplog.text)["trail_distance"] == ("0.011", "smart_trailing_params")
    assert strategy._ts_config().trail_distance == 0.011
    assert "Strategy Parameter: ts_trail_distance = 0.011" in caplog.text
    assert not contradictions(caplog.text)


def test_hyperopt_sampling_reports_the_ranges_not_a_value(caplog):
    config = strategy_config(RunMode.HYPEROPT)
    config["spaces"] = ["smart_trailing"]
    strategy = AuditStrategy(config)
    with caplog.at_level(logging.INFO):
        strategy.ft_bot_start()
    parsed = settings_line(caplog.text)
    assert parsed["activation_profit"][0].startswith("optimised 0.010-") and parsed["activation_profit"][1] == "hyperopt"
    assert parsed["trail_distance"] == ("optimised 0.002-0.030", "hyperopt")


def test_a_dry_run_bot_sends_the_settings_once_at_start_up(db):
    strategy = make_strategy(runmode=RunMode.DRY_RUN, trail_distance=0.006)
    sent = []
    strategy.dp = SimpleNamespace(send_msg=lambda text, always_send=False: sent.append(text), _exchange=None)
    strategy.ft_bot_start()
    (message,) = sent
    assert message.startswith("\N{SHIELD} *Smart trailing:* settings in force")
    assert "*Trailing distance:* `0.6%` (config.json)" in message
    assert "*Activation:* `+1.5%` (strategy)" in message


def test_a_backtest_sends_nothing(caplog):
    strategy = make_strategy(runmode=RunMode.BACKTEST)
    strategy.dp = SimpleNamespace(send_msg=lambda *a, **k: (_ for _ in ()).throw(AssertionError("sent")),
                                  _exchange=None)
    with caplog.at_level(logging.INFO):
        strategy.ft_bot_start()
    assert "smart_trailing settings in force" in caplog.text
