"""Binance USD-M REST paths (``/fapi/...``) over a ``FuturesBook``: what ccxt and a futures bot call.

Public market data (exchangeInfo, candles incl. mark-price candles, tickers without bid/ask like the
real ``/fapi/v1/ticker/24hr``, book ticker, depth, premium index, funding rates) needs no key; account,
position, order and algo-order paths need the ``X-MBX-APIKEY`` header. Anything else is reported as an
unknown endpoint by the caller.
"""

from __future__ import annotations

from typing import Any, Callable

from ts_plugin.sandbox.errors import ApiError
from ts_plugin.sandbox.futures import FuturesBook
from ts_plugin.sandbox.futures_markets import futures_exchange_info, leverage_brackets
from ts_plugin.sandbox.inputs import numeric_id, order_id
from ts_plugin.sandbox.markets import Market
from ts_plugin.sandbox.prices import PriceBook
from ts_plugin.sandbox.quotes import book_levels

FUNDING_INTERVAL_MS = 8 * 3_600_000
FUNDING_RATE = "0.00010000"


class FuturesApi:
    def __init__(self, book: FuturesBook, prices: PriceBook, now_ms: Callable[[], int],
                 candles: Callable[[dict, dict], list]) -> None:
        self.book = book
        self.markets: dict[str, Market] = book.markets
        self.prices = prices
        self.now_ms = now_ms
        self._candles = candles
        self.public: dict[tuple[str, str], Callable[[dict], Any]] = {
            ("GET", "/fapi/v1/ping"): lambda p: {},
            ("GET", "/fapi/v1/time"): lambda p: {"serverTime": self.now_ms()},
            ("GET", "/fapi/v1/exchangeInfo"): lambda p: futures_exchange_info(list(self.markets.values()),
                                                                              self.now_ms()),
            ("GET", "/fapi/v1/klines"): lambda p: self._candles(self.markets, p),
            ("GET", "/fapi/v1/markPriceKlines"): lambda p: self._candles(self.markets, p),
            ("GET", "/fapi/v1/indexPriceKlines"): lambda p: self._candles(
                self.markets, {**p, "symbol": p.get("pair", "")}),
            ("GET", "/fapi/v1/ticker/24hr"): lambda p: self._each(p, self._ticker),
            ("GET", "/fapi/v1/ticker/price"): lambda p: self._each(p, self._last_price),
            ("GET", "/fapi/v2/ticker/price"): lambda p: self._each(p, self._last_price),
            ("GET", "/fapi/v1/ticker/bookTicker"): lambda p: self._each(p, self._book_ticker),
            ("GET", "/fapi/v1/depth"): self._depth,
            ("GET", "/fapi/v1/premiumIndex"): lambda p: self._each(p, self._premium_index),
            ("GET", "/fapi/v1/fundingRate"): self._funding_rates,
            ("GET", "/fapi/v1/fundingInfo"): lambda p: [],
        }
        account = book.account
        self.private: dict[tuple[str, str], Callable[[dict], Any]] = {
            ("GET", "/fapi/v1/positionSide/dual"): lambda p: {"dualSidePosition": False},
            ("GET", "/fapi/v1/multiAssetsMargin"): lambda p: {"multiAssetsMargin": False},
            ("GET", "/fapi/v1/leverageBracket"): self._brackets,
            ("POST", "/fapi/v1/leverage"): lambda p: account.set_leverage(p.get("symbol", ""),
                                                                        int(p.get("leverage", 0))),
            ("POST", "/fapi/v1/marginType"): lambda p: account.set_margin_type(p.get("symbol", ""),
                                                                             p.get("marginType", "").upper()),
            ("GET", "/fapi/v3/account"): lambda p: account.account_info(),
            ("GET", "/fapi/v2/account"): lambda p: account.account_info_v2(),
            ("GET", "/fapi/v3/positionRisk"): lambda p: account.position_risk(p.get("symbol") or None),
            ("GET", "/fapi/v2/positionRisk"): lambda p: account.position_risk(p.get("symbol") or None, v2=True),
            ("GET", "/fapi/v1/income"): lambda p: [],
            ("POST", "/fapi/v1/order"): book.place,
            ("GET", "/fapi/v1/order"): lambda p: book.get(p.get("symbol", ""), self._order_id(p)),
            ("GET", "/fapi/v1/openOrder"): lambda p: book.get_open(p.get("symbol", ""), self._order_id(p)),
            ("DELETE", "/fapi/v1/order"): lambda p: book.cancel(p.get("symbol", ""), self._order_id(p)),
            ("PUT", "/fapi/v1/order"): lambda p: book.modify(p.get("symbol", ""), self._order_id(p), p),
            ("GET", "/fapi/v1/openOrders"): lambda p: book.open_orders(p.get("symbol") or None),
            ("GET", "/fapi/v1/allOrders"): lambda p: book.all_orders(p.get("symbol", "")),
            ("GET", "/fapi/v1/userTrades"): lambda p: book.user_trades(
                p.get("symbol", ""), int(p["startTime"]) if p.get("startTime") else None),
            ("POST", "/fapi/v1/algoOrder"): book.place_algo,
            ("GET", "/fapi/v1/algoOrder"): lambda p: book.get_algo(self._algo_id(p)),
            ("DELETE", "/fapi/v1/algoOrder"): lambda p: book.cancel_algo(self._algo_id(p)),
            ("GET", "/fapi/v1/openAlgoOrders"): lambda p: book.open_algo_orders(p.get("symbol") or None),
            ("GET", "/fapi/v1/allAlgoOrders"): lambda p: book.all_algo_orders(self._symbol(p.get("symbol", ""))),
            ("DELETE", "/fapi/v1/algoOpenOrders"): lambda p: book.cancel_open_algos(
                self._symbol(p.get("symbol", ""))),
        }

    def serves(self, route: tuple[str, str]) -> bool:
        return route in self.public or route in self.private

    def handle(self, route: tuple[str, str], params: dict, api_key: str | None) -> Any:
        if route in self.public:
            return self.public[route](params)
        if api_key is None:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return self.private[route](params)

    # ----- helpers ----------------------------------------------------------------------------

    def _order_id(self, params: dict) -> int:
        """The order named by ``orderId`` or else by ``origClientOrderId`` (0, which no order has, if
        neither names one); a non-numeric ``orderId`` is Binance's -1100."""
        if params.get("orderId") or not params.get("origClientOrderId"):
            return order_id(params)
        wanted = params["origClientOrderId"]
        return next((oid for oid, order in list(self.book.orders.items()) if order["clientOrderId"] == wanted), 0)

    def _algo_id(self, params: dict) -> int:
        if params.get("algoId"):
            return numeric_id(params, "algoId")
        wanted = params.get("clientAlgoId")
        for algo_id, algo in list(self.book.algo_orders.items()):
            if wanted and algo["clientAlgoId"] == wanted:
                return algo_id
        raise ApiError(400, -2013, "Order does not exist.")

    def _symbol(self, symbol: str) -> str:
        if symbol not in self.markets:
            raise ApiError(400, -1121, "Invalid symbol.")
        return symbol

    def _each(self, params: dict, build: Callable[[str], dict]) -> Any:
        """One object for ``?symbol=``, else a list over every symbol (Binance's convention)."""
        symbol = params.get("symbol")
        if symbol:
            return build(self._symbol(symbol))
        return [build(s) for s in self.markets]

    def _ticker(self, symbol: str) -> dict:
        price, now = self.prices.price(symbol), self.now_ms()
        return {"symbol": symbol, "priceChange": "0", "priceChangePercent": "0",
                "weightedAvgPrice": f"{price:.8f}", "lastPrice": f"{price:.8f}", "lastQty": "1",
                "openPrice": f"{price:.8f}", "highPrice": f"{price:.8f}", "lowPrice": f"{price:.8f}",
                "volume": "1000", "quoteVolume": f"{1000 * price:.8f}", "openTime": now - 86_400_000,
                "closeTime": now, "firstId": 1, "lastId": 2, "count": 2}

    def _last_price(self, symbol: str) -> dict:
        return {"symbol": symbol, "price": f"{self.prices.price(symbol):.8f}", "time": self.now_ms()}

    def _book_ticker(self, symbol: str) -> dict:
        (bid,), (ask,) = book_levels(self.prices.price(symbol), self.markets[symbol].tick_size, 1)
        return {"symbol": symbol, "bidPrice": bid, "bidQty": "10",
                "askPrice": ask, "askQty": "10", "time": self.now_ms(),
                "lastUpdateId": self.now_ms()}

    def _depth(self, params: dict) -> dict:
        symbol = self._symbol(params.get("symbol", ""))
        now = self.now_ms()
        bids, asks = book_levels(self.prices.price(symbol), self.markets[symbol].tick_size,
                          min(int(params.get("limit", 100)), 20))
        return {"lastUpdateId": now, "E": now, "T": now,
                "bids": [[bid, "10"] for bid in bids], "asks": [[ask, "10"] for ask in asks]}

    def _next_funding(self) -> int:
        now = self.now_ms()
        return now - now % FUNDING_INTERVAL_MS + FUNDING_INTERVAL_MS

    def _premium_index(self, symbol: str) -> dict:
        price = f"{self.prices.price(symbol):.8f}"
        return {"symbol": symbol, "markPrice": price, "indexPrice": price, "estimatedSettlePrice": price,
                "lastFundingRate": FUNDING_RATE, "interestRate": "0.00010000",
                "nextFundingTime": self._next_funding(), "time": self.now_ms()}

    def _funding_rates(self, params: dict) -> list[dict]:
        """A constant rate every 8 hours in [startTime, endTime] (the newest ``limit`` of them)."""
        symbol = self._symbol(params.get("symbol", ""))
        end = min(int(params.get("endTime", self.now_ms())), self.now_ms())
        limit = min(int(params.get("limit", 100)), 1000)
        start = int(params["startTime"]) if params.get("startTime") else end - limit * FUNDING_INTERVAL_MS
        first = start - start % FUNDING_INTERVAL_MS + (FUNDING_INTERVAL_MS if start % FUNDING_INTERVAL_MS else 0)
        price = f"{self.prices.price(symbol):.8f}"
        rows = [{"symbol": symbol, "fundingRate": FUNDING_RATE, "fundingTime": t, "markPrice": price}
                for t in range(first, end + 1, FUNDING_INTERVAL_MS)]
        return rows[:limit] if params.get("startTime") else rows[-limit:]

    def _brackets(self, params: dict) -> Any:
        symbol = params.get("symbol")
        if symbol:
            return [leverage_brackets(self._symbol(symbol))]
        return [leverage_brackets(s) for s in self.markets]
