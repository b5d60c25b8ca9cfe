"""Issue 6, B and C: every way into a trade's state, against a real SQLite file and real Trade rows."""

import logging
import math

import pytest
from freqtrade.enums import ExitType
from freqtrade.persistence import Trade

from tests.freqtrade_helpers import (
    OPENED, AuditStrategy, add_trade, make_strategy, open_database, reload_trade, tick,
)
from ts_plugin.strategy.hooks import WiringError
from ts_plugin.strategy.mixin import CROSSED_EXIT_REASON
from ts_plugin.strategy.store import CUSTOM_DATA_KEY


class Fill:
    """What order_filled reads from freqtrade's Order."""

    def __init__(self, side, amount, price=None):
        self.ft_order_side, self.safe_amount, self.safe_price = side, amount, price


def add_entry_order(trade, price, amount):
    """A filled entry order, as freqtrade records it (the trade's entry prices come from these)."""
    from freqtrade.persistence import Order

    number = len(trade.orders) + 1
    trade.orders.append(Order(
        ft_order_side=trade.entry_side, ft_pair=trade.pair, ft_is_open=False, ft_amount=amount,
        ft_price=price, order_id=f"entry-{number}", status="closed", symbol=trade.pair,
        order_type="market", side=trade.entry_side, price=price, average=price, amount=amount,
        filled=amount, remaining=0, cost=price * amount, order_date=OPENED, order_filled_date=OPENED,
    ))
    Trade.commit()


def started(strategy, entry=50000.0, is_short=False):
    trade = add_trade(entry, is_short=is_short)
    add_entry_order(trade, entry, trade.amount)
    strategy.order_filled(pair=trade.pair, trade=trade, order=Fill(trade.entry_side, trade.amount, entry),
                          current_time=OPENED)
    return trade


def active_at_52000(db):
    strategy = make_strategy()
    trade = started(strategy)
    tick(strategy, trade, 52000, 45)
    assert trade.stop_loss == pytest.approx(51740)
    return trade


def restart(db, trade, **settings):
    trade_id = trade.id
    open_database(db)
    return make_strategy(**settings), reload_trade(trade_id)


def after_fill(strategy, trade, rate, minutes=60):
    from datetime import timedelta

    strategy.ft_stoploss_adjust(rate, trade, OPENED + timedelta(minutes=minutes), trade.calc_profit_ratio(rate),
                                0, after_fill=True)
    Trade.commit()


# ----- B.3 a fill seen before any tick after a restart ------------------------------------------

def test_an_entry_adjustment_filled_while_down_keeps_the_stored_state(db):
    trade = active_at_52000(db)
    stored = trade.get_custom_data(CUSTOM_DATA_KEY)
    strategy, trade = restart(db, trade)
    add_entry_order(trade, 50800.0, 0.01)
    trade.open_rate = 50400.0  # the adjustment's new average entry
    strategy.order_filled(pair=trade.pair, trade=trade, order=Fill(trade.entry_side, 0.01, 50800.0),
                          current_time=OPENED)
    state = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert state["phase"] == "ACTIVE" and state["peak"] == 52000 and state["stop"] == pytest.approx(51740)
    assert state["activated_at"] == stored["activated_at"] and state["entry"] == 50400.0
    assert strategy._ts_events.counts["CREATED"] == 0 and strategy.trailing_summary()["rebuilt"] == 0
    after_fill(strategy, trade, 51000)
    assert trade.stop_loss >= 51740 * (1 - 1e-9)


def test_an_exit_fill_seen_first_after_a_restart_closes_the_state(db):
    trade = active_at_52000(db)
    strategy, trade = restart(db, trade)
    trade.exit_reason, trade.is_open = "stoploss_on_exchange", False
    strategy.order_filled(pair=trade.pair, trade=trade, order=Fill("stoploss", trade.amount),
                          current_time=OPENED)
    state = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert state["phase"] == "CLOSED" and state["exit_reason"] == "stoploss_on_exchange"
    assert strategy.trailing_summary()["triggered"] == 1 and not strategy._ts_store.cache


# ----- B.4 never loosen what freqtrade holds -----------------------------------------------------

def test_an_edited_looser_row_never_becomes_freqtrades_stop(db, caplog):
    trade = active_at_52000(db)
    state = trade.get_custom_data(CUSTOM_DATA_KEY)
    trade.set_custom_data(CUSTOM_DATA_KEY, {**state, "stop": 45000.0})
    Trade.commit()
    strategy, trade = restart(db, trade)
    after_fill(strategy, trade, 51900)
    assert trade.stop_loss == pytest.approx(51740)
    assert "looser than the trade's stop" in caplog.text
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["stop"] == pytest.approx(51740)


@pytest.mark.parametrize("is_short, rate", [(False, math.inf), (False, math.nan), (True, 0.0), (True, -1.0)])
def test_an_unusable_rate_is_never_acted_on(db, is_short, rate, caplog):
    strategy = make_strategy()
    trade = started(strategy, is_short=is_short)
    tick(strategy, trade, 48000 if is_short else 52000, 45)
    held = trade.stop_loss
    assert strategy.custom_stoploss(trade.pair, trade, OPENED, rate, 0.0, after_fill=True) is None
    assert trade.stop_loss == held and "unusable current_rate" in caplog.text


# ----- B.5 rows that contradict the trade ----------------------------------------------------------

@pytest.mark.parametrize("edit, words", [
    ({"side": "short"}, "stored side short"),
    ({"phase": "CLOSED"}, "stored phase CLOSED"),
    ({"entry": 40000.0, "activation_price": 40600.0}, "stored entry 40000"),
])
def test_a_row_that_contradicts_its_trade_is_rebuilt(db, edit, words, caplog):
    strategy = make_strategy()
    trade = started(strategy)
    tick(strategy, trade, 50100, 5)
    trade.set_custom_data(CUSTOM_DATA_KEY, {**trade.get_custom_data(CUSTOM_DATA_KEY), **edit})
    Trade.commit()
    strategy, trade = restart(db, trade)
    tick(strategy, trade, 55000, 20)  # +10 %: must trail, not sit on the hard stop
    assert trade.stop_loss == pytest.approx(55000 * 0.995)
    assert words in caplog.text and strategy.trailing_summary()["rebuilt"] == 1
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["side"] == "long"


# ----- A.1 in freqtrade: the exit when the stop is through the price -----------------------------

def test_a_stop_through_the_price_exits_through_custom_exit(db):
    settings = {"time_activation": {"after_minutes": 60, "min_profit": 0.0}}
    strategy = make_strategy(**settings)
    strategy.ft_bot_start()  # use_exit_signal is False on the class
    assert strategy.use_exit_signal is False  # opened only while a trade is due to exit
    trade = started(strategy)
    tick(strategy, trade, 50600, 10)
    exits = tick(strategy, trade, 50200, 61)  # timer fires; 50600 x 0.995 = 50347 > 50200
    assert [e.exit_type for e in exits] == [ExitType.CUSTOM_EXIT]
    assert exits[0].exit_reason == CROSSED_EXIT_REASON and strategy.use_exit_signal is True
    state = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert state["crossed_at"] is not None and state["stop"] == pytest.approx(50347)
    assert strategy._ts_events.counts["TRIGGERED"] == 1
    trade.exit_reason, trade.is_open = CROSSED_EXIT_REASON, False
    strategy.order_filled(pair=trade.pair, trade=trade, order=Fill(trade.exit_side, trade.amount),
                          current_time=OPENED)
    assert strategy.use_exit_signal is False  # closed again once no trade is due


# ----- C.7 wiring mistakes -------------------------------------------------------------------------

def test_the_wrong_base_order_is_refused_when_the_class_is_defined():
    from freqtrade.strategy import IStrategy

    from ts_plugin import SmartTrailingMixin

    with pytest.raises(TypeError, match="consistent method resolution"):
        class Wrong(IStrategy, SmartTrailingMixin):
            pass

    class Base(IStrategy):
        def custom_stoploss(self, *args, **kwargs):
            return None

    with pytest.raises(WiringError, match=r"Base defines custom_stoploss.*class Wrong\(SmartTrailingMixin, Base, IStrategy\)"):
        class Wrong(Base, SmartTrailingMixin):  # noqa: F811
            pass


class NoSuper(AuditStrategy):
    """Every callback overridden, none calling super()."""

    smart_trailing = {"activation_profit": 0.015, "trail_distance": 0.005,
                      "time_activation": {"after_minutes": 60, "min_profit": 0.0}}
    calls: list

    def bot_start(self, **kwargs):
        self.calls = ["bot_start"]

    def bot_loop_start(self, current_time, **kwargs):
        self.calls.append("bot_loop_start")

    def order_filled(self, pair, trade, order, current_time, **kwargs):
        self.calls.append("order_filled")

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        self.calls.append("custom_stoploss")
        return None

    def custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        self.calls.append("custom_exit")
        return None


class WithSuper(NoSuper):
    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill, **kwargs):
        return super().custom_stoploss(pair, trade, current_time, current_rate, current_profit, after_fill, **kwargs)

    def order_filled(self, pair, trade, order, current_time, **kwargs):
        return super().order_filled(pair=pair, trade=trade, order=order, current_time=current_time, **kwargs)


@pytest.mark.parametrize("cls", [NoSuper, WithSuper])
def test_overrides_without_super_cannot_switch_the_plugin_off(db, cls, caplog, tmp_path):
    strategy = make_strategy(cls)
    strategy.config["user_data_dir"] = tmp_path  # where the health view goes
    strategy.ft_bot_start()
    trade = started(strategy)
    strategy.bot_loop_start(current_time=OPENED)
    assert (tmp_path / "smart_trailing_health.json").exists()  # the plugin's loop part ran
    assert strategy._ts_events.counts["CREATED"] == 1 and strategy.trailing_summary()["rebuilt"] == 0
    tick(strategy, trade, 52000, 45)
    assert trade.stop_loss == pytest.approx(51740)  # the trailing stop runs
    exits = tick(strategy, trade, 51900, 50)
    assert trade.stop_loss == pytest.approx(51740)
    assert strategy._ts_events.counts["CREATED"] == 1  # the super() chain did not run it twice
    assert "no stored state" not in caplog.text
    if cls is NoSuper:
        assert "custom_stoploss" in strategy.calls and "bot_start" in strategy.calls
    assert not exits


def test_the_tighter_of_the_strategys_stop_and_the_plugins_wins(db):
    class Tight(AuditStrategy):
        def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill, **kw):
            return 0.001  # 0.1 % below the rate, tighter than the plugin's 0.5 %

    strategy = make_strategy(Tight)
    trade = started(strategy)
    tick(strategy, trade, 52000, 45)
    assert trade.stop_loss == pytest.approx(52000 * 0.999)
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["stop"] == pytest.approx(51740)


def test_a_strategy_custom_stoploss_that_raises_leaves_the_plugins_stop(db, caplog):
    class Raises(AuditStrategy):
        def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill, **kw):
            raise RuntimeError("boom")

    strategy = make_strategy(Raises)
    trade = started(strategy)
    with caplog.at_level(logging.ERROR):
        tick(strategy, trade, 52000, 45)
    assert trade.stop_loss == pytest.approx(51740) and "Raises.custom_stoploss failed" in caplog.text


def test_a_5x_futures_short_trails_on_price_not_on_leverage(db):
    """Ratios are of price: a 5x short trails 0.5 % above its lowest price, and freqtrade holds that."""
    from freqtrade.enums import TradingMode

    strategy = make_strategy()
    trade = add_trade(100.0, is_short=True)
    trade.leverage, trade.trading_mode = 5.0, TradingMode.FUTURES
    trade.adjust_stop_loss(100.0, -0.05, initial=True, allow_refresh=True)
    add_entry_order(trade, 100.0, trade.amount)
    strategy.order_filled(pair=trade.pair, trade=trade, order=Fill(trade.entry_side, trade.amount, 100.0),
                          current_time=OPENED)
    tick(strategy, trade, 98.0, 30)
    assert trade.stop_loss == pytest.approx(98.0 * 1.005)
    exits = tick(strategy, trade, 98.6, 35)
    assert exits and exits[0].exit_type is ExitType.TRAILING_STOP_LOSS
    state = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert state["side"] == "short" and state["stop"] == pytest.approx(98.49)


def test_a_hard_stop_rounded_one_tick_is_not_a_moved_stop(db, caplog):
    """freqtrade recomputing the hard stop can round float noise into one tick and flag the stop as
    trailing: a WAITING state without a stop of its own is still consistent with that trade."""
    strategy = make_strategy()
    trade = started(strategy, entry=102.85)
    trade.price_precision, trade.precision_mode_price = 0.001, 4  # ccxt's TICK_SIZE
    trade.initial_stop_loss, trade.stop_loss, trade.is_stop_loss_trailing = 97.708, 97.709, True
    Trade.commit()
    strategy, trade = restart(db, trade)
    tick(strategy, trade, 102.9, 5)
    assert strategy.trailing_summary()["rebuilt"] == 0 and "rebuilt from the trade" not in caplog.text


def test_the_reconciler_never_creates_a_state_for_a_trade_whose_entry_is_being_handled(db, caplog):
    """bot_loop_start (reconciliation) runs outside freqtrade's exit lock, while a forced entry is
    handled in the API thread: the trade can be visible before its entry fill reached order_filled."""
    from ts_plugin.exchange.wiring import StrategyLedger

    strategy = make_strategy()
    trade = add_trade(50000.0)
    assert StrategyLedger(strategy).peek(trade) is None
    started_trade = started(strategy)  # the fill arrives: a fresh state, no rebuild
    assert StrategyLedger(strategy).peek(started_trade).phase.value == "WAITING"
    assert strategy.trailing_summary()["rebuilt"] == 0 and "rebuilt from the trade" not in caplog.text
