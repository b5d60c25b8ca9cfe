"""Run the comparison's variants in freqtrade's own backtesting engine, loading the candles once.

One ``Backtesting`` object (freqtrade's, as ``--strategy-list`` uses it) loads the data and the detail
candles once; each variant is a fresh instance of the user's strategy run through
``Backtesting.backtest_one_strategy``, which resets trades, wallets and locks before each run, so a
variant's result is the one a plain ``freqtrade backtesting`` of it gives. A line per variant reports
progress. The sandbox exchange serves freqtrade's start-up market loading (no network).
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ts_plugin.strategy.summary import exit_kind
from ts_plugin.tools.compare import variants as v
from ts_plugin.tools.compare.table import CROSSED_REASON, Row, row, trade_key

logger = logging.getLogger("ts_plugin.tools.compare")


class CompareError(Exception):
    """Bad input or a refusal, said in one line (the command prints it without a traceback)."""


@dataclass
class Setup:
    """What the user asked to compare (the command's options, checked)."""

    strategy: str
    strategy_path: Path
    datadir: Path
    userdir: Path
    configs: list[Path] = field(default_factory=list)
    timerange: str | None = None
    timeframe: str | None = None
    timeframe_detail: str | None = None
    pairs: list[str] | None = None
    chosen: list[str] | None = None


@dataclass
class Outcome:
    """The comparison: rows in table order and what the explanation needs to know."""

    rows: list[Row]
    user_settings: dict[str, Any]
    fee: float
    timeframe_detail: str | None
    timerange: str
    results: dict[str, dict] = field(default_factory=dict)  # freqtrade's stats per variant name
    stops: dict[str, dict] = field(default_factory=dict)  # stop paths of the variants to plot
    candles: dict[str, Any] = field(default_factory=dict)  # the main-timeframe candles per pair (for --plot)
    timeframe: str = ""
    mapped_leverage: float = 1.0  # the leverage plugin-builtin maps freqtrade's built-in at (leverage.py)


def _apply_after_start(strategy: Any, variant: v.Variant, phases: dict) -> None:
    """Switch the plugin off / freqtrade's trailing on for this instance, right after freqtrade's
    ``ft_bot_start`` (where the mixin checks the set-up), and record each plugin exit's phase."""
    start = strategy.ft_bot_start

    def ft_bot_start(**kwargs: Any) -> None:
        start(**kwargs)
        if not variant.plugin:
            strategy.use_custom_stoploss = False
        for name, value in variant.builtin.items():
            setattr(strategy, name, value)
        if variant.exact_settings:
            strategy._ts_active_params = ()  # no params-file value replaces the variant's own settings

    strategy.ft_bot_start = ft_bot_start
    if not variant.plugin:
        return
    count = strategy._ts_count_exit

    def count_exit(state: Any, reason: str, trade: Any, price: Any, now: float) -> None:
        count(state, reason, trade, price, now)
        opened = int(round(trade.open_date_utc.timestamp() * 1000))
        phases[trade_key(trade.pair, opened)] = exit_kind(state.phase.value, reason, CROSSED_REASON)

    strategy._ts_count_exit = count_exit


class Session:
    """freqtrade's Backtesting with the data loaded once, running variants one after the other."""

    def __init__(self, config: dict[str, Any], progress: Callable[[str], None] = print) -> None:
        from freqtrade.optimize.backtesting import Backtesting

        self.progress = progress
        self.backtesting = Backtesting(config)
        self.backtesting.progress = None  # a progress line per variant instead of freqtrade's bars
        self.user = self.backtesting.strategylist[0]
        if not hasattr(self.user, "_ts_count_exit"):
            raise CompareError(
                f"--strategy {config['strategy']}: the strategy does not use SmartTrailingMixin, there is no "
                "smart trailing to compare (add the mixin, see the README's quick start)")
        self.data, self.timerange = self.backtesting.load_bt_data()

    def user_settings(self) -> dict[str, Any]:
        """The user's settings in force: the merged ``smart_trailing`` layers with loaded hyperopt values."""
        return v.effective_settings(self.user._ts_settings, v.loaded_params(self.user))

    def _instance(self, variant: v.Variant) -> Any:
        from freqtrade.resolvers import StrategyResolver

        config = copy.deepcopy(self.backtesting.config)
        if variant.settings is not None:
            config["smart_trailing"] = copy.deepcopy(variant.settings)
        return StrategyResolver.load_strategy(config)

    def run(self, variant: v.Variant, index: int, total: int, stops: dict | None = None) -> tuple[Row, dict]:
        """Backtest one variant; its row and freqtrade's stats of it. ``stops``: filled with the stop
        path freqtrade held for each trade (for ``--plot``)."""
        from freqtrade.optimize.optimize_reports import generate_backtest_stats

        began = time.monotonic()
        self.progress(f"[{index}/{total}] {variant.name}: {variant.title} ...")
        phases: dict = {}
        strategy = self._instance(variant)
        _apply_after_start(strategy, variant, phases)
        if stops is not None:
            from ts_plugin.tools.compare.plot import record_stops

            record_stops(strategy, stops)
        bt = self.backtesting
        min_date, max_date = bt.backtest_one_strategy(strategy, self.data, self.timerange)
        content = bt.all_bt_content.pop(strategy.get_strategy_name())
        stats = generate_backtest_stats(self.data, {variant.name: content}, min_date=min_date, max_date=max_date)
        result = stats["strategy"][variant.name]
        found = row(variant.name, variant.title, result, phases if variant.plugin else None)
        found.seconds = time.monotonic() - began
        if variant.plugin and hasattr(strategy, "trailing_summary"):
            errors = strategy.trailing_summary().get("tick_errors", 0)
            if errors:
                found.notes.append(f"{errors} plugin errors (see the log)")
        self.progress(f"[{index}/{total}] {variant.name}: {found.trades} trades, "
                      f"{found.profit_total * 100:+.2f} % in {found.seconds:.1f} s")
        return found, result

    def candles(self, timerange: str | None) -> dict[str, Any]:
        """The loaded candles per pair, without the start-up candles (the backtested period)."""
        from freqtrade.data.converter import trim_dataframes

        return trim_dataframes(self.data, self.timerange, self.backtesting.required_startup)

    def cleanup(self) -> None:
        from freqtrade.optimize.backtesting import Backtesting

        Backtesting.cleanup()
