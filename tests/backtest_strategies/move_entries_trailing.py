"""A strategy that trades often so the plugin's stops are exercised in freqtrade's real backtests: it
enters after a candle that moved 0.3 % (long after a rise; on futures also short after a fall), exits by
the stops alone, and runs at the leverage the config key ``move_entries_leverage`` names.

Test-only instrumentation: every stop the plugin hands freqtrade is recorded in ``handed`` (with the
stop freqtrade held before the call and the plugin's peak and phase), so a test can check that no
handed stop loosened and that the trailing distance is measured on price whatever the leverage."""

from __future__ import annotations

from typing import NamedTuple

from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ts_plugin import SmartTrailingMixin

LEVERAGE_KEY = "move_entries_leverage"
TRAIL_DISTANCE = 0.005
BREAKEVEN_OFFSET = 0.002


class HandedStop(NamedTuple):
    """One stop the plugin handed freqtrade, as an absolute price, and what was around it (a NamedTuple:
    freqtrade loads strategy files outside sys.modules, where a dataclass cannot be built)."""

    trade_id: int
    is_short: bool
    stop: float  # the price freqtrade turns the handed ratio into
    held: float  # freqtrade's stop before the call
    peak: float  # the plugin's peak at the call
    phase: str  # the plugin's phase after the call
    tick: float  # the pair's price step (freqtrade rounds the stop it holds to it)


class MoveEntriesTrailing(SmartTrailingMixin, IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    stoploss = -0.05
    minimal_roi = {"0": 10.0}
    use_exit_signal = False
    use_custom_stoploss = True
    trailing_stop = False
    can_short = False
    process_only_new_candles = True
    startup_candle_count = 2
    smart_trailing = {"activation_profit": 0.015, "trail_distance": TRAIL_DISTANCE,
                      "breakeven": {"trigger_profit": 0.008, "offset": BREAKEVEN_OFFSET}}

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.can_short = config.get("trading_mode") == "futures"  # freqtrade refuses shorts on spot
        self.handed: list[HandedStop] = []

    def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage, entry_tag,
                 side, **kwargs) -> float:
        return float(self.config.get(LEVERAGE_KEY, 1.0))

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill,
                        **kwargs):
        held = float(trade.stop_loss)
        value = super().custom_stoploss(pair, trade, current_time, current_rate, current_profit, after_fill,
                                        **kwargs)
        if value is not None:
            distance = abs(value) / (trade.leverage or 1.0)  # as freqtrade's adjust_stop_loss reads it
            stop = current_rate * (1 + distance) if trade.is_short else current_rate * (1 - distance)
            state = self._ts_store.cache[self._ts_store.key(trade)]
            self.handed.append(HandedStop(trade.id, bool(trade.is_short), stop, held, state.peak,
                                          state.phase.value, float(trade.price_precision or 0.0)))
        return value

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["move"] = dataframe["close"] / dataframe["close"].shift(1) - 1
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = (dataframe["move"] > 0.003).astype(int)
        if self.can_short:
            dataframe["enter_short"] = (dataframe["move"] < -0.003).astype(int)
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
