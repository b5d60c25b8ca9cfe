"""Generated candles for the built-in match (tests/test_builtin_match.py): spot or USD-M futures (with
mark and funding candles, as freqtrade's futures backtest needs), 5-minute candles resampled from
1-minute ones so that ``--timeframe-detail 1m`` has its details. SYNTHETIC, from ts_plugin.tools.sampledata."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType

from ts_plugin.tools.sampledata import DEFAULT_END, synthetic_candles

FUNDING_RATE = 0.0001  # per 8 hours, a usual positive rate


def _resample(frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    """freqtrade's left-labelled, left-closed candles of a coarser timeframe."""
    grouped = frame.set_index("date").resample(rule, label="left", closed="left")
    out = grouped.agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    return out.dropna().reset_index()


def write_generated(datadir: Path, pairs: dict[str, float], days: int, seed: int, futures: bool) -> dict[str, float]:
    """Write 1m and 5m candles per pair (plus 8h mark and funding for futures); returns the pairs as
    freqtrade names them (``BASE/QUOTE:QUOTE`` for futures) with their last close."""
    datadir.mkdir(parents=True, exist_ok=True)
    handler = get_datahandler(datadir, "feather")
    kind = CandleType.FUTURES if futures else CandleType.SPOT
    written = {}
    for index, (pair, price) in enumerate(sorted(pairs.items())):
        name = f"{pair}:{pair.split('/')[1]}" if futures else pair
        minutes = synthetic_candles(price, days * 1440, seed + index, DEFAULT_END, "1m")
        handler.ohlcv_store(name, "1m", minutes, kind)
        handler.ohlcv_store(name, "5m", _resample(minutes, "5min"), kind)
        if futures:
            eight_hours = _resample(minutes, "8h")
            handler.ohlcv_store(name, "8h", eight_hours, CandleType.MARK)
            funding = pd.DataFrame({"date": eight_hours["date"], "funding_rate": FUNDING_RATE})
            handler.ohlcv_store(name, "8h", funding, CandleType.FUNDING_RATE)
        written[name] = float(minutes["close"].iloc[-1])
    return written
