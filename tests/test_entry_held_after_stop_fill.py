"""An entry adjustment is held back while the exchange says the trade's stop went off.

freqtrade reads a trade's stop in ``exit_positions`` and asks ``adjust_trade_position`` later in the
same iteration; a stop that fills in between is not booked yet, and an added entry would open a new
position under a trade whose position is gone (the futures soak met it: a DCA filled 1.3 s after the
stop closed the whole position). Unit seams: the governor with the stand-in Exchange of
``test_governor.py`` and freqtrade's real ``Order`` records; the mixin's wrapper of a strategy's own
``adjust_trade_position``.
"""

import pytest
from freqtrade.persistence import Order

from tests.freqtrade_helpers import AuditStrategy, make_strategy
from tests.test_governor import ORDER, SETTINGS, Ledger, StandInExchange
from ts_plugin.core.events import EventLog
from ts_plugin.exchange.governor import StopGovernor


class TradeWithStop:
    def __init__(self):
        self.id, self.pair, self.amount, self.is_short = 7, "BTC/USDT", 1.0, False
        self.orders = [Order.parse_from_ccxt_object({**ORDER, "status": "open"}, self.pair, "stoploss",
                                                    1.0, 95.0)]

    @property
    def open_sl_orders(self):
        return [o for o in self.orders if o.ft_order_side == "stoploss" and o.ft_is_open]


def governor(answer=None, dry_run=False, fails=False):
    exchange = StandInExchange("binanceusdm", blocks_assets=False)
    if answer is not None:
        exchange.fetch_answers.append(answer)
    if fails:
        def refuse(order_id, pair):
            raise RuntimeError("exchange down")
        exchange.fetch_stoploss_order = refuse
    governed = StopGovernor(exchange, SETTINGS, Ledger(), EventLog(verbose=True), sleep=lambda s: None,
                            dry_run=dry_run)
    governed.install()
    return governed


@pytest.mark.parametrize("answer", [{"status": "closed", "filled": 1.0}, {"status": "open", "filled": 0.4},
                                   {"status": "open", "status_stop": "triggered"}])
def test_a_stop_that_went_off_is_named(answer):
    governed = governor({"id": ORDER["id"], **answer})
    assert governed.stop_went_off(TradeWithStop()) == str(ORDER["id"])
    assert governed.counters["entries_held_after_stop_fill"] == 1


def test_a_live_stop_a_failed_read_and_dry_run_say_nothing():
    assert governor({"id": ORDER["id"], "status": "open", "filled": 0}).stop_went_off(TradeWithStop()) is None
    assert governor(fails=True).stop_went_off(TradeWithStop()) is None
    assert governor({"id": ORDER["id"], "status": "closed"}, dry_run=True).stop_went_off(TradeWithStop()) is None


class Adding(AuditStrategy):
    answer = (25.0, "add")

    def adjust_trade_position(self, trade, current_time, current_rate, current_profit, min_stake, max_stake,
                              **kwargs):
        return self.answer


class Judge:
    def __init__(self, went_off):
        self.went_off, self.asked = went_off, 0

    def stop_went_off(self, trade):
        self.asked += 1
        return self.went_off


def adjust(strategy):
    return strategy.adjust_trade_position(trade=TradeWithStop(), current_time=None, current_rate=100.0,
                                          current_profit=0.01, min_stake=1.0, max_stake=100.0)


def test_an_added_entry_is_held_back_only_while_the_stop_went_off():
    strategy = make_strategy(Adding)
    assert adjust(strategy) == (25.0, "add")  # no governor (backtest, dry run without stops on exchange)
    strategy._ts_governor = Judge("3000001")
    assert adjust(strategy) is None
    strategy._ts_governor = Judge(None)
    assert adjust(strategy) == (25.0, "add")


@pytest.mark.parametrize("answer", [(-10.0, "partial exit"), None, (None, ""), 0.0, (True, "not a stake")])
def test_exits_and_no_change_are_never_asked_about(answer):
    strategy = make_strategy(Adding)
    strategy.answer = answer
    strategy._ts_governor = judge = Judge("3000001")
    assert adjust(strategy) == answer and judge.asked == 0


class Exiting(TradeWithStop):
    """A long whose exit order is open (freqtrade's emergency exit after its stop was refused)."""

    exit_side = "sell"

    def __init__(self):
        super().__init__()
        self.orders.append(Order.parse_from_ccxt_object(
            {"id": "exit-1", "symbol": self.pair, "status": "open", "side": "sell", "type": "market",
             "amount": 1.0, "filled": 0.0, "remaining": 1.0, "price": 96.0}, self.pair, "sell", 1.0, 96.0))

    @property
    def open_orders(self):
        return [o for o in self.orders if o.ft_is_open and o.ft_order_side != "stoploss"]


def test_an_added_entry_is_held_back_while_the_trade_is_exiting():
    """The Bybit soak: freqtrade's first stop refused as triggering at once, its emergency exit open
    (and already filled on the exchange), then a DCA asked in the same iteration: freqtrade cancels the
    exit to place the entry, and the entry reopened the trade with no stop."""
    strategy = make_strategy(Adding)
    strategy._ts_governor = judge = Judge(None)
    judge.counters = {"entries_held_while_exiting": 0}
    trade = Exiting()
    answer = strategy.adjust_trade_position(trade=trade, current_time=None, current_rate=100.0,
                                            current_profit=-0.03, min_stake=1.0, max_stake=100.0)
    assert answer is None and judge.counters["entries_held_while_exiting"] == 1 and judge.asked == 0
    trade.orders[-1].ft_is_open = False  # the exit booked: nothing held back any more
    assert strategy.adjust_trade_position(trade=trade, current_time=None, current_rate=100.0, current_profit=-0.03,
                                          min_stake=1.0, max_stake=100.0) == (25.0, "add")
