"""Price bands (Binance PERCENT_PRICE_BY_SIDE / PERCENT_PRICE, Bybit price limits) and clamping a stop
into them: the pure rules on ccxt market dicts, and the governor's create path on a stand-in exchange."""

import math

import pytest
from freqtrade.exceptions import InvalidOrderException
from hypothesis import example, given
from hypothesis import strategies as st

from tests.test_governor import SETTINGS, Clock, Ledger, StandInExchange
from ts_plugin.core.events import EventLog
from ts_plugin.exchange.governor import StopGovernor
from ts_plugin.exchange.price_band import Band, band_for, clamp, is_band_refusal

MARGIN = 0.02


def binance_spot(down="0.2", up="5", min_price="0.01"):
    return {"spot": True, "contract": False, "info": {"filters": [
        {"filterType": "PRICE_FILTER", "minPrice": min_price, "maxPrice": "1000000", "tickSize": "0.01"},
        {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": up, "bidMultiplierDown": down,
         "askMultiplierUp": up, "askMultiplierDown": down, "avgPriceMins": 5},
    ]}}


def binance_futures(down="0.9500", up="1.0500"):
    return {"swap": True, "contract": True, "linear": True, "info": {"filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "556.80", "maxPrice": "4529764", "tickSize": "0.10"},
        {"filterType": "PERCENT_PRICE", "multiplierUp": up, "multiplierDown": down, "multiplierDecimal": "4"},
    ]}}


def bybit_spot(ratio="0.05"):
    return {"spot": True, "contract": False, "info": {
        "priceFilter": {"tickSize": "0.01"}, "riskParameters": {"priceLimitRatioX": ratio, "priceLimitRatioY": "0.02"}}}


def bybit_linear():
    return {"swap": True, "contract": True, "linear": True,
            "info": {"priceFilter": {"minPrice": "0.50", "maxPrice": "999999.00", "tickSize": "0.50"}}}


def at(price):
    return lambda: price


# ----- reading the bands ----------------------------------------------------------------------------


def test_binance_spot_sell_band_is_the_ask_multipliers_of_the_average_pulled_in_by_the_margin():
    market = binance_spot()
    market["info"]["filters"][1].update(askMultiplierDown="0.8", bidMultiplierDown="0.5")
    sell = band_for("binance", market, "sell", 90.0, at(100.0), MARGIN)
    buy = band_for("binance", market, "buy", 110.0, at(100.0), MARGIN)
    assert sell.low == pytest.approx(100 * 0.8 * 1.02) and sell.high == pytest.approx(100 * 5 * 0.98)
    assert buy.low == pytest.approx(100 * 0.5 * 1.02)
    assert sell.trigger_low == 0.01 and "PERCENT_PRICE_BY_SIDE x0.8..x5" in sell.describe(90.0)


def test_binance_futures_band_is_relative_to_the_stop_and_needs_no_price():
    def no_price():
        raise AssertionError("the futures rule must not ask for a price")

    band = band_for("binance", binance_futures(), "sell", 60_000.0, no_price, MARGIN)
    assert band.limit_bounds(60_000.0) == pytest.approx((57_000.0, 63_000.0))
    assert band.trigger_low == 556.8 and "of the stop price" in band.rule


def test_bybit_spot_ratio_bounds_a_sell_from_below_and_a_buy_from_above():
    sell = band_for("bybit", bybit_spot(), "sell", 90.0, at(100.0), 0.0)
    buy = band_for("bybit", bybit_spot(), "buy", 110.0, at(100.0), 0.0)
    assert sell.low == pytest.approx(95.0) and sell.high == math.inf
    assert buy.high == pytest.approx(105.0) and buy.low == 0.0


def test_bybit_derivatives_have_the_static_price_filter_only():
    band = band_for("bybit", bybit_linear(), "sell", 60_000.0, at(60_500.0), MARGIN)
    assert (band.trigger_low, band.trigger_high) == (0.5, 999_999.0) and band.rule == "priceFilter"


def test_unknown_exchange_or_market_has_no_band():
    assert band_for("kraken", binance_spot(), "sell", 90.0, at(100.0), MARGIN) is None
    assert band_for("binance", None, "sell", 90.0, at(100.0), MARGIN) is None
    assert band_for("binance", {"info": {"filters": []}}, "sell", 90.0, at(100.0), MARGIN) is None


# ----- clamping -------------------------------------------------------------------------------------


def test_a_long_stop_far_below_the_band_is_raised_keeping_its_gap_to_the_limit():
    """freqtrade issue #12598: a -99 % stop is refused; clamped, it is the closest stop Binance takes."""
    band = band_for("binance", binance_spot(), "sell", 1.0, at(100.0), MARGIN)
    result = clamp("sell", 1.0, 0.99, band, 100.0)
    assert result.clamped and result.limit == pytest.approx(20.4)
    assert result.stop == pytest.approx(20.4 / 0.99) and result.stop < 100.0


def test_only_the_limit_moves_when_the_stop_is_inside():
    band = band_for("binance", binance_futures(), "sell", 60_000.0, at(61_000.0), MARGIN)
    result = clamp("sell", 60_000.0, 60_000.0 * 0.90, band, None)  # limit ratio 0.90 < 0.95
    assert result.stop == 60_000.0 and result.limit == pytest.approx(57_000.0)
    short = band_for("binance", binance_futures(), "buy", 60_000.0, at(59_000.0), MARGIN)
    result = clamp("buy", 60_000.0, 60_000.0 * 1.10, short, None)
    assert result.stop == 60_000.0 and result.limit == pytest.approx(63_000.0)


def test_an_order_inside_the_band_is_left_as_asked():
    band = band_for("binance", binance_spot(), "sell", 95.0, at(100.0), MARGIN)
    assert clamp("sell", 95.0, 94.05, band, 100.0) == clamp("sell", 95.0, 94.05, band, 100.0)
    assert not clamp("sell", 95.0, 94.05, band, 100.0).clamped


def test_a_band_that_would_put_the_stop_through_the_price_is_not_met():
    band = Band(low=99.0)  # the reference lagged far above the price
    assert clamp("sell", 90.0, 89.0, band, 98.0) is None
    assert clamp("buy", 110.0, 111.0, Band(high=101.0), 102.0) is None


def test_a_band_that_needs_a_looser_order_is_not_met():
    assert clamp("sell", 90.0, 89.0, Band(high=80.0), 100.0) is None  # only raising is allowed
    assert clamp("buy", 110.0, 111.0, Band(low=120.0), 100.0) is None


def test_the_gap_shrinks_to_zero_rather_than_crossing_the_price():
    result = clamp("sell", 50.0, 49.0, Band(low=97.5), 98.0)  # 97.5 / 0.98 would be through 98
    assert result.stop == pytest.approx(97.5) and result.limit == pytest.approx(97.5)


def test_a_stop_market_order_is_clamped_by_the_static_limits_only():
    result = clamp("sell", 100.0, None, Band(trigger_low=500.0, low=900.0), 60_000.0)
    assert result.stop == 500.0 and result.limit is None


def test_band_refusals_are_recognised_by_their_codes_and_filter_names():
    assert is_band_refusal(InvalidOrderException('binance {"code":-1013,"msg":"Filter failure: PERCENT_PRICE_BY_SIDE"}'))
    assert is_band_refusal(InvalidOrderException('binanceusdm {"code":-4184,"msg":"Limit price can\'t be lower than 1."}'))
    assert is_band_refusal(InvalidOrderException("bybit 170194 Sell order price cannot be lower than 1"))
    assert not is_band_refusal(InvalidOrderException("Order would trigger immediately."))


prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False)
ratios = st.floats(min_value=0.5, max_value=1.0)


@given(price=prices, reference=st.floats(min_value=0.5, max_value=2.0), stop_ratio=st.floats(0.001, 0.999),
       limit_ratio=ratios, down=st.floats(0.05, 0.99), up=st.floats(1.01, 10.0),
       side=st.sampled_from(["sell", "buy"]), futures=st.booleans(), margin=st.floats(0.0, 0.2))
# found by hypothesis: the stop following the limit landed 1 ulp below it (limit x stop / limit)
@example(price=5.6875, reference=1.0, stop_ratio=0.001, limit_ratio=1.0, down=0.12890625, up=2.0, side='sell',
         futures=False, margin=0.0)
def test_a_clamped_order_is_inside_the_band_no_looser_and_on_the_protective_side(
        price, reference, stop_ratio, limit_ratio, down, up, side, futures, margin):
    selling = side == "sell"
    stop = price * stop_ratio if selling else price / stop_ratio
    limit = stop * limit_ratio if selling else stop * (2 - limit_ratio)
    market = (binance_futures if futures else binance_spot)(f"{down}", f"{up}", **({} if futures else {"min_price": "0.00000001"}))
    band = band_for("binance", market, side, stop, at(price * reference), margin)
    result = clamp(side, stop, limit, band, price)
    if result is None:
        return
    assert band.accepts(result.stop, result.limit)
    assert (result.stop < price) if selling else (result.stop > price)
    if selling:
        assert result.stop >= stop and result.limit >= limit and result.limit <= result.stop
    else:
        assert result.stop <= stop and result.limit <= limit and result.limit >= result.stop
    if band.accepts(stop, limit):
        assert not result.clamped and (result.stop, result.limit) == (stop, limit)


@given(price=prices, stop_ratio=st.floats(0.001, 0.999), ratio=st.floats(0.001, 0.5),
       side=st.sampled_from(["sell", "buy"]))
def test_bybit_clamp_keeps_the_same_guarantees(price, stop_ratio, ratio, side):
    selling = side == "sell"
    stop = price * stop_ratio if selling else price / stop_ratio
    limit = stop * 0.99 if selling else stop * 1.01
    band = band_for("bybit", bybit_spot(f"{ratio}"), side, stop, at(price), 0.0)
    result = clamp(side, stop, limit, band, price)
    if result is not None:
        assert band.accepts(result.stop, result.limit)
        assert (result.stop < price) if selling else (result.stop > price)


# ----- the governor's create path -------------------------------------------------------------------


class BandedExchange(StandInExchange):
    """A stand-in that knows one Binance spot market and refuses a limit outside its band."""

    def __init__(self, down="0.9"):
        super().__init__()
        self.markets = {"BTC/USDT": binance_spot(down=down)}
        self.rate, self.placed, self.refuse_once = 100.0, [], None

    def get_rate(self, pair, refresh, side, is_short):
        return self.rate

    def create_stoploss(self, pair, amount, stop_price, order_types, side, leverage):
        limit = stop_price * order_types.get("stoploss_on_exchange_limit_ratio", 0.99)
        if self.refuse_once:
            error, self.refuse_once = self.refuse_once, None
            raise error
        self.placed.append((stop_price, limit))
        return {"id": f"new-{len(self.placed)}", "status": "open", "stopPrice": stop_price}


@pytest.fixture
def banded():
    exchange, ledger, clock = BandedExchange(), Ledger(), Clock()
    events = EventLog(verbose=True)
    governor = StopGovernor(exchange, SETTINGS, ledger, events, wall_clock=clock, monotonic=clock,
                            sleep=lambda s: None)
    governor.install()
    governor.reconciled = True
    return exchange, governor, events


LIMIT_TYPES = {"stoploss": "limit", "stoploss_on_exchange_limit_ratio": 0.99}


def test_create_clamps_an_out_of_band_stop_reports_it_once_and_counts_every_clamp(banded):
    exchange, governor, events = banded
    exchange.create_stoploss("BTC/USDT", 1.0, 85.0, LIMIT_TYPES, "sell", 1.0)
    ((stop, limit),) = exchange.placed
    assert limit == pytest.approx(100 * 0.9 * 1.02) and stop == pytest.approx(limit / 0.99)
    assert governor.ledger.state.exchange_stop == pytest.approx(stop)
    assert governor.counters["stops_clamped"] == 1 and events.counts["WARNING"] == 1

    exchange.create_stoploss("BTC/USDT", 1.0, 85.0, LIMIT_TYPES, "sell", 1.0)
    assert governor.counters["stops_clamped"] == 2 and events.counts["WARNING"] == 1  # once per trade


def test_create_inside_the_band_is_untouched(banded):
    exchange, governor, _ = banded
    exchange.create_stoploss("BTC/USDT", 1.0, 95.0, LIMIT_TYPES, "sell", 1.0)
    assert exchange.placed == [(95.0, pytest.approx(94.05))] and governor.counters["stops_clamped"] == 0


def test_a_band_refusal_is_retried_once_with_a_wider_margin(banded):
    exchange, governor, _ = banded
    exchange.refuse_once = InvalidOrderException('binance {"code":-1013,"msg":"Filter failure: PERCENT_PRICE_BY_SIDE"}')
    exchange.create_stoploss("BTC/USDT", 1.0, 85.0, LIMIT_TYPES, "sell", 1.0)
    ((_, limit),) = exchange.placed
    assert limit == pytest.approx(100 * 0.9 * (1 + 2 * MARGIN + 0.01))
    assert governor.counters["band_refusals"] == 1


def test_other_refusals_are_not_retried(banded):
    exchange, governor, _ = banded
    exchange.refuse_once = InvalidOrderException("Order would trigger immediately.")
    with pytest.raises(InvalidOrderException):
        exchange.create_stoploss("BTC/USDT", 1.0, 95.0, LIMIT_TYPES, "sell", 1.0)
    assert exchange.placed == [] and governor.counters["band_refusals"] == 0


def test_an_unknown_price_places_the_stop_as_asked(banded):
    exchange, governor, _ = banded
    exchange.get_rate = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no ticker"))
    exchange.create_stoploss("BTC/USDT", 1.0, 85.0, LIMIT_TYPES, "sell", 1.0)
    assert exchange.placed == [(85.0, pytest.approx(84.15))] and governor.counters["band_unknown"] == 1
