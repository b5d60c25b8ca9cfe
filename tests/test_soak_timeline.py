"""The soak's arithmetic on the sandbox's order records (tests/e2e/soak.py), without a bot."""

import pytest

from tests.e2e.soak import (StateLog, exchange_loosenings, positions, protection, unprotected_seconds)


def order(order_id, kind, side, status, created, updated, stop=0.0, symbol="ADAUSDT"):
    return {"orderId": order_id, "symbol": symbol, "type": kind, "side": side, "status": status,
            "time": created, "updateTime": updated, "stopPrice": f"{stop:.8f}"}


def test_a_position_runs_from_its_entry_fill_to_its_exit_fill_with_its_stops():
    orders = [order(1, "MARKET", "BUY", "FILLED", 1000, 1000),
              order(2, "STOP_LOSS_LIMIT", "SELL", "CANCELED", 2000, 5000, 97.0),
              order(3, "STOP_LOSS_LIMIT", "SELL", "FILLED", 5200, 9000, 99.0),
              order(4, "MARKET", "BUY", "FILLED", 9500, 9500),
              order(5, "STOP_LOSS_LIMIT", "SELL", "NEW", 20000, 20000, 95.0),
              order(6, "MARKET", "BUY", "FILLED", 1500, 1500, symbol="XMRUSDT")]
    found = positions(orders)
    ada = [p for p in found if p.symbol == "ADAUSDT"]
    assert [(p.entry_id, p.opened_ms, p.closed_ms, p.exit_id) for p in ada] == [(1, 1000, 9000, 3), (4, 9500, None, None)]
    assert [o["orderId"] for o in ada[0].stops] == [2, 3] and [o["orderId"] for o in ada[1].stops] == [5]

    first, second = ada
    gaps = protection(first, end_ms=30000, downtime=[])
    assert [(g.kind, g.start_ms, g.end_ms) for g in gaps] == [("first_stop", 1000, 2000), ("replacement", 5000, 5200)]
    late = protection(second, end_ms=30000, downtime=[(12000, 15000)])  # 10.5 s, 3 of them bot down
    assert [(g.kind, g.seconds, g.bot_down_ms) for g in late] == [("first_stop", 10.5, 3000)]
    assert unprotected_seconds(late, first_stop_grace_s=5, replacement_grace_s=5) == pytest.approx(2.5)
    assert unprotected_seconds(gaps, first_stop_grace_s=5, replacement_grace_s=5) == 0


def test_a_cancel_before_a_market_exit_and_a_gap_that_no_cancel_began():
    orders = [order(1, "MARKET", "BUY", "FILLED", 0, 0),
              order(2, "STOP_LOSS_LIMIT", "SELL", "CANCELED", 100, 4000, 97.0),
              order(3, "MARKET", "SELL", "FILLED", 4500, 4500)]
    (position,) = positions(orders)
    assert [g.kind for g in protection(position, 10000, [])] == ["first_stop", "exit"]
    orders[1]["status"] = "EXPIRED"  # gone without a cancel by the bot
    (position,) = positions(orders)
    gaps = protection(position, 10000, [])
    assert [g.kind for g in gaps] == ["first_stop", "other"]
    assert unprotected_seconds(gaps, 5, 5) == pytest.approx(0.5)  # no grace for "other"


def test_stop_orders_that_go_down_are_loosenings():
    orders = [order(1, "MARKET", "BUY", "FILLED", 0, 0),
              order(2, "STOP_LOSS_LIMIT", "SELL", "CANCELED", 100, 200, 99.0),
              order(3, "STOP_LOSS_LIMIT", "SELL", "NEW", 300, 300, 98.5)]
    (position,) = positions(orders)
    assert len(exchange_loosenings(position)) == 1


def test_the_state_log_finds_loosened_and_dropped_stops_once():
    log = StateLog()
    for stop, exchange in [(None, None), (100.0, 99.0), (100.5, None), (100.5, None), (100.4, 99.5), (None, 99.6)]:
        log.record(7, {"side": "long", "phase": "ACTIVE", "stop": stop, "exchange_stop": exchange})
    assert [line.split(" (")[0] for line in log.loosenings()] == [
        "trade 7: stop 100.5 -> 100.4", "trade 7: stop 100.4 -> None"]
    assert [line.split(" (")[0] for line in log.dropped()] == ["trade 7: exchange_stop 99.0 -> None"]
    short = StateLog()
    for stop in (100.0, 99.0, 99.5):
        short.record(8, {"side": "short", "stop": stop})
    assert [line.split(" (")[0] for line in short.loosenings()] == ["trade 8: stop 99.0 -> 99.5"]


def test_time_without_a_stop_is_counted_in_the_bots_iterations_not_seconds():
    """A loaded machine slows the bot's iterations, not their count: the check counts the iterations
    that ended while a position had no live stop, beyond what placing or replacing one needs."""
    from tests.e2e.soak import ITERATION_GRACES, iteration_ends, unprotected_iterations

    log = "\n".join(f"2026-12-07 20:57:0{s},000 - freqtrade.worker - INFO - Bot heartbeat. PID=7, version='x', "
                    f"state='RUNNING'" for s in range(1, 10)) + "\n2026-12-07 20:57:05,500 - ts_plugin - INFO - x"
    ends = iteration_ends(log)
    assert len(ends) == 9 and ends[1] - ends[0] == 1000
    start = ends[0] - 500  # half an iteration before the first end
    orders = [order(1, "MARKET", "BUY", "FILLED", start, start),
              order(2, "STOP_LOSS_LIMIT", "SELL", "CANCELED", start + 1800, start + 4200, 97.0),  # after 2 ends
              order(3, "STOP_LOSS_LIMIT", "SELL", "NEW", start + 4400, start + 4400, 99.0)]  # no end in between
    (position,) = positions(orders)
    gaps = protection(position, end_ms=start + 8600, downtime=[])
    assert unprotected_iterations(gaps, ends, ITERATION_GRACES) == 0
    # the first stop only after four iteration ends (whatever the seconds): two beyond the grace
    orders[1]["time"] = start + 3800
    (position,) = positions(orders)
    assert unprotected_iterations(protection(position, start + 8600, []), ends, ITERATION_GRACES) == 2
    # a gap no cancel by the bot began has no grace
    orders[1]["status"] = "EXPIRED"
    orders[2]["time"] = orders[2]["updateTime"] = start + 5800
    (position,) = positions(orders)
    assert unprotected_iterations(protection(position, start + 8600, []), ends, ITERATION_GRACES) == 2 + 2
