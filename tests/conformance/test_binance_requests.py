"""The requests ccxt sends to Binance, as recorded (see ``recordings/README.md``), sent to the sandbox
by the real ccxt client: same path, same parameters (but for ccxt's own skip keys), and the sandbox
accepts each or refuses it with the code Binance documents for it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlparse

import ccxt
import pytest

from tests.conformance.recorded import recording, snake

REQUESTS = recording("binance_requests.json")
# ccxt's own skip keys, plus clientAlgoId: the id ccxt generates for an algo order, sent by newer ccxt
# versions where the recording's version sent newClientOrderId (a skip key) - a random id either way.
SKIP = set(REQUESTS["skipKeys"]) | {"clientAlgoId"}


def sent_requests(client: ccxt.Exchange) -> list[tuple[str, str, dict]]:
    """Record every request the client sends: (method, path, parameters from query and body)."""
    sent: list[tuple[str, str, dict]] = []
    send = client.fetch

    def fetch(url, method="GET", headers=None, body=None):
        params = dict(parse_qsl(urlparse(url).query, keep_blank_values=True))
        params.update(parse_qsl(body or "", keep_blank_values=True))
        sent.append((method, urlparse(url).path, params))
        return send(url, method, headers, body)

    client.fetch = fetch
    return sent


def recorded_params(item: dict) -> dict:
    url = urlparse(item["url"])
    params = dict(parse_qsl(url.query, keep_blank_values=True))
    params.update(parse_qsl(item["output"] or "", keep_blank_values=True))
    return {k: v for k, v in params.items() if k not in SKIP}


def replay(client: ccxt.Exchange, item: dict):
    sent = sent_requests(client)
    error = None
    try:
        getattr(client, snake(item["method"]))(*item["input"])
    except ccxt.BaseError as refused:
        error = refused
    method, path, params = sent[-1]
    assert path == urlparse(item["url"]).path
    assert {k: v for k, v in params.items() if k not in SKIP} == recorded_params(item)
    return error


def test_spot_stop_limit_create_is_accepted(spot, sandbox):
    assert replay(spot, REQUESTS["entries"]["spot stop-limit create"]) is None
    (order,) = sandbox.book.open_orders("LTCUSDT")
    assert order["type"] == "STOP_LOSS_LIMIT" and order["stopPrice"] == "100.00000000"


def test_usdm_conditional_create_is_refused_for_its_limit_price(usdm, sandbox):
    """The recorded request asks a limit of 51 for a trigger of 101: outside the symbol's PERCENT_PRICE
    band around the trigger, which Binance refuses with -4184 (the recording holds no answer)."""
    error = replay(usdm, REQUESTS["entries"]["usdm conditional create"])
    assert isinstance(error, ccxt.BadRequest) and "-4184" in str(error)
    assert sandbox.futures.open_algo_orders("LTCUSDT") == []


def test_usdm_edit_by_client_order_id_is_accepted(usdm, sandbox):
    sandbox.set_price("LTC/USDT:USDT", 56.0)  # the recorded new limit (55) inside the price band
    usdm.create_order("LTC/USDT:USDT", "limit", "buy", 0.1, 55.5, {"clientOrderId": "myid123"})
    assert replay(usdm, REQUESTS["entries"]["usdm edit"]) is None
    (order,) = sandbox.futures.open_orders("LTCUSDT")
    assert order["clientOrderId"] == "myid123" and float(order["price"]) == 55 and float(order["origQty"]) == 0.2
