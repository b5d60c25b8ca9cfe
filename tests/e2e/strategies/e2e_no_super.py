"""The end-to-end strategy with every callback the plugin uses overridden, none calling super()."""

from e2e_trailing import E2ETrailing


class E2ENoSuper(E2ETrailing):
    def bot_start(self, **kwargs):
        self.user_started = True

    def bot_loop_start(self, current_time, **kwargs):
        pass

    def order_filled(self, pair, trade, order, current_time, **kwargs):
        pass

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        return None
