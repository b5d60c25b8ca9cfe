"""``ts-plugin compare`` without a backtest: the variants it builds, a row from freqtrade's trades, the
explanation's choice of differences, and the refusals of bad input (one line naming the option, no
traceback)."""

from __future__ import annotations

import json

import pytest

from ts_plugin.cli import main
from ts_plugin.core.config import parse_config
from ts_plugin.tools.compare import variants as v
from ts_plugin.tools.compare.explanation import differences, explain
from ts_plugin.tools.compare.table import KINDS, format_table, give_back, row

SAMPLE_PATH = "ts_plugin/data/strategies"
ALL_RULES = {
    "activation_profit": 0.015, "trail_distance": 0.005,
    "breakeven": {"trigger_profit": 0.008, "offset": 0.002},
    "time_activation": {"after_minutes": 240, "min_profit": 0.006},
    "steps": [{"profit": 0.03, "trail_distance": 0.004}],
    "momentum": {"roc_threshold": 0.02, "min_distance": 0.003, "max_distance": 0.015},
}


def test_variants_in_table_order_with_an_ablation_row_per_configured_rule():
    names = [variant.name for variant in v.build(parse_config(ALL_RULES))]
    assert names == ["off", "builtin", "plugin-builtin", "yours", "+breakeven", "+time", "+steps", "+momentum"]
    only_breakeven = {k: ALL_RULES[k] for k in ("activation_profit", "trail_distance", "breakeven")}
    assert [variant.name for variant in v.build(parse_config(only_breakeven))][-1] == "+breakeven"
    assert len(v.build(parse_config(only_breakeven))) == 5


def test_builtin_variant_uses_the_users_numbers_and_each_plugin_variant_parses():
    found = {variant.name: variant for variant in v.build(parse_config(ALL_RULES))}
    assert found["builtin"].builtin == {"trailing_stop": True, "trailing_stop_positive": 0.005,
                                        "trailing_stop_positive_offset": 0.015,
                                        "trailing_only_offset_is_reached": True}
    assert not found["builtin"].plugin and not found["off"].plugin and not found["off"].builtin
    base = parse_config(found["plugin-builtin"].settings)
    assert base.activation_basis == "profit_after_fees"
    assert (base.breakeven, base.time_activation, base.steps, base.momentum) == (None, None, (), None)
    steps = parse_config(found["+steps"].settings)
    assert steps.steps[0].trail_distance == 0.004 and steps.breakeven is None
    assert steps.activation_basis == "profit_after_fees"
    assert found["yours"].settings is None  # the user's config as given: exactly a plain backtest of it


def test_a_strategys_leftover_builtin_numbers_drive_the_builtin_rows():
    class Leftover:  # trailing_stop is off (the mixin requires it), its numbers stayed
        trailing_stop = False
        trailing_stop_positive = 0.01
        trailing_stop_positive_offset = 0.02
        trailing_only_offset_is_reached = True

    attributes, note = v.strategy_builtin(Leftover())
    assert note is None
    found = {variant.name: variant for variant in v.build(parse_config(ALL_RULES), None, attributes)}
    assert found["builtin"].builtin["trailing_stop_positive"] == 0.01
    assert "trailing_stop_positive 0.01 / offset 0.02" in found["builtin"].title
    base = parse_config(found["plugin-builtin"].settings)
    assert (base.activation_profit, base.trail_distance) == (0.02, 0.01)
    Leftover.trailing_only_offset_is_reached = False  # no plugin equivalent: the user's numbers instead
    attributes, note = v.strategy_builtin(Leftover())
    assert attributes is None and "trailing_only_offset_is_reached is false" in note
    Leftover.trailing_stop_positive = None
    assert v.strategy_builtin(Leftover()) == (None, None)


def test_loaded_hyperopt_values_count_as_the_users_settings():
    settings = v.effective_settings(ALL_RULES, {"ts_activation_profit": 0.02, "ts_breakeven_trigger": 0.006})
    assert settings["activation_profit"] == 0.02
    assert settings["breakeven"] == {"trigger_profit": 0.006, "offset": 0.002}
    assert v.effective_settings({"trail_distance": 0.005}, {"ts_breakeven_trigger": 0.006}) == {"trail_distance": 0.005}


def _trade(reason: str, profit: float, *, opened: int = 0, minutes: int = 30, max_rate: float = 105.0,
           close_rate: float = 101.0, pair: str = "ETH/BTC") -> dict:
    return {"pair": pair, "exit_reason": reason, "profit_ratio": profit, "open_timestamp": opened,
            "close_timestamp": opened + minutes * 60_000, "open_rate": 100.0, "close_rate": close_rate,
            "max_rate": max_rate, "min_rate": 95.0, "is_short": False, "leverage": 1.0}


def test_row_counts_roi_apart_and_the_give_back_and_entry_candle_losses():
    trades = [_trade("roi", 0.05, opened=1), _trade("trailing_stop_loss", 0.01, opened=2),
              _trade("trailing_stop_loss", -0.004, opened=3, minutes=0), _trade("stop_loss", -0.05, opened=4),
              _trade("exit_signal", 0.0, opened=5), _trade("force_exit", 0.0, opened=6)]
    found = row("builtin", "t", {"trades": trades, "profit_total": 0.01, "max_drawdown_account": 0.02})
    assert found.trades == 6 and sum(found.exits.values()) == 6
    assert found.exits == {"hard_stop": 1, "breakeven_stop": 0, "trailing_stop": 2, "crossed_stop": 0,
                           "strategy_exit": 1, "roi": 1, "other": 1}
    assert found.avg_trailing_exit == pytest.approx(0.003)
    assert found.avg_give_back == pytest.approx(0.04)
    assert found.entry_candle_artefacts == 1
    # a plugin variant: the phase the plugin recorded wins over the reason
    plugin = row("yours", "t", {"trades": trades[1:2]}, {("ETH/BTC", 2): "breakeven_stop"})
    assert plugin.exits["breakeven_stop"] == 1 and plugin.exits["trailing_stop"] == 0
    assert set(KINDS) == set(found.exits)
    assert "b/even" in format_table([found, plugin])


def test_give_back_of_a_short_is_measured_from_its_low():
    trade = {**_trade("trailing_stop_loss", 0.01), "is_short": True, "min_rate": 90.0, "close_rate": 93.0,
             "leverage": 3.0}
    assert give_back(trade) == pytest.approx(0.09)


def test_explanation_names_the_largest_difference_first_with_its_cause():
    def r(name: str, profit: float, artefacts: int = 0):
        found = row(name, name, {"trades": [], "profit_total": profit})
        found.entry_candle_artefacts = artefacts
        return found

    rows = [r("off", -0.17), r("builtin", -0.11), r("plugin-builtin", -0.12, 11), r("yours", -0.23, 69),
            r("+breakeven", -0.10)]
    found = differences(rows, {"activation_basis": "price", "activation_profit": 0.015}, 0.001, None)
    assert [(d.before, d.after) for d in found][:2] == [("plugin-builtin", "yours"), ("off", "builtin")]
    assert "Activation basis" in found[0].cause and "0.20 %" in found[0].cause
    breakeven = next(d for d in found if d.after == "+breakeven")
    assert breakeven.cause.startswith("Breakeven alone")
    with_block = {"breakeven": {"trigger_profit": 0.008, "offset": 0.002}}
    cause = next(d for d in differences(rows, with_block, 0.001, None) if d.after == "+breakeven").cause
    assert "no more than the round trip's fees (0.20 %)" in cause
    cause = next(d for d in differences(rows, with_block, 0.0005, None) if d.after == "+breakeven").cause
    assert "Fees" not in cause
    lines = explain(rows, {"activation_basis": "price"}, 0.001, None)
    assert any("--timeframe-detail 1m" in line for line in lines)
    assert not any("Up to" in line for line in explain(rows, {}, 0.001, "1m"))


def _refused(capsys, *argv: str) -> str:
    code = main(["compare", "--strategy", "SmartTrailingSample", "--strategy-path", SAMPLE_PATH, *argv])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.err
    return captured.err


def test_bad_input_is_refused_in_one_line_naming_the_option(capsys, tmp_path, shared_datadir):
    empty = tmp_path / "empty"
    empty.mkdir()
    ud = ["--userdir", str(tmp_path / "ud")]
    assert "--datadir" in _refused(capsys, "--datadir", str(empty), *ud)
    err = _refused(capsys, "--datadir", str(shared_datadir), "--split", "2018-01-20", *ud)
    assert "--split 2018-01-20" in err and "YYYYMMDD" in err
    err = _refused(capsys, "--datadir", str(shared_datadir), "--split", "20190101", *ud)
    assert "--split 20190101" in err and "2018-01-10" in err
    err = _refused(capsys, "--datadir", str(shared_datadir), "--timerange", "20180115-20180120",
                   "--split", "20180122", *ud)
    assert "--split 20180122" in err
    assert "--pairs NOPE/BTC" in _refused(capsys, "--datadir", str(shared_datadir), "--pairs", "NOPE/BTC", *ud)
    err = _refused(capsys, "--datadir", str(shared_datadir), "--pairs", "ETH/BTC", "--timeframe-detail", "1m", *ud)
    assert "--timeframe-detail 1m: no 1m candles" in err and "ETH/BTC" in err
    err = _refused(capsys, "--datadir", str(shared_datadir), "--variants", "yours", "bogus", *ud)
    assert "--variants bogus" in err and "plugin-builtin" in err


def test_epochs_must_be_a_positive_whole_number_and_go_with_split(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--strategy", "S", "--epochs", "0"])
    assert "--epochs" in capsys.readouterr().err
    for argv, said in ((["--epochs", "5"], "--epochs 5 needs --split"),
                       (["--variants", "optimised"], "--variants optimised needs --split")):
        with pytest.raises(SystemExit):
            main(["compare", "--strategy", "S", "--strategy-path", SAMPLE_PATH, *argv])
        assert said in capsys.readouterr().err


def test_json_rows_are_plain_data():
    found = row("off", "t", {"trades": [_trade("roi", 0.05)], "profit_total": 0.05})
    assert json.loads(json.dumps(found.as_json()))["exits"]["roi"] == 1
