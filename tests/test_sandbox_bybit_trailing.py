"""The sandbox's Bybit position trailing stop (``/v5/position/trading-stop``) through the real ccxt bybit
client, the way ccxt sets it (``create_order`` with ``trailingAmount`` / ``trailingTriggerPrice``):
shown on the position, following the best price from its activation price, closing the position at
market when the price comes back its distance (``stopOrderType=TrailingStop`` in the order history),
cleared with "0", refused where Bybit refuses it."""

import ccxt
import pytest

from tests.perpetual_fixtures import PAIR, sandbox  # noqa: F401  (the one-perpetual sandbox fixture)
from tests.perpetual_fixtures import bybit as client  # noqa: F401  (ccxt's Bybit client through it)


def open_long(client, amount=0.5):
    client.set_leverage(2, PAIR)
    client.create_order(PAIR, "market", "buy", amount)


def trail(client, distance, activation=None, side="sell"):
    params = {"trailingAmount": distance, "tpslMode": "Full", "positionIdx": 0}
    if activation is not None:
        params["trailingTriggerPrice"] = activation
    return client.create_order(PAIR, "market", side, 0, None, params)


def position(client):
    return client.fetch_positions([PAIR])[0]


def test_set_shows_on_the_position_and_clears(sandbox, client):
    open_long(client)
    trail(client, "1.5", activation=104)
    info = position(client)["info"]
    assert (info["trailingStop"], info["activePrice"]) == ("1.5", "104")
    assert sandbox.count("POST", "/v5/position/trading-stop") == 1
    assert client.fetch_open_orders(PAIR, params={"trigger": True}) == []  # a setting, not an order
    trail(client, "0")
    assert position(client)["info"]["trailingStop"] == "0"


def test_tracks_the_peak_from_its_activation_and_closes_at_market(sandbox, client):
    open_long(client)
    trail(client, "2", activation=103)
    for price in (102.0, 99.0):  # below the activation price nothing trails, however low
        sandbox.set_price(PAIR, price)
    assert float(position(client)["contracts"]) == 0.5
    for price in (103.0, 106.0, 105.0, 104.5):  # active from 103; best 106, level 104
        sandbox.set_price(PAIR, price)
    assert float(position(client)["contracts"]) == 0.5
    sandbox.set_price(PAIR, 103.9)  # through 106 - 2
    assert not position(client)["contracts"]
    closed = client.fetch_canceled_and_closed_orders(PAIR, params={"trigger": True})
    fired = [o for o in closed if o["info"]["stopOrderType"] == "TrailingStop"]
    assert len(fired) == 1
    assert (fired[0]["status"], fired[0]["side"], fired[0]["filled"]) == ("closed", "sell", 0.5)
    assert fired[0]["average"] == 103.9 and fired[0]["reduceOnly"] is True
    assert fired[0]["info"]["triggerPrice"] == "104"
    assert position(client)["info"]["trailingStop"] == "0"  # it went with the position


def test_without_activation_price_it_trails_from_the_last_price(sandbox, client):
    open_long(client)
    trail(client, "1")
    sandbox.set_price(PAIR, 99.5)
    assert float(position(client)["contracts"]) == 0.5
    sandbox.set_price(PAIR, 99.0)  # 100 - 1
    assert not position(client)["contracts"]


def test_setting_again_replaces_it(sandbox, client):
    open_long(client)
    trail(client, "1")
    sandbox.set_price(PAIR, 110.0)
    trail(client, "5")  # wider, trailing again from 110
    sandbox.set_price(PAIR, 106.0)
    assert float(position(client)["contracts"]) == 0.5 and position(client)["info"]["trailingStop"] == "5"
    sandbox.set_price(PAIR, 105.0)
    assert not position(client)["contracts"]


def test_short_position_trails_upwards(sandbox, client):
    client.set_leverage(2, PAIR)
    client.create_order(PAIR, "market", "sell", 0.5)
    trail(client, "1", activation=98, side="buy")
    for price in (98.0, 95.0, 95.9):
        sandbox.set_price(PAIR, price)
    assert float(position(client)["contracts"]) == 0.5
    sandbox.set_price(PAIR, 96.0)
    assert not position(client)["contracts"]


@pytest.mark.parametrize(("distance", "activation", "message"), [
    ("1.5", 99, "activePrice 99 should be higher than the last price"),
    ("1.0005", None, "is not a multiple of the tick size"),
    ("100", None, "must be less than the last price"),
])
def test_refusals(sandbox, client, distance, activation, message):
    open_long(client)
    with pytest.raises(ccxt.BadRequest, match=message):
        trail(client, distance, activation)
    assert position(client)["info"]["trailingStop"] == "0"


def test_no_trailing_stop_without_a_position(client):
    with pytest.raises(ccxt.BadRequest, match="zero position"):
        trail(client, "1")
