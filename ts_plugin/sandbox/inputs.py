"""What a person types into the sandbox (command line or control API), checked before it is used.

One place, so the command line and the HTTP control API refuse the same values in the same words
instead of a traceback, an HTTP 500 or, worse, a negative or NaN price that the order book then
matches against.
"""

from __future__ import annotations

import math
from typing import Any

from ts_plugin.sandbox.errors import ApiError

PAIR_FORM = "BASE/QUOTE (spot) or BASE/QUOTE:SETTLE (perpetual), e.g. BTC/USDT"


def valid_price(value: Any) -> float:
    """A finite number > 0; a numeric string is accepted (form bodies and argv carry strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"price {value!r}: expected a finite number > 0")
    try:
        price = float(value)
    except ValueError:
        raise ValueError(f"price {value!r}: expected a finite number > 0") from None
    if not (math.isfinite(price) and price > 0):
        raise ValueError(f"price {value!r}: expected a finite number > 0")
    return price


def valid_latency(value: Any) -> float:
    """Milliseconds added to every request: a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"latency {value!r}: expected a finite number of milliseconds >= 0")
    try:
        latency = float(value)
    except ValueError:
        latency = math.nan
    if not (math.isfinite(latency) and latency >= 0):
        raise ValueError(f"latency {value!r}: expected a finite number of milliseconds >= 0")
    return latency


def valid_pair(pair: Any) -> str:
    """BASE/QUOTE or BASE/QUOTE:SETTLE with alphanumeric parts."""
    base, slash, rest = str(pair).partition("/")
    quote, colon, settle = rest.partition(":")
    parts = (base, quote, settle) if colon else (base, quote)
    if not (isinstance(pair, str) and slash and all(part.isalnum() for part in parts)):
        raise ValueError(f"pair {pair!r}: expected {PAIR_FORM}")
    return pair


def pair_price(item: str, default: float) -> tuple[str, float]:
    """``PAIR=PRICE`` (or a bare ``PAIR``, priced ``default``) from the command line."""
    pair, equals, price = item.partition("=")
    return valid_pair(pair), (valid_price(price) if equals else default)


def valid_port(value: str) -> int:
    """A TCP port, 0 for any free one."""
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65_535:
        raise ValueError(f"port {value!r}: expected 0 (any free port) .. 65535")
    return port


ID_FORM = "^[0-9]{1,20}$"


def numeric_id(params: dict, name: str) -> int:
    """An order id parameter as Binance checks it: digits only, else its -1100 parameter error (HTTP
    400, ccxt's BadRequest), never a server error. Missing: 0, which no order has."""
    value = str(params.get(name) or "0")
    if not (value.isascii() and value.isdigit() and len(value) <= 20):
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{ID_FORM}'.")
    return int(value)


def order_id(params: dict) -> int:
    return numeric_id(params, "orderId")
