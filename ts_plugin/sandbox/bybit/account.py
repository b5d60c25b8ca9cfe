"""A Bybit unified trading account (UTA) over the sandbox's futures arithmetic: wallet balance,
one-way positions, leverage and the account-wide margin mode.

Why UTA: Bybit has moved every account to it, and it is what ccxt and freqtrade take the fast paths
for (``/v5/order/realtime`` answers a query by order id; margin mode is set per account with
``/v5/account/set-margin-mode``). Positions, isolated margin and realised profit are the shared
``FuturesAccount``'s; this module renders them the way Bybit does.
"""

from __future__ import annotations

from typing import Any, Callable

from ts_plugin.sandbox.errors import ApiError
from ts_plugin.sandbox.futures_account import FuturesAccount, Position
from ts_plugin.sandbox.bybit.instruments import MAX_LEVERAGE, maintenance, plain
from ts_plugin.sandbox.bybit.trailing import PositionTrailingStop, parse

DEFAULT_LEVERAGE = 10
MARGIN_MODES = {"ISOLATED_MARGIN": "ISOLATED", "REGULAR_MARGIN": "CROSSED", "PORTFOLIO_MARGIN": "CROSSED"}


def _money(value: float) -> str:
    return plain(round(value, 8))


class BybitAccount:
    def __init__(self, futures: FuturesAccount, now_ms: Callable[[], int]) -> None:
        self.futures = futures
        self.now_ms = now_ms
        self.margin_mode = "REGULAR_MARGIN"
        self.trailing: dict[str, PositionTrailingStop] = {}  # per symbol, while its position holds one
        for symbol in futures.markets:
            futures.leverage.setdefault(symbol, DEFAULT_LEVERAGE)

    # ----- settings ---------------------------------------------------------------------------

    def set_leverage(self, params: dict) -> dict:
        with self.futures.lock:
            symbol = params.get("symbol", "")
            if symbol not in self.futures.markets:
                raise ApiError(200, 10001, "Not supported symbols")
            buy, sell = params.get("buyLeverage"), params.get("sellLeverage")
            try:
                leverage = float(buy)
            except (TypeError, ValueError):
                raise ApiError(200, 10001, "params error: buyLeverage invalid") from None
            if buy != sell:
                raise ApiError(200, 10001, "buy leverage must equal sell leverage in one-way mode")
            if not 1 <= leverage <= MAX_LEVERAGE:
                raise ApiError(200, 10001, f"leverage invalid: 1 <= leverage <= {MAX_LEVERAGE}")
            if self.futures.leverage.get(symbol) == leverage:
                raise ApiError(200, 110043, "Set leverage not modified")
            self.futures.leverage[symbol] = leverage
            return {}

    def set_margin_mode(self, params: dict) -> dict:
        """Account-wide on a UTA; refused while any position is open, as Bybit does."""
        with self.futures.lock:
            mode = params.get("setMarginMode")
            if mode not in MARGIN_MODES:
                raise ApiError(200, 10001, "params error: setMarginMode must be ISOLATED_MARGIN, "
                                           "REGULAR_MARGIN or PORTFOLIO_MARGIN")
            if mode != self.margin_mode and any(p.amount for p in self.futures.positions.values()):
                raise ApiError(200, 3400045, "Set margin mode failed: positions are open")
            self.margin_mode = mode
            for symbol in self.futures.markets:
                self.futures.margin_type[symbol] = MARGIN_MODES[mode]
            return {"reasons": []}

    # ----- the position's trailing stop (``trailing.py``) --------------------------------------

    def set_trading_stop(self, params: dict) -> dict:
        with self.futures.lock:
            symbol = params.get("symbol", "")
            if symbol not in self.futures.markets:
                raise ApiError(200, 10001, "Not supported symbols")
            stop = parse(params, self.futures.position(symbol).amount, self.futures.prices.price(symbol),
                         float(self.futures.markets[symbol].tick_size))
            if stop is None:
                self.trailing.pop(symbol, None)
            else:
                self.trailing[symbol] = stop
            return {}

    def on_price(self, symbol: str, book: Any) -> None:
        """Follow the last price; a trailing stop that fires closes the position at market through
        ``book`` (a reduce-only order with ``stopOrderType=TrailingStop``). A flat position has none."""
        with self.futures.lock:
            stop = self.trailing.get(symbol)
            position = self.futures.positions.get(symbol)
            if stop is None:
                return
            if position is None or not position.amount:
                del self.trailing[symbol]
                return
            price = self.futures.prices.price(symbol)
            if not stop.on_price(price):
                return
            del self.trailing[symbol]
            order = book._new(book.market(symbol), {"orderLinkId": ""}, "Market",
                              "Sell" if position.amount > 0 else "Buy", abs(position.amount), 0.0, True, 0.0, 0)
            order.update(stopOrderType="TrailingStop", createType="CreateByTrailingStop", closeOnTrigger=True,
                         triggerPrice=plain(round(stop.level, 10)), triggerBy="LastPrice")
            book.orders[order["orderId"]] = order
            book._match(order)

    # ----- views ------------------------------------------------------------------------------

    def wallet_balance(self, params: dict) -> dict:
        if params.get("accountType", "UNIFIED") != "UNIFIED":
            raise ApiError(200, 10001, "accountType only support UNIFIED")
        with self.futures.lock:
            coins, totals = [], {"wallet": 0.0, "pnl": 0.0, "im": 0.0}
            for coin, balance in sorted(self.futures.wallet.items()):
                pnl = sum(self._unrealized(s, p) for s, p in self.futures.positions.items()
                          if self.futures.markets[s].quote == coin)
                used = self.futures.available(coin)
                held = balance - used
                totals["wallet"] += balance
                totals["pnl"] += pnl
                totals["im"] += held
                coins.append({
                    "coin": coin, "equity": _money(balance + pnl), "usdValue": _money(balance + pnl),
                    # availableToWithdraw is "" on a unified account (deprecated by Bybit): ccxt then takes
                    # the used part from locked + totalPositionIM + totalOrderIM, as it does live.
                    "walletBalance": _money(balance), "locked": "0", "spotHedgingQty": "0",
                    "borrowAmount": "0", "availableToWithdraw": "", "availableToBorrow": "",
                    "accruedInterest": "0", "totalOrderIM": "0", "totalPositionIM": _money(held),
                    "totalPositionMM": "0", "unrealisedPnl": _money(pnl), "cumRealisedPnl": "0",
                    "bonus": "0", "marginCollateral": True, "collateralSwitch": True,
                })
            equity = totals["wallet"] + totals["pnl"]
            return {"list": [{
                "accountType": "UNIFIED", "accountIMRate": "0", "accountMMRate": "0", "accountLTV": "0",
                "totalEquity": _money(equity), "totalWalletBalance": _money(totals["wallet"]),
                "totalMarginBalance": _money(equity), "totalAvailableBalance": _money(equity - totals["im"]),
                "totalPerpUPL": _money(totals["pnl"]), "totalInitialMargin": _money(totals["im"]),
                "totalMaintenanceMargin": "0", "coin": coins,
            }]}

    def positions(self, params: dict) -> dict:
        """``/v5/position/list``: one row per symbol asked for (flat ones too), or the open ones."""
        with self.futures.lock:
            symbol, settle = params.get("symbol"), params.get("settleCoin")
            if params.get("category") != "linear":
                raise ApiError(200, 10001, "the sandbox trades linear contracts only (category=linear)")
            if not symbol and not settle:
                raise ApiError(200, 10001, "params error: symbol or settleCoin is required")
            if symbol and symbol not in self.futures.markets:
                raise ApiError(200, 10001, "Not supported symbols")
            rows = []
            for name in sorted(self.futures.markets):
                position = self.futures.positions.get(name) or Position()
                if symbol and name != symbol:
                    continue
                if settle and (self.futures.markets[name].quote != settle or not position.amount):
                    continue
                rows.append(self._row(name, position))
            return {"list": rows, "nextPageCursor": "", "category": "linear"}

    def _row(self, symbol: str, position: Position) -> dict:
        mark = self.futures.prices.price(symbol)
        size = abs(position.amount)
        value = size * position.entry_price
        ratio, _ = maintenance(value)
        leverage = self.futures.leverage.get(symbol, DEFAULT_LEVERAGE)
        side = "" if not position.amount else ("Buy" if position.amount > 0 else "Sell")
        return {
            "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": symbol, "side": side,
            "size": self.futures.qty(symbol, size), "avgPrice": _money(position.entry_price),
            "positionValue": _money(value), "tradeMode": 0, "autoAddMargin": 0, "positionStatus": "Normal",
            "leverage": plain(leverage), "markPrice": _money(mark),
            "liqPrice": _money(self.liquidation_price(symbol)) if size else "",
            "bustPrice": "", "positionIM": _money(position.margin), "positionMM": _money(value * ratio),
            "positionBalance": _money(position.margin), "tpslMode": "Full", "takeProfit": "0",
            "stopLoss": "0", "sessionAvgPrice": "", **self._trailing_fields(symbol, position),
            "unrealisedPnl": _money(self._unrealized(symbol, position)), "curRealisedPnl": "0",
            "cumRealisedPnl": "0", "adlRankIndicator": 1 if size else 0, "isReduceOnly": False,
            "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "",
            "createdTime": str(position.updated_ms or self.now_ms()),
            "updatedTime": str(position.updated_ms or self.now_ms()), "seq": position.updated_ms,
        }

    def _trailing_fields(self, symbol: str, position: Position) -> dict:
        stop = self.trailing.get(symbol) if position.amount else None
        if stop is None:
            return {"trailingStop": "0", "activePrice": "0"}
        return {"trailingStop": plain(stop.distance), "activePrice": plain(stop.active_price or 0)}

    def liquidation_price(self, symbol: str) -> float:
        """Bybit's isolated formula: entry -/+ (initial margin - maintenance margin) / size."""
        position = self.futures.position(symbol)
        if not position.amount:
            return 0.0
        size = abs(position.amount)
        ratio, _ = maintenance(size * position.entry_price)
        per_contract = (position.margin - size * position.entry_price * ratio) / size
        price = position.entry_price - per_contract if position.amount > 0 else position.entry_price + per_contract
        return max(price, 0.0)

    def _unrealized(self, symbol: str, position: Position) -> float:
        return (self.futures.prices.price(symbol) - position.entry_price) * position.amount
