"""A lost stop placement is recognised whatever creation time the exchange's answer gives the order:
Binance answers an untriggered conditional order without ``time`` and with ``workingTime`` -1, which
ccxt reads as timestamp -1 (datetime None). No time known is no reason to skip the order."""

import pytest

from ts_plugin.exchange.placement import Placement, find_placed


def stop_of(order):
    return order.get("stopPrice")


@pytest.mark.parametrize("created", [-1, 0, None])
def test_an_order_without_a_known_creation_time_matches(created):
    lost = Placement("BTC/USDT", "sell", 1.0, 96.0, started_at=1_000.0)
    order = {"id": "it", "symbol": "BTC/USDT", "side": "sell", "amount": 1.0, "stopPrice": 96.0,
             "timestamp": created, "datetime": None}
    assert find_placed(lost, [order], set(), stop_of)["id"] == "it"


def test_an_order_created_before_the_attempt_still_does_not_match():
    lost = Placement("BTC/USDT", "sell", 1.0, 96.0, started_at=1_000.0)
    order = {"id": "old", "symbol": "BTC/USDT", "side": "sell", "amount": 1.0, "stopPrice": 96.0,
             "timestamp": 1_000_000 - 60_000}
    assert find_placed(lost, [order], set(), stop_of) is None


def test_a_timed_order_is_preferred_to_one_without_a_time():
    lost = Placement("BTC/USDT", "sell", 1.0, 96.0, started_at=1_000.0)
    untimed = {"id": "untimed", "symbol": "BTC/USDT", "side": "sell", "amount": 1.0, "stopPrice": 96.0,
               "timestamp": -1}
    timed = {**untimed, "id": "timed", "timestamp": 1_000_500}
    assert find_placed(lost, [untimed, timed], set(), stop_of)["id"] == "timed"
