"""USD-M futures orders: regular orders (``/fapi/v1/order``) and algo (conditional) orders, matched on price.

Why it looks like this: since 2025-12-09 Binance takes conditional orders (STOP, STOP_MARKET,
TAKE_PROFIT, TAKE_PROFIT_MARKET) only through the algo order API, with their own ids (``algoId``), fields
(``triggerPrice``, ``algoStatus``) and open-order list; ``/fapi/v1/order`` refuses them with -4120.
A conditional order locks nothing: a reduce-only stop does not hold the position, so a second one can
be placed before the first is cancelled. When the price crosses its trigger it places the real order
(MARKET, or LIMIT at its price), named by ``actualOrderId``; a reduce-only order that finds no position
to reduce expires. The mark price is the scripted price (MARK_PRICE and CONTRACT_PRICE agree here).
Positions and margin live in ``FuturesAccount`` (``self.account``). PERCENT_PRICE bounds a LIMIT
order's price by the mark price (-4024 / -4016) and a conditional order's limit price by its own
trigger price (-4184 / -4183). A TRAILING_STOP_MARKET order (``callbackRate`` 0.1..10 %, in 0.1 steps,
optional ``activatePrice``) follows the best price since it became active (placed, or the activation
price reached) and fires a market order once the price turns back by the callback rate.
"""

from __future__ import annotations

import itertools
import threading
from typing import Callable

from ts_plugin.sandbox.futures_account import DEFAULT_LEVERAGE, FuturesAccount
from ts_plugin.sandbox.futures_markets import max_leverage
from ts_plugin.sandbox.markets import Market, _decimals
from ts_plugin.sandbox.errors import ApiError
from ts_plugin.sandbox.prices import PriceBook
from ts_plugin.sandbox.records import OrderRecords

CONDITIONAL_TYPES = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"})
TRAILING = "TRAILING_STOP_MARKET"
CALLBACK_RATE_RANGE = (0.1, 10.0)  # percent, in 0.1 steps
REGULAR_TYPES = frozenset({"LIMIT", "MARKET"})
# An algo order's fill as Binance reports it: nothing until it fires, then its order's quantity and
# average price (ccxt's filled / average of a fired stop).
UNFILLED = {"executedQty": "0", "avgPrice": "0.00"}


def _flag(value: object) -> bool:
    return str(value).lower() == "true"


def _check_band(market: Market, price: float, reference: float, codes: tuple[int, int]) -> None:
    """PERCENT_PRICE: ``price`` within the market's multipliers of ``reference`` (Binance's codes for
    below and above, with the bound in the message like Binance's)."""
    down, up = market.futures_band
    decimals = _decimals(market.tick_size)
    if price < reference * down:
        raise ApiError(400, codes[0], f"Limit price can't be lower than {reference * down:.{decimals}f}.")
    if price > reference * up:
        raise ApiError(400, codes[1], f"Limit price can't be higher than {reference * up:.{decimals}f}.")


class FuturesBook(OrderRecords):
    def __init__(self, markets: dict[str, Market], wallet: dict[str, float], prices: PriceBook,
                 now_ms: Callable[[], int]) -> None:
        self.markets = markets
        self.prices = prices
        self.now_ms = now_ms
        self.lock = threading.RLock()
        self.account = FuturesAccount(markets, wallet, prices, now_ms, self.lock)
        self.orders: dict[int, dict] = {}
        self.algo_orders: dict[int, dict] = {}
        self.trades: list[dict] = []
        self._order_ids = itertools.count(7_000_000)
        self._algo_ids = itertools.count(3_000_000)
        self._trade_ids = itertools.count(1)
        self.trails: dict[int, float | None] = {}  # algo id -> best price since active (None: not yet)

    # ----- regular orders (/fapi/v1/order) ----------------------------------------------------

    def place(self, params: dict) -> dict:
        kind = params.get("type", "").upper()
        if kind in CONDITIONAL_TYPES or kind == "TRAILING_STOP_MARKET":
            raise ApiError(400, -4120, "Order type not supported for this endpoint. "
                                       "Please use the Algo Order API endpoints instead.")
        if kind not in REGULAR_TYPES:
            raise ApiError(400, -1116, "Invalid orderType.")
        with self.lock:
            if _flag(params.get("reduceOnly")) and not self._reduces(params):
                raise ApiError(400, -2022, "ReduceOnly Order is rejected.")
            if kind == "LIMIT" and params.get("price"):
                market = self.account.market(params.get("symbol", ""))
                _check_band(market, float(params["price"]), self.prices.price(market.symbol), (-4024, -4016))
            order = self._new_order(params, kind)
            self._match(order)
            return self.answer(order)

    def _reduces(self, params: dict) -> bool:
        """Whether an order on this side would shrink the symbol's current position."""
        position = self.account.positions.get(params.get("symbol", ""))
        if position is None:
            return False
        buying = params.get("side", "").upper() == "BUY"
        return position.amount < 0 if buying else position.amount > 0

    def _new_order(self, params: dict, kind: str) -> dict:
        market = self.account.market(params.get("symbol", ""))
        side = params.get("side", "").upper()
        quantity = float(params.get("quantity") or 0)
        if side not in ("BUY", "SELL") or quantity <= 0:
            raise ApiError(400, -1102, "Mandatory parameter 'quantity' or 'side' was not sent or invalid.")
        price = float(params["price"]) if params.get("price") else 0.0
        if kind == "LIMIT" and price <= 0:
            raise ApiError(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
        reduce_only = _flag(params.get("reduceOnly"))
        current = self.prices.price(market.symbol)
        if not reduce_only:
            leverage = self.account.leverage.get(market.symbol, DEFAULT_LEVERAGE)
            notional = quantity * (price or current)
            if leverage > max_leverage(notional):
                raise ApiError(400, -2027, "Exceeded the maximum allowable position at current leverage.")
            if notional / leverage > self.account.available(market.quote) + 1e-9:
                raise ApiError(400, -2019, "Margin is insufficient.")
        order_id, now = next(self._order_ids), self.now_ms()
        order = {
            "orderId": order_id, "symbol": market.symbol, "status": "NEW",
            "clientOrderId": params.get("newClientOrderId") or f"sandbox{order_id}",
            "price": f"{price:.8f}", "avgPrice": "0.00", "origQty": self.account.qty(market.symbol, quantity),
            "executedQty": "0", "cumQty": "0", "cumQuote": "0.00000000",
            "timeInForce": params.get("timeInForce", "GTC"), "type": kind, "origType": kind,
            "reduceOnly": reduce_only, "closePosition": False, "side": side, "positionSide": "BOTH",
            "stopPrice": "0", "workingType": "CONTRACT_PRICE", "priceProtect": False, "priceMatch": "NONE",
            "selfTradePreventionMode": "NONE", "goodTillDate": 0, "time": now, "updateTime": now,
        }
        self.orders[order_id] = order
        return order

    def cancel(self, symbol: str, order_id: int) -> dict:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order["symbol"] != symbol or order["status"] != "NEW":
                raise ApiError(400, -2011, "Unknown order sent.")
            order.update(status="CANCELED", updateTime=self.now_ms())
            return self.answer(order)

    def modify(self, symbol: str, order_id: int, params: dict) -> dict:
        """``PUT /fapi/v1/order``: a live LIMIT order's price and quantity changed in place (same id),
        as ccxt's ``edit_order`` sends it; the order is matched again at its new price."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order["symbol"] != symbol:
                raise ApiError(400, -2013, "Order does not exist.")
            if order["status"] != "NEW":
                raise ApiError(400, -2011, "Unknown order sent.")
            if order["type"] != "LIMIT":
                raise ApiError(400, -1116, "Invalid orderType.")
            price, quantity = float(params.get("price") or 0), float(params.get("quantity") or 0)
            if price <= 0 or quantity <= 0 or params.get("side", "").upper() != order["side"]:
                raise ApiError(400, -1102, "Mandatory parameter 'price', 'quantity' or 'side' was not sent "
                                           "or invalid.")
            market = self.account.market(symbol)
            _check_band(market, price, self.prices.price(symbol), (-4024, -4016))
            order.update(price=f"{price:.8f}", origQty=self.account.qty(symbol, quantity), updateTime=self.now_ms())
            self._match(order)
            return self.answer(order)

    def get_open(self, symbol: str, order_id: int) -> dict:
        """``GET /fapi/v1/openOrder`` (ccxt's ``fetch_open_order``): the order while it is live, else
        Binance's -2013."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order["symbol"] != symbol or order["status"] != "NEW":
                raise ApiError(400, -2013, "Order does not exist.")
            return self.public(order)

    def user_trades(self, symbol: str, start_ms: int | None = None) -> list[dict]:
        with self.lock:
            return [dict(t) for t in self.trades
                    if t["symbol"] == symbol and (start_ms is None or t["time"] >= start_ms)]

    @staticmethod
    def public(order: dict) -> dict:
        """An order as the queries (``GET /fapi/v1/order``, open and all orders) show it: with ``time``,
        without ``cumQty``."""
        return {k: v for k, v in order.items() if k != "cumQty"}

    @staticmethod
    def answer(order: dict) -> dict:
        """An order as the answer to its create, modify or cancel shows it: ``cumQty`` but no ``time``
        (ccxt then reads the order's timestamp from ``updateTime``)."""
        return {k: v for k, v in order.items() if k != "time"}

    # ----- algo (conditional) orders (/fapi/v1/algoOrder) -------------------------------------

    def place_algo(self, params: dict) -> dict:
        if params.get("algoType", "").upper() != "CONDITIONAL":
            raise ApiError(400, -1102, "Mandatory parameter 'algoType' was not sent, was empty/null, or malformed.")
        kind = params.get("type", "").upper()
        if kind not in CONDITIONAL_TYPES and kind != TRAILING:
            raise ApiError(400, -1116, "Invalid orderType.")
        with self.lock:
            market = self.account.market(params.get("symbol", ""))
            side = params.get("side", "").upper()
            if kind == TRAILING:
                return self._place_trailing(params, market, side)
            trigger = float(params.get("triggerPrice") or 0)
            price = float(params["price"]) if params.get("price") else 0.0
            close_position = _flag(params.get("closePosition"))
            quantity = float(params.get("quantity") or 0)
            if side not in ("BUY", "SELL") or trigger <= 0 or (quantity <= 0 and not close_position):
                raise ApiError(400, -1102, "Mandatory parameter 'triggerPrice', 'quantity' or 'side' "
                                           "was not sent or invalid.")
            if not kind.endswith("_MARKET") and price <= 0:
                raise ApiError(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
            if not kind.endswith("_MARKET"):
                _check_band(market, price, trigger, (-4184, -4183))
            working = params.get("workingType", "CONTRACT_PRICE").upper()
            if working not in ("CONTRACT_PRICE", "MARK_PRICE"):
                raise ApiError(400, -1116, "Invalid workingType.")
            algo_id, now = next(self._algo_ids), self.now_ms()
            algo = {
                "algoId": algo_id, "clientAlgoId": params.get("clientAlgoId") or f"sandboxalgo{algo_id}",
                "algoType": "CONDITIONAL", "orderType": kind, "symbol": market.symbol, "side": side,
                "positionSide": "BOTH", "timeInForce": params.get("timeInForce", "GTC"),
                "quantity": self.account.qty(market.symbol, quantity), "algoStatus": "NEW",
                "actualOrderId": "", "actualPrice": "0.00000", "triggerPrice": f"{trigger:.8f}",
                "price": f"{price:.8f}", "icebergQuantity": None, "selfTradePreventionMode": "NONE",
                "workingType": working, "priceMatch": "NONE", "closePosition": close_position,
                "priceProtect": _flag(params.get("priceProtect")),
                "reduceOnly": _flag(params.get("reduceOnly")) or close_position,
                "activatePrice": "", "callbackRate": "", "createTime": now, "updateTime": now,
                "triggerTime": 0, "goodTillDate": 0, **UNFILLED,
            }
            if self._triggered(algo, self.prices.price(market.symbol)):
                raise ApiError(400, -2021, "Order would immediately trigger.")
            self.algo_orders[algo_id] = algo
            return dict(algo)

    def _place_trailing(self, params: dict, market: Market, side: str) -> dict:
        quantity = float(params.get("quantity") or 0)
        try:
            rate = float(params.get("callbackRate") or 0)
        except ValueError:
            rate = 0.0
        low, high = CALLBACK_RATE_RANGE
        if side not in ("BUY", "SELL") or quantity <= 0:
            raise ApiError(400, -1102, "Mandatory parameter 'quantity' or 'side' was not sent or invalid.")
        if not low <= rate <= high or abs(rate * 10 - round(rate * 10)) > 1e-9:
            raise ApiError(400, -1102, f"Parameter 'callbackRate' {params.get('callbackRate')!r} is invalid: "
                                       f"{low:g} to {high:g} in steps of 0.1.")
        activate = float(params["activatePrice"]) if params.get("activatePrice") else 0.0
        current = self.prices.price(market.symbol)
        algo_id, now = next(self._algo_ids), self.now_ms()
        algo = {
            "algoId": algo_id, "clientAlgoId": params.get("clientAlgoId") or f"sandboxalgo{algo_id}",
            "algoType": "CONDITIONAL", "orderType": TRAILING, "symbol": market.symbol, "side": side,
            "positionSide": "BOTH", "timeInForce": params.get("timeInForce", "GTC"),
            "quantity": self.account.qty(market.symbol, quantity), "algoStatus": "NEW",
            "actualOrderId": "", "actualPrice": "0.00000", "triggerPrice": "0.00000000",
            "price": "0.00000000", "icebergQuantity": None, "selfTradePreventionMode": "NONE",
            "workingType": params.get("workingType", "CONTRACT_PRICE").upper(), "priceMatch": "NONE",
            "closePosition": False, "priceProtect": _flag(params.get("priceProtect")),
            "reduceOnly": _flag(params.get("reduceOnly")),
            "activatePrice": f"{activate:.8f}" if activate else "", "callbackRate": f"{rate:g}",
            "createTime": now, "updateTime": now, "triggerTime": 0, "goodTillDate": 0, **UNFILLED,
        }
        self.algo_orders[algo_id] = algo
        self.trails[algo_id] = None
        self._trail(algo, current)
        return dict(algo)

    def _trail(self, algo: dict, current: float) -> bool:
        """Follow the best price of an active trailing order; True once the price turned back by the
        callback rate from it (a sell's best price is the highest, a buy's the lowest)."""
        selling, algo_id = algo["side"] == "SELL", algo["algoId"]
        best = self.trails.get(algo_id)
        if best is None:
            activate = float(algo["activatePrice"] or 0)
            if activate and (current < activate if selling else current > activate):
                return False
            best = current
        best = max(best, current) if selling else min(best, current)
        self.trails[algo_id] = best
        rate = float(algo["callbackRate"]) / 100
        return current <= best * (1 - rate) if selling else current >= best * (1 + rate)

    def cancel_algo(self, algo_id: int) -> dict:
        with self.lock:
            algo = self.algo_orders.get(algo_id)
            if algo is None or algo["algoStatus"] != "NEW":
                raise ApiError(400, -2011, "Unknown order sent.")
            algo.update(algoStatus="CANCELED", updateTime=self.now_ms())
            return {"algoId": algo_id, "clientAlgoId": algo["clientAlgoId"], "code": "200", "msg": "success"}

    def get_algo(self, algo_id: int) -> dict:
        with self.lock:
            algo = self.algo_orders.get(algo_id)
            if algo is None:
                raise ApiError(400, -2013, "Order does not exist.")
            return dict(algo)

    def open_algo_orders(self, symbol: str | None = None) -> list[dict]:
        with self.lock:
            return [dict(a) for a in self.algo_orders.values()
                    if a["algoStatus"] == "NEW" and (symbol is None or a["symbol"] == symbol)]

    def all_algo_orders(self, symbol: str) -> list[dict]:
        """``GET /fapi/v1/allAlgoOrders``: the symbol's conditional orders in every status (ccxt's
        ``fetch_orders`` / ``fetch_closed_orders`` with ``trigger``)."""
        with self.lock:
            return [dict(a) for a in self.algo_orders.values() if a["symbol"] == symbol]

    def cancel_open_algos(self, symbol: str) -> dict:
        """``DELETE /fapi/v1/algoOpenOrders``: every live conditional order of the symbol cancelled
        (ccxt's ``cancel_all_orders`` with ``trigger``)."""
        with self.lock:
            now = self.now_ms()
            for algo in self.algo_orders.values():
                if algo["symbol"] == symbol and algo["algoStatus"] == "NEW":
                    algo.update(algoStatus="CANCELED", updateTime=now)
            return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def resurrect(self, algo_id: int) -> dict:
        """Make a cancelled conditional order live again: the exchange still holds an order it
        reported gone (freqtrade issue #12681). Used to plant orphans in tests."""
        with self.lock:
            algo = self.algo_orders[algo_id]
            algo.update(algoStatus="NEW", updateTime=self.now_ms())
            return dict(algo)

    # ----- matching ---------------------------------------------------------------------------

    def on_price(self, symbol: str) -> None:
        with self.lock:
            if symbol not in self.markets:
                return
            current = self.prices.price(symbol)
            for algo in list(self.algo_orders.values()):
                if algo["symbol"] != symbol or algo["algoStatus"] != "NEW":
                    continue
                if self._trail(algo, current) if algo["orderType"] == TRAILING else self._triggered(algo, current):
                    self._fire(algo)
            for order in list(self.orders.values()):
                if order["symbol"] == symbol and order["status"] == "NEW":
                    self._match(order)

    def fire_stops(self, symbol: str, keep: int) -> list[int]:
        """The symbol's live stop orders but ``keep`` go off now, at the current price, as if the price
        had touched their triggers at this instant (the ``fill_other_stops`` fault). Their ids."""
        with self.lock:
            fired = [algo for algo in self.algo_orders.values()
                     if algo["symbol"] == symbol and algo["algoStatus"] == "NEW"
                     and algo["orderType"] in CONDITIONAL_TYPES and algo["algoId"] != keep]
            for algo in fired:
                self._fire(algo)
            return [algo["algoId"] for algo in fired]

    @staticmethod
    def _triggered(algo: dict, current: float) -> bool:
        trigger, selling = float(algo["triggerPrice"]), algo["side"] == "SELL"
        if algo["orderType"].startswith("STOP"):
            return current <= trigger if selling else current >= trigger
        return current >= trigger if selling else current <= trigger

    def _fire(self, algo: dict) -> None:
        """The trigger was crossed: place the real order and link it by ``actualOrderId``."""
        symbol = algo["symbol"]
        quantity = float(algo["quantity"])
        if algo["closePosition"]:
            quantity = abs(self.account.position(symbol).amount)
        kind = "MARKET" if algo["orderType"].endswith("_MARKET") else "LIMIT"
        if algo["orderType"] == TRAILING:
            algo["triggerPrice"] = f"{self.prices.price(symbol):.8f}"
        params = {"symbol": symbol, "side": algo["side"], "quantity": quantity,
                  "price": algo["price"] if kind == "LIMIT" else None,
                  "reduceOnly": "true" if algo["reduceOnly"] else "false", "timeInForce": algo["timeInForce"]}
        now = self.now_ms()
        try:
            order = self._new_order(params, kind)
        except ApiError:
            algo.update(algoStatus="EXPIRED", updateTime=now, triggerTime=now)
            return
        order["stopPrice"] = algo["triggerPrice"]
        order["origType"] = algo["orderType"]
        self._match(order)
        algo.update(algoStatus="TRIGGERED", actualOrderId=str(order["orderId"]),
                    actualPrice=order["avgPrice"], executedQty=order["executedQty"], avgPrice=order["avgPrice"],
                    updateTime=now, triggerTime=now)

    def _match(self, order: dict) -> None:
        current = self.prices.price(order["symbol"])
        limit, selling = float(order["price"]), order["side"] == "SELL"
        if order["type"] == "MARKET" or (selling and current >= limit) or (not selling and current <= limit):
            self._fill(order, current)

    def _fill(self, order: dict, price: float) -> None:
        symbol, now = order["symbol"], self.now_ms()
        position = self.account.position(symbol)
        signed = float(order["origQty"]) * (1 if order["side"] == "BUY" else -1)
        if order["reduceOnly"]:
            if position.amount * signed >= 0:  # nothing to reduce: Binance expires it
                order.update(status="EXPIRED", updateTime=now)
                return
            if abs(signed) > abs(position.amount):  # never past flat
                signed = -position.amount
        realized = self.account.apply_fill(symbol, position, signed, price)
        quantity = abs(signed)
        filled = self.account.qty(symbol, quantity)
        order.update(status="FILLED", executedQty=filled, cumQty=filled, cumQuote=f"{quantity * price:.8f}",
                     avgPrice=f"{price:.8f}", updateTime=now)
        market = self.markets[symbol]
        self.trades.append({
            "symbol": symbol, "id": next(self._trade_ids), "orderId": order["orderId"],
            "side": order["side"], "positionSide": "BOTH", "price": f"{price:.8f}", "marginAsset": market.quote,
            "qty": filled, "quoteQty": f"{quantity * price:.8f}",
            "realizedPnl": f"{realized:.8f}", "commission": "0.00000000", "commissionAsset": market.quote,
            "buyer": order["side"] == "BUY", "maker": False, "time": now,
        })
