"""Bybit v5 instruments as ``/v5/market/instruments-info`` lists them, with their risk-limit tiers.

A pair with a settle currency (``BTC/USDT:USDT``) is a linear perpetual (``LinearPerpetual``); the
others are spot symbols, listed so that ccxt's ``load_markets`` sees them (the sandbox trades linear
contracts only). Tick and lot sizes follow the reference price like the Binance markets, written the
way Bybit writes numbers (no trailing zeros).
"""

from __future__ import annotations

from decimal import Decimal

from ts_plugin.sandbox.bybit.price_limits import PriceLimit
from ts_plugin.sandbox.markets import Market

FUNDING_INTERVAL_MIN = 480  # eight hours, Bybit's usual funding interval for USDT perpetuals
MAX_LEVERAGE = 100
MIN_NOTIONAL = "5"
# (risk limit value, max leverage, maintenance margin ratio, maintenance deduction): Bybit-like tiers
RISK_TIERS = [(2_000_000, 100, 0.005, 0.0), (4_000_000, 50, 0.01, 10_000.0),
              (8_000_000, 25, 0.02, 50_000.0), (16_000_000, 12.5, 0.04, 210_000.0)]


def plain(number: str | float) -> str:
    """A number the way Bybit writes it: ``0.00100000`` -> ``0.001``, ``5.0`` -> ``5``."""
    text = format(Decimal(str(number)).normalize(), "f")
    return text


def linear_instrument(market: Market, launched_ms: int, limit: PriceLimit) -> dict:
    tick = plain(market.tick_size)
    return {
        "symbol": market.symbol, "contractType": "LinearPerpetual", "status": "Trading",
        "baseCoin": market.base, "quoteCoin": market.quote, "settleCoin": market.quote,
        "launchTime": str(launched_ms), "deliveryTime": "0", "deliveryFeeRate": "",
        "priceScale": str(max(-Decimal(tick).as_tuple().exponent, 0)),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": f"{MAX_LEVERAGE}.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": tick, "maxPrice": "1999999.8", "tickSize": tick},
        "lotSizeFilter": {"maxOrderQty": "1000000", "maxMktOrderQty": "100000",
                          "minOrderQty": plain(market.step_size), "qtyStep": plain(market.step_size),
                          "postOnlyMaxOrderQty": "1000000", "minNotionalValue": MIN_NOTIONAL},
        "unifiedMarginTrade": True, "fundingInterval": FUNDING_INTERVAL_MIN, "copyTrading": "both",
        "upperFundingRate": "0.005", "lowerFundingRate": "-0.005", "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": plain(limit.ratio_x), "priceLimitRatioY": plain(limit.ratio_y)},
        "displayName": "",
    }


def spot_instrument(market: Market) -> dict:
    return {
        "symbol": market.symbol, "baseCoin": market.base, "quoteCoin": market.quote, "innovation": "0",
        "status": "Trading", "marginTrading": "none", "stTag": "0",
        "lotSizeFilter": {"basePrecision": plain(market.step_size), "quotePrecision": "0.00000001",
                          "minOrderQty": plain(market.step_size), "maxOrderQty": "9000000",
                          "minOrderAmt": MIN_NOTIONAL, "maxOrderAmt": "9000000"},
        "priceFilter": {"tickSize": plain(market.tick_size)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
    }


def risk_limits(symbol: str) -> list[dict]:
    """``/v5/market/risk-limit`` rows of one symbol, lowest tier first."""
    rows = []
    for number, (value, leverage, ratio, deduction) in enumerate(RISK_TIERS, start=1):
        rows.append({"id": number, "symbol": symbol, "riskLimitValue": str(value),
                     "maintenanceMargin": plain(ratio), "initialMargin": plain(round(1 / leverage, 4)),
                     "isLowestRisk": 1 if number == 1 else 0, "maxLeverage": f"{leverage:.2f}",
                     "mmDeduction": plain(deduction) if deduction else ""})
    return rows


def maintenance(notional: float) -> tuple[float, float]:
    """(maintenance margin ratio, deduction) of the tier holding ``notional``."""
    for value, _, ratio, deduction in RISK_TIERS:
        if notional <= value:
            return ratio, deduction
    return RISK_TIERS[-1][2], RISK_TIERS[-1][3]


def max_leverage(notional: float) -> float:
    for value, leverage, _, _ in RISK_TIERS:
        if notional <= value:
            return leverage
    return 1.0


def coin_rows(coins: set[str]) -> list[dict]:
    """``/v5/asset/coin/query-info`` rows: names only, no deposit chains (nothing moves in or out)."""
    return [{"name": coin, "coin": coin, "remainAmount": "1000000", "chains": []} for coin in sorted(coins)]
