"""The end-to-end tests' strategy: no signals of its own (tests open trades with force-entry)."""

from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ts_plugin import SmartTrailingMixin


class E2ETrailing(SmartTrailingMixin, IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    stoploss = -0.05
    use_custom_stoploss = True
    trailing_stop = False
    minimal_roi = {"0": 10.0}
    use_exit_signal = False
    startup_candle_count = 0
    order_types = {
        "entry": "market",
        "exit": "market",
        "emergency_exit": "market",
        "force_entry": "market",
        "force_exit": "market",
        "stoploss": "limit",
        "stoploss_on_exchange": True,
        "stoploss_on_exchange_interval": 60,
        "stoploss_on_exchange_limit_ratio": 0.99,
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
