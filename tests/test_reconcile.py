"""Orphan classification: current, orphaned, foreign stop orders and unprotected trades."""

from ts_plugin.exchange.reconcile import classify


def _stop(order_id, pair="BTC/USDT"):
    return {"id": order_id, "symbol": pair, "type": "stop_loss_limit", "status": "open"}


def test_classify_sorts_every_stop_order():
    result = classify(
        [_stop("cur-1"), _stop("old-1"), _stop("manual-7"), _stop("cur-2", "ETH/USDT")],
        current_ids_by_pair={"BTC/USDT": {"cur-1"}, "ETH/USDT": {"cur-2"}, "SOL/USDT": {"cur-3"}},
        bot_created_ids={"cur-1", "old-1", "cur-2", "cur-3"},
    )
    assert [o["id"] for o in result.current] == ["cur-1", "cur-2"]
    assert [o["id"] for o in result.orphans] == ["old-1"]
    assert [o["id"] for o in result.foreign] == ["manual-7"]
    assert result.unprotected == ("SOL/USDT",)


def test_trade_without_any_stop_record_is_unprotected():
    result = classify([], {"BTC/USDT": set()}, set())
    assert result.unprotected == ("BTC/USDT",) and not result.orphans
