"""Real freqtrade objects for in-process tests: a SQLite trade database and a mixin strategy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from freqtrade.enums import CandleType, RunMode, TradingMode
from freqtrade.persistence import Trade, init_db
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ts_plugin import SmartTrailingMixin

OPENED = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


class AuditStrategy(SmartTrailingMixin, IStrategy):
    """The audit's settings: activation 1.5 %, distance 0.5 %, initial hard stop 5 %."""

    timeframe = "5m"
    stoploss = -0.05
    minimal_roi = {0: 10.0}  # int keys: what the resolver would make of "0"
    smart_trailing = {"activation_profit": 0.015, "trail_distance": 0.005}
    # Attributes freqtrade's StrategyResolver would otherwise fill in from the config.
    use_exit_signal = False
    exit_profit_only = False
    exit_profit_offset = 0.0
    ignore_roi_if_entry_signal = False
    trailing_stop = False
    trailing_stop_positive = None
    trailing_stop_positive_offset = 0.0
    trailing_only_offset_is_reached = False

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe


def strategy_config(runmode: RunMode = RunMode.DRY_RUN, **smart_trailing) -> dict:
    config = {
        "runmode": runmode,
        "dry_run": runmode is not RunMode.LIVE,
        "stake_currency": "USDT",
        "candle_type_def": CandleType.SPOT,
        "trading_mode": TradingMode.SPOT,
    }
    if smart_trailing:
        config["smart_trailing"] = smart_trailing
    return config


def make_strategy(cls=AuditStrategy, runmode: RunMode = RunMode.DRY_RUN, **smart_trailing):
    """A fresh strategy object, as freqtrade builds one at start-up or on /reload_config."""
    strategy = cls(strategy_config(runmode, **smart_trailing))
    strategy._ft_stop_uses_after_fill = True  # what freqtrade's StrategyResolver detects
    return strategy


def open_database(path: Path) -> None:
    """(Re)open the trade database, as a bot process does when it starts."""
    init_db(f"sqlite:///{path}")


def add_trade(entry: float = 50000.0, is_short: bool = False, stoploss: float = -0.05) -> Trade:
    trade = Trade(
        pair="BTC/USDT",
        base_currency="BTC",
        stake_currency="USDT",
        exchange="binance",
        open_rate=entry,
        amount=0.01,
        amount_requested=0.01,
        stake_amount=entry * 0.01,
        fee_open=0.001,
        fee_close=0.001,
        open_date=OPENED,
        is_open=True,
        is_short=is_short,
        leverage=1.0,
        trading_mode=TradingMode.SPOT,
    )
    trade.adjust_stop_loss(entry, stoploss, initial=True)
    Trade.session.add(trade)
    Trade.commit()
    return trade


def tick(strategy, trade: Trade, price: float, minutes: float):
    """One bot iteration for this trade: freqtrade's own should_exit, then the commit it makes."""
    when = OPENED + timedelta(minutes=minutes)
    exits = strategy.should_exit(trade, price, when, enter=False, exit_=False)
    Trade.commit()
    return exits


def reload_trade(trade_id: int) -> Trade:
    return Trade.session.get(Trade, trade_id)


def book_fill(trade: Trade, side: str, quote: float, price: float, amount: float):
    """An order asked at ``quote`` that filled at ``price``, booked through freqtrade's own
    ``update_trade`` (open rate, average entry and the stop it recomputes from them); the order."""
    from freqtrade.persistence import Order

    number = len(trade.orders) + 1
    order = Order(
        ft_order_side=side, ft_pair=trade.pair, ft_is_open=True, ft_amount=amount, ft_price=quote,
        order_id=f"{side}-{trade.id}-{number}", status="open", symbol=trade.pair, order_type="market", side=side,
        price=quote, amount=amount, filled=0.0, remaining=amount, order_date=OPENED,
    )
    trade.orders.append(order)
    order.status, order.ft_is_open, order.average = "closed", False, price
    order.filled, order.remaining, order.cost = amount, 0.0, price * amount
    order.order_filled_date = OPENED
    trade.update_trade(order)
    return order
