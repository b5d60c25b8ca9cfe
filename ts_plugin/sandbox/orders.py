"""Spot orders with balance locking and matching against the scripted price.

MARKET orders fill at once at the current price; LIMIT orders fill when the price reaches them;
STOP_LOSS_LIMIT sells trigger when the price falls to the stop and then fill as a limit order (so a
gap below the limit leaves them open, as on a real exchange). Every order locks what it could spend.
A limit price outside the symbol's PERCENT_PRICE_BY_SIDE band around the average price of the last
``avgPriceMins`` minutes (here: the mean of those one-minute closes) is refused with Binance's -1013.
"""

from __future__ import annotations

import itertools
import threading
from typing import Callable

from ts_plugin.sandbox.errors import ApiError
from ts_plugin.sandbox.markets import AVG_PRICE_MINS, Market
from ts_plugin.sandbox.prices import PriceBook
from ts_plugin.sandbox.records import OPEN, OrderRecords

STOP_TYPES = frozenset({"STOP_LOSS_LIMIT", "STOP_LOSS"})


class SpotBook(OrderRecords):
    def __init__(self, markets: dict[str, Market], balances: dict[str, float], prices: PriceBook,
                 now_ms: Callable[[], int]) -> None:
        self.markets = markets
        self.free = dict(balances)
        self.locked = {asset: 0.0 for asset in balances}
        self.prices = prices
        self.now_ms = now_ms
        self.orders: dict[int, dict] = {}
        self.trades: list[dict] = []
        self._ids = itertools.count(1000)
        self._trade_ids = itertools.count(1)
        self.lock = threading.RLock()

    # ----- balances ---------------------------------------------------------------------------

    def _lock_funds(self, asset: str, amount: float) -> None:
        if self.free.get(asset, 0.0) + 1e-12 < amount:
            raise ApiError(400, -2010, "Account has insufficient balance for requested action.")
        self.free[asset] = self.free.get(asset, 0.0) - amount
        self.locked[asset] = self.locked.get(asset, 0.0) + amount

    def _unlock(self, asset: str, amount: float) -> None:
        self.locked[asset] = self.locked.get(asset, 0.0) - amount
        self.free[asset] = self.free.get(asset, 0.0) + amount

    def account(self) -> dict:
        with self.lock:
            assets = sorted(set(self.free) | set(self.locked))
            return {
                "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
                "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000",
                                    "seller": "0.00000000"},
                "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
                "requireSelfTradePrevention": False, "preventSor": False, "accountType": "SPOT",
                "updateTime": self.now_ms(), "permissions": ["SPOT"], "uid": 1,
                "balances": [{"asset": a, "free": f"{self.free.get(a, 0.0):.8f}",
                              "locked": f"{self.locked.get(a, 0.0):.8f}"} for a in assets],
            }

    # ----- orders -----------------------------------------------------------------------------

    def place(self, params: dict) -> dict:
        with self.lock:
            market = self._market(params.get("symbol", ""))
            side, kind = params.get("side", "").upper(), params.get("type", "").upper()
            quantity = float(params.get("quantity") or 0)
            if side not in ("BUY", "SELL") or quantity <= 0:
                raise ApiError(400, -1102, "Mandatory parameter 'quantity' or 'side' was not sent or invalid.")
            price = float(params["price"]) if params.get("price") else 0.0
            stop = float(params["stopPrice"]) if params.get("stopPrice") else 0.0
            current = self.prices.price(market.symbol)
            if kind in STOP_TYPES:
                if not stop:
                    raise ApiError(400, -1102, "Mandatory parameter 'stopPrice' was not sent.")
                if (side == "SELL" and current <= stop) or (side == "BUY" and current >= stop):
                    raise ApiError(400, -2010, "Order would trigger immediately.")
            elif kind not in ("LIMIT", "MARKET"):
                raise ApiError(400, -1116, "Invalid orderType.")
            if price:
                self._check_band(market, price)
            reserve_price = price or current
            if side == "BUY":
                self._lock_funds(market.quote, quantity * reserve_price)
            else:
                self._lock_funds(market.base, quantity)
            order_id = next(self._ids)
            now = self.now_ms()
            order = {
                "symbol": market.symbol, "orderId": order_id, "orderListId": -1,
                "clientOrderId": params.get("newClientOrderId") or f"sandbox{order_id}",
                "price": f"{price:.8f}", "origQty": f"{quantity:.8f}", "executedQty": "0.00000000",
                "cummulativeQuoteQty": "0.00000000", "status": OPEN,
                "timeInForce": params.get("timeInForce", "GTC"), "type": kind, "side": side,
                "stopPrice": f"{stop:.8f}", "icebergQty": "0.00000000", "time": now, "updateTime": now,
                "isWorking": kind not in STOP_TYPES, "workingTime": now if kind not in STOP_TYPES else -1,
                "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "NONE",
                "_reserved": reserve_price, "_triggered": False, "_fills": [],
            }
            self.orders[order_id] = order
            self._match_order(order, current)
            return self.created(order)

    def average_price(self, symbol: str) -> float:
        """What Binance's /api/v3/avgPrice would say: the mean of the last minutes' closes."""
        now = self.now_ms()
        rows = self.prices.candles(symbol, 60_000, now - AVG_PRICE_MINS * 60_000, now, AVG_PRICE_MINS + 1)
        return sum(float(row[4]) for row in rows) / len(rows)

    def _check_band(self, market: Market, price: float) -> None:
        down, up = market.spot_band
        average = self.average_price(market.symbol)
        if not average * down <= price <= average * up:
            raise ApiError(400, -1013, "Filter failure: PERCENT_PRICE_BY_SIDE")

    def cancel(self, symbol: str, order_id: int) -> dict:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order["symbol"] != symbol or order["status"] != OPEN:
                raise ApiError(400, -2011, "Unknown order sent.")
            self._release(order)
            order["status"] = "CANCELED"
            order["updateTime"] = self.now_ms()
            return self.public(order)

    def cancel_replace(self, symbol: str, order_id: int, params: dict) -> dict:
        """``POST /api/v3/order/cancelReplace`` as ccxt's ``edit_order`` sends it (``STOP_ON_FAILURE``):
        cancel ``order_id``, then place the new order. A failed cancel places nothing (-2022); a refused
        new order leaves the old one cancelled (-2021), as Binance answers."""
        with self.lock:
            try:
                cancelled = self.cancel(symbol, order_id)
            except ApiError:
                raise ApiError(400, -2022, "Order cancel-replace failed.") from None
            try:
                placed = self.place(params)
            except ApiError:
                raise ApiError(400, -2021, "Order cancel-replace partially failed.") from None
            return {"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS",
                    "cancelResponse": {**cancelled, "origClientOrderId": cancelled["clientOrderId"],
                                       "transactTime": cancelled["updateTime"]},
                    "newOrderResponse": placed}

    def resurrect(self, order_id: int) -> dict:
        """Make a cancelled order live again, without locking funds: the exchange still holds an
        order it reported gone (Binance's -2011 case). Used to plant orphans in tests."""
        with self.lock:
            order = self.orders[order_id]
            order.update(status=OPEN, updateTime=self.now_ms())
            order["_ghost"] = True
            return self.public(order)

    def my_trades(self, symbol: str) -> list[dict]:
        with self.lock:
            return [dict(t) for t in self.trades if t["symbol"] == symbol]

    def public(self, order: dict) -> dict:
        """An order as Binance's queries show it: every field, ``stopPrice`` 0 on a non-stop order."""
        return {k: v for k, v in order.items() if not k.startswith("_")}

    def created(self, order: dict) -> dict:
        """The answer to the order's create (``newOrderRespType=FULL``), as Binance gives it: no ``time``,
        ``updateTime``, ``isWorking`` nor (without an iceberg) ``icebergQty``, but ``transactTime`` and
        ``fills``; an untriggered stop says ``workingTime`` -1, so ccxt reads its timestamp as -1."""
        hidden = {"time", "updateTime", "isWorking", "icebergQty"} | (set() if order["type"] in STOP_TYPES
                                                                      else {"stopPrice"})
        shown = {k: v for k, v in self.public(order).items() if k not in hidden}
        shown["transactTime"] = order["updateTime"]
        shown["fills"] = [dict(f) for f in order["_fills"]]
        return shown

    # ----- matching ---------------------------------------------------------------------------

    def on_price(self, symbol: str) -> None:
        with self.lock:
            current = self.prices.price(symbol)
            for order in list(self.orders.values()):
                if order["symbol"] == symbol and order["status"] == OPEN:
                    self._match_order(order, current)

    def _match_order(self, order: dict, current: float) -> None:
        kind, side = order["type"], order["side"]
        if kind in STOP_TYPES and not order["_triggered"]:
            stop = float(order["stopPrice"])
            if (side == "SELL" and current > stop) or (side == "BUY" and current < stop):
                return
            order["_triggered"] = True
            order["isWorking"] = True
            order["workingTime"] = self.now_ms()
            if kind == "STOP_LOSS":
                self._fill(order, current)
                return
        limit = float(order["price"])
        if kind == "MARKET" or (side == "SELL" and current >= limit) or (side == "BUY" and current <= limit):
            self._fill(order, current)

    def _fill(self, order: dict, price: float) -> None:
        market = self._market(order["symbol"])
        quantity = float(order["origQty"])
        self._release(order)
        if order["side"] == "BUY":
            self.free[market.quote] -= quantity * price
            self.free[market.base] = self.free.get(market.base, 0.0) + quantity
        else:
            self.free[market.base] -= quantity
            self.free[market.quote] = self.free.get(market.quote, 0.0) + quantity * price
        now = self.now_ms()
        trade_id = next(self._trade_ids)
        fill = {"price": f"{price:.8f}", "qty": f"{quantity:.8f}", "commission": "0.00000000",
                "commissionAsset": market.quote, "tradeId": trade_id}
        order["_fills"].append(fill)
        order.update(status="FILLED", executedQty=f"{quantity:.8f}",
                     cummulativeQuoteQty=f"{quantity * price:.8f}", updateTime=now)
        self.trades.append({
            "symbol": order["symbol"], "id": trade_id, "orderId": order["orderId"], "orderListId": -1,
            "price": f"{price:.8f}", "qty": f"{quantity:.8f}", "quoteQty": f"{quantity * price:.8f}",
            "commission": "0.00000000", "commissionAsset": market.quote, "time": now,
            "isBuyer": order["side"] == "BUY", "isMaker": False, "isBestMatch": True,
        })

    def _release(self, order: dict) -> None:
        if order.pop("_ghost", False):
            return  # a resurrected order never locked anything
        market = self._market(order["symbol"])
        quantity = float(order["origQty"])
        if order["side"] == "BUY":
            self._unlock(market.quote, quantity * order["_reserved"])
        else:
            self._unlock(market.base, quantity)

    def _market(self, symbol: str) -> Market:
        market = self.markets.get(symbol)
        if market is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return market
