"""Bybit v5 linear orders: market, limit and conditional (``triggerPrice``) orders, amended in place.

Why it looks like this: on Bybit a conditional order is an ordinary order with a trigger. It is
``Untriggered`` until the last price crosses ``triggerPrice`` in its ``triggerDirection`` (1 rising,
2 falling), then keeps its ``orderId`` and becomes a market or limit order (``Triggered``, then
``New``/``Filled``). ``/v5/order/amend`` changes the trigger (and limit price, quantity) of a live order
in place: one request, same id, so the stop never leaves the book. A cancelled conditional order reads
``Deactivated``. Reduce-only orders lock nothing; one that finds no position to reduce is cancelled
(``CancelByReduceOnly``). Positions and margin live in the shared ``FuturesAccount`` arithmetic.
A limit price meets the symbol's order price limits (``price_limits.py``): a plain order's around the
current price; a conditional order's when it fires, and, if the account refuses prices beyond the
limits, already at placement and amend around its own trigger.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from typing import Callable

from ts_plugin.sandbox.errors import ApiError
from ts_plugin.sandbox.futures_account import FuturesAccount
from ts_plugin.sandbox.markets import Market
from ts_plugin.sandbox.prices import PriceBook
from ts_plugin.sandbox.bybit.instruments import max_leverage, plain
from ts_plugin.sandbox.bybit.price_limits import PriceLimit, allowed_price

OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered", "Triggered"})
TIME_IN_FORCE = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "POSTONLY": "PostOnly"}
HISTORY_SIZE = 500  # Bybit answers a query by id only for the account's latest 500 orders


def invalid(message: str) -> ApiError:
    return ApiError(200, 10001, message)


def _flag(value: object) -> bool:
    return value is True or str(value).lower() == "true"


def _number(params: dict, name: str) -> float:
    try:
        return float(params.get(name) or 0)
    except (TypeError, ValueError):
        raise invalid(f"params error: {name} invalid") from None


def realtime_row(order: dict) -> dict:
    """An order as ``/v5/order/realtime`` lists it (``marketUnit`` "" on a contract order)."""
    return {**order, "marketUnit": ""}


def history_row(order: dict) -> dict:
    """An order as ``/v5/order/history`` lists it: no ``marketUnit``, but the slippage tolerance and
    the extra fees a real history row carries (none here)."""
    return {**order, "slippageToleranceType": "UNKNOWN", "slippageTolerance": "0", "extraFees": ""}


class BybitBook:
    def __init__(self, markets: dict[str, Market], account: FuturesAccount, prices: PriceBook,
                 now_ms: Callable[[], int], lock: threading.RLock) -> None:
        self.markets = markets
        self.account = account
        self.prices = prices
        self.now_ms = now_ms
        self.lock = lock
        self.orders: dict[str, dict] = {}  # insertion order is creation order
        self.executions: list[dict] = []
        self._exec_seq = itertools.count(1)
        self.price_limits: dict[str, PriceLimit] = {}  # per symbol; absent: PriceLimit()'s defaults
        self.adjusts_prices = True  # the account's set-limit-px-action for futures (modifyEnable)

    def price_limit(self, symbol: str) -> PriceLimit:
        return self.price_limits.get(symbol) or PriceLimit()

    def _allowed(self, symbol: str, side: str, price: float, around: float) -> float:
        """A limit price against the symbol's limits around ``around`` (moved or refused beyond them)."""
        return allowed_price(self.price_limit(symbol), side, price, around, self.markets[symbol].tick_size,
                             self.adjusts_prices)

    # ----- create, amend, cancel --------------------------------------------------------------

    def create(self, params: dict) -> dict:
        with self.lock:
            market = self.market(params.get("symbol", ""))
            kind = str(params.get("orderType", "")).capitalize()
            side = str(params.get("side", "")).capitalize()
            if kind not in ("Market", "Limit"):
                raise invalid("params error: orderType invalid")
            if side not in ("Buy", "Sell"):
                raise invalid("params error: side invalid")
            if str(params.get("positionIdx", "0")) != "0":
                raise invalid("position idx not match position mode")  # one-way mode only
            quantity, price = _number(params, "qty"), _number(params, "price")
            if quantity <= 0:
                raise invalid("params error: qty invalid")
            if kind == "Limit" and price <= 0:
                raise invalid("params error: price invalid")
            trigger = _number(params, "triggerPrice")
            if kind == "Limit" and (not trigger or not self.adjusts_prices):
                price = self._allowed(market.symbol, side, price, trigger or self.prices.price(market.symbol))
            reduce_only = _flag(params.get("reduceOnly"))
            if reduce_only and not self._reduces(market.symbol, side):
                raise ApiError(200, 110017, "current position is zero, cannot fix reduce-only order qty")
            if not reduce_only:
                self._check_margin(market, quantity * (price or self.prices.price(market.symbol)))
            direction = int(params.get("triggerDirection") or 0)
            if trigger:
                if direction not in (1, 2):
                    raise invalid("params error: triggerDirection invalid")
                self._check_trigger(trigger, direction, market.symbol)
            order = self._new(market, params, kind, side, quantity, price, reduce_only, trigger, direction)
            self.orders[order["orderId"]] = order
            if not trigger:
                self._match(order)
            return {"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]}

    def _new(self, market: Market, params: dict, kind: str, side: str, quantity: float, price: float,
             reduce_only: bool, trigger: float, direction: int) -> dict:
        order_id, now = str(uuid.uuid4()), str(self.now_ms())
        time_in_force = TIME_IN_FORCE.get(str(params.get("timeInForce", "GTC")).upper(), "GTC")
        return {
            "orderId": order_id, "orderLinkId": str(params.get("orderLinkId") or ""), "blockTradeId": "",
            "symbol": market.symbol, "price": plain(price) if price else "0",
            "qty": self.account.qty(market.symbol, quantity), "side": side, "isLeverage": "",
            "positionIdx": 0, "orderStatus": "Untriggered" if trigger else "New", "createType": "CreateByUser",
            "cancelType": "UNKNOWN", "rejectReason": "EC_NoError", "avgPrice": "",
            "leavesQty": self.account.qty(market.symbol, quantity), "leavesValue": "0",
            "cumExecQty": "0", "cumExecValue": "0", "cumExecFee": "0", "cumFeeDetail": {},
            "timeInForce": "IOC" if kind == "Market" else time_in_force, "orderType": kind,
            "stopOrderType": "Stop" if trigger else "", "orderIv": "",
            "triggerPrice": plain(trigger) if trigger else "", "takeProfit": "", "stopLoss": "",
            "tpTriggerBy": "", "slTriggerBy": "",
            "triggerDirection": direction if trigger else 0,
            "triggerBy": str(params.get("triggerBy") or "LastPrice") if trigger else "",
            "lastPriceOnCreated": plain(self.prices.price(market.symbol)),
            "reduceOnly": reduce_only, "closeOnTrigger": False, "smpType": "None", "smpGroup": 0,
            "smpOrderId": "", "tpslMode": "", "tpLimitPrice": "", "slLimitPrice": "", "placeType": "",
            "createdTime": now, "updatedTime": now,
        }

    def amend(self, params: dict) -> dict:
        """Change a live order in place: trigger price, limit price, quantity. Same id afterwards."""
        with self.lock:
            order = self._live(params)
            trigger, price, quantity = (_number(params, "triggerPrice"), _number(params, "price"),
                                        _number(params, "qty"))
            if trigger and order["orderStatus"] != "Untriggered":
                raise ApiError(200, 10001, "The trigger price of a triggered order cannot be modified")
            if price and order["orderType"] == "Market":
                raise ApiError(200, 10001, "params error: a market order has no price to modify")
            changes = {}
            if trigger and plain(trigger) != order["triggerPrice"]:
                self._check_trigger(trigger, order["triggerDirection"], order["symbol"])
                changes["triggerPrice"] = plain(trigger)
                if params.get("triggerBy"):
                    changes["triggerBy"] = str(params["triggerBy"])
            price = self._amended_price(order, price, changes.get("triggerPrice"))
            if price and plain(price) != order["price"]:
                changes["price"] = plain(price)
            if quantity and self.account.qty(order["symbol"], quantity) != order["qty"]:
                changes["qty"] = changes["leavesQty"] = self.account.qty(order["symbol"], quantity)
            if not changes:
                raise ApiError(200, 34040, "not modified")
            order.update(changes, updatedTime=str(self.now_ms()))
            if order["orderStatus"] == "New":
                self._match(order)
            return {"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]}

    def _amended_price(self, order: dict, price: float, new_trigger: str | None) -> float:
        """An amended limit order's price (the asked one, or its own when only its trigger moves) as the
        limits take it; a waiting conditional order's only if the account refuses prices beyond them."""
        if order["orderType"] != "Limit" or not (price or new_trigger):
            return price
        if order["orderStatus"] == "Untriggered":
            if self.adjusts_prices:
                return price  # met when it fires
            around = float(new_trigger or order["triggerPrice"])
        else:
            around = self.prices.price(order["symbol"])
        return self._allowed(order["symbol"], order["side"], price or float(order["price"]), around)

    def cancel(self, params: dict) -> dict:
        with self.lock:
            order = self._live(params)
            status = "Deactivated" if order["orderStatus"] == "Untriggered" else "Cancelled"
            order.update(orderStatus=status, cancelType="CancelByUser", updatedTime=str(self.now_ms()))
            return {"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]}

    def cancel_all(self, params: dict) -> dict:
        """``/v5/order/cancel-all``: the open orders of ``symbol`` (or of every symbol settled in
        ``settleCoin``) cancelled; ``orderFilter`` StopOrder (or a ``stopOrderType``) takes conditional
        orders only, Order plain ones only. Bybit's answer: their ids and ``success`` "1"."""
        with self.lock:
            symbol, settle = params.get("symbol"), params.get("settleCoin")
            if not symbol and not settle:
                raise invalid("params error: symbol or settleCoin is required")
            if symbol:
                self.market(symbol)
            kind = params.get("orderFilter") or ("StopOrder" if params.get("stopOrderType") else None)
            if kind not in (None, "", "Order", "StopOrder"):
                raise invalid("params error: orderFilter invalid")
            chosen = [o for o in self.orders.values() if o["orderStatus"] in OPEN_STATUSES
                      and (not symbol or o["symbol"] == symbol)
                      and (not settle or self.markets[o["symbol"]].quote == settle)
                      and (not kind or (kind == "StopOrder") == bool(o["stopOrderType"]))]
            now = str(self.now_ms())
            for order in chosen:
                status = "Deactivated" if order["orderStatus"] == "Untriggered" else "Cancelled"
                order.update(orderStatus=status, cancelType="CancelByUser", updatedTime=now)
            return {"list": [{"orderId": o["orderId"], "orderLinkId": o["orderLinkId"]} for o in chosen],
                    "success": "1"}

    def _live(self, params: dict) -> dict:
        order = self._find(params)
        if order is None or order["orderStatus"] not in OPEN_STATUSES:
            raise ApiError(200, 110001, "order not exists or too late to cancel")
        return order

    def _find(self, params: dict) -> dict | None:
        self.market(params.get("symbol", ""))
        order_id, link_id = params.get("orderId"), params.get("orderLinkId")
        if not order_id and not link_id:
            raise invalid("params error: orderId or orderLinkId is required")
        if order_id:
            order = self.orders.get(str(order_id))
        else:
            order = next((o for o in self.orders.values() if o["orderLinkId"] == link_id), None)
        return order if order is not None and order["symbol"] == params.get("symbol") else None

    # ----- queries ----------------------------------------------------------------------------

    def realtime(self, params: dict) -> list[dict]:
        """``/v5/order/realtime``: open orders, or by id any of the latest 500 orders (a UTA account)."""
        with self.lock:
            chosen = self._filtered(params)
            if params.get("orderId") or params.get("orderLinkId"):
                recent = list(self.orders.values())[-HISTORY_SIZE:]
                return [realtime_row(o) for o in chosen if o in recent]
            return [realtime_row(o) for o in reversed(chosen) if o["orderStatus"] in OPEN_STATUSES]

    def history(self, params: dict) -> list[dict]:
        """``/v5/order/history``: orders that are no longer open, newest first."""
        with self.lock:
            start, end = int(params.get("startTime") or 0), int(params.get("endTime") or 0)
            rows = [o for o in reversed(self._filtered(params)) if o["orderStatus"] not in OPEN_STATUSES
                    and int(o["createdTime"]) >= start and (not end or int(o["createdTime"]) <= end)]
            status = params.get("orderStatus")
            if status:
                rows = [o for o in rows if o["orderStatus"] == status]
            return [history_row(o) for o in rows[: min(int(params.get("limit") or 20), 50)]]

    def _filtered(self, params: dict) -> list[dict]:
        symbol, settle = params.get("symbol"), params.get("settleCoin")
        order_id, link_id = params.get("orderId"), params.get("orderLinkId")
        kind = params.get("orderFilter")
        if kind not in (None, "", "Order", "StopOrder"):
            raise invalid("params error: orderFilter invalid")
        return [o for o in self.orders.values()
                if (not symbol or o["symbol"] == symbol)
                and (not settle or self.markets[o["symbol"]].quote == settle)
                and (not order_id or o["orderId"] == order_id)
                and (not link_id or o["orderLinkId"] == link_id)
                and (not kind or (kind == "StopOrder") == bool(o["stopOrderType"]))]

    def executions_of(self, params: dict) -> list[dict]:
        with self.lock:
            symbol, order_id = params.get("symbol"), params.get("orderId")
            start = int(params.get("startTime") or 0)
            rows = [e for e in reversed(self.executions)
                    if (not symbol or e["symbol"] == symbol) and (not order_id or e["orderId"] == order_id)
                    and int(e["execTime"]) >= start]
            return [dict(e) for e in rows[: min(int(params.get("limit") or 50), 100)]]

    def open_stops(self, symbol: str | None = None) -> list[dict]:
        """Untriggered conditional orders (the live stops), read by tests and benchmarks."""
        with self.lock:
            return [dict(o) for o in self.orders.values() if o["orderStatus"] == "Untriggered"
                    and (symbol is None or o["symbol"] == symbol)]

    # ----- matching ---------------------------------------------------------------------------

    def on_price(self, symbol: str) -> None:
        with self.lock:
            if symbol not in self.markets:
                return
            current = self.prices.price(symbol)
            for order in list(self.orders.values()):
                if order["symbol"] != symbol:
                    continue
                if order["orderStatus"] == "Untriggered" and self._crossed(order, current):
                    self._fire(order)
                elif order["orderStatus"] == "New":
                    self._match(order)

    def fire_stops(self, symbol: str, keep: str) -> list[str]:
        """The symbol's live stops but ``keep`` go off now, at the current price, as if the price had
        touched their triggers at this instant (the ``fill_other_stops`` fault). Their ids."""
        with self.lock:
            fired = [order for order in self.orders.values() if order["symbol"] == symbol
                     and order["orderStatus"] == "Untriggered" and order["orderId"] != keep]
            for order in fired:
                self._fire(order)
            return [order["orderId"] for order in fired]

    @staticmethod
    def _crossed(order: dict, current: float) -> bool:
        trigger = float(order["triggerPrice"])
        return current >= trigger if order["triggerDirection"] == 1 else current <= trigger

    def _check_trigger(self, trigger: float, direction: int, symbol: str) -> None:
        current = self.prices.price(symbol)
        if direction == 1 and trigger <= current:
            raise ApiError(200, 110092, f"expect Rising, but trigger_price[{plain(trigger)}] <= "
                                        f"current[{plain(current)}]??LastPrice")
        if direction == 2 and trigger >= current:
            raise ApiError(200, 110093, f"expect Falling, but trigger_price[{plain(trigger)}] >= "
                                        f"current[{plain(current)}]??LastPrice")

    def _fire(self, order: dict) -> None:
        order.update(orderStatus="Triggered", updatedTime=str(self.now_ms()))
        if order["reduceOnly"] and not self._reduces(order["symbol"], order["side"]):
            order.update(orderStatus="Deactivated", cancelType="CancelByReduceOnly")
            return
        order["orderStatus"] = "New"
        if order["orderType"] == "Limit":  # moved into the limits around the price it fires at
            price = allowed_price(self.price_limit(order["symbol"]), order["side"], float(order["price"]),
                                  self.prices.price(order["symbol"]), self.markets[order["symbol"]].tick_size,
                                  adjust=True)
            if price != float(order["price"]):
                order["price"] = plain(price)
        self._match(order)

    def _match(self, order: dict) -> None:
        current = self.prices.price(order["symbol"])
        limit, selling = float(order["price"]), order["side"] == "Sell"
        if order["orderType"] == "Market" or (selling and current >= limit) or (not selling and current <= limit):
            self._fill(order, current)

    def _fill(self, order: dict, price: float) -> None:
        symbol, now = order["symbol"], self.now_ms()
        position = self.account.position(symbol)
        signed = float(order["leavesQty"]) * (1 if order["side"] == "Buy" else -1)
        if order["reduceOnly"]:
            if position.amount * signed >= 0:
                order.update(orderStatus="Cancelled", cancelType="CancelByReduceOnly", updatedTime=str(now))
                return
            if abs(signed) > abs(position.amount):
                signed = -position.amount
        realized = self.account.apply_fill(symbol, position, signed, price)
        quantity = self.account.qty(symbol, abs(signed))
        value = plain(round(abs(signed) * price, 8))
        order.update(orderStatus="Filled", cumExecQty=quantity, cumExecValue=value, avgPrice=plain(price),
                     leavesQty="0", cumFeeDetail={self.markets[symbol].quote: "0"}, updatedTime=str(now))
        self.executions.append({
            "symbol": symbol, "orderId": order["orderId"], "orderLinkId": order["orderLinkId"],
            "side": order["side"], "orderPrice": order["price"], "orderQty": order["qty"], "leavesQty": "0",
            "createType": order["createType"], "orderType": order["orderType"],
            "stopOrderType": order["stopOrderType"] or "UNKNOWN", "marketUnit": "", "execFee": "0",
            "execId": str(uuid.uuid4()),
            "execPrice": plain(price), "execQty": quantity, "execType": "Trade", "execValue": value,
            "execTime": str(now), "feeCurrency": self.markets[symbol].quote, "isMaker": False,
            "feeRate": "0", "tradeIv": "", "markIv": "", "markPrice": plain(price), "indexPrice": plain(price),
            "underlyingPrice": "", "blockTradeId": "", "closedSize": quantity if realized else "0",
            "seq": next(self._exec_seq), "execPnl": plain(round(realized, 8)),
        })

    # ----- helpers ----------------------------------------------------------------------------

    def _reduces(self, symbol: str, side: str) -> bool:
        position = self.account.positions.get(symbol)
        if position is None or not position.amount:
            return False
        return position.amount < 0 if side == "Buy" else position.amount > 0

    def _check_margin(self, market: Market, notional: float) -> None:
        leverage = self.account.leverage.get(market.symbol, 10)
        if leverage > max_leverage(notional):
            raise ApiError(200, 110016, "Requested quantity of contracts exceeds risk limit, "
                                        "please adjust your risk limit level before trying again")
        if notional / leverage > self.account.available(market.quote) + 1e-9:
            raise ApiError(200, 110007, "ab not enough for new order")

    def market(self, symbol: str) -> Market:
        market = self.markets.get(symbol)
        if market is None:
            raise ApiError(200, 10001, "Not supported symbols")
        return market
