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


def _traded(name: str, leverage: float, *, short: bool = False, trades: int = 3):
    """A row whose trades all had this leverage and direction."""
    found = [{**_trade("trailing_stop_loss", 0.01, opened=i), "leverage": leverage, "is_short": short}
             for i in range(trades)]
    return row(name, name, {"trades": found, "profit_total": 0.01 * len(name)})


def _activation_cause(leverage: float, short: bool = False) -> str:
    rows = [_traded("plugin-builtin", leverage, short=short), _traded("yours", leverage, short=short)]
    settings = {"activation_basis": "price", "activation_profit": 0.015, "trail_distance": 0.005}
    return next(d for d in differences(rows, settings, 0.0005, None, leverage) if d.after == "yours").cause


@pytest.mark.parametrize("short", [False, True], ids=["long", "short"])
def test_on_spot_the_price_basis_arms_before_the_builtins_profit_after_fees(short):
    cause = _activation_cause(1.0, short)
    assert ("entry x (1 - 0.015)" if short else "entry x (1 + 0.015)") in cause
    assert "a move of about 1.60 %" in cause  # 1.5 % plus the round trip's 0.10 %
    assert "yours trails earlier" in cause and "leverage" not in cause


@pytest.mark.parametrize("short", [False, True], ids=["long", "short"])
def test_at_leverage_3_the_builtin_arms_at_a_third_of_the_move_so_yours_trails_later(short):
    cause = _activation_cause(3.0, short)
    assert ("entry x (1 - 0.015)" if short else "entry x (1 + 0.015)") in cause
    assert "at leverage 3" in cause and "0.015 / 3 + the round trip's fees (0.10 %) = 0.60 %" in cause
    assert "yours trails later" in cause and "earlier" not in cause
    assert "trailing_stop_positive / 3 on price" in cause  # the built-in semantics mapped at leverage 3


def test_a_row_with_longs_and_shorts_names_both_levels_and_its_median_leverage():
    trades = [{**_trade("trailing_stop_loss", 0.01, opened=i), "leverage": lev, "is_short": i % 2 == 1}
              for i, lev in enumerate((2.0, 3.0, 3.0))]
    found = row("yours", "t", {"trades": trades})
    assert (found.leverage, found.short_trades) == (3.0, 1)
    rows = [row("plugin-builtin", "t", {"trades": trades}), found]
    cause = differences(rows, {"activation_basis": "price", "activation_profit": 0.015}, 0.0005, None)[0].cause
    assert "entry x (1 + 0.015) for a long, x (1 - 0.015) for a short" in cause and "at leverage 3" in cause
    assert "Distance" not in cause  # mapped at leverage 1: the leverages differ


def test_the_builtin_mapping_follows_a_constant_leverage_of_the_trades():
    found = {variant.name: variant for variant in v.build(parse_config(ALL_RULES))}
    assert found["off"].mapped_from is None and found["yours"].mapped_from is None
    for name in ("plugin-builtin", "+breakeven", "+steps"):
        at_3 = v.at_leverage(found[name], 3.0)
        assert at_3.settings["trail_distance"] == pytest.approx(0.005 / 3)
        assert "at leverage 3" in at_3.title
        assert {k: val for k, val in at_3.settings.items() if k != "trail_distance"} == \
            {k: val for k, val in found[name].settings.items() if k != "trail_distance"}
        assert v.at_leverage(found[name], 1.0) is found[name]
    assert v.at_leverage(found["yours"], 3.0) is found["yours"]


def test_the_leverage_of_the_trades_decides_the_mapping():
    from ts_plugin.tools.compare.leverage import constant, differing_note, trade_leverages

    assert trade_leverages({"trades": [{"leverage": 3.0}, {"leverage": 3}, {}]}) == {3.0, 1.0}
    assert constant({3.0}) == 3.0 and constant(set()) is None and constant({2.0, 3.0}) is None
    assert "leverages 2, 3" in differing_note({3.0, 2.0})


class _FakeSession:
    """Stands in for freqtrade's Backtesting (a unit seam): each run's trades have the leverage the
    strategy's callback would give, by variant name; it records the settings each variant ran with."""

    def __init__(self, leverages: dict[str, list[float]]) -> None:
        self.leverages, self.ran = leverages, []

    def run(self, variant, index, total, paths):
        self.ran.append((variant.name, (variant.settings or {}).get("trail_distance")))
        trades = [{**_trade("trailing_stop_loss", 0.01, opened=i), "leverage": lev}
                  for i, lev in enumerate(self.leverages[variant.name])]
        stats = {"trades": trades, "profit_total": 0.0}
        return row(variant.name, variant.title, stats), stats


def _run(leverages: dict[str, list[float]], names: list[str]):
    from ts_plugin.tools.compare.comparison import run_variants

    session, said = _FakeSession(leverages), []
    chosen = [variant for variant in v.build(parse_config(ALL_RULES)) if variant.name in names]
    rows, _, _, mapping = run_variants(session, chosen, (), said.append)
    return session.ran, rows, mapping, said


def test_plugin_builtin_is_mapped_at_the_one_leverage_the_earlier_rows_traded_at():
    ran, rows, mapping, said = _run({"off": [3.0, 3.0], "builtin": [3.0], "plugin-builtin": [3.0],
                                     "+breakeven": [3.0]}, ["off", "builtin", "plugin-builtin", "+breakeven"])
    assert mapping == 3.0 and [name for name, _ in ran] == ["off", "builtin", "plugin-builtin", "+breakeven"]
    assert dict(ran)["plugin-builtin"] == pytest.approx(0.005 / 3) == dict(ran)["+breakeven"]
    assert "at leverage 3" in rows[2].title and any("every trade had leverage 3" in line for line in said)
    assert not any("NOTE" in line for line in said)


def test_plugin_builtin_alone_runs_again_at_the_leverage_its_own_trades_show():
    ran, rows, mapping, _ = _run({"plugin-builtin": [3.0]}, ["plugin-builtin"])
    assert ran == [("plugin-builtin", 0.005), ("plugin-builtin", pytest.approx(0.005 / 3))] and len(rows) == 1
    ran, rows, mapping, said = _run({"plugin-builtin": [1.0]}, ["plugin-builtin"])  # spot: one run
    assert ran == [("plugin-builtin", 0.005)] and mapping == 1.0 and said == []


def test_differing_leverages_keep_leverage_1_with_a_note_naming_them():
    ran, _, mapping, said = _run({"off": [2.0, 3.0], "plugin-builtin": [3.0]}, ["off", "plugin-builtin"])
    assert mapping == 1.0 and dict(ran)["plugin-builtin"] == 0.005
    assert any(line.startswith("NOTE: futures: the trades had leverages 2, 3") for line in said)
