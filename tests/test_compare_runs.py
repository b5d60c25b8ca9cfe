"""``ts-plugin compare`` through freqtrade's real backtesting engine, offline: on the sample strategy and
on a user's own strategy written here, with and without detail candles; the ``yours``, ``off`` and
``builtin`` rows checked against plain ``freqtrade backtesting`` runs (subprocesses of freqtrade's own
command line) of the strategy as it is, and written without the mixin with and without trailing_stop."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, start_sandbox_for
from tests.plain_backtest import plain_backtesting
from ts_plugin.cli import main

pytestmark = pytest.mark.slow

DETAIL_DATA = ROOT.parent / "shared" / "data" / "binance_detail"
SAMPLE_PATH = ROOT / "ts_plugin" / "data" / "strategies"
PAIRS = ["ETH/BTC", "LTC/BTC"]
TIMERANGE = "20180115-20180125"
# The user's settings: every rule but momentum, so the ablation has three rows.
SETTINGS = {"smart_trailing": {
    "activation_profit": 0.015, "trail_distance": 0.005,
    "breakeven": {"trigger_profit": 0.008, "offset": 0.002},
    "time_activation": {"after_minutes": 240, "min_profit": 0.006},
    "steps": [{"profit": 0.03, "trail_distance": 0.004}],
}}
# A freqtrade user's own strategy: EMA cross with RSI, its own ROI, stop and exit signal, the mixin added.
USER_STRATEGY = textwrap.dedent('''
    import talib.abstract as ta
    from freqtrade.strategy import IStrategy
    from pandas import DataFrame

    from ts_plugin import SmartTrailingMixin


    class MyEmaRsi(SmartTrailingMixin, IStrategy):
        INTERFACE_VERSION = 3
        timeframe = "5m"
        stoploss = -0.05
        minimal_roi = {"0": 0.06, "120": 0.03}
        startup_candle_count = 50
        smart_trailing = {"activation_profit": 0.012, "trail_distance": 0.006,
                          "breakeven": {"trigger_profit": 0.006, "offset": 0.001}}

        def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=8)
            dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=21)
            dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
            return dataframe

        def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            up = (dataframe["ema_fast"] > dataframe["ema_slow"]) & (
                dataframe["ema_fast"].shift(1) <= dataframe["ema_slow"].shift(1))
            dataframe.loc[up & (dataframe["rsi"] < 65) & (dataframe["volume"] > 0), "enter_long"] = 1
            return dataframe

        def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe.loc[dataframe["rsi"] > 80, "exit_long"] = 1
            return dataframe
''')


def _compare(capsys, tmp_path: Path, *argv: str) -> tuple[dict, str]:
    code = main(["compare", "--userdir", str(tmp_path / "ud"), "--json", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err[-3000:]
    return json.loads(captured.out), captured.err


def _settings_file(tmp_path: Path, content: dict) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(content))
    return path


def _user_strategy(tmp_path: Path) -> Path:
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "my_ema_rsi.py").write_text(USER_STRATEGY)
    return folder


def _check_rows(report: dict, names: list[str]) -> dict:
    rows = {row["name"]: row for row in report["rows"]}
    assert list(rows) == names
    for row in rows.values():
        assert sum(row["exits"].values()) == row["trades"], row
        assert row["notes"] == []
        assert row["max_drawdown"] >= 0
    return rows


def test_sample_strategy_on_the_shared_month(capsys, tmp_path, shared_datadir):
    report, progress = _compare(
        capsys, tmp_path, "--strategy", "SmartTrailingSample", "--strategy-path", str(SAMPLE_PATH),
        "--datadir", str(shared_datadir), "--pairs", *PAIRS, "--timerange", TIMERANGE,
        "--config", str(_settings_file(tmp_path, SETTINGS)))
    assert set(report) >= {"strategy", "timerange", "timeframe_detail", "fee", "split", "settings", "rows",
                           "differences"}
    rows = _check_rows(report, ["off", "builtin", "plugin-builtin", "yours", "+breakeven", "+time", "+steps"])
    assert set(rows["yours"]) >= {"trades", "profit_total", "max_drawdown", "exits", "avg_trailing_exit",
                                  "avg_give_back", "entry_candle_artefacts"}
    assert set(rows["off"]["exits"]) == {"hard_stop", "breakeven_stop", "trailing_stop", "crossed_stop",
                                         "strategy_exit", "roi", "other"}
    assert rows["off"]["exits"]["trailing_stop"] == 0  # smart trailing off, and no built-in
    assert rows["builtin"]["exits"]["trailing_stop"] > 0
    assert rows["+breakeven"]["exits"]["breakeven_stop"] > 0 and rows["plugin-builtin"]["exits"]["breakeven_stop"] == 0
    for index, name in enumerate(rows, 1):
        assert f"[{index}/7] {name}:" in progress  # a progress line per variant
    assert report["differences"] and all(d["cause"] for d in report["differences"])


def _plain_backtest(tmp_path: Path, name: str, folder: Path, configs: list[Path], datadir: Path) -> dict:
    """freqtrade's own ``backtesting`` command (a subprocess), offline against a sandbox; its stats."""
    sandbox = start_sandbox_for(datadir)
    try:
        return plain_backtesting(sandbox, PAIRS, tmp_path, name, "MyEmaRsi", folder, configs, datadir,
                                 TIMERANGE, timeout=600)
    finally:
        sandbox.stop()


def _same(row: dict, stats: dict) -> None:
    assert row["trades"] == stats["total_trades"] > 0
    assert row["profit_total"] == pytest.approx(stats["profit_total"], rel=1e-9, abs=1e-12)
    assert row["max_drawdown"] == pytest.approx(stats["max_drawdown_account"], rel=1e-9, abs=1e-12)


def test_rows_equal_plain_freqtrade_backtesting_of_each_variant(capsys, tmp_path, shared_datadir):
    """``yours``: the user's strategy and config as they are. ``off`` and ``builtin``: the same strategy
    written without the mixin, as is and with freqtrade's trailing_stop in the config: what switching
    the plugin off and the built-in on in the comparison must amount to."""
    folder = _user_strategy(tmp_path)
    user = {"stake_currency": "BTC", "stake_amount": "unlimited", "dry_run_wallet": 1.0,
            "max_open_trades": len(PAIRS)}
    settings = _settings_file(tmp_path, user)
    report, _ = _compare(capsys, tmp_path, "--strategy", "MyEmaRsi", "--strategy-path", str(folder),
                         "--datadir", str(shared_datadir), "--pairs", *PAIRS, "--timerange", TIMERANGE,
                         "--config", str(settings))
    rows = _check_rows(report, ["off", "builtin", "plugin-builtin", "yours", "+breakeven"])
    assert rows["off"]["exits"]["roi"] + rows["off"]["exits"]["strategy_exit"] > 0  # its own ROI and exits
    _same(rows["yours"], _plain_backtest(tmp_path, "yours", folder, [settings], shared_datadir))

    without = tmp_path / "without_mixin"
    without.mkdir()
    (without / "my_ema_rsi.py").write_text(USER_STRATEGY.replace("SmartTrailingMixin, IStrategy", "IStrategy")
                                           .replace("from ts_plugin import SmartTrailingMixin", ""))
    _same(rows["off"], _plain_backtest(tmp_path, "off", without, [settings], shared_datadir))
    builtin = tmp_path / "builtin.json"  # the class's smart_trailing: activation 0.012, distance 0.006
    builtin.write_text(json.dumps({"trailing_stop": True, "trailing_stop_positive": 0.006,
                                   "trailing_stop_positive_offset": 0.012, "trailing_only_offset_is_reached": True}))
    _same(rows["builtin"], _plain_backtest(tmp_path, "builtin", without, [settings, builtin], shared_datadir))


@pytest.mark.parametrize("detail", [None, "1m"])
def test_user_strategy_with_and_without_detail_candles(capsys, tmp_path, detail):
    if not (DETAIL_DATA / "UNITTEST_BTC-1m.feather").exists():
        pytest.skip(f"real 1m detail candles not present at {DETAIL_DATA}")
    folder = _user_strategy(tmp_path)
    extra = ["--timeframe-detail", detail] if detail else []
    report, _ = _compare(capsys, tmp_path, "--strategy", "MyEmaRsi", "--strategy-path", str(folder),
                         "--datadir", str(DETAIL_DATA), "--pairs", "UNITTEST/BTC", "--timeframe", "5m", *extra)
    assert report["timeframe_detail"] == detail
    rows = _check_rows(report, ["off", "builtin", "plugin-builtin", "yours", "+breakeven"])
    assert rows["yours"]["trades"] > 0


def test_split_judges_the_optimum_after_the_date(capsys, tmp_path, shared_datadir):
    report, progress = _compare(
        capsys, tmp_path, "--strategy", "SmartTrailingSample", "--strategy-path", str(SAMPLE_PATH),
        "--datadir", str(shared_datadir), "--pairs", *PAIRS, "--split", "20180120", "--epochs", "3",
        "--variants", "yours", "optimised")
    assert report["timerange"] == "20180120-" and report["split"] == "20180120"
    rows = _check_rows(report, ["yours", "optimised"])
    assert "hyperopt's best before 20180120 (ts_" in rows["optimised"]["title"]
    assert "hyperopt of the smart_trailing space" in progress
    assert not list(SAMPLE_PATH.glob("*.json"))  # nothing exported next to the strategy


def test_text_table_with_a_line_per_variant(capsys, tmp_path, shared_datadir):
    code = main(["compare", "--userdir", str(tmp_path / "ud"), "--strategy", "SmartTrailingSample",
                 "--strategy-path", str(SAMPLE_PATH), "--datadir", str(shared_datadir), "--pairs", "ETH/BTC",
                 "--timerange", TIMERANGE, "--variants", "off", "builtin"])
    out = capsys.readouterr().out
    assert code == 0
    assert "[1/2] off:" in out and "[2/2] builtin:" in out
    assert "variant" in out and "give-back%" in out and "Largest differences" in out


def test_unknown_strategy_and_a_strategy_without_the_mixin_are_refused(capsys, tmp_path, shared_datadir):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "plain.py").write_text(USER_STRATEGY.replace("SmartTrailingMixin, IStrategy", "IStrategy")
                                     .replace("from ts_plugin import SmartTrailingMixin", ""))
    common = ["compare", "--userdir", str(tmp_path / "ud"), "--strategy-path", str(folder),
              "--datadir", str(shared_datadir), "--pairs", "ETH/BTC", "--timerange", TIMERANGE]
    assert main([*common, "--strategy", "NoSuchStrategy"]) == 2
    err = capsys.readouterr().err
    assert "--strategy NoSuchStrategy" in err and "Traceback" not in err
    assert main([*common, "--strategy", "NoSuchStrategy", "--timerange", "2018xx"]) == 2
    err = capsys.readouterr().err
    assert "--timerange 2018xx" in err and "Traceback" not in err
    assert main([*common, "--strategy", "MyEmaRsi"]) == 2
    err = capsys.readouterr().err
    assert "SmartTrailingMixin" in err and "Traceback" not in err


def test_plot_draws_the_stops_freqtrade_held_in_two_variants(capsys, tmp_path, shared_datadir):
    pytest.importorskip("plotly")
    from ts_plugin.tools.compare.comparison import run_comparison
    from ts_plugin.tools.compare.running import Setup
    from ts_plugin.tools.compare.table import trade_key

    setup = Setup(strategy="SmartTrailingSample", strategy_path=SAMPLE_PATH, datadir=shared_datadir,
                  userdir=tmp_path / "ud", configs=[_settings_file(tmp_path, SETTINGS)], timerange=TIMERANGE,
                  pairs=["ETH/BTC"], chosen=["builtin", "yours"])
    outcome = run_comparison(setup, progress=lambda line: None, plotted=("builtin", "yours"))
    for name in ("builtin", "yours"):
        trades = outcome.results[name]["trades"]
        assert trades
        for trade in trades:
            path = outcome.stops[name][trade_key(trade["pair"], trade["open_timestamp"])]
            assert path[0].time == trade["open_timestamp"] / 1000  # from the entry on
            assert all(a.stop <= b.stop for a, b in zip(path, path[1:]))  # a long's stop only rises
            if trade["exit_reason"] in ("stop_loss", "trailing_stop_loss"):
                # filled at the stop freqtrade held, or below it when the candle opened through it
                assert trade["close_rate"] <= path[-1].stop * (1 + 1e-9)
    code = main(["compare", "--userdir", str(tmp_path / "ud"), "--strategy", "SmartTrailingSample",
                 "--strategy-path", str(SAMPLE_PATH), "--datadir", str(shared_datadir), "--pairs", "ETH/BTC",
                 "--timerange", TIMERANGE, "--config", str(setup.configs[0]), "--variants", "off", "yours",
                 "--plot", str(tmp_path / "pages"), "--plot-variants", "off", "yours"])
    out = capsys.readouterr().out
    assert code == 0 and "wrote 1 page(s)" in out
    page = (tmp_path / "pages" / "ETH_BTC.html").read_text()
    for name in ("stop: off", "stop: yours", "entry: yours", "exit: yours"):
        assert f'"name":"{name}"' in page
    assert main(["compare", "--userdir", str(tmp_path / "ud"), "--strategy", "SmartTrailingSample",
                 "--strategy-path", str(SAMPLE_PATH), "--datadir", str(shared_datadir), "--pairs", "ETH/BTC",
                 "--timerange", TIMERANGE, "--variants", "off", "yours", "--plot", str(tmp_path / "p2")]) == 2
    assert "--plot-variants builtin" in capsys.readouterr().err


def test_the_readme_table_is_what_its_command_prints(capsys, tmp_path, shared_datadir):
    """The README's first screen: the table comes from the command above it, on the shared month."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## What it does to your strategy: `ts-plugin compare`", 1)[1].split("\n## ", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    demo = json.loads((ROOT / "ts_plugin" / "data" / "config_demo.json").read_text())
    settings = _settings_file(tmp_path, {"smart_trailing": demo["smart_trailing"]})
    assert main(["compare", "--userdir", str(tmp_path / "ud"), "--strategy", "SmartTrailingSample",
                 "--strategy-path", str(SAMPLE_PATH), "--datadir", str(shared_datadir),
                 "--config", str(settings)]) == 0
    printed = capsys.readouterr().out.splitlines()
    table = [line for line in shown if line[:1] not in ("-", " ", "L") and line.strip()]
    assert len(table) == 9  # heading and eight variants
    for line in table:
        assert line in printed, line


def test_hyperopt_values_in_a_params_file_are_part_of_your_settings(capsys, tmp_path, shared_datadir):
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "smart_trailing_sample.py").write_text((SAMPLE_PATH / "smart_trailing_sample.py").read_text())
    (folder / "smart_trailing_sample.json").write_text(json.dumps({
        "strategy_name": "SmartTrailingSample",
        "params": {"smart_trailing": {"ts_activation_profit": 0.031, "ts_trail_distance": 0.011}}}))
    report, _ = _compare(capsys, tmp_path, "--strategy", "SmartTrailingSample", "--strategy-path", str(folder),
                         "--datadir", str(shared_datadir), "--pairs", "ETH/BTC", "--timerange", TIMERANGE,
                         "--variants", "builtin", "yours")
    assert (report["settings"]["activation_profit"], report["settings"]["trail_distance"]) == (0.031, 0.011)
    rows = _check_rows(report, ["builtin", "yours"])
    assert rows["builtin"]["title"].endswith("same numbers")
