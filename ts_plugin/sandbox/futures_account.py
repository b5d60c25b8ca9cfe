"""The futures account: wallet per margin asset, one-way positions, leverage and margin type per symbol.

What ``/fapi/v3/account``, ``/fapi/v3/positionRisk``, ``/fapi/v1/leverage`` and ``/fapi/v1/marginType``
show and change; fills move positions here. Isolated margin is taken from the wallet when a position
opens (notional / leverage) and released pro rata when it shrinks; realised profit goes to the wallet.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from ts_plugin.sandbox.futures_markets import maintenance
from ts_plugin.sandbox.markets import Market, _decimals
from ts_plugin.sandbox.errors import ApiError
from ts_plugin.sandbox.prices import PriceBook

DEFAULT_LEVERAGE = 20


@dataclass
class Position:
    """One-way position: ``amount`` > 0 long, < 0 short; ``margin`` is the isolated wallet."""

    amount: float = 0.0
    entry_price: float = 0.0
    margin: float = 0.0
    updated_ms: int = 0


class FuturesAccount:
    def __init__(self, markets: dict[str, Market], wallet: dict[str, float], prices: PriceBook,
                 now_ms: Callable[[], int], lock: threading.RLock) -> None:
        self.markets = markets
        self.wallet = dict(wallet)
        self.prices = prices
        self.now_ms = now_ms
        self.lock = lock
        self.positions: dict[str, Position] = {}
        self.leverage: dict[str, int] = {}
        self.margin_type: dict[str, str] = {}

    # ----- account settings -------------------------------------------------------------------

    def set_leverage(self, symbol: str, leverage: int) -> dict:
        with self.lock:
            self.market(symbol)
            if not 1 <= leverage <= 125:
                raise ApiError(400, -4028, f"Leverage {leverage} is not valid")
            self.leverage[symbol] = leverage
            return {"symbol": symbol, "leverage": leverage, "maxNotionalValue": "50000"}

    def set_margin_type(self, symbol: str, margin_type: str) -> dict:
        with self.lock:
            self.market(symbol)
            if margin_type not in ("ISOLATED", "CROSSED"):
                raise ApiError(400, -1116, "Invalid marginType.")
            if self.margin_type.get(symbol, "CROSSED") == margin_type:
                raise ApiError(400, -4046, "No need to change margin type.")
            if self.position(symbol).amount:
                raise ApiError(400, -4048, "Margin type cannot be changed if there exists position.")
            self.margin_type[symbol] = margin_type
            return {"code": 200, "msg": "success"}

    # ----- account and positions --------------------------------------------------------------

    def position(self, symbol: str) -> Position:
        return self.positions.setdefault(symbol, Position())

    def _unrealized(self, symbol: str, position: Position) -> float:
        return (self.prices.price(symbol) - position.entry_price) * position.amount

    def _used_margin(self, asset: str) -> float:
        return sum(p.margin for s, p in self.positions.items() if self.markets[s].quote == asset)

    def available(self, asset: str) -> float:
        return self.wallet.get(asset, 0.0) - self._used_margin(asset)

    def account_info_v2(self) -> dict:
        """``GET /fapi/v2/account``: v3's figures plus the fields only the older version carries (fee
        tier, trade permissions, multi-assets mode, ``marginAvailable`` per asset)."""
        with self.lock:
            info = self.account_info()
            for asset in info["assets"]:
                asset["marginAvailable"] = True
            return {"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True, "tradeGroupId": -1,
                    "updateTime": 0, "multiAssetsMargin": False, **info}

    def account_info(self) -> dict:
        """``GET /fapi/v3/account``: wallet, margin and unrealised profit per asset and in total."""
        with self.lock:
            assets, totals = [], {"wallet": 0.0, "pnl": 0.0, "margin": 0.0}
            for asset, balance in sorted(self.wallet.items()):
                pnl = sum(self._unrealized(s, p) for s, p in self.positions.items()
                          if self.markets[s].quote == asset)
                used = self._used_margin(asset)
                totals["wallet"] += balance
                totals["pnl"] += pnl
                totals["margin"] += used
                assets.append({
                    "asset": asset, "walletBalance": f"{balance:.8f}", "unrealizedProfit": f"{pnl:.8f}",
                    "marginBalance": f"{balance + pnl:.8f}", "maintMargin": "0.00000000",
                    "initialMargin": f"{used:.8f}", "positionInitialMargin": f"{used:.8f}",
                    "openOrderInitialMargin": "0.00000000", "crossWalletBalance": f"{balance - used:.8f}",
                    "crossUnPnl": "0.00000000", "availableBalance": f"{balance - used:.8f}",
                    "maxWithdrawAmount": f"{balance - used:.8f}", "updateTime": self.now_ms(),
                })
            free = totals["wallet"] - totals["margin"]
            return {
                "totalInitialMargin": f"{totals['margin']:.8f}", "totalMaintMargin": "0.00000000",
                "totalWalletBalance": f"{totals['wallet']:.8f}",
                "totalUnrealizedProfit": f"{totals['pnl']:.8f}",
                "totalMarginBalance": f"{totals['wallet'] + totals['pnl']:.8f}",
                "totalPositionInitialMargin": f"{totals['margin']:.8f}",
                "totalOpenOrderInitialMargin": "0.00000000", "totalCrossWalletBalance": f"{free:.8f}",
                "totalCrossUnPnl": "0.00000000", "availableBalance": f"{free:.8f}",
                "maxWithdrawAmount": f"{free:.8f}",
                "assets": assets,
                "positions": [self._account_position(s, p) for s, p in self.positions.items() if p.amount],
            }

    def _account_position(self, symbol: str, position: Position) -> dict:
        return {"symbol": symbol, "positionSide": "BOTH", "positionAmt": self.qty(symbol, position.amount),
                "unrealizedProfit": f"{self._unrealized(symbol, position):.8f}",
                "isolatedMargin": f"{position.margin:.8f}" if self._isolated(symbol) else "0",
                "notional": f"{position.amount * self.prices.price(symbol):.8f}",
                "isolatedWallet": f"{position.margin:.8f}" if self._isolated(symbol) else "0",
                "initialMargin": f"{position.margin:.8f}", "maintMargin": "0", "updateTime": position.updated_ms}

    def _isolated(self, symbol: str) -> bool:
        return self.margin_type.get(symbol, "CROSSED") == "ISOLATED"

    def position_risk(self, symbol: str | None = None, v2: bool = False) -> list[dict]:
        """``GET /fapi/v3/positionRisk``: open positions only, as v3 does. A real v3 row carries no
        ``leverage`` and no ``marginType`` (ccxt reads the position's leverage as None); the older
        ``/fapi/v2/positionRisk`` row has both (``v2``)."""
        with self.lock:
            rows = [self._risk(s, p) for s, p in sorted(self.positions.items())
                    if p.amount and (symbol is None or s == symbol)]
            if not v2:
                for row in rows:
                    del row["leverage"], row["marginType"]
            return rows

    def _risk(self, symbol: str, position: Position) -> dict:
        mark = self.prices.price(symbol)
        notional = position.amount * mark
        ratio, _ = maintenance(abs(notional))
        isolated = self._isolated(symbol)
        return {
            "symbol": symbol, "positionSide": "BOTH", "positionAmt": self.qty(symbol, position.amount),
            "entryPrice": f"{position.entry_price:.8f}", "breakEvenPrice": f"{position.entry_price:.8f}",
            "markPrice": f"{mark:.8f}", "unRealizedProfit": f"{self._unrealized(symbol, position):.8f}",
            "liquidationPrice": f"{self.liquidation_price(symbol):.8f}",
            "isolatedMargin": f"{position.margin + (self._unrealized(symbol, position) if isolated else 0):.8f}"
            if isolated else "0",
            "notional": f"{notional:.8f}", "marginAsset": self.markets[symbol].quote,
            "isolatedWallet": f"{position.margin:.8f}" if isolated else "0",
            "initialMargin": f"{position.margin:.8f}", "maintMargin": f"{abs(notional) * ratio:.8f}",
            "positionInitialMargin": f"{position.margin:.8f}", "openOrderInitialMargin": "0",
            "adl": 1, "bidNotional": "0", "askNotional": "0", "updateTime": position.updated_ms,
            "leverage": str(self.leverage.get(symbol, DEFAULT_LEVERAGE)),
            "marginType": "isolated" if isolated else "cross",
        }

    def liquidation_price(self, symbol: str) -> float:
        """Binance's isolated-margin formula: (WB - side*Q*EP + cum) / (Q*MMR - side*Q), at least 0."""
        position = self.position(symbol)
        if not position.amount:
            return 0.0
        quantity, side = abs(position.amount), (1 if position.amount > 0 else -1)
        wallet = position.margin
        if not self._isolated(symbol):  # cross: the whole free wallet backs the position
            wallet += self.available(self.markets[symbol].quote)
        ratio, cum = maintenance(quantity * position.entry_price)
        denominator = quantity * ratio - side * quantity
        return max((wallet - side * quantity * position.entry_price + cum) / denominator, 0.0)

    def apply_fill(self, symbol: str, position: Position, signed: float, price: float) -> float:
        """Move the position by ``signed`` at ``price``; returns the realised profit."""
        asset = self.markets[symbol].quote
        leverage = self.leverage.get(symbol, DEFAULT_LEVERAGE)
        realized = 0.0
        if position.amount and position.amount * signed < 0:  # reducing (maybe flipping)
            closed = min(abs(signed), abs(position.amount))
            direction = 1 if position.amount > 0 else -1
            realized = (price - position.entry_price) * closed * direction
            position.margin -= position.margin * closed / abs(position.amount)
            position.amount += closed * -direction
            self.wallet[asset] = self.wallet.get(asset, 0.0) + realized
            signed += closed * direction
            if abs(position.amount) < 1e-12:
                position.amount, position.entry_price, position.margin = 0.0, 0.0, 0.0
        if signed:  # opening or adding
            total = position.amount + signed
            position.entry_price = (position.entry_price * abs(position.amount) + price * abs(signed)) / abs(total)
            position.amount = total
            position.margin += abs(signed) * price / leverage
        position.updated_ms = self.now_ms()
        return realized

    # ----- helpers ----------------------------------------------------------------------------

    def qty(self, symbol: str, quantity: float) -> str:
        return f"{quantity:.{_decimals(self.markets[symbol].step_size)}f}"

    def market(self, symbol: str) -> Market:
        market = self.markets.get(symbol)
        if market is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return market
