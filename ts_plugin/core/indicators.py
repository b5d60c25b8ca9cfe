"""Momentum inputs computed with TA-Lib once per analysed dataframe, looked up per tick.

The value used at time ``t`` is always that of the last candle that had closed by ``t`` (candle open
time + timeframe <= t). That is the same candle in backtesting (where custom_stoploss runs at a candle's
open time) and live (where the last analysed row is the last closed candle), so both modes agree.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Sequence

import numpy as np
import pandas as pd
import talib.abstract as ta
from pandas import DataFrame

from ts_plugin.core.config import MomentumConfig
from ts_plugin.core.machine import Momentum

ATR_COLUMN = "ts_atr_ratio"
ROC_COLUMN = "ts_roc"
_EPOCH = pd.Timestamp(0, tz="UTC")


class MomentumSeries:
    """Close times and indicator values of one pair, searchable by time without copying frames.

    Plain ``array('d')`` columns and ``bisect`` keep each lookup in pure Python: inside a running
    backtest a numpy call per tick measured ten times slower than this. Ticks arrive in time order, so
    the candle found last time is checked first and its ``Momentum`` reused.
    """

    __slots__ = ("close_times", "atr_ratio", "roc", "_index", "_value", "_last")

    def __init__(self, close_times: Sequence[float], atr_ratio: Sequence[float], roc: Sequence[float]) -> None:
        self.close_times = array("d", close_times)
        self.atr_ratio = array("d", atr_ratio)
        self.roc = array("d", roc)
        self._last = len(self.close_times) - 1
        self._index = -1
        self._value: Momentum | None = None

    def at(self, epoch_seconds: float) -> Momentum | None:
        """Indicators of the last candle closed at ``epoch_seconds``; None before the first one."""
        index = self._index
        times = self.close_times
        if not (
            index >= 0
            and times[index] <= epoch_seconds
            and (index == self._last or epoch_seconds < times[index + 1])
        ):
            index = bisect_right(times, epoch_seconds) - 1
            if index < 0:
                return None
            self._index, self._value = index, self._momentum(index)
        return self._value

    def _momentum(self, index: int) -> Momentum | None:
        atr, roc = self.atr_ratio[index], self.roc[index]
        if atr != atr and roc != roc:  # both NaN: indicators still warming up
            return None
        return Momentum(atr_ratio=atr, roc=0.0 if roc != roc else roc)


def add_momentum_columns(dataframe: DataFrame, tuning: MomentumConfig) -> DataFrame:
    """Add ATR/close and rate of change (as ratios) computed with TA-Lib."""
    dataframe[ATR_COLUMN] = ta.ATR(dataframe, timeperiod=tuning.atr_period) / dataframe["close"]
    dataframe[ROC_COLUMN] = ta.ROCR(dataframe, timeperiod=tuning.roc_period) - 1.0
    return dataframe


def momentum_series(dataframe: DataFrame, timeframe_seconds: int) -> MomentumSeries:
    """Snapshot the columns added by ``add_momentum_columns`` for per-tick lookups."""
    # Unit-agnostic epoch seconds (pandas may store dates in ns, us or s).
    opens = ((dataframe["date"] - _EPOCH) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
    return MomentumSeries(
        close_times=(opens + timeframe_seconds).astype(np.float64),
        atr_ratio=dataframe[ATR_COLUMN].to_numpy(dtype=np.float64, copy=True),
        roc=dataframe[ROC_COLUMN].to_numpy(dtype=np.float64, copy=True),
    )
