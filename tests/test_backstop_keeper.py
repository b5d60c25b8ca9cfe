"""The backstop keeper's decisions against a recording venue: placed once when a trade trails,
replaced only when the rounded distance changes (new first), dropped when the trade's stop fills or
it exits; a fired backstop becomes the stop's outcome; reconciliation cancels orphans, adopts an
unrecorded backstop and re-places a missing one."""

from collections import Counter
from dataclasses import replace
from types import SimpleNamespace

import pytest
from freqtrade.exceptions import InvalidOrderException, TemporaryError

from ts_plugin.core.state import Phase, TrailState
from ts_plugin.exchange.backstop import BINANCE_USDM
from ts_plugin.exchange.backstop_booking import carried, fill_id
from ts_plugin.exchange.backstop_keeper import BackstopKeeper, Venue
from ts_plugin.exchange.watch import Watches

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
        self.booked = []  # fills booked as partial exits
        self.recorded = set()  # exchange ids of the fills recorded in freqtrade's orders
        self.trade = SimpleNamespace(id=7, pair=PAIR, is_short=False, amount=2.0, is_open=True,
                                     has_open_position=True, stop_ids={"s1"}, exit_side="sell",
                                     entry_side="buy", open_orders=[])
        self.trade.select_order_by_order_id = lambda oid: (
            SimpleNamespace(ft_order_side="stoploss") if oid in self.trade.stop_ids else None)
        self.state = _state()
        self.events = []
        exchange = SimpleNamespace(
            get_rate=lambda pair, refresh, side, is_short: self.price,
            price_to_precision=lambda pair, price: round(price, 1),
            amount_to_precision=lambda pair, amount: round(amount, 3))
        ledger = SimpleNamespace(open_trade=lambda pair: self.trade if self.trade.is_open else None,
                                 state_of=lambda trade: self.state, peek=lambda trade: self.state,
                                 save=self._save)
        self.governor = SimpleNamespace(
            exchange=exchange, ledger=ledger, reconciled=True, counters=Counter(), watches=Watches(),
            settings=SimpleNamespace(min_update_interval_s=60.0, cancel_foreign_stop_orders=False),
            _wall=lambda: self.now,
            breaker=SimpleNamespace(allows=lambda now: True), _guarded=lambda label, func, read_only=False: func(),
            alarm=lambda key, kind, reason, **f: self.events.append(("WARNING", reason)),
            events=SimpleNamespace(emit=lambda name, trade_id, pair, **f: self.events.append((name.value, f))),
            _original={"cancel_stoploss_order": lambda oid, pair: self.calls.append(("cancel stop", oid)),
                       "fetch_stoploss_order": self._read})
        venue = Venue("test", BINANCE_USDM, self._place, self._cancel, lambda o: o.get("clientOrderId", ""))
        self.keeper = BackstopKeeper(self.governor, venue)

    def book(self, trade, fill):
        """Stands in for freqtrade's booking of a partial exit (the end-to-end test books it for real)."""
        if fill["id"] in [f["id"] for f in self.booked]:
            return False
        self.booked.append(fill)
        trade.amount = round(trade.amount - fill["filled"], 9)
        return True

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
def world(monkeypatch):
    world = World()
    monkeypatch.setattr("ts_plugin.exchange.backstop_keeper.book_partial_exit", world.book, raising=False)
    # freqtrade's order records by exchange id (the booking itself is tested on a real database in
    # test_backstop_booking.py)
    monkeypatch.setattr("ts_plugin.exchange.backstop_keeper.known_elsewhere",
                        lambda trade, fill: fill_id(fill) in world.recorded)
    monkeypatch.setattr("ts_plugin.exchange.backstop_keeper.own_fill_under_its_id",
                        lambda trade, record, order: order)
    monkeypatch.setattr("ts_plugin.exchange.backstop_keeper.carry_on_stop",
                        lambda trade, record, fill: world.recorded.add(fill_id(fill)) or carried(fill))
    return world


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
    world.price = 105.0
    world.state = replace(world.state, distance=0.0035)  # a step: 0.4 %, placed first, then the old goes
    keeper.follow(world.trade)
    assert world.calls[1:] == [("place", "sell", 2.0, 0.4, None, ["tsbk", "7"]), ("cancel", "b1")]
    assert world.state.backstop_id == "b2" and world.governor.counters["backstops_replaced"] == 1
    assert world.state.backstop_kept == ()


def test_a_replacement_below_the_peak_keeps_the_old_backstop_until_the_price_is_back_there(world):
    """Below the peak the new backstop trails from a lower price than the old one: the old one
    (reduce-only, like the new) stays until the price is back at the peak it trails from."""
    keeper = world.keeper
    keeper.follow(world.trade)  # b1 at the peak 104
    world.price = 103.7
    world.state = replace(world.state, distance=0.0035)  # momentum: 0.4 %, while the price is under the peak
    keeper.follow(world.trade)
    assert world.calls[1:] == [("place", "sell", 2.0, 0.4, None, ["tsbk", "7"])]  # nothing cancelled
    assert (world.state.backstop_id, world.state.backstop_kept, world.state.backstop_kept_until) == ("b2", ("b1",), 104.0)
    world.price = 103.9
    keeper.follow(world.trade)
    assert len(world.calls) == 2
    world.price = 104.0  # back at the peak: the new one trails from there, the old one goes
    keeper.follow(world.trade)
    assert world.calls[2:] == [("cancel", "b1")] and world.state.backstop_kept == ()
    assert world.state.backstop_id == "b2"


def test_a_kept_backstop_that_fires_is_the_trades_exit(world):
    world.keeper.follow(world.trade)
    world.price = 103.7
    world.state = replace(world.state, distance=0.0035)
    world.keeper.follow(world.trade)
    world.price = 103.4
    world.answers["b2"] = {"id": "b2", "status": "open"}
    world.answers["b1"] = {"id": "b1", "id_stop": "f1", "status": "closed", "filled": 2.0, "average": 103.45}
    answer = world.keeper.after_fetch("s1", PAIR, {"id": "s1", "status": "open", "filled": 0.0})
    assert answer["status"] == "closed" and answer["average"] == 103.45 and ("cancel stop", "s1") in world.calls
    assert world.state.backstop_kept == () and world.state.backstop_id == "b2"


def test_the_backstop_follows_the_trades_amount(world):
    """A DCA entry (more) or a partial exit (less) re-places it for the new amount, new first."""
    keeper = world.keeper
    keeper.follow(world.trade)
    world.trade.amount = 3.97  # a DCA entry filled
    keeper.follow(world.trade)
    assert world.calls[1:] == [("place", "sell", 3.97, 0.5, None, ["tsbk", "7"]), ("cancel", "b1")]
    assert (world.state.backstop_id, world.state.backstop_amount) == ("b2", 3.97)
    keeper.follow(world.trade)
    assert len(world.calls) == 3  # once per change
    world.trade.amount = 1.5  # a partial exit
    keeper.follow(world.trade)
    assert world.calls[3:] == [("place", "sell", 1.5, 0.5, None, ["tsbk", "7"]), ("cancel", "b2")]


def test_a_backstop_fill_that_leaves_part_of_the_position_is_a_partial_exit_and_keeps_the_stop(world):
    """The backstop still holds the amount before a DCA entry (its re-placement refused) and fires:
    the regular stop covers the rest and stays; the fill is booked as a partial exit, not handed to
    freqtrade as the stop's outcome, and the backstop is placed again for the rest."""
    keeper = world.keeper
    keeper.follow(world.trade)
    world.trade.amount = 3.97
    world.fail_place = TemporaryError("refused")
    keeper.follow(world.trade)
    world.fail_place = None
    world.price = 103.4
    world.answers["b1"] = {"id": "b1", "id_stop": "f9", "status": "closed", "status_stop": "triggered",
                           "filled": 2.0, "average": 103.45, "price": 103.45}
    stop = {"id": "s1", "status": "open", "filled": 0.0}
    assert keeper.after_fetch("s1", PAIR, stop) is stop  # freqtrade's stop is still its stop
    assert not any(call[0] == "cancel stop" for call in world.calls)
    assert [f["id"] for f in world.booked] == ["b1"] and world.trade.amount == 1.97
    assert world.governor.counters["backstop_exits"] == 0 and world.governor.counters["backstop_partial_exits"] == 1
    assert world.state.backstop_id is None and 7 not in keeper.fired
    world.now += 60
    keeper.follow(world.trade)
    assert world.calls[-1] == ("place", "sell", 1.97, 0.5, None, ["tsbk", "7"])

    world.trade.amount = 3.97  # another DCA entry, its order open while the old backstop fires
    world.trade.open_orders = [SimpleNamespace(ft_order_side="buy")]
    world.answers["b2"] = {"id": "b2", "id_stop": "f10", "status": "closed", "filled": 1.97, "average": 103.4}
    keeper.check(world.trade, world.state)
    assert keeper.after_fetch("s1", PAIR, stop) is stop and len(world.booked) == 1  # judged once it is booked
    world.trade.open_orders = []
    assert keeper.after_fetch("s1", PAIR, stop) is stop and [f["id"] for f in world.booked] == ["b1", "b2"]


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
    # read before freqtrade booked it (the trade still open): no new backstop that would outlive it
    # (seen in the soak: placed 0.1 s later, it closed the pair's next trade)
    world.now += 60
    world.keeper.follow(world.trade)
    assert world.calls[-1] == ("cancel", "b1")


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
    # booked under the fill's own exchange id (what freqtrade's recovery lists), never the stop's
    assert answer["id"] == "f9" and answer["status"] == "closed" and answer["average"] == 103.45
    assert answer["id_stop"] == "f9" and answer["type"] == "stoploss" and world.recorded == {"f9"}
    assert ("cancel stop", "s1") in world.calls and world.state.backstop_id is None
    assert world.events[-1][0] == "WARNING" and world.governor.counters["backstop_exits"] == 1
    # the (now cancelled) stop read again: its own answer, the fill is not handed out twice
    calls = len(world.calls)
    cancelled = {"id": "s1", "status": "canceled", "filled": 0.0}
    assert world.keeper.after_fetch("s1", PAIR, cancelled) is cancelled and len(world.calls) == calls
    assert world.governor.counters["backstop_exits"] == 1
    # an order that is not the trade's stop is left alone
    other = {"id": "x", "status": "open"}
    assert world.keeper.after_fetch("x", PAIR, other) is other


def test_reconciliation_cancels_orphans_and_adopts_an_unrecorded_backstop(world):
    listed = [{"id": "b5", "symbol": PAIR, "clientOrderId": "tsbk-7-1", "amount": 2.0, "info": {"callbackRate": "0.5"}},
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
    assert world.keeper.fired[7][0]["average"] == 103.4 and world.state.backstop_id is None
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


def test_switched_off_it_places_nothing_and_cancels_every_backstop_it_left(world):
    """native_backstop off at restart: the leftover of the trade (recorded) and of a closed trade are
    cancelled and counted; nothing is placed."""
    world.keeper.enabled = False
    world.state = _state(backstop_id="b5", backstop_native=0.5, backstop_amount=2.0)
    listed = [{"id": "b5", "symbol": PAIR, "clientOrderId": "tsbk-7-1", "info": {"callbackRate": "0.5"}},
              {"id": "b8", "symbol": PAIR, "clientOrderId": "tsbk-3-1", "info": {"callbackRate": "0.5"}}]
    world.keeper.reconcile([world.trade], listed)
    assert world.calls == [("cancel", "b5"), ("cancel", "b8")]
    assert world.state.backstop_id is None and world.keeper.orphans == 2
    world.keeper.follow(world.trade)
    world.keeper.reconcile([world.trade], [])
    assert world.calls == [("cancel", "b5"), ("cancel", "b8")]


def test_switched_off_a_recorded_backstop_that_fired_while_the_bot_was_down_is_still_the_exit(world):
    world.keeper.enabled = False
    world.state = _state(backstop_id="b5", backstop_native=0.5, backstop_amount=2.0)
    world.answers["b5"] = {"id": "b5", "status": "closed", "filled": 2.0, "average": 103.4}
    world.keeper.reconcile([world.trade], [])
    answer = world.keeper.after_fetch("s1", PAIR, {"id": "s1", "status": "expired", "filled": 0.0})
    assert answer["average"] == 103.4 and answer["status"] == "closed"


def test_a_partial_fill_waiting_to_be_booked_leaves_the_live_backstop_alone(world):
    """After a DCA entry below the peak the old backstop (2.0) is kept beside the new one (3.97); the
    old one fires: until freqtrade books it, the new one still protects the rest and is no orphan."""
    world.keeper.follow(world.trade)
    world.trade.amount = 3.97
    world.price = 103.7
    world.keeper.follow(world.trade)
    assert (world.state.backstop_id, world.state.backstop_kept) == ("b2", ("b1",))
    world.answers["b1"] = {"id": "b1", "status": "closed", "filled": 2.0, "average": 103.4}
    world.answers["b2"] = {"id": "b2", "status": "open"}
    listed = [{"id": "b2", "symbol": PAIR, "clientOrderId": "tsbk-7-2", "amount": 3.97}]
    for _ in range(2):
        world.keeper.reconcile([world.trade], listed)
    assert [f["id"] for f in world.keeper.fired[7]] == ["b1"] and ("cancel", "b2") not in world.calls
    assert world.state.backstop_id == "b2" and world.state.backstop_kept == ()
