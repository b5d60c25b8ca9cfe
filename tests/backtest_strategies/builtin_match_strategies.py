"""Two strategies with the same entries and different trailing: freqtrade's built-in, and the plugin
with the built-in's settings mapped (ts_plugin.strategy.builtin_match). Their backtests are compared trade for
trade. The direction comes from the config key ``builtin_match_direction`` ("long" or "short")."""

from __future__ import annotations

from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ts_plugin import SmartTrailingMixin
from ts_plugin.strategy.builtin_match import settings_from_builtin

POSITIVE = 0.01
OFFSET = 0.015
LEVERAGE_KEY = "builtin_match_leverage"


class BreakoutEntries(IStrategy):
    """Enter after a candle that moved 0.3 % in the chosen direction; exits are the stops' alone."""

    INTERFACE_VERSION = 3
    timeframe = "5m"
    stoploss = -0.05
    minimal_roi = {"0": 10.0}
    use_exit_signal = False
    can_short = False
    process_only_new_candles = True
    startup_candle_count = 2

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.can_short = config.get("trading_mode") == "futures"  # freqtrade refuses shorts on spot

    def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage, entry_tag,
                 side, **kwargs) -> float:
        return float(self.config.get(LEVERAGE_KEY, 1.0))

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["move"] = dataframe["close"] / dataframe["close"].shift(1) - 1
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        if self.config.get("builtin_match_direction", "long") == "short":
            dataframe["enter_short"] = (dataframe["move"] < -0.003).astype(int)
        else:
            dataframe["enter_long"] = (dataframe["move"] > 0.003).astype(int)
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe


class BuiltinTrailing(BreakoutEntries):
    """freqtrade's own trailing stop."""

    trailing_stop = True
    trailing_stop_positive = POSITIVE
    trailing_stop_positive_offset = OFFSET
    trailing_only_offset_is_reached = True


class MappedPluginTrailing(SmartTrailingMixin, BreakoutEntries):
    """The plugin with the built-in's settings mapped; nothing else."""

    use_custom_stoploss = True
    trailing_stop = False

    def __init__(self, config: dict) -> None:
        self.smart_trailing = settings_from_builtin(
            True, POSITIVE, OFFSET, True, leverage=float(config.get(LEVERAGE_KEY, 1.0)))
        super().__init__(config)
