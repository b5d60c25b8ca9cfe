"""A strategy's own ``custom_stoploss`` is wrapped (the plugin's part runs first): the plugin's part
must still get freqtrade's ``current_profit``, or ``activation_basis: profit_after_fees`` would quietly
fall back to the price level and activate on a rise that fees leave short of the offset."""

from __future__ import annotations

from freqtrade.persistence import Trade

from tests.freqtrade_helpers import OPENED, AuditStrategy, add_trade, make_strategy
from ts_plugin.strategy.store import CUSTOM_DATA_KEY

BASIS = {"activation_basis": "profit_after_fees", "activation_profit": 0.015, "trail_distance": 0.005}


class OwnStoploss(AuditStrategy):
    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill, **kwargs):
        return None  # the strategy has no opinion: the plugin's stop stands


def phase_after(strategy_class, db) -> str:
    strategy = make_strategy(strategy_class, **BASIS)
    trade = add_trade(entry=100.0)
    rate = 101.6  # +1.6 % on price, +1.4 % after 0.1 % fees each way: not above 1.5 %
    profit = trade.calc_profit_ratio(rate)
    assert 0.0 < profit < 0.015 < rate / 100.0 - 1
    strategy.custom_stoploss(trade.pair, trade, OPENED, rate, profit, after_fill=False)
    Trade.commit()
    return strategy._ts_store.cache[strategy._ts_store.key(trade)].phase.value


def test_a_wrapped_custom_stoploss_keeps_the_profit_after_fees_basis(db):
    assert phase_after(AuditStrategy, db) != "ACTIVE"  # the mixin's own custom_stoploss
    assert phase_after(OwnStoploss, db) != "ACTIVE"  # wrapped: the same answer
