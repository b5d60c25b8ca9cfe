"""The sandbox's HTTP server: Binance's spot REST paths, USD-M futures paths for pairs written with a
settle currency (``BTC/USDT:USDT``, see ``futures_api``), Bybit's v5 paths under ``/v5/`` (see
``bybit``), plus a control API under ``/_sandbox/``.

It binds to loopback only (anything else is refused before a socket is opened, checked again at
``start`` so a host changed after construction cannot slip through), picks a free port
when given 0, and ``start`` returns only once it answers. Signatures are not checked; private
endpoints need the ``X-MBX-APIKEY`` header like Binance.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse
from urllib.request import urlopen

from ts_plugin.sandbox.bybit import BybitVenue
from ts_plugin.sandbox.faults import FILL_OTHER_STOPS, FaultPlan
from ts_plugin.sandbox.inputs import numeric_id, order_id, valid_latency, valid_pair, valid_price
from ts_plugin.sandbox.futures import FuturesBook
from ts_plugin.sandbox.futures_api import FuturesApi
from ts_plugin.sandbox.futures_markets import is_futures_pair
from ts_plugin.sandbox.markets import Market, empty_futures_info, exchange_info, parse_pair
from ts_plugin.sandbox.errors import ApiError
from ts_plugin.sandbox.orders import SpotBook
from ts_plugin.sandbox.prices import PriceBook
from ts_plugin.sandbox.quotes import book_levels

logger = logging.getLogger("ts_plugin.sandbox")

INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
               "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "1d": 86_400_000}
# Paths ccxt's binance client calls during start-up that need no more than an empty answer.
EMPTY_LISTS = frozenset({"/sapi/v1/capital/config/getall", "/sapi/v1/margin/allPairs",
                         "/sapi/v1/margin/isolated/allPairs"})
# Routes that need the X-MBX-APIKEY header; anything else not public is an unknown endpoint.
PRIVATE_ROUTES = frozenset({("GET", path) for path in EMPTY_LISTS} | {
    ("GET", "/api/v3/account"), ("POST", "/api/v3/order"), ("DELETE", "/api/v3/order"),
    ("POST", "/api/v3/order/cancelReplace"),
    ("GET", "/api/v3/order"), ("GET", "/api/v3/openOrders"), ("GET", "/api/v3/allOrders"),
    ("GET", "/api/v3/myTrades")})

# What each spot ticker path answers (Binance's three shapes of the same figures).
TICKER_FIELDS = {
    "/api/v3/ticker/24hr": frozenset({
        "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "prevClosePrice", "lastPrice",
        "lastQty", "bidPrice", "bidQty", "askPrice", "askQty", "openPrice", "highPrice", "lowPrice", "volume",
        "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count"}),
    "/api/v3/ticker/price": frozenset({"symbol", "price"}),
    "/api/v3/ticker/bookTicker": frozenset({"symbol", "bidPrice", "bidQty", "askPrice", "askQty"}),
}


def now_ms() -> int:
    return int(time.time() * 1000)


def symbol_of(pair: str) -> str:
    """Binance's symbol for a spot or a perpetual pair: BTC/USDT and BTC/USDT:USDT are both BTCUSDT."""
    return pair.split(":")[0].replace("/", "")


def ensure_loopback(host: str) -> None:
    """Refuse any address that is not on the loopback interface."""
    try:
        address = ipaddress.ip_address("127.0.0.1" if host == "localhost" else host)
    except ValueError:
        raise ValueError(f"sandbox host {host!r} is not an IP address on loopback") from None
    if not address.is_loopback:
        raise ValueError(f"sandbox refuses to bind to {host}: only loopback (127.0.0.0/8, ::1) is allowed")


def serve_in_background(server: Any, name: str) -> None:
    """Run a socketserver on a daemon thread (it dies with the process, never blocks exit)."""
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()


def shut_down(server: Any) -> None:
    server.shutdown()
    server.server_close()


def ccxt_overrides(url: str, exchange: str = "binance") -> dict[str, Any]:
    """freqtrade ``exchange`` keys that send ccxt's ``exchange`` client (binance or bybit) to the
    sandbox at ``url``."""
    import ccxt

    real = getattr(ccxt, exchange)().urls["api"]
    api = {key: url.rstrip("/") + urlparse(value).path for key, value in real.items()}
    return {
        "ccxt_config": {"urls": {"api": api}},
        "ccxt_sync_config": {},
        "ccxt_async_config": {},
    }



def config_fragment(url: str, pairs: list[str] | None = None, exchange_name: str = "binance") -> dict[str, Any]:
    """A freqtrade config fragment that points a bot or a backtest at the sandbox at ``url``: pass it as
    an extra ``--config`` file (freqtrade merges it over your config). Binance's (or Bybit's) API through
    ccxt's URLs, websockets off (they would try the real stream host) and, with ``pairs``, the sandbox's
    pairs as a static whitelist."""
    exchange: dict[str, Any] = {"name": exchange_name, "enable_ws": False, **ccxt_overrides(url, exchange_name)}
    if pairs:
        exchange["pair_whitelist"] = list(pairs)
    return {"exchange": exchange}

class SandboxExchange:
    """A Binance-compatible spot (and USD-M futures) exchange; usable as a context manager.

    Pairs with a settle currency (``BTC/USDT:USDT``) are perpetuals on ``/fapi``, the others spot
    symbols; a spot and a perpetual pair of the same symbol share one scripted price (it is also
    the mark price). ``futures_wallet`` is the futures account's balance per margin asset.
    """

    def __init__(self, prices: dict[str, float], host: str = "127.0.0.1", port: int = 0,
                 balances: dict[str, float] | None = None,
                 futures_wallet: dict[str, float] | None = None) -> None:
        ensure_loopback(host)
        self.host, self._requested_port = host, port
        started = now_ms() - 1000 * 60 * 60 * 24  # a day of flat history before the first change
        self.markets: dict[str, Market] = {}
        futures_markets: dict[str, Market] = {}
        initial: dict[str, float] = {}
        for pair, price in prices.items():
            market = parse_pair(valid_pair(pair), valid_price(price))
            (futures_markets if is_futures_pair(pair) else self.markets)[market.symbol] = market
            initial[market.symbol] = price
        self.prices = PriceBook(initial, started)
        quote_assets = {m.quote for m in self.markets.values()}
        default_balances = {asset: 10_000.0 for asset in quote_assets}
        default_balances.update({m.base: 0.0 for m in self.markets.values()})
        self.book = SpotBook(self.markets, balances or default_balances, self.prices, now_ms)
        wallet = futures_wallet or {asset: 10_000.0 for asset in {m.quote for m in futures_markets.values()}}
        self.futures = FuturesBook(futures_markets, wallet, self.prices, now_ms)
        self.futures_api = FuturesApi(self.futures, self.prices, now_ms, self._candles)
        self.faults = FaultPlan()
        self.requests: list[tuple[str, str]] = []
        self.unknown_paths: list[str] = []
        self.bybit = BybitVenue(self.markets, futures_markets, dict(wallet), self.prices, now_ms, self.faults,
                                self.requests, self.unknown_paths)
        self._server: ThreadingHTTPServer | None = None

    # ----- life cycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("sandbox is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "SandboxExchange":
        ensure_loopback(self.host)  # again: ``host`` is a plain attribute and may have been changed
        handler = type("Handler", (_Handler,), {"sandbox": self})
        server_class = ThreadingHTTPServer
        if ":" in self.host:  # ::1 needs an IPv6 socket; the stdlib server is IPv4 by default
            server_class = type("ThreadingHTTPServer6", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
        self._server = server_class((self.host, self._requested_port), handler)
        serve_in_background(self._server, "sandbox")
        with urlopen(f"{self.url}/api/v3/ping", timeout=10) as answer:  # ready when it answers
            answer.read()
        logger.info("sandbox exchange listening on %s (%d symbols)", self.url, len(self.markets))
        return self

    def stop(self) -> None:
        if self._server is not None:
            shut_down(self._server)
            self._server = None

    def __enter__(self) -> "SandboxExchange":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- scripting --------------------------------------------------------------------------

    def set_price(self, pair: str, price: float) -> None:
        symbol = symbol_of(pair)
        self.prices.set(symbol, price, now_ms())
        self.book.on_price(symbol)
        self.futures.on_price(symbol)
        self.bybit.on_price(symbol)

    def price(self, pair: str) -> float:
        return self.prices.price(symbol_of(pair))

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in list(self.requests) if m == method and p == path)

    # ----- routing ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, str], api_key: str | None) -> Any:
        if path.startswith("/_sandbox/"):
            return self._control(method, path, params)
        self.requests.append((method, path))
        fault = self.faults.take(f"{method} {path}", params)
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        if fault is not None and fault.get("kind") == "lost_answer":
            self._route(method, path, params, api_key)  # done on the exchange; the answer never arrives
            raise ApiError(504, -1007, "Timeout waiting for response from backend server. "
                                       "Send status unknown; execution status unknown.")
        if fault is not None and fault.get("kind") == FILL_OTHER_STOPS:
            if (method, path) != ("POST", "/fapi/v1/algoOrder"):
                raise ApiError(400, -1000, f"sandbox: fault {FILL_OTHER_STOPS} applies to a stop's create, "
                                           f"not to {method} {path}")
            placed = self._route(method, path, params, api_key)
            self.futures.fire_stops(placed["symbol"], keep=placed["algoId"])
            return placed
        if fault is not None:
            self._apply(fault, method, path, params)
        return self._route(method, path, params, api_key)

    def _route(self, method: str, path: str, params: dict[str, str], api_key: str | None) -> Any:
        route = (method, path)
        symbol = params.get("symbol", "")
        if route == ("GET", "/api/v3/ping"):
            return {}
        if route == ("GET", "/api/v3/time"):
            return {"serverTime": now_ms()}
        if route == ("GET", "/api/v3/exchangeInfo"):
            return exchange_info(list(self.markets.values()), now_ms())
        if self.futures_api.serves(route):
            return self.futures_api.handle(route, params, api_key)
        if route == ("GET", "/dapi/v1/exchangeInfo"):
            return empty_futures_info(now_ms())
        if method == "GET" and path == "/api/v3/klines":
            return self._candles(self.markets, params)
        if method == "GET" and path in TICKER_FIELDS:
            fields = TICKER_FIELDS[path]
            tickers = [{k: v for k, v in self._ticker(s).items() if k in fields}
                       for s in ([symbol] if symbol else self.markets)]
            return tickers[0] if symbol else tickers
        if route == ("GET", "/api/v3/depth"):
            return self._depth(symbol, int(params.get("limit", 100)))
        if route not in PRIVATE_ROUTES:  # unknown: recorded whether or not a key was sent
            raise self._unknown(method, path)
        if api_key is None:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        if method == "GET" and path in EMPTY_LISTS:
            return []
        if route == ("GET", "/api/v3/account"):
            return self.book.account()
        if route == ("POST", "/api/v3/order"):
            return self.book.place(params)
        if route == ("DELETE", "/api/v3/order"):
            return self.book.cancel(symbol, order_id(params))
        if route == ("GET", "/api/v3/order"):
            return self.book.get(symbol, order_id(params))
        if route == ("POST", "/api/v3/order/cancelReplace"):
            return self.book.cancel_replace(symbol, numeric_id(params, "cancelOrderId"), params)
        if route == ("GET", "/api/v3/openOrders"):
            return self.book.open_orders(symbol or None)
        if route == ("GET", "/api/v3/allOrders"):
            return self.book.all_orders(symbol)
        if route == ("GET", "/api/v3/myTrades"):
            return self.book.my_trades(symbol)
        raise self._unknown(method, path)  # a PRIVATE_ROUTES entry without a handler

    def _unknown(self, method: str, path: str) -> ApiError:
        """Record and log an endpoint the sandbox does not serve; Binance-style error to raise."""
        self.unknown_paths.append(f"{method} {path}")
        logger.warning("sandbox: unknown endpoint %s %s", method, path)
        return ApiError(404, -1000, f"sandbox does not implement {method} {path}")

    def _apply(self, fault: dict, method: str, path: str, params: dict[str, str]) -> None:
        kind = fault.get("kind")
        if kind == "delay":
            time.sleep(float(fault.get("ms", 0)) / 1000)
        elif kind == "timeout":
            time.sleep(float(fault.get("ms", 15_000)) / 1000)
            raise ApiError(504, -1007, "Timeout waiting for response from backend server.")
        elif kind == "http":
            status = int(fault.get("status", 503))
            raise ApiError(status, -1003 if status in (418, 429) else -1001,
                           "Too many requests." if status in (418, 429) else "Internal error.")
        elif kind == "unknown_order_live":
            raise ApiError(400, -2011, "Unknown order sent.")  # the order is left untouched
        elif kind == "not_found":
            raise ApiError(400, -2013, "Order does not exist.")
        elif kind == "error":
            raise ApiError(int(fault.get("status", 400)), int(fault["code"]), str(fault.get("msg", "")))

    def _control(self, method: str, path: str, params: dict[str, Any]) -> Any:
        if path == "/_sandbox/price" and method == "POST":
            pair, price = self._pair_and_price(params)
            self.set_price(pair, price)
            return {"pair": pair, "price": self.price(pair)}
        if path == "/_sandbox/fault" and method == "POST":
            if "latency_ms" in params:
                self.faults.latency_ms = _bad_input(valid_latency, params["latency_ms"])
            if "endpoint" in params:
                self.faults.add(params["endpoint"], params.get("fault") or {})
            return {"ok": True}
        if path == "/_sandbox/faults" and method == "DELETE":
            self.faults.clear()
            return {"ok": True}
        if path == "/_sandbox/resurrect" and method == "POST":
            if "algo_id" in params:
                return self.futures.resurrect(int(params["algo_id"]))
            return self.book.resurrect(int(params["order_id"]))
        if path == "/_sandbox/orders" and method == "GET":
            return self.book.open_orders(params.get("symbol"))
        if path == "/_sandbox/algo_orders" and method == "GET":
            return self.futures.open_algo_orders(params.get("symbol"))
        if path == "/_sandbox/requests" and method == "GET":
            return [f"{m} {p}" for m, p in self.requests]
        raise ApiError(404, -1000, f"unknown control endpoint {method} {path}")

    def _pair_and_price(self, params: dict[str, Any]) -> tuple[str, float]:
        """The control API's price change, every bad input a 400 that says what is expected."""
        missing = [name for name in ("pair", "price") if name not in params]
        if missing:
            raise ApiError(400, -1102, f"missing {' and '.join(missing)}: expected {{\"pair\": ..., \"price\": ...}}")
        pair, price = params["pair"], _bad_input(valid_price, params["price"])
        if not isinstance(pair, str) or symbol_of(pair) not in self.prices.symbols():
            known = [m.pair for m in self.markets.values()]
            known += [f"{m.pair}:{m.quote}" for m in self.futures.markets.values()]
            raise ApiError(400, -1121, f"unknown pair {pair!r}: the sandbox has {', '.join(sorted(known))}")
        return pair, price

    def _ticker(self, symbol: str) -> dict:
        if symbol not in self.markets:
            raise ApiError(400, -1121, "Invalid symbol.")
        price = self.prices.price(symbol)
        (bid,), (ask,) = book_levels(price, self.markets[symbol].tick_size, 1)
        return {"symbol": symbol, "priceChange": "0", "priceChangePercent": "0",
                "weightedAvgPrice": f"{price:.8f}", "prevClosePrice": f"{price:.8f}",
                "lastPrice": f"{price:.8f}", "price": f"{price:.8f}", "lastQty": "1.00000000",
                "bidPrice": bid, "bidQty": "10.00000000", "askPrice": ask,
                "askQty": "10.00000000", "openPrice": f"{price:.8f}", "highPrice": f"{price:.8f}",
                "lowPrice": f"{price:.8f}", "volume": "1000.00000000",
                "quoteVolume": f"{1000 * price:.8f}", "openTime": now_ms() - 86_400_000,
                "closeTime": now_ms(), "firstId": 1, "lastId": 2, "count": 2}

    def _depth(self, symbol: str, limit: int) -> dict:
        if symbol not in self.markets:
            raise ApiError(400, -1121, "Invalid symbol.")
        bids, asks = book_levels(self.prices.price(symbol), self.markets[symbol].tick_size, min(limit, 20))
        return {"lastUpdateId": now_ms(),
                "bids": [[bid, "10.00000000"] for bid in bids],
                "asks": [[ask, "10.00000000"] for ask in asks]}

    def _candles(self, markets: dict[str, Market], params: dict[str, str]) -> list:
        symbol = params.get("symbol", "")
        if symbol not in markets:
            raise ApiError(400, -1121, "Invalid symbol.")
        interval = INTERVAL_MS.get(params.get("interval", ""), 0)
        if not interval:
            raise ApiError(400, -1120, "Invalid interval.")
        end = min(int(params.get("endTime", now_ms())), now_ms())
        start = int(params["startTime"]) if "startTime" in params else None
        return self.prices.candles(symbol, interval, start, end, min(int(params.get("limit", 500)), 1000))


def _bad_input(check: Any, value: Any) -> Any:
    """``check(value)``, a ValueError answered as HTTP 400 with its message."""
    try:
        return check(value)
    except ValueError as error:
        raise ApiError(400, -1100, str(error)) from None


class _Handler(BaseHTTPRequestHandler):
    sandbox: SandboxExchange
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the request log
        logger.debug("sandbox: " + format, *args)

    def _dispatch(self, method: str) -> None:
        parsed = urlparse(self.path)
        params: dict[str, Any] = dict(parse_qsl(parsed.query))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            params.update(self._body(body))
            if self.sandbox.bybit.serves(parsed.path):
                status, payload = self.sandbox.bybit.answer(method, parsed.path, params,
                                                            self.headers.get("X-BAPI-API-KEY"))
            else:
                status, payload = 200, self.sandbox.handle(method, parsed.path, params,
                                                           self.headers.get("X-MBX-APIKEY"))
        except ApiError as error:
            status, payload = error.status, {"code": error.code, "msg": error.msg}
        except Exception as error:  # a sandbox bug must surface to the client, not kill the thread
            logger.exception("sandbox: internal error")
            status, payload = 500, {"code": -1000, "msg": f"sandbox error: {error}"}
        text = isinstance(payload, str)  # a gateway's error page, not JSON
        data = payload.encode() if text else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if text else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self, body: str) -> dict[str, Any]:
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return dict(parse_qsl(body))
        try:
            decoded = json.loads(body or "{}")
        except json.JSONDecodeError as error:
            raise ApiError(400, -1100, f"body is not JSON: {error}") from None
        if not isinstance(decoded, dict):
            raise ApiError(400, -1100, "body must be a JSON object")
        return decoded

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")
