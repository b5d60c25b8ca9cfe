"""Benchmark strategies: the sample's entries with (a) a constant custom_stoploss, (b) built-in trailing.

(a) is the floor of any custom_stoploss: freqtrade deep-copies the trade for every call whatever the
method does. (b) is freqtrade's own trailing stop with the plugin's default numbers.
"""

import sys
import time
from pathlib import Path

from freqtrade.strategy import IStrategy

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "user_data" / "strategies"))
from smart_trailing_sample import SmartTrailingSample  # noqa: E402


class _SampleEntries(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = SmartTrailingSample.timeframe
    stoploss = SmartTrailingSample.stoploss
    minimal_roi = SmartTrailingSample.minimal_roi
    use_exit_signal = False
    startup_candle_count = SmartTrailingSample.startup_candle_count
    populate_indicators = SmartTrailingSample.populate_indicators
    populate_entry_trend = SmartTrailingSample.populate_entry_trend
    populate_exit_trend = SmartTrailingSample.populate_exit_trend


class BenchConstantStop(_SampleEntries):
    use_custom_stoploss = True

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill,
                        **kwargs):
        return -0.04


class BenchBuiltinTrailing(_SampleEntries):
    trailing_stop = True
    trailing_stop_positive = 0.005
    trailing_stop_positive_offset = 0.015
    trailing_only_offset_is_reached = True


class BenchTimedPlugin(SmartTrailingSample):
    """The plugin with looser entries (no trend filter, to reach 10,000 closed trades) and a timer
    around every custom_stoploss call, filed under the number of trades closed before it."""

    def __init__(self, config):
        super().__init__(config)
        self.call_samples: list[tuple[int, int]] = []

    def populate_entry_trend(self, dataframe, metadata):
        crossed_up = (dataframe["ema_fast"] > dataframe["ema_slow"]) & (
            dataframe["ema_fast"].shift(1) <= dataframe["ema_slow"].shift(1))
        dataframe.loc[crossed_up & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill,
                        **kwargs):
        closed = sum(self._ts_exits.values())
        started = time.perf_counter_ns()
        result = super().custom_stoploss(pair, trade, current_time, current_rate, current_profit,
                                         after_fill, **kwargs)
        self.call_samples.append((closed, time.perf_counter_ns() - started))
        return result
