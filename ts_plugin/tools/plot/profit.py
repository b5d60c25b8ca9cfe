"""freqtrade's ``current_profit`` for a replayed backtest trade, as its backtester computed it.

``activation_basis: "profit_after_fees"`` activates on the profit freqtrade passes ``custom_stoploss``:
``Trade.calc_profit_ratio`` at the tick's rate, after the trade's entry and exit fees, times its
leverage. The replay has no freqtrade trade, so one is built from the exported trade record (its
open rate, amount, fees, leverage and direction) and the run's trading mode (the record does not
carry it), and asked the same question; the numbers are freqtrade's own, rounding included.

Left out: a futures trade's funding fees, which freqtrade adds as they fall due over the trade's life
(the record holds only their total at the exit). They move the profit by hundredths of a percent a
day, so only an activation within that much of the offset can replay a tick apart.
"""

from __future__ import annotations

from typing import Any, Callable


def profit_for(record: dict[str, Any], trading_mode: str | None) -> Callable[[float], float]:
    """``profit_at(rate)`` for one exported backtest trade (``--export trades``) of a run in
    ``trading_mode`` (the backtest config's; None: spot)."""
    from freqtrade.enums import TradingMode
    from freqtrade.persistence import LocalTrade

    trade = LocalTrade(
        pair=record["pair"], open_rate=float(record["open_rate"]), amount=float(record["amount"]),
        fee_open=float(record.get("fee_open") or 0.0), fee_close=float(record.get("fee_close") or 0.0),
        is_short=bool(record["is_short"]), leverage=float(record.get("leverage") or 1.0),
        trading_mode=TradingMode(trading_mode or TradingMode.SPOT), exchange="backtest")

    return trade.calc_profit_ratio
