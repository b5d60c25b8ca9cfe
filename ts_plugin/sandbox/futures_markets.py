"""USD-M perpetual symbols as served by /fapi/v1/exchangeInfo, and their leverage brackets.

A pair written with a settle currency (``BTC/USDT:USDT``) is a linear perpetual; ccxt tells it from a
spot symbol by ``contractType`` and ``marginAsset``. Filters follow the reference price like the spot
ones, with Binance's futures names (``MIN_NOTIONAL`` carries ``notional``).
"""

from __future__ import annotations

from ts_plugin.sandbox.markets import Market, _decimals

PERPETUAL_DELIVERY_MS = 4133404800000  # what Binance sends as the delivery date of a perpetual
ORDER_TYPES = ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
               "TRAILING_STOP_MARKET"]
# (notional cap, max leverage, maintenance margin ratio, maintenance amount), Binance-like tiers
BRACKETS = [(50_000, 125, 0.004, 0.0), (600_000, 100, 0.005, 50.0), (3_000_000, 75, 0.0065, 950.0),
            (12_000_000, 50, 0.01, 11_450.0)]


def is_futures_pair(pair: str) -> bool:
    return ":" in pair


def futures_symbol_info(market: Market) -> dict:
    down, up = market.futures_band
    return {
        "symbol": market.symbol, "pair": market.symbol, "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS, "onboardDate": 1569398400000, "status": "TRADING",
        "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
        "baseAsset": market.base, "quoteAsset": market.quote, "marginAsset": market.quote,
        "pricePrecision": _decimals(market.tick_size), "quantityPrecision": _decimals(market.step_size),
        "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN", "underlyingSubType": [],
        "triggerProtect": "0.0500", "liquidationFee": "0.012500", "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": market.tick_size, "maxPrice": "4529764",
             "tickSize": market.tick_size},
            {"filterType": "LOT_SIZE", "minQty": market.step_size, "maxQty": "1000000",
             "stepSize": market.step_size},
            {"filterType": "MARKET_LOT_SIZE", "minQty": market.step_size, "maxQty": "1000000",
             "stepSize": market.step_size},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": "5"},
            {"filterType": "PERCENT_PRICE", "multiplierUp": f"{up:.4f}", "multiplierDown": f"{down:.4f}",
             "multiplierDecimal": "4"},
        ],
        "orderTypes": list(ORDER_TYPES),
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def futures_exchange_info(markets: list[Market], server_time_ms: int) -> dict:
    assets = sorted({m.quote for m in markets})
    return {
        "timezone": "UTC", "serverTime": server_time_ms, "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": a, "marginAvailable": True, "autoAssetExchange": "-10000"} for a in assets],
        "symbols": [futures_symbol_info(m) for m in markets],
    }


def leverage_brackets(symbol: str) -> dict:
    floor, rows = 0, []
    for number, (cap, leverage, ratio, amount) in enumerate(BRACKETS, start=1):
        rows.append({"bracket": number, "initialLeverage": leverage, "notionalCap": cap,
                     "notionalFloor": floor, "maintMarginRatio": ratio, "cum": amount})
        floor = cap
    return {"symbol": symbol, "brackets": rows}


def max_leverage(notional: float) -> int:
    """The highest leverage Binance would allow for a position of this size."""
    for cap, leverage, _, _ in BRACKETS:
        if notional <= cap:
            return leverage
    return 1


def maintenance(notional: float) -> tuple[float, float]:
    """(maintenance margin ratio, maintenance amount) of the bracket holding ``notional``."""
    for cap, _, ratio, amount in BRACKETS:
        if notional <= cap:
            return ratio, amount
    return BRACKETS[-1][2], BRACKETS[-1][3]
