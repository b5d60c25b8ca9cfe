"""Issue 7.4 and 7.6 through freqtrade's real backtesting: the settings line agrees with freqtrade's own
"Strategy Parameter" lines and with what ran; the summary counts trades like freqtrade's trade list."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections import Counter

import pytest

from tests.conftest import ROOT
from tests.test_settings_report import contradictions, settings_line
from ts_plugin.strategy.mixin import CROSSED_EXIT_REASON
from ts_plugin.strategy.summary import BREAKEVEN_STOP, CROSSED_STOP, HARD_STOP, OTHER, STRATEGY_EXIT, TRAILING_STOP
from ts_plugin.tools.demo import DEFAULT_CONFIG, build_backtest_config, exits_by_reason, format_summary, pairs_in, run_backtest

pytestmark = pytest.mark.slow


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def run(synthetic_datadir, exchange_overrides, tmp_path_factory):
    """The demo's strategy and config, with one value from a params file, on a month of candles."""
    tmp_path = tmp_path_factory.mktemp("report")
    strategy_dir = tmp_path / "strategies"
    strategy_dir.mkdir()
    shutil.copy(ROOT / "ts_plugin/data/strategies/smart_trailing_sample.py", strategy_dir)
    (strategy_dir / "smart_trailing_sample.json").write_text(json.dumps({
        "strategy_name": "SmartTrailingSample",
        "params": {"smart_trailing": {"ts_trail_distance": 0.007}},
    }))
    config = build_backtest_config(DEFAULT_CONFIG, synthetic_datadir, exchange_overrides,
                                   strategy_path=strategy_dir, pairs=list(pairs_in(synthetic_datadir)),
                                   user_data_dir=tmp_path, timerange="20251201-")
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        results, strategy = run_backtest(config)
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
    (result,) = results["strategy"].values()
    return "\n".join(capture.lines), results, result["trades"], strategy


def test_the_settings_line_is_what_ran_and_freqtrade_agrees(run):
    log, _, _, strategy = run
    assert log.count("smart_trailing settings in force:") == 1
    line = settings_line(log)
    applied = strategy._ts_config()
    assert line["trail_distance"] == ("0.007", "params file") and applied.trail_distance == 0.007
    assert line["activation_profit"] == ("0.015", "config.json") and applied.activation_profit == 0.015
    assert line["breakeven.trigger_profit"] == ("0.008", "config.json")
    assert line["steps"] == ("[0.03:0.005,0.06:0.004]", "config.json")
    assert line["momentum.roc_factor"] == ("0.7", "config.json") and line["momentum.atr_period"][1] == "default"
    # freqtrade's own lines for the three parameters: present, and none contradicts the settings line
    assert "Strategy Parameter: ts_trail_distance = 0.007" in log
    assert "Strategy Parameter(default): ts_activation_profit = 0.015" in log
    assert "Strategy Parameter(default): ts_breakeven_trigger = 0.008" in log
    assert not contradictions(log)


def test_the_summary_counts_what_freqtrade_counts(run):
    _, results, trades, strategy = run
    summary = strategy.trailing_summary()
    kinds = Counter(summary["exits_by_phase"])
    reasons = Counter(t["exit_reason"] for t in trades)
    assert len(trades) > 20 and sum(kinds.values()) == len(trades)
    assert Counter(summary["exits_by_reason"]) == reasons == exits_by_reason(results)
    # stop exits split by phase; everything else by reason
    assert kinds[HARD_STOP] == reasons["stop_loss"]
    assert kinds[BREAKEVEN_STOP] + kinds[TRAILING_STOP] == reasons["trailing_stop_loss"]
    assert kinds[TRAILING_STOP] > 0 and kinds[BREAKEVEN_STOP] > 0
    assert kinds[CROSSED_STOP] == reasons[CROSSED_EXIT_REASON]
    assert kinds[STRATEGY_EXIT] == reasons["exit_signal"] + reasons["roi"]
    assert kinds[OTHER] == reasons["force_exit"]
    # activations: by price plus by time is every activation; the demo config has both
    assert sum(summary["activated_by"].values()) == summary["activated"]
    assert summary["activated_by"]["price"] > 0 and summary["activated_by"]["time"] > 0
    # losing trailing exits on the entry candle, from freqtrade's own trade list
    early = [t for t in trades if t["exit_reason"] == "trailing_stop_loss"
             and t["open_date"] == t["close_date"] and t["profit_ratio"] < 0]
    assert summary["losing_trailing_exits_on_entry_candle"] == len(early) > 0
    text = format_summary(summary, exits_by_reason(results))
    assert re.search(rf"trades \(as freqtrade's report\) +{len(trades)}\n", text)
    assert "did not see" not in text and "--timeframe-detail" in text
