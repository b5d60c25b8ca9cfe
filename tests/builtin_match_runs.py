"""Backtest freqtrade's built-in trailing and the plugin with the mapped settings on the same data, in
the real freqtrade engine, and line their trades up (tests/test_builtin_match.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from ts_plugin.tools.demo import BACKTEST_CONFIG, build_backtest_config, run_backtest

STRATEGIES = ROOT / "tests" / "backtest_strategies"
SHARED = ROOT.parent / "shared" / "data"
# What must be equal, trade for trade (the exit reason is freqtrade's own in both: a stop the plugin
# moved is a trailing_stop_loss for freqtrade exactly as one the built-in moved).
SAME = ("pair", "is_short", "open_date", "open_rate", "close_date", "exit_reason")


@dataclass
class Comparison:
    """The two runs lined up. ``identical``: trades equal in every field of ``SAME`` and the exit price.
    ``first_differences``: per pair, the built-in's first trade without an identical twin (None when
    the pair matched throughout); after it a pair's later entries may shift (a trade closed on
    another candle frees the pair at another time)."""

    builtin: list[dict]
    plugin: list[dict]
    identical: int = 0
    first_differences: dict[str, dict | None] = field(default_factory=dict)

    def explained(self, trade: dict) -> bool:
        """The difference starts at a trailing exit on the entry candle, in either run (the two runs
        move the stop alike; where one run's exit order rests below the candle it fills a candle later)."""
        twins = [t for t in self.plugin if t["pair"] == trade["pair"] and t["open_date"] == trade["open_date"]]
        return any(is_entry_candle_trailing(t) for t in (trade, *twins))

    @property
    def entry_candle_differences(self) -> list[dict]:
        return [t for t in self.first_differences.values() if t is not None and self.explained(t)]

    @property
    def unexplained(self) -> list[dict]:
        return [t for t in self.first_differences.values() if t is not None and not self.explained(t)]

    def line(self) -> str:
        diverged = sum(t is not None for t in self.first_differences.values())
        return (f"{self.identical}/{len(self.builtin)} trades identical (plugin: {len(self.plugin)} trades); "
                f"{diverged} of {len(self.first_differences)} pairs diverge, "
                f"{len(self.entry_candle_differences)} first at an entry-candle trailing exit, "
                f"{len(self.unexplained)} otherwise")


def is_entry_candle_trailing(trade: dict) -> bool:
    """A trailing exit on the trade's entry candle (or first detail candle): freqtrade's backtest
    prices it by a worst case that differs between the built-in and a custom stoploss."""
    return trade["exit_reason"] == "trailing_stop_loss" and trade["trade_duration"] == 0


def _key(trade: dict) -> tuple:
    return (*(trade[k] for k in SAME), trade["close_rate"])


def _trades(results: dict) -> list[dict]:
    (result,) = results["strategy"].values()
    return sorted(result["trades"], key=lambda t: (t["open_date"], t["pair"]))


def backtest(strategy: str, datadir: Path, overrides: dict, tmp_path: Path, settings: dict[str, Any],
             pairs: list[str], timerange: str | None = None, timeframe_detail: str | None = None) -> list[dict]:
    """One backtest; ``settings`` are written as a user config file, so freqtrade processes them as
    it would the user's (trading mode, stake)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    user_config = tmp_path / "config.json"
    user_config.write_text(json.dumps(settings))
    config = build_backtest_config(
        BACKTEST_CONFIG, datadir, overrides, strategy=strategy, strategy_path=STRATEGIES, pairs=pairs,
        user_data_dir=tmp_path, timerange=timerange, timeframe="5m", timeframe_detail=timeframe_detail,
        user_configs=[user_config])
    results, _ = run_backtest(config)
    return _trades(results)


def compare(builtin: list[dict], plugin: list[dict]) -> Comparison:
    found = Comparison(builtin, plugin)
    twins = {_key(t) for t in plugin}
    for trade in builtin:
        pair = trade["pair"]
        found.first_differences.setdefault(pair, None)
        if _key(trade) in twins:
            found.identical += 1
        elif found.first_differences[pair] is None:
            found.first_differences[pair] = trade
    return found


def run_pair_of(datadir: Path, overrides: dict, tmp_path: Path, settings: dict[str, Any], pairs: list[str],
                timerange: str | None = None, timeframe_detail: str | None = None) -> Comparison:
    runs = [backtest(name, datadir, overrides, tmp_path / name, settings, pairs, timerange, timeframe_detail)
            for name in ("BuiltinTrailing", "MappedPluginTrailing")]
    return compare(*runs)
