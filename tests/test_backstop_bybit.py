"""The native trailing backstop on Bybit: a price distance on the tick (placed with headroom, re-set only
when it no longer covers the bot's distance at its peak or is far too wide), chosen for Bybit futures;
the keeper against a recording position venue: replaced in place (nothing cancelled), cleared when the
trade ends, a leftover on the position cleared as an orphan (found by pair, not by client id), an
unrecorded one adopted."""

import math
import sys
from dataclasses import replace
from types import SimpleNamespace

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.test_backstop_keeper import PAIR, World
from ts_plugin.core.state import Phase
from ts_plugin.exchange.backstop import BYBIT_LINEAR
from ts_plugin.exchange.backstop_keeper import BYBIT_LINEAR_VENUE, BackstopKeeper, Venue, venue_for

TICK = 0.1


# ----- units ----------------------------------------------------------------------------------------


def test_a_price_distance_with_headroom_on_the_tick():
    assert BYBIT_LINEAR.native_at(0.005, 104.0, TICK) == pytest.approx(0.6)  # 0.546 up to the tick
    assert BYBIT_LINEAR.native_at(0.005, 104.0, None) is None  # no tick, no guess
    assert BYBIT_LINEAR.native_at(0.99, 104.0, TICK) is None  # not below the price: none at all


def test_re_set_only_when_it_no_longer_covers_the_distance_or_is_far_too_wide():
    live = BYBIT_LINEAR.native_at(0.005, 104.0, TICK)
    assert not BYBIT_LINEAR.stale(live, 0.005, 104.0, TICK)
    assert not BYBIT_LINEAR.stale(live, 0.005, 119.9, TICK)  # the peak rose 15 %: 0.6 still covers 0.5995
    assert BYBIT_LINEAR.stale(live, 0.005, 120.1, TICK)  # now tighter than the bot's distance
    assert BYBIT_LINEAR.stale(live, 0.0035, 104.0, TICK)  # a step tightened it: 0.6 is over 0.4 x 1.1
    assert BYBIT_LINEAR.stale(live, 0.006, 104.0, TICK)  # a step widened it past 0.6
    assert BYBIT_LINEAR.stale(None, 0.005, 104.0, TICK) and not BYBIT_LINEAR.stale(None, 0.99, 104.0, TICK)


# A few roundings of a float's relative precision: how far a price on the tick may read off the grid
# in ticks, relative to its number of ticks (an absolute bound fails at 1.7e10 ticks of 1e-6).
ON_THE_TICK_REL = 16 * sys.float_info.epsilon


def on_the_tick(price: float, tick: float) -> bool:
    """A whole number of ticks, up to float error (relative, so it holds at every magnitude)."""
    ticks = price / tick
    return math.isclose(ticks, round(ticks), rel_tol=ON_THE_TICK_REL)


def test_on_the_tick_holds_at_every_magnitude_and_still_sees_an_off_tick_price():
    assert on_the_tick(16706.074219, 1e-6)  # 16706074218.999998 ticks in floats
    assert on_the_tick(0.3, 0.1) and on_the_tick(99999.999999, 1e-6)
    assert not on_the_tick(16706.0742195, 1e-6) and not on_the_tick(16706.07421901, 1e-6)
    assert not on_the_tick(0.35, 0.1)


@given(distance=st.floats(0.0005, 0.2), peak=st.floats(0.01, 100_000), tick_exp=st.integers(-6, 1))
@example(distance=0.1953125, peak=81462.0, tick_exp=-6)  # 1.7e10 ticks: float error beyond 1e-6 of a tick
def test_never_tighter_than_the_bots_distance_and_kept_as_placed(distance, peak, tick_exp):
    tick = 10.0 ** tick_exp
    native = BYBIT_LINEAR.native_at(distance, peak, tick)
    if native is None:
        return
    assert native >= distance * peak - 1e-9
    assert on_the_tick(native, tick), (native, native / tick)
    assert not BYBIT_LINEAR.stale(native, distance, peak, tick)  # not re-set on the next iteration


def test_bybit_futures_get_the_position_venue():
    def exchange(ccxt_id, mode):
        return SimpleNamespace(_api=SimpleNamespace(id=ccxt_id), trading_mode=SimpleNamespace(value=mode))

    assert venue_for(exchange("bybit", "futures")) is BYBIT_LINEAR_VENUE
    assert venue_for(exchange("bybit", "spot")) is None
    assert BYBIT_LINEAR_VENUE.per_position and BYBIT_LINEAR_VENUE.grid is BYBIT_LINEAR


# ----- the keeper with a position venue --------------------------------------------------------------


class PositionWorld(World):
    """World's trade on a venue that holds the backstop on the position."""

    def __init__(self):
        super().__init__()
        self.governor.exchange.markets = {PAIR: {"precision": {"price": TICK}}}
        venue = Venue("test", BYBIT_LINEAR, self._place, self._cancel, lambda order: "", per_position=True,
                      read=lambda exchange, order_id, pair: self._read(order_id, pair),
                      list_held=lambda exchange, pairs: [])
        self.keeper = BackstopKeeper(self.governor, venue)

    def _place(self, exchange, pair, side, amount, native, activation, client):
        super()._place(exchange, pair, side, amount, native, activation, client)
        return {"id": client}


@pytest.fixture
def world():
    return PositionWorld()


def test_replaced_in_place_when_the_peak_outgrew_it(world):
    keeper = world.keeper
    keeper.follow(world.trade)
    assert world.calls == [("place", "sell", 2.0, pytest.approx(0.6), None, ["tsbk", "7"])]
    first = world.state.backstop_id
    world.state = replace(world.state, peak=110.0)  # +6 %: 0.6 still covers 0.55
    world.price = 110.0
    keeper.follow(world.trade)
    assert len(world.calls) == 1
    world.state = replace(world.state, peak=121.0)
    world.price = 120.0  # re-set in place below the peak, it would trail from a lower price: not yet
    world.now += 1
    keeper.follow(world.trade)
    assert len(world.calls) == 1
    world.price = 121.0
    keeper.follow(world.trade)
    assert world.calls[1] == ("place", "sell", 2.0, pytest.approx(0.7), None, ["tsbk", "7"])
    assert len(world.calls) == 2  # nothing cancelled: setting it again replaced it
    assert world.state.backstop_id != first and world.governor.counters["backstops_replaced"] == 1
    keeper.drop(world.trade, "the trade closed")
    assert world.calls[-1] == ("cancel", world.calls[-1][1]) and world.state.backstop_id is None


def test_its_own_leftover_is_cleared_and_a_trailing_stop_it_did_not_set_is_foreign(world):
    """The plugin's own (recorded) trailing stop on a trade that no longer trails is cleared; one on
    another position, never recorded, is foreign: reported once and left alone."""
    world.state = replace(world.state, phase=Phase.BREAKEVEN, backstop_id="tsbk-7-1", backstop_native=0.6)
    leftovers = [{"id": None, "symbol": PAIR, "native": 0.6}, {"id": None, "symbol": "ETH/USDT:USDT", "native": 2.0}]
    world.keeper.reconcile([world.trade], leftovers)
    assert [c for c in world.calls if c[0] == "cancel"] == [("cancel", "tsbk-7-1")]
    assert [e[0] for e in world.events] == ["ORPHAN_CANCELLED", "WARNING"]
    assert "not set by the bot left alone" in world.events[1][1]["reason"]
    assert world.state.backstop_id is None and (world.keeper.orphans, world.keeper.foreign) == (1, 1)
    world.keeper.reconcile([world.trade], leftovers[1:])
    assert len(world.events) == 2  # reported once


def test_a_trailing_stop_the_plugin_did_not_set_is_never_adopted_or_re_set(world):
    """An ACTIVE trade's position holds a trailing stop the plugin never recorded (the user's, tighter
    than the bot's 0.6): left as it is, nothing set over it, while it is there."""
    user = [{"id": None, "symbol": PAIR, "native": 0.3}]
    world.keeper.reconcile([world.trade], user)
    assert world.calls == [] and world.state.backstop_id is None
    assert world.keeper.foreign_pairs == {PAIR} and world.governor.counters["backstops_adopted"] == 0
    world.keeper.follow(world.trade)
    assert world.calls == []
    world.keeper.reconcile([world.trade], [])  # the user removed it: the bot's backstop is set
    assert [c[0] for c in world.calls] == ["place"]


def test_its_own_trailing_stop_re_set_by_someone_else_becomes_foreign(world):
    world.keeper.follow(world.trade)
    assert world.state.backstop_native == pytest.approx(0.6)
    world.keeper.reconcile([world.trade], [{"id": None, "symbol": PAIR, "native": 0.6}])
    assert world.state.backstop_id is not None and len(world.calls) == 1  # ours: held
    world.keeper.reconcile([world.trade], [{"id": None, "symbol": PAIR, "native": 1.5}])  # looser, not ours
    assert world.state.backstop_id is None and len(world.calls) == 1


def test_with_cancel_foreign_stop_orders_a_foreign_trailing_stop_is_cleared(world):
    world.governor.settings.cancel_foreign_stop_orders = True
    world.keeper.reconcile([world.trade], [{"id": None, "symbol": PAIR, "native": 0.3}])
    assert world.calls[0] == ("cancel", "the position's trailing stop")
    assert world.events[0][0] == "ORPHAN_CANCELLED" and world.events[0][1]["foreign"] is True
    assert world.calls[1][0] == "place"  # then the bot's own is set


def test_a_refused_re_set_keeps_the_record_of_what_the_position_holds(world):
    world.keeper.follow(world.trade)
    held = (world.state.backstop_id, world.state.backstop_native)
    world.state = replace(world.state, peak=121.0)
    world.price = 121.0
    world.now += 1
    world.fail_place = RuntimeError("retCode 10001")
    world.keeper.follow(world.trade)
    assert (world.state.backstop_id, world.state.backstop_native) == held
    world.keeper.reconcile([world.trade], [{"id": None, "symbol": PAIR, "native": held[1]}])
    assert world.keeper.foreign == 0 and world.state.backstop_id == held[0]  # still its own
