"""SmartTrailingSample: a plain trend-following entry with the smart trailing stop doing the exits.

The entry logic is deliberately simple; the point is the exit side: SmartTrailingMixin trails the stop
from ``custom_stoploss`` with breakeven, steps and momentum from the ``smart_trailing`` config section.
"""

import talib.abstract as ta
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ts_plugin import SmartTrailingMixin


class SmartTrailingSample(SmartTrailingMixin, IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    can_short = False
    stoploss = -0.04  # the initial hard stop until breakeven or activation takes over
    use_custom_stoploss = True
    trailing_stop = False
    minimal_roi = {"0": 10.0}  # exits come from the trailing stop, not from ROI
    use_exit_signal = False
    process_only_new_candles = True
    startup_candle_count = 100

    # Strategy-level defaults; config.json's "smart_trailing" section wins key by key.
    smart_trailing = {
        "activation_profit": 0.015,
        "trail_distance": 0.005,
        "breakeven": {"trigger_profit": 0.008, "offset": 0.002},
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=9)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=21)
        dataframe["ema_trend"] = ta.EMA(dataframe, timeperiod=100)
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        crossed_up = (dataframe["ema_fast"] > dataframe["ema_slow"]) & (
            dataframe["ema_fast"].shift(1) <= dataframe["ema_slow"].shift(1)
        )
        dataframe.loc[
            crossed_up
            & (dataframe["close"] > dataframe["ema_trend"])
            & (dataframe["rsi"] < 70)
            & (dataframe["volume"] > 0),
            "enter_long",
        ] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
