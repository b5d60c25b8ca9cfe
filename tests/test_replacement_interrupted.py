"""A bot killed in the middle of a make-before-break (the new stop created, the old one not yet
cancelled) restarts with exactly one live stop: the tighter, new one, known to freqtrade.

freqtrade commits its record of the new stop only after the iteration; the plugin stores the new
stop's id before it cancels the old one, and the reconciliation after the restart finishes the
replacement (new stop re-attached first, then the old one cancelled). The crash is a real
``SIGKILL`` of a forked process at the moment the old stop's cancel is sent (no ``finally``, no
commit runs), on a real freqtrade trade database (SQLite); the restart is a fresh strategy, governor
and reconciliation on the same database, against the same stand-in exchange's orders.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest
from freqtrade.persistence import Order, Trade

from tests.freqtrade_helpers import make_strategy, open_database
from tests.restart_scenarios import Database, start_trade
from tests.test_governor import SETTINGS, Clock, StandInExchange
from ts_plugin.core.events import EventLog
from ts_plugin.exchange.governor import StopGovernor
from ts_plugin.exchange.reconcile import classify
from ts_plugin.exchange.reconciler import Reconciler
from ts_plugin.exchange.wiring import StrategyLedger, bot_created_stops

PAIR = "BTC/USDT"
OLD_STOP, NEW_STOP = 47500.0, 49500.0


def stop_order(order_id: str, stop: float, amount: float = 0.01) -> dict:
    return {"id": order_id, "symbol": PAIR, "type": "stop_loss_limit", "side": "sell", "status": "open",
            "amount": amount, "filled": 0.0, "remaining": amount, "price": stop * 0.99, "stopPrice": stop,
            "timestamp": 1_767_614_400_000}


class Venue(StandInExchange):
    """Binance USD-M as the governor sees it (make-before-break), its open stops kept in a file so
    they outlive the killed process. ``kill_on_cancel``: SIGKILL when a cancel is sent."""

    def __init__(self, book: Path, kill_on_cancel: bool = False) -> None:
        super().__init__("binanceusdm", blocks_assets=False)
        self.book, self.kill_on_cancel = book, kill_on_cancel

    def live(self) -> list[dict]:
        return json.loads(self.book.read_text())

    def _keep(self, orders: list[dict]) -> None:
        self.book.write_text(json.dumps(orders))

    def _open_orders(self, pair, params=None):
        return [o for o in self.live() if o["symbol"] == pair]

    def create_stoploss(self, pair, amount, stop_price, order_types, side, leverage):
        order = stop_order(f"new-{stop_price:g}", stop_price, amount)
        self._keep(self.live() + [order])
        return order

    def cancel_stoploss_order(self, order_id, pair, params=None):
        if self.kill_on_cancel:
            os.kill(os.getpid(), signal.SIGKILL)  # the bot dies before the cancel reaches the exchange
        self._keep([o for o in self.live() if o["id"] != order_id])
        return {"id": order_id, "status": "canceled"}

    def fetch_stoploss_order(self, order_id, pair):
        return next((o for o in self.live() if o["id"] == order_id), {"id": order_id, "status": "canceled"})


def bot_process(db: Path, book: Path, kill_on_cancel: bool = False):
    """What a bot process holds: its strategy, governor and reconciler on the trade database."""
    open_database(db)
    strategy = make_strategy()
    exchange = Venue(book, kill_on_cancel)
    clock = Clock()
    governor = StopGovernor(exchange, SETTINGS, StrategyLedger(strategy), EventLog(verbose=True),
                            wall_clock=clock, monotonic=clock, sleep=lambda s: None)
    governor.install()
    reconciler = Reconciler(governor, dry_run=False, bot_created_stops=bot_created_stops)
    return SimpleNamespace(strategy=strategy, exchange=exchange, governor=governor, reconciler=reconciler,
                           clock=clock)


def move_the_stop_and_die(db: Path, book: Path) -> None:
    """The child process: freqtrade asks about its stop, the plugin replaces it and is killed."""
    bot = bot_process(db, book, kill_on_cancel=True)
    bot.governor.reconciled = True
    (trade,) = Trade.get_open_trades()
    bot.exchange.stoploss_adjust(NEW_STOP, stop_order("old", OLD_STOP), "sell")
    os._exit(0)  # not reached when the kill point was met


@pytest.fixture
def killed_mid_replacement(tmp_path):
    db, book = tmp_path / "trades.sqlite", tmp_path / "exchange.json"
    database = Database(f"sqlite:///{db}").open()
    trade = start_trade(make_strategy())
    trade.orders.append(Order.parse_from_ccxt_object(stop_order("old", OLD_STOP), PAIR, "stoploss", trade.amount,
                                                     OLD_STOP))
    Trade.commit()
    book.write_text(json.dumps([stop_order("old", OLD_STOP)]))
    database.close()
    child = multiprocessing.get_context("fork").Process(target=move_the_stop_and_die, args=(db, book))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL, "the kill point (the old stop's cancel) was not reached"
    assert sorted(o["id"] for o in json.loads(book.read_text())) == ["new-49500", "old"]  # both live
    yield db, book
    Database(f"sqlite:///{db}").close()


def test_after_a_kill_between_create_and_cancel_the_restart_keeps_only_the_tighter_new_stop(
        killed_mid_replacement, caplog):
    db, book = killed_mid_replacement
    bot = bot_process(db, book)  # the restart: a fresh process on the same database
    (trade,) = Trade.get_open_trades()
    assert [o.order_id for o in trade.open_sl_orders] == ["old"]  # freqtrade never committed the new one
    for _ in range(2):  # the start-up pass finishes the replacement; the next one finds nothing to do
        bot.clock.now += SETTINGS.orphan_check_interval_s
        result = bot.reconciler.run(Trade.get_open_trades(), [PAIR], bot.clock.now)
    live = bot.exchange.live()
    assert [(o["id"], o["stopPrice"]) for o in live] == [("new-49500", NEW_STOP)]
    (trade,) = Trade.get_open_trades()
    assert [o.order_id for o in trade.open_sl_orders] == ["new-49500"]
    assert trade.select_order_by_order_id("old").status == "canceled"
    state = StrategyLedger(bot.strategy).peek(trade)
    assert state.exchange_stop_id == "new-49500" and state.exchange_stop == NEW_STOP
    assert not result.foreign and not result.orphans and not result.unprotected
    assert bot.governor.counters["replacements_finished_by_reconciliation"] == 1
    assert "foreign stop order" not in caplog.text and "no live stop order" not in caplog.text


# ----- the decision, without a crash --------------------------------------------------------------

def _stop(order_id, stop, amount=1.0):
    return {"id": order_id, "symbol": PAIR, "type": "stop_loss_limit", "status": "open", "stopPrice": stop,
            "amount": amount}


def test_classify_names_a_recorded_stop_live_beside_the_current_one_a_replacement():
    result = classify([_stop("old", 95.0), _stop("new", 96.0)], {PAIR: {"old"}}, {(PAIR, "old")},
                      recorded_id_by_pair={PAIR: "new"})
    assert [o["id"] for o in result.replacements] == ["new"]
    assert [o["id"] for o in result.current] == ["old"] and not result.orphans and not result.foreign


class Ledger:
    def __init__(self, trade):
        self.trade = trade

    def open_trade(self, pair):
        return self.trade

    def state_of(self, trade):
        return None

    peek = state_of

    def save(self, trade, state, persist=True):
        pass


@pytest.mark.parametrize("new_stop, new_amount, kept", [
    (96.0, 1.0, "new"),  # tighter, same amount: the replacement is finished
    (95.0, 1.0, "new"),  # as tight: the plugin's last is kept
    (94.0, 1.0, "old"),  # looser: never kept, cancelled as an orphan
    (96.0, 0.5, "old"),  # tighter but closes less than the stop it would replace
])
def test_the_stop_that_protects_more_is_kept(monkeypatch, new_stop, new_amount, kept):
    monkeypatch.setattr("freqtrade.persistence.Order.parse_from_ccxt_object", staticmethod(lambda o, *a: o))
    monkeypatch.setattr("freqtrade.persistence.Trade.commit", staticmethod(lambda: None))
    trade = SimpleNamespace(id=1, pair=PAIR, is_short=False, has_open_position=True, amount=1.0, leverage=1.0,
                            orders=[], open_sl_orders=[SimpleNamespace(order_id="old")],
                            select_order_by_order_id=lambda order_id: None)
    exchange, clock = StandInExchange("binanceusdm", blocks_assets=False), Clock()
    exchange.open_orders = [_stop("old", 95.0), _stop("new", new_stop, new_amount)]
    exchange.cancel_stoploss_order = lambda order_id, pair, params=None: exchange.open_orders.remove(
        next(o for o in exchange.open_orders if o["id"] == order_id)) or {"id": order_id, "status": "canceled"}
    ledger = Ledger(trade)
    ledger.peek = lambda t: SimpleNamespace(exchange_stop_id="new")
    governor = StopGovernor(exchange, SETTINGS, ledger, EventLog(verbose=True), wall_clock=clock,
                            monotonic=clock, sleep=lambda s: None)
    governor.install()
    reconciler = Reconciler(governor, dry_run=False, bot_created_stops=lambda pairs: {(PAIR, "old")})
    reconciler.run([trade], [PAIR], clock.now)
    assert [o["id"] for o in exchange.open_orders] == [kept]
    assert [getattr(o, "get", lambda k: o.order_id)("id") for o in trade.orders] == (["new"] if kept == "new" else [])
