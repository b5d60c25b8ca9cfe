"""Symbols and their Binance-style filters, as served by /api/v3/exchangeInfo."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Binance's usual price bands: spot PERCENT_PRICE_BY_SIDE (x of the average price), USD-M
# PERCENT_PRICE (x of the mark price for plain orders, of the stop price for conditional ones).
SPOT_BAND = (0.2, 5.0)
FUTURES_BAND = (0.95, 1.05)
AVG_PRICE_MINS = 5


@dataclass(frozen=True)
class Market:
    """One spot symbol; precision follows the reference price so that filters look like Binance's."""

    base: str
    quote: str
    reference_price: float
    band: tuple[float, float] | None = None  # (down, up) multipliers; None: Binance's usual ones

    @property
    def spot_band(self) -> tuple[float, float]:
        return self.band or SPOT_BAND

    @property
    def futures_band(self) -> tuple[float, float]:
        return self.band or FUTURES_BAND

    @property
    def symbol(self) -> str:
        return f"{self.base}{self.quote}"

    @property
    def pair(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def tick_size(self) -> str:
        return _step_for(self.reference_price / 100_000)

    @property
    def step_size(self) -> str:
        return _step_for(10 / self.reference_price / 10_000) if self.reference_price else "0.00000100"

    @property
    def min_notional(self) -> str:
        return "0.0001" if self.quote == "BTC" else "5.00000000"


def _step_for(value: float) -> str:
    """The power of ten at or below ``value`` (at least 1e-8, at most 1), in Binance's 8-decimal form."""
    step = Decimal("1")
    while step > Decimal("0.00000001") and step > Decimal(str(value)):
        step /= 10
    return f"{step:.8f}"


def parse_pair(pair: str, reference_price: float) -> Market:
    base, quote = pair.split("/")
    return Market(base=base, quote=quote.split(":")[0], reference_price=reference_price)


def _decimals(step: str) -> int:
    return len(step.rstrip("0").split(".")[1]) if "." in step.rstrip("0") else 0


def with_band(market: Market, down: float, up: float) -> Market:
    """The market with a price band of its own (down < 1 < up), e.g. a tight one for a test."""
    if not 0 < down < 1 < up:
        raise ValueError(f"price band x{down}..x{up}: expected 0 < down < 1 < up")
    return Market(market.base, market.quote, market.reference_price, (down, up))


def symbol_info(market: Market) -> dict:
    down, up = market.spot_band
    return {
        "symbol": market.symbol,
        "status": "TRADING",
        "baseAsset": market.base,
        "baseAssetPrecision": 8,
        "quoteAsset": market.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                       "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": market.tick_size, "maxPrice": "1000000.00000000",
             "tickSize": market.tick_size},
            {"filterType": "LOT_SIZE", "minQty": market.step_size, "maxQty": "9000000.00000000",
             "stepSize": market.step_size},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100000.00000000",
             "stepSize": "0.00000000"},
            {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000,
             "minTrailingBelowDelta": 10, "maxTrailingBelowDelta": 2000},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": f"{up:g}", "bidMultiplierDown": f"{down:g}",
             "askMultiplierUp": f"{up:g}", "askMultiplierDown": f"{down:g}", "avgPriceMins": AVG_PRICE_MINS},
            {"filterType": "NOTIONAL", "minNotional": market.min_notional, "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(markets: list[Market], server_time_ms: int) -> dict:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(m) for m in markets],
    }


def empty_futures_info(server_time_ms: int) -> dict:
    return {"timezone": "UTC", "serverTime": server_time_ms, "rateLimits": [], "exchangeFilters": [],
            "assets": [], "symbols": []}
