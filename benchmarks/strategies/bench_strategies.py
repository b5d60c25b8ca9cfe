"""Benchmark strategies: the sample's entries with (a) a constant custom_stoploss, (b) built-in trailing.

(a) is the floor of any custom_stoploss: freqtrade deep-copies the trade for every call whatever the
method does. (b) is freqtrade's own trailing stop with the plugin's default numbers.
"""

import atexit
import gc
import sys
import time
from pathlib import Path

from freqtrade.strategy import IStrategy

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ts_plugin" / "data" / "strategies"))
from smart_trailing_sample import SmartTrailingSample  # noqa: E402

from ts_plugin.strategy.hooks import library_callback  # noqa: E402


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
        _CALLS["n"] += 1
        return -0.04


class BenchCountedPlugin(SmartTrailingSample):
    """SmartTrailingSample plus one counter increment per call: how many calls the wall time bought."""

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill,
                        **kwargs):
        _CALLS["n"] += 1
        return super().custom_stoploss(pair, trade, current_time, current_rate, current_profit,
                                       after_fill, **kwargs)


class BenchShadowPlugin(SmartTrailingSample):
    """(a)'s exits with the plugin's full work on every call: the plugin's ``custom_stoploss`` runs
    (state machine, store, events, fills through ``order_filled``) and its answer is thrown away for
    (a)'s constant. Same trades and the same number of calls as (a), so the wall-time difference to
    (a) is the plugin's own cost at an identical workload. Counts its calls like (a) does.

    Its methods are attached after the class is defined, so the plugin does not wrap them (a wrapped
    override would be combined with the plugin's stop, and the plugin's own exits would fire)."""


def _shadow_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill, **kwargs):
    _CALLS["n"] += 1
    SmartTrailingSample.custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                                        after_fill, **kwargs)
    return -0.04


# Named custom_exit, as the method it becomes (benchmarks.attribution times freqtrade's wrapped calls by name).
@library_callback  # as the plugin's own custom_exit: freqtrade does not deep-copy the trade for it
def custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
    _CALLS["exit"] += 1
    SmartTrailingSample.custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs)
    return None


BenchShadowPlugin.custom_stoploss = _shadow_stoploss
BenchShadowPlugin.custom_exit = custom_exit


class BenchShadowExitClosed(BenchShadowPlugin):
    """The shadow without its artefact: a trade whose stop the plugin put through the price opens
    freqtrade's ``custom_exit`` path (``_ts_exit_due``) and, in a real run, exits on that candle; the
    shadow throws the plugin's stop away, so such a trade stays open and freqtrade keeps calling
    ``custom_exit`` (and evaluating exit signals) on each of its candles until (a)'s constant closes
    it. Here the path stays closed: the shadow's remaining cost is the plugin's per-call work."""

    def _ts_exit_due(self, key, due):
        super()._ts_exit_due(key, due)
        self.use_exit_signal = False


_CALLS = {"n": 0, "exit": 0}
atexit.register(lambda: _CALLS["n"] and print(f"BENCH_CUSTOM_STOPLOSS_CALLS={_CALLS['n']}", flush=True))


class BenchBuiltinTrailing(_SampleEntries):
    trailing_stop = True
    trailing_stop_positive = 0.005
    trailing_stop_positive_offset = 0.015
    trailing_only_offset_is_reached = True


class BenchTimedPlugin(SmartTrailingSample):
    """The plugin with busy entries (re-enter while the fast EMA is above the slow one, 1.5 % hard
    stop) to reach 10,000 closed trades, and a timer around every custom_stoploss call, filed under
    the number of trades closed before it.

    The garbage collector is paused inside the timed region: freqtrade's deep copy of the trade
    before each call leaves thousands of young objects, and the collection they trigger would
    otherwise be billed to whichever code allocates next.
    """

    stoploss = -0.015

    def __init__(self, config):
        super().__init__(config)
        self.call_samples: list[tuple[int, int]] = []

    def populate_entry_trend(self, dataframe, metadata):
        dataframe.loc[(dataframe["ema_fast"] > dataframe["ema_slow"]) & (dataframe["volume"] > 0),
                      "enter_long"] = 1
        return dataframe


def _timed_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill, **kwargs):
    """The plugin's own custom_stoploss, timed (attached after the class, so it is not wrapped)."""
    closed = sum(self._ts_exits.values())
    gc.disable()
    started = time.perf_counter_ns()
    result = SmartTrailingSample.custom_stoploss(self, pair, trade, current_time, current_rate,
                                                 current_profit, after_fill, **kwargs)
    elapsed = time.perf_counter_ns() - started
    gc.enable()
    self.call_samples.append((closed, elapsed))
    return result


BenchTimedPlugin.custom_stoploss = _timed_stoploss
