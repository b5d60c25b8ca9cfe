"""Bybit's v5 REST paths (``/v5/...``) over the sandbox's prices and a unified trading account.

Every answer is Bybit's envelope ``{"retCode", "retMsg", "result", "retExtInfo", "time"}``; refusals
are HTTP 200 with a non-zero ``retCode``, as Bybit sends them (ccxt maps the codes to its errors).
Private paths need the ``X-BAPI-API-KEY`` header (signatures are not checked). Faults come from the
sandbox's shared ``FaultPlan`` under keys like ``"POST /v5/order/amend"``; their Bybit forms:
``http`` 429 -> HTTP 429 with retCode 10006, other ``http`` statuses and ``timeout`` / ``lost_answer``
-> a gateway's non-JSON error page, ``unknown_order_live`` / ``not_found`` -> 110001, ``error`` ->
its ``code`` and ``msg`` as retCode and retMsg.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from ts_plugin.sandbox.errors import ApiError
from ts_plugin.sandbox.faults import FILL_OTHER_STOPS, SLIP, FaultPlan
from ts_plugin.sandbox.futures_account import FuturesAccount
from ts_plugin.sandbox.markets import Market
from ts_plugin.sandbox.prices import PriceBook
from ts_plugin.sandbox.quotes import book_levels
from ts_plugin.sandbox.bybit.account import BybitAccount
from ts_plugin.sandbox.bybit.book import BybitBook
from ts_plugin.sandbox.bybit.instruments import (FUNDING_INTERVAL_MIN, coin_rows, linear_instrument, plain,
                                                 risk_limits, spot_instrument)
from ts_plugin.sandbox.bybit.price_limits import PriceLimit, published

logger = logging.getLogger("ts_plugin.sandbox")

PREFIX = "/v5/"
INTERVALS_MS = {"1": 60_000, "3": 180_000, "5": 300_000, "15": 900_000, "30": 1_800_000, "60": 3_600_000,
                "120": 7_200_000, "240": 14_400_000, "360": 21_600_000, "720": 43_200_000, "D": 86_400_000}
FUNDING_INTERVAL_MS = FUNDING_INTERVAL_MIN * 60_000
FUNDING_RATE = "0.0001"

Answer = tuple[int, Any]  # (HTTP status, JSON payload or a plain-text body)


class BybitVenue:
    """Bybit's linear perpetuals (and a spot listing) on the sandbox's prices; own account and orders."""

    def __init__(self, spot: dict[str, Market], linear: dict[str, Market], wallet: dict[str, float],
                 prices: PriceBook, now_ms: Callable[[], int], faults: FaultPlan,
                 requests: list[tuple[str, str]], unknown_paths: list[str]) -> None:
        self.spot, self.linear, self.prices, self.now_ms = spot, linear, prices, now_ms
        self.faults, self.requests, self.unknown_paths = faults, requests, unknown_paths
        self.lock = threading.RLock()
        futures = FuturesAccount(linear, wallet, prices, now_ms, self.lock)
        self.account = BybitAccount(futures, now_ms)
        self.book = BybitBook(linear, futures, prices, now_ms, self.lock)
        self.launched_ms = now_ms() - 365 * 86_400_000
        self._public: dict[tuple[str, str], Callable[[dict], Any]] = {
            ("GET", "/v5/market/time"): self._time,
            ("GET", "/v5/market/instruments-info"): self._instruments,
            ("GET", "/v5/market/tickers"): self._tickers,
            ("GET", "/v5/market/kline"): lambda p: self._kline(p, full=True),
            ("GET", "/v5/market/mark-price-kline"): lambda p: self._kline(p, full=False),
            ("GET", "/v5/market/index-price-kline"): lambda p: self._kline(p, full=False),
            ("GET", "/v5/market/orderbook"): self._orderbook,
            ("GET", "/v5/market/funding/history"): self._funding_history,
            ("GET", "/v5/market/risk-limit"): self._risk_limit,
            ("GET", "/v5/market/price-limit"): self._price_limit,
        }
        self._private: dict[tuple[str, str], Callable[[dict], Any]] = {
            ("GET", "/v5/user/query-api"): self._api_key_info,
            ("GET", "/v5/account/info"): lambda p: {
                "marginMode": self.account.margin_mode, "updatedTime": str(self.now_ms()),
                "unifiedMarginStatus": 5, "dcpStatus": "OFF", "timeWindow": 10, "smpGroup": 0,
                "isMasterTrader": False, "spotHedgingStatus": "OFF"},
            ("GET", "/v5/asset/coin/query-info"): lambda p: {"rows": coin_rows(self._coins())},
            ("GET", "/v5/account/wallet-balance"): self.account.wallet_balance,
            ("GET", "/v5/account/fee-rate"): self._fee_rates,
            ("GET", "/v5/position/list"): self.account.positions,
            ("POST", "/v5/position/set-leverage"): self._linear(self.account.set_leverage),
            ("POST", "/v5/position/trading-stop"): self._linear(self.account.set_trading_stop),
            ("POST", "/v5/position/switch-mode"): self._position_mode,
            ("POST", "/v5/account/set-margin-mode"): self.account.set_margin_mode,
            ("POST", "/v5/account/set-limit-px-action"): self._limit_price_action,
            ("POST", "/v5/order/create"): self._linear(self.book.create),
            ("POST", "/v5/order/amend"): self._linear(self.book.amend),
            ("POST", "/v5/order/cancel"): self._linear(self.book.cancel),
            ("POST", "/v5/order/cancel-all"): self._linear(self.book.cancel_all),
            ("GET", "/v5/order/realtime"): self._listed(self.book.realtime),
            ("GET", "/v5/order/history"): self._listed(self.book.history),
            ("GET", "/v5/execution/list"): self._listed(self.book.executions_of),
        }

    @staticmethod
    def serves(path: str) -> bool:
        return path.startswith(PREFIX)

    def on_price(self, symbol: str) -> None:
        self.book.on_price(symbol)
        self.account.on_price(symbol, self.book)

    def set_price_limit(self, pair_or_symbol: str, ratio_x: float, ratio_y: float | None = None) -> None:
        """A linear symbol's order price limit ratios (X, and Y defaulting to 2 X), e.g. tight ones for a
        test; instruments-info and ``/v5/market/price-limit`` show them."""
        symbol = pair_or_symbol.split(":")[0].replace("/", "")
        if symbol not in self.linear:
            raise ValueError(f"{pair_or_symbol}: not a linear perpetual of this sandbox ({sorted(self.linear)})")
        with self.lock:
            self.book.price_limits[symbol] = PriceLimit(ratio_x, 2 * ratio_x if ratio_y is None else ratio_y)

    # ----- the envelope -----------------------------------------------------------------------

    def answer(self, method: str, path: str, params: dict[str, Any], api_key: str | None) -> Answer:
        self.requests.append((method, path))
        try:
            fault = self.faults.take(f"{method} {path}", params)
            if self.faults.latency_ms:
                time.sleep(self.faults.latency_ms / 1000)
            if fault is not None and fault.get("kind") == "lost_answer":
                self._route(method, path, params, api_key)  # done on the exchange; the answer is lost
                return 504, "<html><body><h1>504 Gateway Time-out</h1></body></html>"
            if fault is not None and fault.get("kind") == FILL_OTHER_STOPS:
                return 200, self._envelope(0, "OK", self._create_then_fill_others(method, path, params, api_key))
            if fault is not None and fault.get("kind") == SLIP:
                self._slip(method, path, params, float(fault["ratio"]))
                fault = None
            if fault is not None and (failed := self._fault(fault)) is not None:
                return failed
            return 200, self._envelope(0, "OK", self._route(method, path, params, api_key))
        except ApiError as error:
            return error.status, self._envelope(error.code, error.msg, {})
        except Exception as error:  # a sandbox bug must reach the client, not kill the thread
            logger.exception("sandbox: internal error (bybit)")
            return 200, self._envelope(10016, f"sandbox error: {error}", {})

    def _envelope(self, code: int, message: str, result: Any) -> dict:
        return {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": self.now_ms()}

    def _create_then_fill_others(self, method: str, path: str, params: dict, api_key: str | None) -> Any:
        """The ``fill_other_stops`` fault: the stop is created, then the symbol's other live stops go off."""
        if (method, path) != ("POST", "/v5/order/create"):
            raise ApiError(200, 10001, f"sandbox: fault {FILL_OTHER_STOPS} applies to a stop's create, "
                                       f"not to {method} {path}")
        placed = self._route(method, path, params, api_key)
        self.book.fire_stops(str(params.get("symbol", "")), keep=placed["orderId"])
        return placed

    def _slip(self, method: str, path: str, params: dict, ratio: float) -> None:
        """The ``slip`` fault: the symbol's price moves by ``ratio`` just before an order's create is
        carried out, so a market order fills that far from the price its sender quoted (as when the
        market moves during the request). Only this venue's book and account see the move."""
        if (method, path) != ("POST", "/v5/order/create"):
            raise ApiError(200, 10001, f"sandbox: fault {SLIP} applies to an order's create, not to {method} {path}")
        symbol = str(params.get("symbol", ""))
        with self.lock:
            self.prices.set(symbol, self.prices.price(symbol) * (1 + ratio), self.now_ms())
            self.on_price(symbol)

    def _fault(self, fault: dict) -> Answer | None:
        kind = fault.get("kind")
        if kind == "delay":
            time.sleep(float(fault.get("ms", 0)) / 1000)
            return None
        if kind == "timeout":
            time.sleep(float(fault.get("ms", 15_000)) / 1000)
            return 504, "<html><body><h1>504 Gateway Time-out</h1></body></html>"
        if kind == "http":
            status = int(fault.get("status", 503))
            if status == 429:
                return 429, self._envelope(10006, "Too many visits. Exceeded the API Rate Limit.", {})
            return status, f"<html><body><h1>{status} Service Unavailable</h1></body></html>"
        if kind in ("unknown_order_live", "not_found"):
            return 200, self._envelope(110001, "order not exists or too late to cancel", {})
        if kind == "error":
            return int(fault.get("status", 200)), self._envelope(int(fault["code"]), str(fault.get("msg", "")), {})
        return None

    def _route(self, method: str, path: str, params: dict, api_key: str | None) -> Any:
        route = (method, path)
        if route in self._public:
            return self._public[route](params)
        if route not in self._private:
            self.unknown_paths.append(f"{method} {path}")
            logger.warning("sandbox: unknown endpoint %s %s", method, path)
            raise ApiError(404, 10017, f"sandbox does not implement {method} {path}")
        if not api_key:
            raise ApiError(401, 10003, "API key is invalid.")
        return self._private[route](params)

    # ----- adapters ---------------------------------------------------------------------------

    @staticmethod
    def _linear(handler: Callable[[dict], Any]) -> Callable[[dict], Any]:
        def checked(params: dict) -> Any:
            if params.get("category") != "linear":
                raise ApiError(200, 10001, f"category {params.get('category')!r}: the sandbox trades "
                                           "linear contracts only (category=linear)")
            return handler(params)
        return checked

    def _listed(self, query: Callable[[dict], list]) -> Callable[[dict], Any]:
        def listed(params: dict) -> Any:
            return {"list": self._linear(query)(params), "nextPageCursor": "", "category": "linear"}
        return listed

    def _coins(self) -> set[str]:
        markets = [*self.spot.values(), *self.linear.values()]
        return {m.base for m in markets} | {m.quote for m in markets}

    # ----- public -----------------------------------------------------------------------------

    def _time(self, params: dict) -> dict:
        now = self.now_ms()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    def _instruments(self, params: dict) -> dict:
        category = params.get("category")
        if category not in ("spot", "linear", "inverse", "option"):
            raise ApiError(200, 10001, "params error: category invalid")
        rows: list[dict] = []
        if params.get("status") in (None, "", "Trading"):
            if category == "spot":
                rows = [spot_instrument(m) for m in self.spot.values()]
            elif category == "linear":
                rows = [linear_instrument(m, self.launched_ms, self.book.price_limit(m.symbol))
                        for m in self.linear.values()]
        if params.get("symbol"):
            rows = [r for r in rows if r["symbol"] == params["symbol"]]
        return {"category": category, "list": rows, "nextPageCursor": ""}

    def _markets_of(self, category: str | None) -> dict[str, Market]:
        if category == "linear":
            return self.linear
        if category == "spot":
            return self.spot
        raise ApiError(200, 10001, "params error: category invalid")

    def _symbol(self, params: dict) -> tuple[str, Market]:
        markets = self._markets_of(params.get("category"))
        market = markets.get(params.get("symbol", ""))
        if market is None:
            raise ApiError(200, 10001, "Not supported symbols")
        return market.symbol, market

    def _tickers(self, params: dict) -> dict:
        category = params.get("category")
        markets = self._markets_of(category)
        if params.get("symbol"):
            chosen = [self._symbol(params)[1]]
        else:
            chosen = list(markets.values())
        return {"category": category, "list": [self._ticker(m, category == "linear") for m in chosen]}

    def _ticker(self, market: Market, linear: bool) -> dict:
        price = self.prices.price(market.symbol)
        (bid,), (ask,) = book_levels(price, market.tick_size, 1)
        last = plain(price)
        row = {"symbol": market.symbol, "lastPrice": last, "prevPrice24h": last, "price24hPcnt": "0",
               "highPrice24h": last, "lowPrice24h": last, "turnover24h": plain(1000 * price),
               "volume24h": "1000", "bid1Price": plain(bid), "bid1Size": "10", "ask1Price": plain(ask),
               "ask1Size": "10"}
        if linear:
            row.update(indexPrice=last, markPrice=last, prevPrice1h=last, openInterest="1000",
                       openInterestValue=plain(1000 * price), fundingRate=FUNDING_RATE,
                       nextFundingTime=str(self._next_funding()), predictedDeliveryPrice="", basisRate="",
                       deliveryFeeRate="", deliveryTime="0", basis="", fundingIntervalHour="8",
                       fundingCap="0.005")
        return row

    def _kline(self, params: dict, full: bool) -> dict:
        """Candles newest first, as Bybit sends them; mark and index candles carry no volume."""
        symbol, _ = self._symbol(params)
        interval = INTERVALS_MS.get(str(params.get("interval", "")))
        if interval is None:
            raise ApiError(200, 10001, "params error: interval invalid")
        now = self.now_ms()
        end = min(int(params.get("end") or now), now)
        start = int(params["start"]) if params.get("start") else None
        limit = min(int(params.get("limit") or 200), 1000)
        rows = self.prices.candles(symbol, interval, start, end, limit)
        if full:
            candles = [[str(r[0]), plain(r[1]), plain(r[2]), plain(r[3]), plain(r[4]), "100",
                        plain(100 * float(r[4]))] for r in rows]
        else:
            candles = [[str(r[0]), plain(r[1]), plain(r[2]), plain(r[3]), plain(r[4])] for r in rows]
        return {"category": params.get("category"), "symbol": symbol, "list": candles[::-1]}

    def _orderbook(self, params: dict) -> dict:
        symbol, market = self._symbol(params)
        bids, asks = book_levels(self.prices.price(symbol), market.tick_size,
                                 min(int(params.get("limit") or 25), 50))
        now = self.now_ms()
        return {"s": symbol, "b": [[plain(b), "10"] for b in bids], "a": [[plain(a), "10"] for a in asks],
                "ts": now, "u": now, "seq": now, "cts": now}

    def _next_funding(self) -> int:
        now = self.now_ms()
        return now - now % FUNDING_INTERVAL_MS + FUNDING_INTERVAL_MS

    def _funding_history(self, params: dict) -> dict:
        """A constant rate every 8 hours in [startTime, endTime], newest first (at most ``limit``)."""
        symbol, _ = self._symbol(params)
        now = self.now_ms()
        end = min(int(params.get("endTime") or now), now)
        limit = min(int(params.get("limit") or 200), 200)
        start = int(params["startTime"]) if params.get("startTime") else end - limit * FUNDING_INTERVAL_MS
        first = -(-start // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
        rows = [{"symbol": symbol, "fundingRate": FUNDING_RATE, "fundingRateTimestamp": str(t)}
                for t in range(first, end + 1, FUNDING_INTERVAL_MS)]
        return {"category": "linear", "list": rows[::-1][:limit]}

    def _risk_limit(self, params: dict) -> dict:
        if params.get("category") != "linear":
            return {"category": params.get("category"), "list": [], "nextPageCursor": ""}
        symbols = [self._symbol(params)[0]] if params.get("symbol") else sorted(self.linear)
        return {"category": "linear", "list": [row for s in symbols for row in risk_limits(s)],
                "nextPageCursor": ""}

    def _price_limit(self, params: dict) -> dict:
        """The highest bid and lowest ask a linear order may carry now (around the current price)."""
        if params.get("category") != "linear":
            raise ApiError(200, 10001, "params error: category invalid (the sandbox serves linear)")
        symbol, market = self._symbol(params)
        buy, sell = published(self.book.price_limit(symbol), self.prices.price(symbol), market.tick_size)
        return {"symbol": symbol, "buyLmt": buy, "sellLmt": sell, "ts": str(self.now_ms())}

    # ----- private ----------------------------------------------------------------------------

    def _limit_price_action(self, params: dict) -> dict:
        """Whether a futures limit price beyond the order price limits is moved to them (Bybit's default)
        or refused (``modifyEnable=false``); spot's setting is accepted and not used."""
        category, enable = params.get("category"), str(params.get("modifyEnable")).lower()
        if category not in ("linear", "inverse", "spot") or enable not in ("true", "false"):
            raise ApiError(200, 10001, "params error: category must be linear, inverse or spot and "
                                       "modifyEnable true or false")
        if category != "spot":
            with self.lock:
                self.book.adjusts_prices = enable == "true"
        return {}

    def _api_key_info(self, params: dict) -> dict:
        return {"id": "1", "note": "sandbox", "apiKey": "sandbox", "readOnly": 0, "secret": "",
                "permissions": {"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"],
                                "Wallet": ["AccountTransfer"], "Options": [], "Derivatives": [],
                                "CopyTrading": [], "BlockTrade": [], "Exchange": [], "NFT": []},
                "ips": ["*"], "type": 1, "deadlineDay": 90, "unified": 0, "uta": 1, "userID": 1,
                "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0,
                "rsaPublicKey": "", "isMaster": True}

    def _fee_rates(self, params: dict) -> dict:
        symbols = [params["symbol"]] if params.get("symbol") else sorted(self.linear)
        return {"list": [{"symbol": s, "takerFeeRate": "0", "makerFeeRate": "0"} for s in symbols]}

    def _position_mode(self, params: dict) -> dict:
        if str(params.get("mode")) != "0":
            raise ApiError(200, 10001, "the sandbox supports one-way mode only (mode=0)")
        return {}
