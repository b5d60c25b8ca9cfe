"""The backstop keeper's decisions against a recording venue: placed once when a trade trails,
replaced only when the rounded distance changes (new first), dropped when the trade's stop fills or
it exits; a fired backstop becomes the stop's outcome; reconciliation cancels orphans, adopts an
unrecorded backstop and re-places a missing one."""

from collections import Counter
from dataclasses import replace
from types import SimpleNamespace

import pytest
from freqtrade.exceptions import InvalidOrderException, TemporaryError

from ts_plugin.exchange.backstop import BINANCE_USDM
from ts_plugin.exchange.backstop_keeper import BackstopKeeper, Venue
from ts_plugin.exchange.watch import Watches
from ts_plugin.state import Phase, TrailState

PAIR = "BTC/USDT:USDT"


def _state(**fields):
    base = TrailState(is_short=False, entry=100.0, activation_price=101.5, peak=104.0, stop=103.48,
                      phase=Phase.ACTIVE, opened_at=0.0, updated_at=0.0, distance=0.005)
    return replace(base, **fields)


class World:
    """A governor's surroundings: one trade, its state, the exchange's orders and the calls made."""

    def __init__(self):
        self.calls = []
        self.price = 104.0
        self.now = 1000.0
        self.serial = 0
        self.fail_place = None
        self.answers = {}  # order id -> what reading it returns
        self.trade = SimpleNamespace(id=7, pair=PAIR, is_short=False, amount=2.0, is_open=True,
                                     has_open_position=True, stop_ids={"s1"})
        self.trade.select_order_by_order_id = lambda oid: (
            SimpleNamespace(ft_order_side="stoploss") if oid in self.trade.stop_ids else None)
        self.state = _state()
        self.events = []
        exchange = SimpleNamespace(
            get_rate=lambda pair, refresh, side, is_short: self.price,
            price_to_precision=lambda pair, price: round(price, 1))
        ledger = SimpleNamespace(open_trade=lambda pair: self.trade if self.trade.is_open else None,
                                 state_of=lambda trade: self.state, peek=lambda trade: self.state,
                                 save=self._save)
        self.governor = SimpleNamespace(
            exchange=exchange, ledger=ledger, reconciled=True, counters=Counter(), watches=Watches(),
            settings=SimpleNamespace(min_update_interval_s=60.0), _wall=lambda: self.now,
            breaker=SimpleNamespace(allows=lambda now: True), _guarded=lambda label, func: func(),
            alarm=lambda key, kind, reason, **f: self.events.append(("WARNING", reason)),
            events=SimpleNamespace(emit=lambda name, trade_id, pair, **f: self.events.append((name.value, f))),
            _original={"cancel_stoploss_order": lambda oid, pair: self.calls.append(("cancel stop", oid)),
                       "fetch_stoploss_order": self._read})
        venue = Venue("test", BINANCE_USDM, self._place, self._cancel, lambda o: o.get("clientOrderId", ""))
        self.keeper = BackstopKeeper(self.governor, venue)

    def _save(self, trade, state, persist=True):
        self.state = state

    def _place(self, exchange, pair, side, amount, native, activation, client):
        if self.fail_place:
            raise self.fail_place
        self.serial += 1
        self.calls.append(("place", side, amount, native, activation, client.split("-")[:2]))
        return {"id": f"b{self.serial}"}

    def _cancel(self, exchange, order_id, pair):
        self.calls.append(("cancel", order_id))

    def _read(self, order_id, pair):
        self.calls.append(("read", order_id))
        answer = self.answers.get(order_id)
        if answer is None:
            raise InvalidOrderException("unknown")
        return answer


@pytest.fixture
def world():
    return World()


def test_placed_once_and_replaced_only_when_the_rounded_distance_changes(world):
    keeper = world.keeper
    keeper.follow(world.trade)
    assert world.calls == [("place", "sell", 2.0, 0.5, None, ["tsbk", "7"])]  # price at the peak: no activation
    assert (world.state.backstop_id, world.state.backstop_native) == ("b1", 0.5)
    world.state = replace(world.state, peak=105.0, distance=0.0042)  # moves, same 0.5 % once rounded up
    world.price = 104.5
    for _ in range(3):
        keeper.follow(world.trade)
    assert len(world.calls) == 1
    world.state = replace(world.state, distance=0.0035)  # a step: 0.4 %, placed first, then the old goes
    keeper.follow(world.trade)
    assert world.calls[1:] == [("place", "sell", 2.0, 0.4, 105.0, ["tsbk", "7"]), ("cancel", "b1")]
    assert world.state.backstop_id == "b2" and world.governor.counters["backstops_replaced"] == 1


def test_nothing_before_trailing_or_before_the_first_reconciliation(world):
    world.state = _state(phase=Phase.BREAKEVEN, distance=None)
    world.keeper.follow(world.trade)
    world.state = _state()
    world.governor.reconciled = False
    world.keeper.follow(world.trade)
    assert world.calls == []


def test_a_distance_wider_than_the_exchange_allows_holds_none_and_says_so(world):
    world.keeper.follow(world.trade)
    world.state = replace(world.state, distance=0.12)  # Binance's callbackRate stops at 10 %
    world.keeper.follow(world.trade)
    assert world.calls[-1] == ("cancel", "b1") and world.state.backstop_id is None
    assert any("wider than test allows" in e[1] for e in world.events if e[0] == "WARNING")


def test_a_failed_placement_waits_for_the_update_interval(world):
    world.fail_place = TemporaryError("timeout")
    world.keeper.follow(world.trade)
    world.fail_place = None
    world.keeper.follow(world.trade)
    assert world.calls == [] and world.governor.counters["backstop_failures"] == 1
    world.now += 60
    world.keeper.follow(world.trade)
    assert [c[0] for c in world.calls] == ["place"]


def test_the_stop_filling_cancels_the_backstop(world):
    world.keeper.follow(world.trade)
    filled = {"id": "s1", "status": "closed", "filled": 2.0}
    assert world.keeper.after_fetch("s1", PAIR, filled) is filled
    assert world.calls[-1] == ("cancel", "b1") and world.state.backstop_id is None


def test_a_stop_that_went_off_on_an_empty_position_is_no_fill(world):
    world.keeper.follow(world.trade)
    expired = {"id": "s1", "status": "expired", "status_stop": "triggered", "filled": 0.0}
    world.answers["b1"] = {"id": "b1", "status": "open"}
    world.price = 103.0  # in the zone: the backstop is read, still live
    assert world.keeper.after_fetch("s1", PAIR, expired) is expired
    assert world.calls[-1] == ("read", "b1") and world.state.backstop_id == "b1"


def test_the_backstop_is_read_only_once_the_price_gave_back_half_its_distance(world):
    world.keeper.follow(world.trade)
    stop = {"id": "s1", "status": "open", "filled": 0.0}
    world.price = 104.0 * (1 - 0.0025) + 0.01
    assert world.keeper.after_fetch("s1", PAIR, stop) is stop and len(world.calls) == 1  # no request
    world.price = 104.0 * (1 - 0.0025) - 0.01
    world.answers["b1"] = {"id": "b1", "status": "open"}
    assert world.keeper.after_fetch("s1", PAIR, stop) is stop and world.calls[-1] == ("read", "b1")


def test_a_fired_backstop_becomes_the_outcome_of_the_trades_stop(world):
    world.keeper.follow(world.trade)
    world.price = 103.4
    world.answers["b1"] = {"id": "b1", "id_stop": "f9", "status": "closed", "status_stop": "triggered",
                           "filled": 2.0, "average": 103.45, "price": 103.45}
    answer = world.keeper.after_fetch("s1", PAIR, {"id": "s1", "status": "open", "filled": 0.0})
    assert answer["id"] == "s1" and answer["status"] == "closed" and answer["average"] == 103.45
    assert answer["id_stop"] == "f9" and answer["type"] == "stoploss"
    assert ("cancel stop", "s1") in world.calls and world.state.backstop_id is None
    assert world.events[-1][0] == "WARNING" and world.governor.counters["backstop_exits"] == 1
    # freqtrade reads its (now cancelled) stop again before it committed: the same answer, no request
    calls = len(world.calls)
    again = world.keeper.after_fetch("s1", PAIR, {"id": "s1", "status": "canceled", "filled": 0.0})
    assert again["average"] == 103.45 and len(world.calls) == calls
    # an order that is not the trade's stop is left alone
    other = {"id": "x", "status": "open"}
    assert world.keeper.after_fetch("x", PAIR, other) is other


def test_reconciliation_cancels_orphans_and_adopts_an_unrecorded_backstop(world):
    listed = [{"id": "b5", "symbol": PAIR, "clientOrderId": "tsbk-7-1", "info": {"callbackRate": "0.5"}},
              {"id": "b6", "symbol": PAIR, "clientOrderId": "tsbk-7-2", "info": {"callbackRate": "0.5"}},
              {"id": "b8", "symbol": PAIR, "clientOrderId": "tsbk-3-1", "info": {"callbackRate": "0.5"}}]
    world.keeper.reconcile([world.trade], listed)
    assert (world.state.backstop_id, world.state.backstop_native) == ("b5", 0.5)  # the bot died before storing it
    assert world.calls == [("cancel", "b6"), ("cancel", "b8")]  # a second one, and one of a closed trade
    assert [e[1]["order_id"] for e in world.events if e[0] == "ORPHAN_CANCELLED"] == ["b6", "b8"]
    assert all(e[1]["backstop"] for e in world.events if e[0] == "ORPHAN_CANCELLED")


def test_reconciliation_replaces_a_missing_backstop_and_finds_a_fired_one(world):
    world.state = _state(backstop_id="b1", backstop_native=0.5)
    world.answers["b1"] = {"id": "b1", "status": "canceled", "filled": 0.0}
    world.keeper.reconcile([world.trade], [])
    assert world.calls == [("read", "b1"), ("place", "sell", 2.0, 0.5, None, ["tsbk", "7"])]
    assert world.state.backstop_id == "b1"  # the new one (the recording venue numbers from 1)
    world.answers["b1"] = {"id": "b1", "status": "closed", "filled": 2.0, "average": 103.4}
    world.keeper.reconcile([world.trade], [])
    assert world.keeper.fired[7]["average"] == 103.4 and world.state.backstop_id is None
    assert world.calls[-1] == ("read", "b1")  # fired: nothing placed again


def test_an_exit_that_closed_the_trade_cancels_the_backstop(world, monkeypatch):
    from freqtrade.persistence import Order

    world.keeper.follow(world.trade)
    monkeypatch.setattr(Order, "order_by_id", staticmethod(lambda oid, pair: SimpleNamespace(trade=world.trade)))
    world.keeper.after_cancel("s1", PAIR)  # a replacement's cancel: the trade is open, nothing to do
    assert world.calls[-1][0] == "place"
    world.trade.is_open = False
    world.keeper.after_cancel("s1", PAIR)
    assert world.calls[-1] == ("cancel", "b1") and world.state.backstop_id is None
