"""Hyperopt ranges fitted to the settings (issue 6, C.9): every combination hyperopt can sample is valid,
so every epoch is scored with the values hyperopt prints."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from freqtrade.exceptions import OperationalException
from hypothesis import given, settings, strategies as st

from tests.conftest import ROOT
from ts_plugin.core.config import ConfigError, merge_settings, parse_config
from ts_plugin.strategy.hyperopt_space import (
    ACTIVATION, DISTANCE, NAMES, SHIPPED, SPACE, TRIGGER, Outer, corners, fit_parameters, fit_ranges,
)

CONFIGS = [ROOT / "user_data/config.json", ROOT / "ts_plugin/data/config_demo.json"]
SAMPLE_SETTINGS = {  # SmartTrailingSample.smart_trailing (the strategy layer under config.json's section)
    "activation_profit": 0.015,
    "trail_distance": 0.005,
    "breakeven": {"trigger_profit": 0.008, "offset": 0.002},
}


def shipped_settings(path) -> dict:
    return merge_settings(SAMPLE_SETTINGS, json.loads(path.read_text())["smart_trailing"])


def mixin_apply(settings: dict, values: dict) -> dict:
    """What SmartTrailingMixin._ts_apply_params does with a sample: replace keys in the merged settings."""
    settings = dict(settings)
    for name, value in values.items():
        if name == TRIGGER:
            settings["breakeven"] = {**settings["breakeven"], "trigger_profit": float(value)}
        else:
            settings["activation_profit" if name == ACTIVATION else "trail_distance"] = float(value)
    return settings


def grid_values(fit, rng: random.Random, count: int) -> list[float]:
    steps = round((fit.high - fit.low) * 10**fit.decimals)
    return [round(fit.low + rng.randint(0, steps) / 10**fit.decimals, fit.decimals) for _ in range(count)]


def assert_every_sample_valid(settings: dict, fitted: dict, seed: int = 0, interior: int = 40) -> None:
    for combo in corners(fitted):
        parse_config(mixin_apply(settings, combo))
    rng = random.Random(seed)
    in_play = [f for f in fitted.values() if f.applicable]
    columns = [grid_values(f, rng, interior) for f in in_play]
    for row in zip(*columns):
        parse_config(mixin_apply(settings, {f.name: v for f, v in zip(in_play, row)}))


# ----- the pure range fitting ---------------------------------------------------------------------


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_keep_the_distance_at_or_above_the_first_step(path):
    settings = shipped_settings(path)
    fitted = fit_ranges(parse_config(settings))
    # The audit's case: 0.002-0.004 is below steps[0].trail_distance 0.005 and used to run the base settings.
    assert (fitted[DISTANCE].low, fitted[DISTANCE].high) == (0.005, 0.030)
    assert (fitted[ACTIVATION].low, fitted[ACTIVATION].high) == (0.010, 0.050)
    assert (fitted[TRIGGER].low, fitted[TRIGGER].high) == (0.003, 0.009)
    assert all(f.optimize for f in fitted.values())
    assert_every_sample_valid(settings, fitted, interior=200)
    with pytest.raises(ConfigError):  # the old range's bottom really is invalid here
        parse_config(mixin_apply(settings, {DISTANCE: 0.004}))


def test_sample_strategy_alone_keeps_the_shipped_ranges():
    fitted = fit_ranges(parse_config(SAMPLE_SETTINGS))
    assert [(f.low, f.high) for f in fitted.values()] == [(o.low, o.high) for o in SHIPPED.values()]


def test_ranges_follow_the_settings_and_say_why():
    fitted = fit_ranges(parse_config({
        "activation_profit": 0.02, "trail_distance": 0.012,
        "breakeven": {"trigger_profit": 0.01, "offset": 0.005},
        "steps": [{"profit": 0.03, "trail_distance": 0.0105}, {"profit": 0.05, "trail_distance": 0.004}],
    }))
    assert (fitted[DISTANCE].low, fitted[DISTANCE].high) == (0.011, 0.030)
    assert (fitted[TRIGGER].low, fitted[TRIGGER].high) == (0.006, 0.009)
    assert "steps[0].trail_distance 0.0105" in fitted[DISTANCE].describe()
    assert "breakeven.offset 0.005" in fitted[TRIGGER].describe()


def test_a_parameter_with_no_valid_value_is_fixed_at_the_setting_with_the_reason():
    fitted = fit_ranges(parse_config({
        "activation_profit": 0.06, "trail_distance": 0.05,
        "breakeven": {"trigger_profit": 0.055, "offset": 0.05},
        "steps": [{"profit": 0.08, "trail_distance": 0.04}],
    }))
    for name, value in ((ACTIVATION, 0.06), (DISTANCE, 0.05), (TRIGGER, 0.055)):
        fit = fitted[name]
        assert not fit.optimize and fit.low == fit.high == fit.default == value
        assert "not optimised, fixed at" in fit.describe()
    assert "steps[0].trail_distance 0.04 is above 0.030" in fitted[DISTANCE].note
    assert "breakeven.offset 0.05 leaves nothing in 0.003-0.009" in fitted[TRIGGER].note


def test_no_breakeven_block_means_no_trigger_parameter():
    fitted = fit_ranges(parse_config({"activation_profit": 0.02}))
    assert not fitted[TRIGGER].applicable
    assert fitted[TRIGGER].describe().endswith("not used: no breakeven block configured")


def test_overlapping_outer_ranges_keep_the_trigger_below_every_activation():
    outer = {ACTIVATION: Outer(0.005, 0.050), DISTANCE: Outer(0.002, 0.030), TRIGGER: Outer(0.003, 0.020)}
    settings = {"activation_profit": 0.015, "breakeven": {"trigger_profit": 0.008, "offset": 0.002}}
    fitted = fit_ranges(parse_config(settings), outer)
    assert fitted[TRIGGER].high < fitted[ACTIVATION].low
    assert_every_sample_valid(settings, fitted)


# Adversarial settings: any valid smart_trailing section, with values on and off the 3-decimal grid.
ratio = st.floats(min_value=0.0001, max_value=0.2, allow_nan=False).map(lambda x: round(x, 5))


@st.composite
def valid_settings(draw) -> dict:
    settings = {"activation_profit": draw(ratio), "trail_distance": draw(ratio)}
    if draw(st.booleans()):
        trigger = draw(st.floats(min_value=0.00002, max_value=settings["activation_profit"] * 0.999))
        offset = draw(st.floats(min_value=0.0, max_value=trigger * 0.999))
        settings["breakeven"] = {"trigger_profit": round(trigger, 6), "offset": round(offset, 6)}
    distance, profit = settings["trail_distance"], 0.0
    for _ in range(draw(st.integers(0, 3))):
        profit = round(profit + draw(st.floats(min_value=0.001, max_value=0.1)), 5)
        distance = round(distance * draw(st.floats(min_value=0.3, max_value=1.0)), 6)
        if not 0 < profit < 1 or distance <= 0:
            break
        settings.setdefault("steps", []).append({"profit": profit, "trail_distance": distance})
    return settings


@st.composite
def outer_bounds(draw) -> dict:
    bounds = {}
    for name in NAMES:
        decimals = draw(st.sampled_from([2, 3, 4]))
        low = draw(st.integers(1, 6 * 10 ** (decimals - 2)))
        high = low + draw(st.integers(0, 6 * 10 ** (decimals - 2)))
        bounds[name] = Outer(low / 10**decimals, high / 10**decimals, decimals, draw(st.sampled_from([True, True, True, False])))
    return bounds


@settings(max_examples=300, deadline=None)
@given(valid_settings(), st.integers(0, 2**16))
def test_any_valid_settings_give_ranges_in_which_every_sample_is_valid(raw, seed):
    try:
        config = parse_config(raw)
    except ConfigError:
        return  # rounding made the drawn settings invalid; only valid settings reach hyperopt
    fitted = fit_ranges(config)
    for name, fit in fitted.items():
        if fit.applicable and fit.optimize:
            assert SHIPPED[name].low <= fit.low <= fit.high <= SHIPPED[name].high
            assert fit.low <= fit.default <= fit.high
    assert_every_sample_valid(raw, fitted, seed)


@settings(max_examples=200, deadline=None)
@given(valid_settings(), outer_bounds(), st.integers(0, 2**16))
def test_any_outer_bounds_give_ranges_in_which_every_sample_is_valid(raw, outer, seed):
    try:
        config = parse_config(raw)
    except ConfigError:
        return
    fitted = fit_ranges(config, outer)
    for name, fit in fitted.items():
        if fit.applicable and fit.optimize:
            assert outer[name].low <= fit.low <= fit.high <= outer[name].high
    assert_every_sample_valid(raw, fitted, seed)


# ----- freqtrade's parameter mechanism, in process ------------------------------------------------


def _strategy(runmode, spaces=None, params=None, settings=None):
    from freqtrade.enums import RunMode
    from freqtrade.strategy import IStrategy

    from tests.freqtrade_helpers import AuditStrategy, strategy_config

    class Fitted(AuditStrategy):
        smart_trailing = settings or {
            "activation_profit": 0.015, "trail_distance": 0.006,
            "breakeven": {"trigger_profit": 0.008, "offset": 0.002},
            "steps": [{"profit": 0.03, "trail_distance": 0.005}],
        }
        if params is not None:
            smart_trailing_params = params

        def __init__(self, config):
            super().__init__(config)  # the mixin fits the parameters
            self.lines = fit_parameters(self, parse_config(merge_settings(self.smart_trailing)))

    assert issubclass(Fitted, IStrategy)
    config = strategy_config(RunMode(runmode))
    if spaces is not None:
        config["spaces"] = spaces
    return Fitted(config)


def test_instance_parameters_are_what_hyperopt_samples():
    from freqtrade.optimize.hyperopt.hyperopt_auto import HyperOptAuto
    from freqtrade.optimize.space import SKDecimal

    from ts_plugin import SmartTrailingMixin

    strategy = _strategy("hyperopt", spaces=[SPACE])
    strategy.ft_load_hyper_params(hyperopt=True)  # what ft_bot_start does after bot_start
    auto = HyperOptAuto({**strategy.config, "timeframe": strategy.timeframe})
    auto.strategy = strategy
    space = {d.name: d for d in auto.get_indicator_space(SPACE)}
    assert all(isinstance(d, SKDecimal) for d in space.values())
    assert {n: (d.low, d.high) for n, d in space.items()} == {
        ACTIVATION: (0.010, 0.050), DISTANCE: (0.005, 0.030), TRIGGER: (0.003, 0.009)}
    assert all(p is getattr(strategy, n) and p.in_space for n, p in strategy.enumerate_parameters(SPACE))
    assert SmartTrailingMixin.ts_trail_distance.low == 0.002  # the class attribute is left alone
    assert any("ts_trail_distance 0.005-0.030" in line for line in strategy.lines)


def test_an_empty_range_is_not_sampled_and_reports_the_setting():
    settings = {"activation_profit": 0.015, "trail_distance": 0.05,
                "steps": [{"profit": 0.03, "trail_distance": 0.04}]}
    strategy = _strategy("hyperopt", spaces=[SPACE], settings=settings)
    strategy.ft_load_hyper_params(hyperopt=True)
    params = dict(strategy.enumerate_parameters(SPACE))
    assert set(params) == {ACTIVATION, DISTANCE}  # no breakeven block: no trigger parameter at all
    assert not params[DISTANCE].optimize and params[DISTANCE].value == 0.05
    assert strategy.get_no_optimize_params() == {SPACE: {DISTANCE: 0.05}}  # what hyperopt prints


def test_params_file_values_that_break_the_settings_refuse_start_up():
    with pytest.raises(OperationalException, match=r"ts_trail_distance = 0.003 \(fitted range 0.005-0.03\)"):
        _strategy("backtest", params={DISTANCE: 0.003})


def test_params_file_values_that_are_not_numbers_refuse_start_up():
    with pytest.raises(OperationalException, match=r"smart_trailing.ts_activation_profit = '0.02'.*a finite number"):
        _strategy("backtest", params={ACTIVATION: "0.02"})


def test_params_file_values_that_break_the_settings_refuse_a_hyperopt_of_other_spaces():
    with pytest.raises(OperationalException, match="ts_trail_distance = 0.003"):
        _strategy("hyperopt", spaces=["buy"], params={DISTANCE: 0.003})


def test_sampled_parameters_ignore_params_file_values_the_samples_replace():
    strategy = _strategy("hyperopt", spaces=["default"], params={DISTANCE: 0.003})
    assert (strategy.ts_trail_distance.low, strategy.ts_trail_distance.optimize) == (0.005, True)


def test_valid_params_file_values_outside_the_range_are_used_and_reported():
    strategy = _strategy("backtest", params={ACTIVATION: 0.06, DISTANCE: 0.0055})
    strategy.ft_load_hyper_params(hyperopt=False)
    assert strategy.ts_activation_profit.value == 0.06 and strategy.ts_trail_distance.value == 0.0055
    assert any("ts_activation_profit = 0.06 from the params file lies outside" in line
               for line in strategy.lines)


def test_not_sampled_parameters_hold_the_settings_exactly():
    settings = {"activation_profit": 0.0155, "trail_distance": 0.0065}
    strategy = _strategy("backtest", settings=settings)
    strategy.ft_load_hyper_params(hyperopt=False)
    assert strategy.ts_activation_profit.value == 0.0155  # printed / exported = what runs
    assert strategy.ts_trail_distance.value == 0.0065


# ----- a real hyperopt run ------------------------------------------------------------------------

FITTED_STRATEGY = '''

import logging as _logging
from ts_plugin.core.config import merge_settings as _merge, parse_config as _parse
from ts_plugin.strategy.hyperopt_space import fit_parameters as _fit


class FittedSample(SmartTrailingSample):
    """The sample with its hyperopt ranges fitted to the settings (what the mixin will do itself)."""

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        settings = _merge(self.smart_trailing, config.get("smart_trailing"))
        for line in _fit(self, _parse(settings)):
            _logging.getLogger("ts_plugin").info(line)
'''




@pytest.mark.slow
# -j 2: hyperopt's workers receive the strategy pickled; freqtrade registers every base class's module
# up to IStrategy for pickling by value, which failed while the mixin derived from object.
@pytest.mark.parametrize("jobs", [1, 2])
def test_every_hyperopt_epoch_runs_the_values_it_reports(synthetic_datadir, exchange_overrides, tmp_path, jobs):
    from ts_plugin.tools.demo import DEFAULT_CONFIG, pairs_in

    strategy_dir = tmp_path / "strategies"
    strategy_dir.mkdir()
    source = (ROOT / "ts_plugin/data/strategies/smart_trailing_sample.py").read_text()
    (strategy_dir / "fitted_sample.py").write_text(source + FITTED_STRATEGY)
    config = json.loads(DEFAULT_CONFIG.read_text())  # config_demo.json: steps from 0.005
    config["exchange"].update(exchange_overrides)
    config["exchange"]["pair_whitelist"] = list(pairs_in(synthetic_datadir))
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    (tmp_path / "hyperopt_results").mkdir()
    command = [sys.executable, "-m", "freqtrade", "hyperopt", "--config", str(config_file),
               "--strategy", "FittedSample", "--strategy-path", str(strategy_dir),
               "--datadir", str(synthetic_datadir), "--userdir", str(tmp_path),
               "--spaces", SPACE, "--hyperopt-loss", "SharpeHyperOptLoss",
               "-e", "8", "-j", str(jobs), "--timerange", "20251125-", "--random-state", "3"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "ts_trail_distance 0.005-0.030" in output  # the ranges in force, logged at start-up
    # No epoch fell back to the base settings. With the shipped class ranges this seed samples
    # ts_trail_distance 0.003 in epoch 3 and the mixin logs "parameters ignored".
    assert "parameters ignored" not in output

    settings_ = shipped_settings(DEFAULT_CONFIG)
    fitted = fit_ranges(parse_config(settings_))
    (results_file,) = (tmp_path / "hyperopt_results").glob("*.fthypt")
    epochs = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
    assert len(epochs) == 8
    for epoch in epochs:
        sampled = epoch["params_dict"]
        assert set(sampled) == set(NAMES)
        for name, value in sampled.items():
            assert fitted[name].low <= round(value, 3) <= fitted[name].high, (name, value)
        parse_config(mixin_apply(settings_, {n: round(v, 3) for n, v in sampled.items()}))
        assert epoch["results_metrics"]["total_trades"] > 0
    # The best values exported next to the strategy are inside the fitted ranges too.
    exported = json.loads((strategy_dir / "fitted_sample.json").read_text())["params"][SPACE]
    assert all(fitted[n].low <= v <= fitted[n].high for n, v in exported.items())

