"""freqtrade's real backtesting and hyperopt engines running the plugin, in-process and as a CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from ts_plugin.tools.demo import DEFAULT_CONFIG, build_backtest_config, exits_by_reason, pairs_in, run_backtest

pytestmark = pytest.mark.slow


def _trades(results: dict) -> list[dict]:
    (strategy_result,) = results["strategy"].values()
    return strategy_result["trades"]


def _backtest(datadir, overrides, tmp_path, **kwargs):
    config = build_backtest_config(DEFAULT_CONFIG, datadir, overrides, pairs=list(pairs_in(datadir)),
                                   user_data_dir=tmp_path, **kwargs)
    return run_backtest(config)


def test_backtest_on_synthetic_data(synthetic_datadir, exchange_overrides, tmp_path):
    results, strategy = _backtest(synthetic_datadir, exchange_overrides, tmp_path)
    trades = _trades(results)
    summary = strategy.trailing_summary()
    assert len(trades) > 50
    assert summary["rebuilt"] == 0 and summary["tick_errors"] == 0
    assert summary["trades_seen"] == len(trades)
    assert 0 < summary["activated"] <= len(trades) and summary["breakeven"] > 0
    reasons = exits_by_reason(results)
    assert reasons["trailing_stop_loss"] > 0
    assert sum(summary["exits_by_reason"].values()) + reasons.get("force_exit", 0) >= len(trades) - 4
    assert not strategy._ts_store.cache or len(strategy._ts_store.cache) <= 4  # only open trades kept
    # Breakeven and trailing exits never lose more than fees beyond the breakeven level.
    trailing = [t for t in trades if t["exit_reason"] == "trailing_stop_loss"]
    assert min(t["close_rate"] / t["open_rate"] for t in trailing) > 1 - 0.0401


def test_backtest_is_deterministic(synthetic_datadir, exchange_overrides, tmp_path):
    first, _ = _backtest(synthetic_datadir, exchange_overrides, tmp_path, timerange="20251115-")
    second, _ = _backtest(synthetic_datadir, exchange_overrides, tmp_path, timerange="20251115-")
    keys = ("pair", "open_date", "close_date", "open_rate", "close_rate", "exit_reason", "stop_loss_abs")
    assert [{k: t[k] for k in keys} for t in _trades(first)] == [{k: t[k] for k in keys} for t in _trades(second)]


def test_backtest_on_real_binance_data(shared_datadir, exchange_overrides, tmp_path):
    results, strategy = _backtest(shared_datadir, exchange_overrides, tmp_path,
                                  extra={"stake_currency": "BTC", "stake_amount": 0.01,
                                         "dry_run_wallet": 1.0})
    trades = _trades(results)
    summary = strategy.trailing_summary()
    assert trades and summary["rebuilt"] == 0 and summary["tick_errors"] == 0
    assert summary["activated"] > 0 and exits_by_reason(results)["trailing_stop_loss"] > 0


def test_momentum_is_read_from_the_last_closed_candle(synthetic_datadir, exchange_overrides, tmp_path):
    results, strategy = _backtest(synthetic_datadir, exchange_overrides, tmp_path, timerange="20251201-")
    series = strategy._ts_momentum["BTC/USDT"]
    assert series.at(series.close_times[0] - 1) is None  # before the first closed candle
    i = 200  # well past the indicators' warm-up
    # Just before candle i closes, candle i-1 is the last closed one; from its close on, candle i.
    assert series.at(series.close_times[i] - 1).roc == pytest.approx(series.roc[i - 1])
    assert series.at(series.close_times[i]).roc == pytest.approx(series.roc[i])
    assert series.at(series.close_times[i]).atr_ratio == pytest.approx(series.atr_ratio[i])


def test_hyperopt_two_epochs_in_its_own_space(synthetic_datadir, exchange_overrides, tmp_path):
    strategy_dir = tmp_path / "strategies"
    strategy_dir.mkdir()
    shutil.copy(ROOT / "ts_plugin/data/strategies/smart_trailing_sample.py", strategy_dir)
    config = json.loads(DEFAULT_CONFIG.read_text())
    config["exchange"].update(exchange_overrides)
    config["exchange"]["pair_whitelist"] = list(pairs_in(synthetic_datadir))
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, "-m", "freqtrade", "hyperopt", "--config", str(config_file),
               "--strategy", "SmartTrailingSample", "--strategy-path", str(strategy_dir),
               "--datadir", str(synthetic_datadir), "--userdir", str(tmp_path),
               "--spaces", "smart_trailing", "--hyperopt-loss", "SharpeHyperOptLoss",
               "-e", "2", "-j", "1", "--timerange", "20251120-", "--random-state", "1"]
    (tmp_path / "hyperopt_results").mkdir(exist_ok=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "smart_trailing parameters" in done.stdout  # freqtrade's report of the custom space
    # freqtrade exports the best values next to the strategy; they load like any parameter.
    exported = json.loads((strategy_dir / "smart_trailing_sample.json").read_text())
    params = exported["params"]["smart_trailing"]
    assert set(params) == {"ts_activation_profit", "ts_trail_distance", "ts_breakeven_trigger"}
    assert 0.010 <= params["ts_activation_profit"] <= 0.050


def test_loaded_hyperopt_values_drive_the_trailing(synthetic_datadir, exchange_overrides, tmp_path):
    strategy_dir = tmp_path / "strategies"
    strategy_dir.mkdir()
    shutil.copy(ROOT / "ts_plugin/data/strategies/smart_trailing_sample.py", strategy_dir)
    (strategy_dir / "smart_trailing_sample.json").write_text(json.dumps({
        "strategy_name": "SmartTrailingSample",
        "params": {"smart_trailing": {"ts_activation_profit": 0.031, "ts_trail_distance": 0.011}},
    }))
    config = build_backtest_config(DEFAULT_CONFIG, synthetic_datadir, exchange_overrides,
                                   strategy_path=strategy_dir, pairs=list(pairs_in(synthetic_datadir)),
                                   user_data_dir=tmp_path, timerange="20251201-")
    _, strategy = run_backtest(config)
    applied = strategy._ts_config()
    assert (applied.activation_profit, applied.trail_distance) == (0.031, 0.011)
    assert applied.breakeven.trigger_profit == 0.008  # not loaded: the config's value stays
