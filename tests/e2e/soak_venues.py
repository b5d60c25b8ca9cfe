"""The exchanges the soak (``soak.py``) runs on, each read from the sandbox's own records in one form.

The soak's scenario and its end checks are the same on every venue; what differs is where the
sandbox keeps the orders and positions, what a stop order looks like and which endpoints the faults
aim at. Each venue answers those questions with *records*: one dict per order, in Binance spot's
vocabulary (``orderId``, ``symbol``, ``type``, ``side`` BUY/SELL, ``status`` NEW/CANCELED/FILLED/
EXPIRED, ``time`` created, ``updateTime`` of the cancel or the fill, ``stopPrice``) plus

- ``role``: ``stop`` (a regular stop order freqtrade placed), ``backstop`` (the plugin's native
  trailing order; Bybit's position trailing stop is a property of the position, not an order, and is
  read with ``backstops()``) or ``order`` (entries, exits, a fired stop's real order);
- ``fill``: whether this record moved the position (a Binance USD-M conditional order never does:
  the real order it places when triggered does);
- ``qty``: the quantity filled (a fill) or asked for (a live stop).

Venues: ``SpotVenue`` (Binance spot), ``BinanceFuturesVenue`` (USD-M, conditional orders on the algo
API, the backstop a ``TRAILING_STOP_MARKET``), ``BybitVenue`` (linear perpetuals, conditional orders
amended in place, the backstop the position's trailing stop).
"""

from __future__ import annotations

from typing import Any

ENDED = ("CANCELED", "FILLED", "EXPIRED", "REJECTED")


def symbol(pair: str) -> str:
    """The exchange symbol of a spot or perpetual pair: ADA/USDT and ADA/USDT:USDT are ADAUSDT."""
    return pair.split(":")[0].replace("/", "")


def _record(order_id: Any, symbol_: str, kind: str, side: str, status: str, created: int, updated: int,
            stop: float, qty: float, role: str, fill: bool, price: float = 0.0) -> dict:
    return {"orderId": order_id, "symbol": symbol_, "type": kind, "side": side.upper(), "status": status,
            "time": int(created), "updateTime": int(updated), "stopPrice": f"{stop:.8f}", "qty": qty,
            "role": role, "fill": fill, "avgPrice": price}


class SpotVenue:
    """Binance spot: STOP_LOSS_LIMIT orders, a stop that fills is also the position's exit fill."""

    name = "binance spot"
    key = "spot"
    futures = False
    STOP_TYPES = ("STOP_LOSS_LIMIT", "STOP_LOSS")
    # faults, by what they stand for: (endpoint, "when" of a stop placement / of nothing)
    stop_create = ("POST /api/v3/order", {"type": "STOP_LOSS_LIMIT"})
    stop_cancel = ("DELETE /api/v3/order", None)

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    @staticmethod
    def pair(base: str) -> str:
        return f"{base}/USDT"

    def config_options(self) -> dict:
        return {}

    def records(self) -> list[dict]:
        book = self.sandbox.book
        with book.lock:
            orders = [book.public(o) for o in book.orders.values()]
        return sorted((_record(o["orderId"], o["symbol"], o["type"], o["side"], o["status"], o["time"],
                               o["updateTime"], float(o.get("stopPrice") or 0), float(o.get("executedQty") or 0)
                               if o["status"] != "NEW" else float(o.get("origQty") or 0),
                               "stop" if o["type"] in self.STOP_TYPES else "order", o["status"] == "FILLED",
                               float(o.get("price") or 0)) for o in orders),
                      key=lambda o: (o["time"], str(o["orderId"])))

    def live_stops(self, pair: str | None = None) -> list[dict]:
        return [o for o in self.records() if o["role"] == "stop" and o["status"] not in ENDED
                and (pair is None or o["symbol"] == symbol(pair))]

    def backstops(self) -> list[dict]:
        return []  # the soak runs spot without the native backstop

    def positions(self) -> dict[str, float]:
        """Coins held per symbol (the spot account's base balances)."""
        account = self.sandbox.book.account()
        held = {b["asset"]: float(b["free"]) + float(b["locked"]) for b in account["balances"]}
        return {m.symbol: held.get(m.base, 0.0) for m in self.sandbox.markets.values() if held.get(m.base)}

    def wallet(self) -> dict | None:
        return None

    def unknown_order_fault(self, order_id: Any, symbol_: str) -> tuple[str, dict]:
        return "DELETE /api/v3/order", {"kind": "unknown_order_live", "times": 500,
                                        "when": {"symbol": symbol_, "orderId": str(order_id)}}

    @staticmethod
    def answered_order_id(params: dict) -> str:
        return str(params.get("orderId"))

    def race_faults(self, symbol_: str, stop_id: Any) -> list[tuple[str, dict]]:
        return []  # spot replaces cancel-then-create: no moment with two stops to race


class BinanceFuturesVenue:
    """Binance USD-M: conditional stops on the algo API (make-before-break), the native backstop a
    TRAILING_STOP_MARKET algo order, positions and the wallet in the futures account."""

    name = "binance usd-m futures"
    key = "binance_futures"
    futures = True
    stop_create = ("POST /fapi/v1/algoOrder", {"type": "STOP"})
    stop_cancel = ("DELETE /fapi/v1/algoOrder", None)
    TRAILING = "TRAILING_STOP_MARKET"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.book = sandbox.futures
        self.initial_wallet = dict(self.book.account.wallet)

    @staticmethod
    def pair(base: str) -> str:
        return f"{base}/USDT:USDT"

    def config_options(self) -> dict:
        return {"trading_mode": "futures", "margin_mode": "isolated", "use_order_book": True}

    def records(self) -> list[dict]:
        book = self.book
        with book.lock:
            orders = [dict(o) for o in book.orders.values()]
            algos = [dict(a) for a in book.algo_orders.values()]
        by_id = {str(o["orderId"]): o for o in orders}
        found = [_record(o["orderId"], o["symbol"], o["origType"], o["side"], o["status"], o["time"],
                         o["updateTime"], float(o.get("stopPrice") or 0), float(o["executedQty"] or 0),
                         "order", o["status"] == "FILLED", float(o.get("avgPrice") or 0)) for o in orders]
        for algo in algos:
            status = algo["algoStatus"]
            if status == "TRIGGERED":  # as the real order it placed ended (or NEW while it works)
                status = by_id.get(str(algo["actualOrderId"]), {}).get("status", "EXPIRED")
            found.append(_record(algo["algoId"], algo["symbol"], algo["orderType"], algo["side"], status,
                                 algo["createTime"], algo["updateTime"], float(algo.get("triggerPrice") or 0),
                                 float(algo["quantity"] or 0), "backstop" if algo["orderType"] == self.TRAILING
                                 else "stop", False))
        return sorted(found, key=lambda o: (o["time"], str(o["orderId"])))

    def live_stops(self, pair: str | None = None) -> list[dict]:
        wanted = symbol(pair) if pair else None
        return [o for o in self.records() if o["role"] == "stop" and o["status"] == "NEW"
                and o["type"] != "MARKET" and (wanted is None or o["symbol"] == wanted)
                and self._algo_live(o["orderId"])]

    def _algo_live(self, algo_id: Any) -> bool:
        algo = self.book.algo_orders.get(int(algo_id))
        return algo is not None and algo["algoStatus"] == "NEW"

    def backstops(self) -> list[dict]:
        """Live native backstops: ``{"id", "symbol", "qty"}`` (qty: what it would close)."""
        return [{"id": str(a["algoId"]), "symbol": a["symbol"], "qty": float(a["quantity"]),
                 "client_id": a["clientAlgoId"]}
                for a in self.book.open_algo_orders() if a["orderType"] == self.TRAILING]

    def positions(self) -> dict[str, float]:
        with self.book.lock:
            return {s: p.amount for s, p in self.book.account.positions.items() if p.amount}

    def wallet(self) -> dict:
        """The wallet against the fills: initial + realised profit - commission of every fill."""
        with self.book.lock:
            trades = list(self.book.trades)
            now = dict(self.book.account.wallet)
        asset = "USDT"
        realized = sum(float(t["realizedPnl"]) - float(t["commission"]) for t in trades)
        return {"asset": asset, "initial": self.initial_wallet.get(asset, 0.0), "now": now.get(asset, 0.0),
                "from_fills": self.initial_wallet.get(asset, 0.0) + realized}

    def unknown_order_fault(self, order_id: Any, symbol_: str) -> tuple[str, dict]:
        return "DELETE /fapi/v1/algoOrder", {"kind": "unknown_order_live", "times": 500,
                                             "when": {"algoId": str(order_id)}}

    def race_faults(self, symbol_: str, stop_id: Any) -> list[tuple[str, dict]]:
        """The old stop fills the instant its replacement is created (make-before-break)."""
        return [("POST /fapi/v1/algoOrder", {"kind": "fill_other_stops", "when": {"symbol": symbol_, "type": "STOP"}})]

    @staticmethod
    def answered_order_id(params: dict) -> str:
        return str(params.get("algoId"))


class BybitVenue:
    """Bybit linear: one conditional stop order per trade amended in place (same id), the native
    backstop the position's trailing stop (``/v5/position/trading-stop``); a fired trailing stop is a
    reduce-only market order with ``stopOrderType=TrailingStop``."""

    name = "bybit linear"
    key = "bybit"
    futures = True
    stop_create = ("POST /v5/order/create", {"reduceOnly": "true"})
    stop_cancel = ("POST /v5/order/amend", None)  # moves are amends on Bybit
    STATUS = {"Untriggered": "NEW", "Triggered": "NEW", "New": "NEW", "PartiallyFilled": "NEW",
              "Filled": "FILLED", "Deactivated": "CANCELED", "Cancelled": "CANCELED", "Rejected": "REJECTED"}

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.venue = sandbox.bybit
        self.initial_wallet = dict(self.venue.account.futures.wallet)

    @staticmethod
    def pair(base: str) -> str:
        return f"{base}/USDT:USDT"

    def config_options(self) -> dict:
        return {"trading_mode": "futures", "margin_mode": "isolated"}

    def exchange_name(self) -> str:
        return "bybit"

    def records(self) -> list[dict]:
        with self.venue.lock:
            orders = [dict(o) for o in self.venue.book.orders.values()]
        found = []
        for o in orders:
            status = self.STATUS.get(o["orderStatus"], o["orderStatus"])
            if o["orderStatus"] == "Cancelled" and o.get("cancelType") == "CancelByReduceOnly":
                status = "EXPIRED"
            stop = o["stopOrderType"] == "Stop"
            qty = float(o["cumExecQty"] or 0) if status == "FILLED" else float(o["qty"] or 0)
            kind = o["stopOrderType"] if o["stopOrderType"] not in ("", "UNKNOWN") else o["orderType"].upper()
            found.append(_record(o["orderId"], o["symbol"], kind,
                                 o["side"], status, int(o["createdTime"]), int(o["updatedTime"]),
                                 float(o["triggerPrice"] or 0), qty, "stop" if stop else "order",
                                 status == "FILLED", float(o["avgPrice"] or 0)))
        return sorted(found, key=lambda o: (o["time"], str(o["orderId"])))

    def live_stops(self, pair: str | None = None) -> list[dict]:
        wanted = symbol(pair) if pair else None
        live = {o["orderId"] for o in self.venue.book.open_stops(wanted)}
        return [o for o in self.records() if o["orderId"] in live]

    def backstops(self) -> list[dict]:
        with self.venue.lock:
            trailing = dict(self.venue.account.trailing)
            positions = self.venue.account.futures.positions
            return [{"id": f"position:{s}", "symbol": s, "qty": abs(positions[s].amount) if s in positions else 0.0,
                     "distance": stop.distance} for s, stop in trailing.items()]

    def positions(self) -> dict[str, float]:
        with self.venue.lock:
            return {s: p.amount for s, p in self.venue.account.futures.positions.items() if p.amount}

    def wallet(self) -> dict:
        with self.venue.lock:
            executions = list(self.venue.book.executions)
            now = dict(self.venue.account.futures.wallet)
        asset = "USDT"
        realized = sum(float(e["execPnl"]) - float(e["execFee"]) for e in executions)
        return {"asset": asset, "initial": self.initial_wallet.get(asset, 0.0), "now": now.get(asset, 0.0),
                "from_fills": self.initial_wallet.get(asset, 0.0) + realized}

    def unknown_order_fault(self, order_id: Any, symbol_: str) -> None:
        return None  # Bybit moves a stop by amend: there is no cancel of a live stop to answer -2011

    def race_faults(self, symbol_: str, stop_id: Any) -> list[tuple[str, dict]]:
        """The stop's next amend is refused (the plugin falls back to a replacement, new stop first) and
        the old stop fills the instant the new one is created."""
        return [("POST /v5/order/amend", {"kind": "error", "code": 10001, "when": {"orderId": str(stop_id)},
                                          "msg": "The order cannot be modified at this time"}),
                ("POST /v5/order/create", {"kind": "fill_other_stops",
                                           "when": {"symbol": symbol_, "triggerDirection": "2"}})]

    @staticmethod
    def answered_order_id(params: dict) -> str:
        return str(params.get("orderId"))


VENUES = {venue.key: venue for venue in (SpotVenue, BinanceFuturesVenue, BybitVenue)}
