"""Bybit's order price limits on the sandbox through the real ccxt bybit client, then the plugin's clamp
on a real freqtrade Bybit Exchange against it (create and amend, no bot process).

The limits: highest bid and lowest ask within X (``priceLimitRatioX``) of the mark price; a plain limit
order's price against the current price, a conditional one's against its trigger. Bybit's default for
futures moves a price beyond them to the limit; with ``modifyEnable=false`` (``set-limit-px-action``)
it refuses the order with retCode 110003.
"""

import ccxt
import pytest

from tests.test_sandbox_bybit import PAIR, SYMBOL, _NoLedger, _Trade, client, open_long, sandbox, stop  # noqa: F401
from ts_plugin.core.config import parse_config
from ts_plugin.core.events import EventLog
from ts_plugin.exchange.governor import StopGovernor
from ts_plugin.exchange.price_band import band_for
from ts_plugin.sandbox import ccxt_overrides
from ts_plugin.sandbox.bybit.price_limits import PriceLimit

REFUSED = '"retCode": 110003, "retMsg": "Order price is out of permissible range"'
TIGHT = 0.005  # X: within 0.5 % of the mark price


def refuse_beyond_limits(client):
    client.privatePostV5AccountSetLimitPxAction({"category": "linear", "modifyEnable": False})


def test_limits_are_published_in_instruments_and_price_limit(sandbox, client):
    sandbox.bybit.set_price_limit(PAIR, TIGHT)
    client.load_markets(reload=True)
    assert client.markets[PAIR]["info"]["riskParameters"] == {"priceLimitRatioX": "0.005", "priceLimitRatioY": "0.01"}
    answer = client.publicGetV5MarketPriceLimit({"category": "linear", "symbol": SYMBOL})["result"]
    assert (answer["symbol"], answer["buyLmt"], answer["sellLmt"]) == (SYMBOL, "100.500", "99.500")
    sandbox.set_price(PAIR, 110.0)
    answer = client.publicGetV5MarketPriceLimit({"category": "linear", "symbol": SYMBOL})["result"]
    assert (answer["buyLmt"], answer["sellLmt"]) == ("110.550", "109.450")
    with pytest.raises(ValueError, match="0 < X <= Y < 1"):
        sandbox.bybit.set_price_limit(PAIR, 0.2, 0.1)
    with pytest.raises(ValueError, match="not a linear perpetual"):
        sandbox.bybit.set_price_limit("ETH/USDT:USDT", 0.01)


def test_the_limits_use_the_index_within_the_hard_bound():
    limit = PriceLimit(0.01, 0.03)
    assert limit.bounds(100.0) == pytest.approx((99.0, 101.0))
    assert limit.bounds(100.0, index=102.0) == pytest.approx((99.0, 102.0))  # the index lifts the bid's limit
    assert limit.bounds(100.0, index=110.0) == pytest.approx((99.0, 103.0))  # up to mark x (1 + Y)


def test_refusing_account_rejects_a_plain_limit_beyond_the_limits_and_accepts_one_inside(sandbox, client):
    sandbox.bybit.set_price_limit(PAIR, TIGHT)
    refuse_beyond_limits(client)
    client.set_leverage(2, PAIR)
    with pytest.raises(ccxt.InvalidOrder) as refused:
        client.create_order(PAIR, "limit", "sell", 0.1, 99.4)
    assert REFUSED in str(refused.value)
    with pytest.raises(ccxt.InvalidOrder, match="110003"):
        client.create_order(PAIR, "limit", "buy", 0.1, 100.6)
    placed = client.create_order(PAIR, "limit", "buy", 0.1, 99.0)  # resting bid inside the limits
    assert sandbox.bybit.book.orders[placed["id"]]["price"] == "99"
    with pytest.raises(ccxt.InvalidOrder, match="110003"):  # an amend meets the same limits
        client.edit_order(placed["id"], PAIR, "limit", "buy", 0.1, 100.7)
    assert sandbox.bybit.book.orders[placed["id"]]["price"] == "99"


def test_refusing_account_checks_a_conditional_limit_around_its_own_trigger(sandbox, client):
    sandbox.bybit.set_price_limit(PAIR, TIGHT)
    refuse_beyond_limits(client)
    open_long(client)
    with pytest.raises(ccxt.InvalidOrder) as refused:  # freqtrade's usual limit, 1 % under the trigger
        stop(client, 95.0, limit=94.05)
    assert REFUSED in str(refused.value)
    placed = stop(client, 95.0, limit=94.53)  # 95 x (1 - 0.005) = 94.525: inside
    with pytest.raises(ccxt.InvalidOrder, match="110003"):  # the trigger moves, the old limit would not do
        client.edit_order(placed["id"], PAIR, "limit", "sell", None, None, {"triggerPrice": 97.0})
    (live,) = sandbox.bybit.book.open_stops(SYMBOL)
    assert (live["triggerPrice"], live["price"]) == ("95", "94.53")
    client.edit_order(placed["id"], PAIR, "limit", "sell", None, 96.6, {"triggerPrice": 97.0})
    (live,) = sandbox.bybit.book.open_stops(SYMBOL)
    assert (live["orderId"], live["triggerPrice"], live["price"]) == (placed["id"], "97", "96.6")


def test_default_account_moves_a_price_beyond_the_limits_to_them(sandbox, client):
    sandbox.bybit.set_price_limit(PAIR, TIGHT)
    open_long(client)
    bid = client.create_order(PAIR, "limit", "buy", 0.1, 101.0)  # crosses the book: filled at the limit
    assert sandbox.bybit.book.orders[bid["id"]]["price"] == "100.5"
    placed = stop(client, 95.0, limit=90.0)  # accepted as asked: the limit is met when it fires
    assert sandbox.bybit.book.orders[placed["id"]]["price"] == "90"
    sandbox.set_price(PAIR, 94.9)  # fires: its limit moves up to 94.9 x (1 - 0.005)
    fired = sandbox.bybit.book.orders[placed["id"]]
    assert fired["price"] == "94.426" and fired["orderStatus"] == "Filled"


# ----- the plugin: a real freqtrade Bybit Exchange, the governor installed, an account that refuses -----

@pytest.fixture
def governed(sandbox, tmp_path):
    """(freqtrade Exchange 'bybit' in live futures mode with the governor, the trade, its stop order types)
    against limits of 0.5 % that the account refuses to cross."""
    from freqtrade.enums import CandleType, MarginMode, RunMode, TradingMode
    from freqtrade.resolvers import ExchangeResolver

    sandbox.bybit.set_price_limit(PAIR, TIGHT)
    sandbox.bybit.book.adjusts_prices = False
    config = {"dry_run": False, "runmode": RunMode.LIVE, "stake_currency": "USDT", "timeframe": "5m",
              "datadir": tmp_path, "trading_mode": TradingMode.FUTURES, "margin_mode": MarginMode.ISOLATED,
              "candle_type_def": CandleType.FUTURES,
              "exchange": {"name": "bybit", "key": "k", "secret": "s", "enable_ws": False,
                           "pair_whitelist": [PAIR], **ccxt_overrides(sandbox.url, "bybit")}}
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    order_types = {"stoploss": "limit", "stoploss_on_exchange_limit_ratio": 0.99}
    trade = _Trade(0.5)
    governor = StopGovernor(exchange, parse_config({"exchange": {"retry_attempts": 2}}).exchange,
                            _OneTrade(trade), EventLog(verbose=False), order_types=lambda: order_types,
                            sleep=lambda s: None)
    governor.install()
    exchange.create_order(pair=PAIR, ordertype="market", side="buy", amount=0.5, rate=100.0, leverage=1.0)
    return exchange, governor, trade, order_types


class _OneTrade(_NoLedger):
    """The trade the governor asks about: its alarms are that trade's."""

    def __init__(self, trade):
        self.trade = trade

    def open_trade(self, pair):
        return self.trade


def kept_ratio(margin=0.02):
    return 1 - TIGHT * (1 - margin)


def test_plugin_reads_the_linear_rule_from_the_instrument(sandbox, governed):
    exchange, *_ = governed
    band = band_for("bybit", exchange.markets[PAIR], "sell", 95.0, lambda: 100.0, 0.02)
    assert band.limit_bounds(95.0)[0] == pytest.approx(95.0 * kept_ratio())
    assert "priceLimitRatioX 0.005 of the mark price at the trigger" in band.describe(95.0)


def test_create_and_amend_are_clamped_into_the_limits_and_reported_once(sandbox, governed, caplog):
    exchange, governor, trade, order_types = governed
    caplog.set_level("WARNING", logger="ts_plugin")
    from freqtrade.persistence import Order

    first = exchange.create_stoploss(PAIR, 0.5, 95.0, order_types, "sell", 1.0)  # asked limit 94.05
    (live,) = sandbox.bybit.book.open_stops(SYMBOL)
    assert live["orderId"] == first["id"] and live["triggerPrice"] == "95"
    assert float(live["price"]) == pytest.approx(95.0 * kept_ratio(), abs=0.001)

    trade.orders.append(Order.parse_from_ccxt_object(first, PAIR, "stoploss", 0.5, 95.0))
    sandbox.set_price(PAIR, 99.0)
    governor._amend(trade, exchange.fetch_stoploss_order(first["id"], PAIR), 97.0, "sell")
    (live,) = sandbox.bybit.book.open_stops(SYMBOL)
    assert live["orderId"] == first["id"] and live["triggerPrice"] == "97"  # in place, the limit moved with it
    assert float(live["price"]) == pytest.approx(97.0 * kept_ratio(), abs=0.001)
    assert governor.counters["stops_clamped"] == 2 and governor.counters["alarm_clamped"] == 1
    assert governor.counters["amend_refused"] == 0 and sandbox.count("POST", "/v5/order/cancel") == 0
    (report,) = [r.getMessage() for r in caplog.records if "event=WARNING" in r.getMessage()]
    assert "stop clamped into the exchange's price band" in report and "bot_stop=95 " in report
    assert "band=limit x0.9951..x1.0049 of the stop (priceLimitRatioX 0.005" in report


def test_an_amend_refused_as_outside_the_limits_is_retried_wider_in_place(sandbox, governed):
    exchange, governor, trade, order_types = governed
    first = exchange.create_stoploss(PAIR, 0.5, 95.0, order_types, "sell", 1.0)
    sandbox.faults.add("POST /v5/order/amend", {"kind": "error", "code": 110003,
                                                "msg": "Order price is out of permissible range"})
    governor._amend(trade, exchange.fetch_stoploss_order(first["id"], PAIR), 97.0, "sell")
    (live,) = sandbox.bybit.book.open_stops(SYMBOL)
    assert live["orderId"] == first["id"] and live["triggerPrice"] == "97"
    assert float(live["price"]) == pytest.approx(97.0 * kept_ratio(margin=0.05), abs=0.001)
    assert governor.counters["band_refusals"] == 1 and governor.counters["amend_refused"] == 0
    assert sandbox.count("POST", "/v5/order/amend") == 2 and sandbox.count("POST", "/v5/order/create") == 2


def test_without_the_clamp_the_refusing_account_rejects_freqtrades_stop(sandbox, governed):
    """The failure the plugin prevents: freqtrade's own create (limit 1 % under the trigger) is refused."""
    exchange, governor, _, order_types = governed
    from freqtrade.exceptions import InvalidOrderException

    with pytest.raises(InvalidOrderException, match="110003"):
        governor._original["create_stoploss"](pair=PAIR, amount=0.5, stop_price=95.0, order_types=order_types,
                                              side="sell", leverage=1.0)
    assert sandbox.bybit.book.open_stops(SYMBOL) == []
