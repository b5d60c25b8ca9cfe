"""Orphan classification (pure) and the reconciliation pass: who is unprotected, alarms per trade."""

from dataclasses import replace
from types import SimpleNamespace

import pytest
from freqtrade.exceptions import TemporaryError

from tests.test_governor import SETTINGS, Clock, StandInExchange
from ts_plugin.core.events import EventLog
from ts_plugin.exchange.governor import StopGovernor
from ts_plugin.exchange.reconcile import classify
from ts_plugin.exchange.reconciler import Reconciler


def _stop(order_id, pair="BTC/USDT"):
    return {"id": order_id, "symbol": pair, "type": "stop_loss_limit", "status": "open"}


def test_classify_sorts_every_stop_order():
    result = classify(
        [_stop("cur-1"), _stop("old-1"), _stop("manual-7"), _stop("cur-2", "ETH/USDT")],
        current_ids_by_pair={"BTC/USDT": {"cur-1"}, "ETH/USDT": {"cur-2"}, "SOL/USDT": {"cur-3"}},
        bot_created={("BTC/USDT", "cur-1"), ("BTC/USDT", "old-1"), ("ETH/USDT", "cur-2"), ("SOL/USDT", "cur-3")},
    )
    assert [o["id"] for o in result.current] == ["cur-1", "cur-2"]
    assert [o["id"] for o in result.orphans] == ["old-1"]
    assert [o["id"] for o in result.foreign] == ["manual-7"]
    assert result.unprotected == ("SOL/USDT",)


def test_trade_without_any_stop_record_is_unprotected():
    result = classify([], {"BTC/USDT": set()}, set())
    assert result.unprotected == ("BTC/USDT",) and not result.orphans


def test_orders_are_matched_by_pair_and_id():
    # Binance numbers spot orders per symbol: ETH's order 7 is not BTC's order 7.
    result = classify([_stop("7", "ETH/USDT")], {"BTC/USDT": {"7"}}, {("BTC/USDT", "7")})
    assert [o["id"] for o in result.foreign] == ["7"] and result.unprotected == ("BTC/USDT",)


def test_the_stop_the_plugin_recorded_but_freqtrade_never_committed_is_adopted():
    stops = [_stop("new-9"), _stop("new-3", "ETH/USDT"), _stop("cur-4", "ETH/USDT")]
    result = classify(
        stops,
        current_ids_by_pair={"BTC/USDT": {"old-8"}, "ETH/USDT": {"cur-4"}},
        bot_created={("BTC/USDT", "old-8"), ("ETH/USDT", "cur-4")},
        recorded_id_by_pair={"BTC/USDT": "new-9", "ETH/USDT": "new-3"},
    )
    assert [o["id"] for o in result.adoptable] == ["new-9"]  # BTC had no live stop: adopt
    # ETH has its live stop beside it: a replacement the bot did not finish (the reconciler keeps the
    # one that protects more, see test_replacement_interrupted.py)
    assert [o["id"] for o in result.replacements] == ["new-3"] and not result.orphans
    assert result.unprotected == () and [o["id"] for o in result.current] == ["cur-4"]


def test_a_recorded_id_freqtrade_knows_is_never_adopted():
    result = classify([_stop("old-8")], {"BTC/USDT": set()}, {("BTC/USDT", "old-8")},
                      recorded_id_by_pair={"BTC/USDT": "old-8"})
    assert not result.adoptable and [o["id"] for o in result.orphans] == ["old-8"]


# ----- issue 6 D.11 / D.14: who is unprotected, and alarms per trade -------------------------------

class Trades:
    """The governor's ledger and freqtrade's open trades, as the reconciliation sees them."""

    def __init__(self):
        self.open = []

    def add(self, trade_id, *stop_ids, pair="BTC/USDT"):
        trade = SimpleNamespace(id=trade_id, pair=pair, has_open_position=True, orders=[],
                                amount=1.0, leverage=1.0,
                                open_sl_orders=[SimpleNamespace(order_id=i) for i in stop_ids])
        self.open = [t for t in self.open if t.pair != pair] + [trade]
        return trade

    def open_trade(self, pair):
        return next((t for t in self.open if t.pair == pair), None)

    def state_of(self, trade):
        return None

    peek = state_of

    def save(self, trade, state, persist=True):
        pass


@pytest.fixture
def passes():
    """run() -> one reconciliation pass (dry-run listing: the stand-in's in-memory orders)."""
    exchange, trades, clock = StandInExchange(), Trades(), Clock()
    governor = StopGovernor(exchange, SETTINGS, trades, EventLog(verbose=True), wall_clock=clock,
                            monotonic=clock, sleep=lambda s: None, dry_run=True)
    governor.install()
    known = lambda pairs: {(t.pair, o.order_id) for t in trades.open for o in t.open_sl_orders}  # noqa: E731
    reconciler = Reconciler(governor, dry_run=True, bot_created_stops=known)

    def run():
        clock.now += SETTINGS.orphan_check_interval_s
        return reconciler.run(trades.open, ["BTC/USDT"], clock.now)

    return SimpleNamespace(exchange=exchange, trades=trades, governor=governor, reconciler=reconciler, run=run)


def _live(exchange, order_id, pair="BTC/USDT"):
    exchange._dry_run_open_orders[order_id] = {**_stop(order_id, pair), "stopPrice": 95.0, "side": "sell",
                                               "amount": 1.0}


def _alarms(caplog):
    return [r.getMessage() for r in caplog.records if "no live stop order" in r.getMessage()
            and r.levelname == "WARNING"]


def test_a_trade_awaiting_its_stop_is_no_alarm(passes, caplog):
    trade = passes.trades.add(1, "s1")  # a dry-run restart: s1 lived in the old process's memory
    passes.run()
    assert _alarms(caplog) == [] and passes.reconciler.awaiting == [("BTC/USDT", 1)]
    trade.open_sl_orders.append(SimpleNamespace(order_id="s2"))  # freqtrade's first iteration
    _live(passes.exchange, "s2")
    passes.run()
    assert _alarms(caplog) == [] and passes.reconciler.unprotected == []


def test_a_trade_still_without_a_stop_a_pass_later_alarms_once_with_its_id(passes, caplog):
    passes.trades.add(7)
    for _ in range(4):
        passes.run()
    assert len(_alarms(caplog)) == 1 and "trade_id=7 " in _alarms(caplog)[0]
    assert passes.reconciler.unprotected == [("BTC/USDT", 7)]


def test_alarms_are_per_trade_not_per_pair(passes, caplog):
    passes.trades.add(1)
    passes.run()
    passes.run()
    passes.trades.add(2)  # trade 1 closed; the pair's next trade has no stop either
    passes.run()
    passes.run()
    assert ["trade_id=1 " in a for a in _alarms(caplog)] == [True, False]
    assert "trade_id=2 " in _alarms(caplog)[1]


def test_a_stop_that_filled_is_not_a_missing_stop(passes, caplog):
    passes.trades.add(1, "s1")
    _live(passes.exchange, "s1")
    passes.exchange._dry_run_open_orders["s1"]["status"] = "closed"  # went off: the trade is closing
    passes.run()
    passes.run()
    assert _alarms(caplog) == [] and passes.governor.counters["stop_filled_not_missing"] == 2


def test_a_failed_placement_alarms_at_the_next_pass(passes, caplog):
    passes.trades.add(1)
    passes.exchange.create_answers = [TemporaryError("503")] * 2
    with pytest.raises(TemporaryError):
        passes.exchange.create_stoploss("BTC/USDT", 1.0, 95.0, {}, "sell", 1.0)
    passes.run()
    assert len(_alarms(caplog)) == 1 and "trade_id=1 " in _alarms(caplog)[0]


def test_a_lost_answer_found_only_by_the_reconciliation_is_adopted(passes, caplog, monkeypatch):
    monkeypatch.setattr("freqtrade.persistence.Order.parse_from_ccxt_object", staticmethod(lambda o, *a: o))
    monkeypatch.setattr("freqtrade.persistence.Trade.commit", staticmethod(lambda: None))
    trade = passes.trades.add(1)
    passes.exchange.create_answers = [TemporaryError("504 -1007 execution status unknown")] * 2
    with pytest.raises(TemporaryError):  # not listed yet when the create looked for it
        passes.exchange.create_stoploss("BTC/USDT", 1.0, 95.0, {}, "sell", 1.0)
    _live(passes.exchange, "lost-3")
    passes.exchange._dry_run_open_orders["lost-3"]["timestamp"] = passes.governor._wall() * 1000
    passes.run()
    assert [o["id"] for o in trade.orders] == ["lost-3"]  # freqtrade holds its record again
    assert _alarms(caplog) == [] and "foreign" not in caplog.text
    assert passes.governor.counters["lost_answers_adopted"] == 1


def test_live_a_stop_that_filled_is_found_by_asking_the_exchange(caplog):
    exchange, trades, clock = StandInExchange(), Trades(), Clock()
    governor = StopGovernor(exchange, SETTINGS, trades, EventLog(verbose=True), wall_clock=clock,
                            monotonic=clock, sleep=lambda s: None)
    governor.install()
    reconciler = Reconciler(governor, dry_run=False, bot_created_stops=lambda pairs: {("BTC/USDT", "s1")})
    trades.add(1, "s1")  # not among the exchange's open orders any more ...
    exchange.fetch_answers = [{"id": "s1", "status": "closed"}] * 2  # ... because it filled
    for _ in range(2):
        clock.now += SETTINGS.orphan_check_interval_s
        reconciler.run(trades.open, ["BTC/USDT"], clock.now)
    assert _alarms(caplog) == [] and ("fetch", "s1") in exchange.calls


# ----- issue 13.2: the plugin's own backstops, whatever the setting ---------------------------------

def test_a_trailing_or_conditional_order_counts_as_a_stop_without_a_trigger_price():
    """ccxt reads Binance's TRAILING_STOP_MARKET as type "market" with no trigger price (it has none
    until it fires); Bybit's position trailing stop shows as stopOrderType TrailingStop."""
    from ts_plugin.exchange.listing import is_stop

    binance = {"id": "3000001", "type": "market", "triggerPrice": None,
               "info": {"orderType": "TRAILING_STOP_MARKET", "algoType": "CONDITIONAL", "callbackRate": "0.5"}}
    bybit = {"id": "b-1", "type": "market", "info": {"stopOrderType": "TrailingStop"}}
    assert is_stop(binance) and is_stop(bybit)
    assert is_stop({"type": "market", "info": {"orderType": "TAKE_PROFIT_MARKET"}})
    assert not is_stop({"type": "limit", "info": {"type": "LIMIT", "stopOrderType": ""}})
    assert not is_stop({"type": "market", "info": {"type": "MARKET"}})


def test_switched_off_the_plugins_leftover_backstop_is_cancelled_and_counted():
    """native_backstop off at restart (Binance USD-M): the listing finds the plugin's backstop by its
    client id, the keeper that only cleans up cancels it, and the pass counts it as an orphan."""
    from ts_plugin.exchange.backstop_keeper import BINANCE_USDM_VENUE, BackstopKeeper

    exchange, trades, clock = StandInExchange(ccxt_id="binanceusdm", blocks_assets=False), Trades(), Clock()
    exchange.trading_mode = "futures"
    governor = StopGovernor(exchange, SETTINGS, trades, EventLog(verbose=True), wall_clock=clock,
                            monotonic=clock, sleep=lambda s: None)
    governor.install()
    cancelled = []
    venue = replace(BINANCE_USDM_VENUE, cancel=lambda ex, order_id, pair: cancelled.append(order_id))
    governor.backstop = BackstopKeeper(governor, venue, enabled=False)
    reconciler = Reconciler(governor, dry_run=False, bot_created_stops=lambda pairs: {("BTC/USDT", "s1")})
    trades.add(1, "s1")
    exchange.open_orders = [
        {**_stop("s1"), "stopPrice": 95.0},
        {"id": "3000009", "symbol": "BTC/USDT", "type": "market", "status": "open", "triggerPrice": None,
         "clientOrderId": "tsbk-1-1764000000000", "info": {"orderType": "TRAILING_STOP_MARKET"}},
        {"id": "3000010", "symbol": "BTC/USDT", "type": "market", "status": "open", "triggerPrice": None,
         "clientOrderId": "mine", "info": {"orderType": "TRAILING_STOP_MARKET"}}]
    clock.now += SETTINGS.orphan_check_interval_s
    result = reconciler.run(trades.open, ["BTC/USDT"], clock.now)
    assert cancelled == ["3000009"]
    assert [o["id"] for o in result.foreign] == ["3000010"]  # someone else's trailing order: reported, kept
    assert len(result.orphans) == 1 and governor.counters["orphans_cancelled"] == 1
