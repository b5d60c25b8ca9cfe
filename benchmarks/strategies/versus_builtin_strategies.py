"""The plugin against freqtrade's built-in trailing stop, same entries (SmartTrailingSample's).

``VersusBuiltinTrailing``: freqtrade's ``trailing_stop`` with ``trailing_stop_positive`` and its offset,
``trailing_only_offset_is_reached``; no strategy code runs per candle (``VersusBuiltinWithCallback``:
the same plus a no-op ``custom_stoploss``, freqtrade's cost of a callback). ``VersusPluginTrailing``: the
plugin with the same numbers in its built-in-exact mode (``settings_from_builtin``: activation on
freqtrade's profit after fees, same distance, no other rule); a ``smart_trailing`` section in the
config adds one rule on top (benchmarks/versus_builtin.py). Both take freqtrade's ``trailing``
hyperopt space or the plugin's ``smart_trailing`` space respectively.
"""

import sys
from pathlib import Path

from freqtrade.strategy import IStrategy

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ts_plugin" / "data" / "strategies"))
from smart_trailing_sample import SmartTrailingSample  # noqa: E402

from ts_plugin import SmartTrailingMixin  # noqa: E402
from ts_plugin.strategy.hooks import library_callback  # noqa: E402
from ts_plugin.strategy.builtin_match import settings_from_builtin  # noqa: E402

POSITIVE = 0.005  # the built-in's trailing_stop_positive = the plugin's trail_distance
OFFSET = 0.015  # the built-in's trailing_stop_positive_offset = the plugin's activation_profit


class _VersusEntries(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = SmartTrailingSample.timeframe
    stoploss = SmartTrailingSample.stoploss
    minimal_roi = SmartTrailingSample.minimal_roi
    use_exit_signal = False
    process_only_new_candles = True
    startup_candle_count = SmartTrailingSample.startup_candle_count
    populate_indicators = SmartTrailingSample.populate_indicators
    populate_entry_trend = SmartTrailingSample.populate_entry_trend
    populate_exit_trend = SmartTrailingSample.populate_exit_trend


class VersusBuiltinTrailing(_VersusEntries):
    trailing_stop = True
    trailing_stop_positive = POSITIVE
    trailing_stop_positive_offset = OFFSET
    trailing_only_offset_is_reached = True


class VersusBuiltinWithCallback(VersusBuiltinTrailing):
    """The built-in trailing plus a ``custom_stoploss`` that does nothing (returns None: the built-in's
    stop stands, so the trades are the built-in's), marked as library code like the plugin's: what
    freqtrade itself spends to call any ``custom_stoploss`` (its wrapper, built anew on every call,
    and the call), the floor under every callback-based stop."""

    use_custom_stoploss = True

    @library_callback
    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill, **kwargs):
        return None


class VersusPluginTrailing(SmartTrailingMixin, _VersusEntries):
    use_custom_stoploss = True
    trailing_stop = False
    smart_trailing = settings_from_builtin(True, POSITIVE, OFFSET, True)
