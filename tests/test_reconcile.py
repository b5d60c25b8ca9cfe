"""Orphan classification: current, orphaned, foreign stop orders and unprotected trades."""

from ts_plugin.exchange.reconcile import classify


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
    assert [o["id"] for o in result.orphans] == ["new-3"]  # ETH has its live stop: ours, but a second one
    assert result.unprotected == () and [o["id"] for o in result.current] == ["cur-4"]


def test_a_recorded_id_freqtrade_knows_is_never_adopted():
    result = classify([_stop("old-8")], {"BTC/USDT": set()}, {("BTC/USDT", "old-8")},
                      recorded_id_by_pair={"BTC/USDT": "old-8"})
    assert not result.adoptable and [o["id"] for o in result.orphans] == ["old-8"]
