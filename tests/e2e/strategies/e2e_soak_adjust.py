"""The soak's strategy on futures: the end-to-end strategy with position adjustment on some trades.

Which trade adjusts is fixed by its id, so every run mixes the four kinds (the soak force-enters a
new trade on every flat pair, ids run 1, 2, 3, ...):

- id % 4 == 1: one more entry of the same stake once the trade is 1.2 % up (the trailing stop is
  active at 1 %): a DCA while trailing, the case where a native backstop must follow the amount;
- id % 4 == 2: a partial exit of a third of the stake once the trade is 1.2 % up (while trailing);
- id % 4 == 3: one more entry once the trade is 1 % down (a classic DCA, before activation);
- id % 4 == 0: no adjustment.
"""

from tests.e2e.strategies.e2e_trailing import E2ETrailing

UP, DOWN = 0.012, -0.01


class E2ESoakAdjust(E2ETrailing):
    position_adjustment_enable = True
    max_entry_position_adjustment = 1

    def adjust_trade_position(self, trade, current_time, current_rate, current_profit, min_stake, max_stake,
                              current_entry_rate, current_exit_rate, current_entry_profit,
                              current_exit_profit, **kwargs):
        kind = trade.id % 4
        if kind == 1 and trade.nr_of_successful_entries == 1 and current_profit >= UP:
            return min(trade.stake_amount, max_stake), "soak: add while trailing"
        if kind == 2 and trade.nr_of_successful_exits == 0 and current_profit >= UP:
            return -trade.stake_amount / 3, "soak: partial exit"
        if kind == 3 and trade.nr_of_successful_entries == 1 and current_profit <= DOWN:
            return min(trade.stake_amount, max_stake), "soak: add on a dip"
        return None
