"""The stop path a dry-run/live trade stores for ``ts-plugin plot``: written only when the stop moved or
the phase changed, bounded, continued after a restart, read back read-only from the database."""

from __future__ import annotations

import pytest

from tests.freqtrade_helpers import OPENED, add_trade, make_strategy, open_database, reload_trade, tick
from ts_plugin.strategy.trace import StopPoint
from ts_plugin.tools.plot.sources import database_trades
from ts_plugin.strategy.trace import (MAX_POINTS, TraceError, decode_trace, encode_trace, next_trace, thin)
from ts_plugin.core.state import Phase, TrailState
from ts_plugin.strategy.store import TRACE_KEY, StateStore
from ts_plugin.tools.readonly_db import open_database as open_readonly


def _state(stop: float | None, phase: Phase = Phase.ACTIVE, at: float = 1000.0) -> TrailState:
    return TrailState(is_short=False, entry=100.0, activation_price=101.5, peak=102.0, stop=stop, phase=phase,
                      opened_at=0.0, updated_at=at)


def test_a_point_only_when_the_stop_moved_or_the_phase_changed():
    assert next_trace([], _state(None, Phase.WAITING)) is None  # no stop yet: nothing to draw
    first = next_trace([], _state(100.2, Phase.BREAKEVEN, 60.0))
    assert first == [StopPoint(60.0, 100.2, "BREAKEVEN")]
    assert next_trace(first, _state(100.2, Phase.BREAKEVEN, 120.0)) is None  # quiet tick
    activated = next_trace(first, _state(100.2, Phase.ACTIVE, 180.0))
    assert activated[-1] == StopPoint(180.0, 100.2, "ACTIVE")
    raised = next_trace(activated, _state(101.0, Phase.ACTIVE, 240.0))
    assert [p.stop for p in raised] == [100.2, 100.2, 101.0]


def test_thinning_keeps_the_start_phase_changes_and_the_newer_half():
    points = [StopPoint(0.0, 99.0, "BREAKEVEN")] + [StopPoint(float(i), 100.0 + i, "ACTIVE") for i in range(1, 800)]
    kept = thin(points, 500)
    assert len(kept) <= 500
    assert kept[0] == points[0] and kept[1].phase == "ACTIVE"  # the phase change survives
    assert kept[-250:] == points[-250:]  # the newest points exactly
    assert [p.time for p in kept] == sorted(p.time for p in kept)


def test_round_trip_and_unreadable_traces():
    points = [StopPoint(OPENED.timestamp(), 100.2, "BREAKEVEN"), StopPoint(OPENED.timestamp() + 300, 101.0, "ACTIVE")]
    stored = encode_trace(points, thinned=3)
    assert stored["points"][0][0] == "2026-01-05T12:00:00Z"
    assert decode_trace(stored) == points
    for bad in ("text", {"v": 9, "points": []}, {"v": 1, "points": [["2026-01-05T12:00:00Z", -1, "ACTIVE"]]},
                {"v": 1, "points": [["yesterday", 1.0, "ACTIVE"]]}, {"v": 1, "points": [["2026-01-05T12:00:00Z", 1.0, "UP"]]}):
        with pytest.raises(TraceError):
            decode_trace(bad)


def test_backtesting_never_writes_a_trace():
    class Trade:
        id, open_date = 1, OPENED

        def set_custom_data(self, *args):
            raise AssertionError("backtesting must not touch custom data")

    store = StateStore(persist=False)
    assert store.write(Trade(), _state(100.5))
    assert store.traces == {}


def test_a_live_trade_stores_its_stop_path_on_raises_only(db, mocker):
    from freqtrade.persistence import Trade

    strategy = make_strategy()
    trade = add_trade(entry=100.0)
    spy = mocker.spy(Trade, "set_custom_data")
    prices = [100.5, 101.0, 101.6, 101.6, 101.6, 102.5, 102.4, 102.3, 103.0, 102.0]
    for minute, price in enumerate(prices):
        tick(strategy, trade, price, 5 * (minute + 1))
    writes = [call.args[1] for call in spy.call_args_list]
    stored = reload_trade(trade.id).get_custom_data(TRACE_KEY)
    points = decode_trace(stored)
    stops = [p.stop for p in points]
    assert stops == sorted(stops)  # never loosens
    assert [p.phase for p in points][-1] == "ACTIVE"
    assert writes.count(TRACE_KEY) == len(points) < writes.count("smart_trailing")  # quiet ticks: no trace write
    held = strategy._ts_store.cache[trade.id]
    assert points[-1].stop == pytest.approx(held.stop)


def test_the_trace_continues_after_a_restart_and_reads_back_read_only(db):
    trade = add_trade(entry=100.0)
    first = make_strategy()
    tick(first, trade, 101.6, 5)  # activates
    before = decode_trace(reload_trade(trade.id).get_custom_data(TRACE_KEY))
    open_database(db)  # the bot restarts
    second = make_strategy()
    trade = reload_trade(trade.id)
    tick(second, trade, 103.0, 10)  # raises the stop
    after = decode_trace(reload_trade(trade.id).get_custom_data(TRACE_KEY))
    assert after[: len(before)] == before and len(after) == len(before) + 1
    with open_readonly(f"sqlite:///{db}") as database:
        (record,) = database.trades(include_closed=True)
    picture = database_trades(record)
    assert picture.stops[0].stop == pytest.approx(95.0) and picture.stops[0].phase == "WAITING"  # hard stop
    assert [p.stop for p in picture.stops[1:]] == [p.stop for p in after]
    assert picture.stops_source == "recorded" and picture.activated_at is not None


def test_a_corrupt_trace_is_started_afresh(db):
    trade = add_trade(entry=100.0)
    trade.set_custom_data(TRACE_KEY, "not a trace")
    strategy = make_strategy()
    tick(strategy, trade, 101.6, 5)
    points = decode_trace(reload_trade(trade.id).get_custom_data(TRACE_KEY))
    assert len(points) == 1 and points[0].phase == "ACTIVE"
    assert strategy._ts_store.trace_failures == 0


def test_a_long_trade_stays_bounded(db):
    strategy = make_strategy()
    trade = add_trade(entry=100.0)
    price = 101.6
    for minute in range(MAX_POINTS + 40):
        price *= 1.001
        tick(strategy, trade, price, 5 * (minute + 1))
    stored = reload_trade(trade.id).get_custom_data(TRACE_KEY)
    assert len(stored["points"]) <= MAX_POINTS and stored["thinned"] > 0
    assert decode_trace(stored)[-1].stop == pytest.approx(strategy._ts_store.cache[trade.id].stop)
