"""Strategies for the real-engine safety backtests: plain, every callback overridden without
super(), pyramiding (position adjustment up), and a partial exit while trailing."""

import talib.abstract as ta
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ts_plugin import SmartTrailingMixin


class SafetyPlain(SmartTrailingMixin, IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    stoploss = -0.04
    use_custom_stoploss = True
    trailing_stop = False
    minimal_roi = {"0": 10.0}
    use_exit_signal = False
    startup_candle_count = 30
    smart_trailing = {
        "activation_profit": 0.015,
        "trail_distance": 0.004,
        "breakeven": {"trigger_profit": 0.006, "offset": 0.002},
        "time_activation": {"after_minutes": 60, "min_profit": 0.0},
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        rising = (dataframe["rsi"] > 55) & (dataframe["rsi"].shift(1) <= 55)
        dataframe.loc[rising & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > 90, "exit_long"] = 1  # switched off by use_exit_signal
        return dataframe


class SafetyNoSuper(SafetyPlain):
    """Overrides every callback the plugin uses, calling super() in none of them."""

    def bot_start(self, **kwargs):
        self.started = True

    def bot_loop_start(self, current_time, **kwargs):
        pass

    def order_filled(self, pair, trade, order, current_time, **kwargs):
        pass

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        return None

    def custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        return None


class SafetyPyramid(SafetyPlain):
    """Adds the same stake again (up to twice) once the trade is 0.8 % up: a higher average entry
    while in BREAKEVEN or ACTIVE."""

    position_adjustment_enable = True
    max_entry_position_adjustment = 2

    def adjust_trade_position(self, trade, current_time, current_rate, current_profit, min_stake,
                              max_stake, current_entry_rate, current_exit_rate, current_entry_profit,
                              current_exit_profit, **kwargs):
        if current_entry_profit > 0.008 and trade.nr_of_successful_entries < 3:
            return trade.stake_amount / trade.nr_of_successful_entries, "pyramid"
        return None


class SafetyPartialExit(SafetyPlain):
    """Sells half once the trade is 1.2 % up (past breakeven, often ACTIVE by time): the rest keeps trailing."""

    position_adjustment_enable = True
    smart_trailing = {**SafetyPlain.smart_trailing, "trail_distance": 0.01}

    def adjust_trade_position(self, trade, current_time, current_rate, current_profit, min_stake,
                              max_stake, current_entry_rate, current_exit_rate, current_entry_profit,
                              current_exit_profit, **kwargs):
        if current_exit_profit > 0.012 and trade.nr_of_successful_exits == 0:
            return -trade.stake_amount / 2, "half"
        return None


class SafetyTimed(SafetyPlain):
    """Time activation without breakeven: trades often activate after the price fell back from its
    peak by more than the distance, so the stop the rules demand is already through the price."""

    smart_trailing = {
        "activation_profit": 0.015,
        "trail_distance": 0.004,
        "time_activation": {"after_minutes": 30, "min_profit": 0.0},
    }
