"""Database writes per tick in dry-run/live: replay candles through freqtrade's real SQLite persistence.

Each candle becomes four ticks (open, high, low, close) through the strategy's real ``should_exit``;
a trade that exits is closed and a new one opens on the next tick. Every ``set_custom_data`` call is
counted, and so is every tick that changed the trailing state. Target: writes == changes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd


def replay(feather_files: list[Path], candles_per_pair: int) -> dict:
    from freqtrade.persistence import Trade

    from tests.freqtrade_helpers import add_trade, make_strategy, open_database, tick

    from ts_plugin.strategy.store import CUSTOM_DATA_KEY

    writes = {"count": 0, "state": 0, "trace": 0}
    original_set = Trade.set_custom_data

    def counting_set(self, key, value):
        writes["count"] += 1
        writes["state" if key == CUSTOM_DATA_KEY else "trace"] += 1
        return original_set(self, key, value)

    totals = {"ticks": 0, "changed_ticks": 0, "trades": 0, "writes_on_unchanged_ticks": 0}
    with tempfile.TemporaryDirectory() as tmp:
        open_database(Path(tmp) / "replay.sqlite")
        Trade.set_custom_data = counting_set
        try:
            strategy = make_strategy(breakeven={"trigger_profit": 0.008, "offset": 0.002})
            for path in feather_files:
                frame = pd.read_feather(path).tail(candles_per_pair)
                prices = frame[["open", "high", "low", "close"]].to_numpy().ravel()
                trade, minutes = None, 0.0
                for price in prices:
                    minutes += 1.25
                    if trade is None:
                        trade = add_trade(float(price))
                        strategy.order_filled(pair=trade.pair, trade=trade,
                                              order=_FilledEntry(trade), current_time=trade.open_date_utc)
                        totals["trades"] += 1
                        continue
                    key = strategy._ts_store.key(trade)
                    before, written = strategy._ts_store.cache.get(key), writes["count"]
                    exits = tick(strategy, trade, float(price), minutes)
                    totals["ticks"] += 1
                    if strategy._ts_store.cache.get(key) is not before:
                        totals["changed_ticks"] += 1
                    elif writes["count"] != written:
                        totals["writes_on_unchanged_ticks"] += 1
                    if exits:
                        trade.is_open = False
                        Trade.commit()
                        trade = None
        finally:
            Trade.set_custom_data = original_set
            Trade.session.remove()
    totals["writes"] = writes["state"] - totals["trades"]  # minus the one CREATED write per trade
    totals["trace_writes"] = writes["trace"]  # the stop path for plot: only when the stop rose or the phase changed
    return totals


class _FilledEntry:
    def __init__(self, trade):
        self.ft_order_side = trade.entry_side
        self.safe_amount = trade.amount
