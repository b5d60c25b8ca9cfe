"""Futures candles for ``ts-plugin backtest`` and ``ts-plugin compare`` (``trading_mode: futures`` in a
``--config`` file).

freqtrade keeps futures candles in a ``futures/`` sub-folder of the data folder, one file per pair
and timeframe named after the pair with its settle currency (``XRP_USDT_USDT-5m-futures.feather`` is
``XRP/USDT:USDT``), beside the mark price and funding rate files a futures backtest also reads. The
sandbox serves those pairs as Binance USD-M perpetuals, so freqtrade's start-up finds its markets.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Binance's futures tickers carry no price: freqtrade refuses pricing from them, so a futures backtest
# prices from the top of the order book (the sandbox serves one) unless the user's config says otherwise.
ORDER_BOOK_PRICING = {"price_side": "same", "use_order_book": True, "order_book_top": 1}
FUTURES_DEFAULTS: dict[str, Any] = {"margin_mode": "isolated", "entry_pricing": ORDER_BOOK_PRICING,
                                    "exit_pricing": ORDER_BOOK_PRICING}


def futures_pairs_in(datadir: Path, timeframe: str | None = "5m") -> dict[str, float]:
    """Futures pairs with trade candles in ``datadir/futures`` (``BASE_QUOTE_SETTLE-5m-futures.feather``)
    and their last close (the sandbox's reference price). ``timeframe=None``: candles of any timeframe."""
    import pandas as pd

    found: dict[str, float] = {}
    for path in sorted((Path(datadir) / "futures").glob(f"*-{timeframe or '*'}-futures.feather")):
        name = path.name.split("-", 1)[0]
        parts = name.split("_")
        if len(parts) < 3:
            continue  # not a pair with a settle currency
        pair = f"{'_'.join(parts[:-2])}/{parts[-2]}:{parts[-1]}"
        if pair not in found:
            found[pair] = float(pd.read_feather(path, columns=["close"])["close"].iloc[-1])
    return found


def futures_configured(configs: Sequence[Path], base: Path | None = None) -> bool:
    """Whether the ``--config`` files, merged over ``base`` as freqtrade merges them, trade futures
    (``"trading_mode": "futures"``): then the candles are the ones in ``DATADIR/futures``."""
    from freqtrade.configuration.load_config import load_from_files

    files = [str(path) for path in ([base] if base else []) + list(configs)]
    return bool(files) and load_from_files(files).get("trading_mode") == "futures"


def candle_file(datadir: Path, pair: str, timeframe: str, futures: bool) -> Path:
    """freqtrade's feather file of a pair's trade candles: ``BASE_QUOTE-5m.feather`` for spot,
    ``futures/BASE_QUOTE_SETTLE-5m-futures.feather`` for futures."""
    name = pair.replace("/", "_").replace(":", "_")
    if futures:
        return Path(datadir) / "futures" / f"{name}-{timeframe}-futures.feather"
    return Path(datadir) / f"{name}-{timeframe}.feather"


def layout(timeframe: str | None, futures: bool) -> str:
    """The file names the candles must have, for a refusal (``TIMEFRAME`` when none is given)."""
    frame = timeframe or "TIMEFRAME"
    if futures:
        return f"futures/BASE_QUOTE_SETTLE-{frame}-futures.feather, trading_mode futures"
    return f"BASE_QUOTE-{frame}.feather, freqtrade's layout"
