"""The sandbox's Bybit v5 API through the real ccxt bybit client (HTTPS-proxy mode: ccxt keeps Bybit's
real host names and error mapping): markets, market data, a unified account, positions, and
conditional stop orders amended in place. Then the plugin's amend path (the governor on a real
freqtrade Bybit Exchange object, no bot process): in place, a lost answer, a refusal, a gone order."""

import ccxt
import pytest

from tests.sandbox_clients import sandbox_client
from ts_plugin.core.config import parse_config
from ts_plugin.core.events import EventLog
from ts_plugin.exchange.capabilities import ReplacementPath
from ts_plugin.exchange.governor import StopGovernor
from ts_plugin.sandbox import SandboxExchange, ccxt_overrides, config_fragment

PAIR = "BTC/USDT:USDT"
SYMBOL = "BTCUSDT"


@pytest.fixture
def sandbox():
    exchange = SandboxExchange({PAIR: 100.0, "BTC/USDT": 100.0}).start()
    yield exchange
    exchange.stop()


@pytest.fixture
def client(sandbox, monkeypatch):
    with sandbox_client(sandbox, monkeypatch, "bybit", {"defaultSettle": "USDT"}) as api:
        yield api


def open_long(client, amount=0.5):
    client.set_margin_mode("isolated", PAIR, {"leverage": 2})
    client.set_leverage(2, PAIR)
    return client.create_order(PAIR, "market", "buy", amount)


def stop(client, trigger, amount=0.5, limit=None):
    """What freqtrade's Bybit class sends: ``stopLossPrice`` (falling trigger), reduce-only."""
    kind = "limit" if limit else "market"
    return client.create_order(PAIR, kind, "sell", amount, limit, {"stopLossPrice": trigger, "reduceOnly": True})


def order(client, order_id):
    return client.fetch_order(order_id, PAIR, {"acknowledged": True})


def live_stops(client):
    return client.fetch_open_orders(PAIR, params={"trigger": True})


def test_markets_and_public_data(sandbox, client):
    market = client.markets[PAIR]
    assert market["swap"] and market["linear"] and market["settle"] == "USDT" and market["contractSize"] == 1
    assert market["precision"]["price"] == 0.001 and market["limits"]["leverage"]["max"] == 100
    assert client.markets["BTC/USDT"]["spot"]  # listed for ccxt; the sandbox trades linear only
    assert abs(client.fetch_time() - sandbox.bybit.now_ms()) < 60_000
    sandbox.set_price(PAIR, 101.0)
    ticker = client.fetch_ticker(PAIR)
    assert ticker["last"] == 101.0 and ticker["bid"] < 101.0 < ticker["ask"] and ticker["markPrice"] == 101.0
    candles = client.fetch_ohlcv(PAIR, "1m", limit=5)
    assert len(candles) == 5 and candles[0][0] < candles[-1][0] and candles[-1][4] == 101.0
    assert client.fetch_ohlcv(PAIR, "1m", limit=2, params={"price": "mark"})[-1][4] == 101.0
    book = client.fetch_order_book(PAIR, 5)
    assert book["bids"][0][0] < 101.0 < book["asks"][0][0]
    rates = client.fetch_funding_rate_history(PAIR, limit=3)
    assert len(rates) == 3 and rates[0]["timestamp"] < rates[-1]["timestamp"] and rates[0]["fundingRate"] == 0.0001
    tiers = client.fetch_leverage_tiers([PAIR])[PAIR]
    assert tiers[0]["maxLeverage"] == 100 and tiers[1]["minNotional"] == tiers[0]["maxNotional"]


def test_unified_account_balance_positions_and_settings(sandbox, client):
    assert client.is_unified_enabled() == [False, True]
    assert client.fetch_balance()["USDT"]["free"] == 10_000.0
    client.set_position_mode(False)
    with pytest.raises(ccxt.BadRequest):
        client.set_position_mode(True)  # one-way mode only
    entry = open_long(client)
    assert order(client, entry["id"])["status"] == "closed"
    (position,) = client.fetch_positions([PAIR])
    assert position["contracts"] == 0.5 and position["side"] == "long" and position["leverage"] == 2
    assert position["entryPrice"] == 100.0 and 0 < position["liquidationPrice"] < 100.0
    assert client.fetch_balance()["USDT"]["free"] == pytest.approx(10_000.0 - 25.0)  # 50 notional at 2x
    with pytest.raises(ccxt.BadRequest, match="110043"):
        client.set_leverage(2, PAIR)  # not modified
    with pytest.raises(ccxt.ExchangeError, match="positions are open"):
        client.set_margin_mode("cross", PAIR, {"leverage": 2})
    trade = client.fetch_my_trades(PAIR)[0]
    assert trade["order"] == entry["id"] and trade["amount"] == 0.5 and trade["price"] == 100.0


def test_conditional_stop_is_amended_in_place_and_fills(sandbox, client):
    open_long(client)
    placed = stop(client, 95.0, limit=94.05)
    first = order(client, placed["id"])
    assert first["status"] == "open" and first["stopPrice"] == 95.0 and first["price"] == 94.05
    assert first["reduceOnly"] and first["type"] == "limit" and first["info"]["stopOrderType"] == "Stop"
    assert [o["id"] for o in live_stops(client)] == [placed["id"]]
    assert [o["id"] for o in client.fetch_open_orders(PAIR)] == [placed["id"]]  # UTA: every kind
    assert client.fetch_open_orders(PAIR, params={"orderFilter": "Order"}) == []

    amended = client.edit_order(placed["id"], PAIR, "limit", "sell", 0.5, 97.02, {"triggerPrice": 98.0})
    assert amended["id"] == placed["id"]
    moved = order(client, placed["id"])
    assert moved["stopPrice"] == 98.0 and moved["price"] == 97.02 and moved["status"] == "open"
    assert [o["id"] for o in live_stops(client)] == [placed["id"]]  # still one stop, the same one

    sandbox.set_price(PAIR, 97.5)  # through the trigger, above the limit: it fills at once
    filled = order(client, placed["id"])
    assert filled["status"] == "closed" and filled["filled"] == 0.5 and filled["average"] == 97.5
    assert client.fetch_positions([PAIR])[0]["contracts"] in (0, None)
    assert live_stops(client) == []
    assert client.fetch_closed_orders(PAIR)[-1]["id"] == placed["id"]  # oldest first


def test_amend_and_create_refusals_map_to_ccxt_errors(sandbox, client):
    open_long(client)
    with pytest.raises(ccxt.InvalidOrder, match="110093"):
        stop(client, 101.0)  # a falling trigger above the price would fire at once
    placed = stop(client, 95.0)
    with pytest.raises(ccxt.InvalidOrder, match="110093"):
        client.edit_order(placed["id"], PAIR, "market", "sell", None, None, {"triggerPrice": 100.5})
    assert order(client, placed["id"])["stopPrice"] == 95.0  # a refused amend leaves the order as it was
    with pytest.raises(ccxt.ExchangeError, match="34040"):
        client.edit_order(placed["id"], PAIR, "market", "sell", None, None, {"triggerPrice": 95.0})
    client.cancel_order(placed["id"], PAIR)
    assert order(client, placed["id"])["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        client.edit_order(placed["id"], PAIR, "market", "sell", None, None, {"triggerPrice": 96.0})
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order(placed["id"], PAIR)
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order(PAIR, "market", "buy", 500.0)  # 50 000 notional at 2x on 10 000
    client.create_order(PAIR, "market", "sell", 0.5, None, {"reduceOnly": True})
    with pytest.raises(ccxt.InvalidOrder, match="110017"):
        stop(client, 95.0)  # nothing left to reduce


def test_reduce_only_stop_without_a_position_is_deactivated_when_it_fires(sandbox, client):
    open_long(client)
    placed = stop(client, 95.0)
    client.create_order(PAIR, "market", "sell", 0.5, None, {"reduceOnly": True})  # closed by hand
    sandbox.set_price(PAIR, 94.0)
    fired = order(client, placed["id"])
    assert fired["status"] == "canceled" and fired["info"]["cancelType"] == "CancelByReduceOnly"
    assert client.fetch_positions([PAIR])[0]["contracts"] in (0, None)


def test_faults_take_bybit_forms(sandbox, client):
    open_long(client)
    placed = stop(client, 95.0)
    sandbox.faults.add("POST /v5/order/amend", {"kind": "http", "status": 429})
    with pytest.raises(ccxt.RateLimitExceeded):
        client.edit_order(placed["id"], PAIR, "market", "sell", None, None, {"triggerPrice": 96.0})
    sandbox.faults.add("POST /v5/order/amend", {"kind": "http", "status": 503})
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.edit_order(placed["id"], PAIR, "market", "sell", None, None, {"triggerPrice": 96.0})
    sandbox.faults.add("POST /v5/order/amend", {"kind": "lost_answer"})
    with pytest.raises(ccxt.RequestTimeout):
        client.edit_order(placed["id"], PAIR, "market", "sell", None, None, {"triggerPrice": 96.0})
    assert order(client, placed["id"])["stopPrice"] == 96.0  # carried out, answer lost
    sandbox.faults.add("POST /v5/order/cancel", {"kind": "unknown_order_live"})
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order(placed["id"], PAIR)
    assert [o["id"] for o in live_stops(client)] == [placed["id"]]
    sandbox.faults.add("POST /v5/order/amend", {"kind": "error", "code": 10001, "msg": "amend refused"})
    with pytest.raises(ccxt.BadRequest, match="amend refused"):
        client.edit_order(placed["id"], PAIR, "market", "sell", None, None, {"triggerPrice": 97.0})
    assert sandbox.count("POST", "/v5/order/amend") == 4


def test_private_paths_need_the_key_and_unknown_paths_are_reported(sandbox, client):
    with pytest.raises(ccxt.AuthenticationError):
        client.request("v5/account/wallet-balance", ["public"], "GET", {"accountType": "UNIFIED"})  # unsigned
    with pytest.raises(ccxt.BadRequest, match="10017"):
        client.privateGetV5AssetTransferQueryAccountCoinsBalance({"accountType": "FUND"})
    assert sandbox.unknown_paths == ["GET /v5/asset/transfer/query-account-coins-balance"]
    with pytest.raises(ccxt.BadSymbol):
        client.publicGetV5MarketTickers({"category": "linear", "symbol": "NOPEUSDT"})
    with pytest.raises(ccxt.BadRequest, match="linear contracts only"):
        client.privatePostV5OrderCreate({"category": "spot", "symbol": SYMBOL, "side": "Buy",
                                         "orderType": "Market", "qty": "1"})


def test_url_mode_config_fragment_reaches_the_bybit_api(sandbox):
    fragment = config_fragment(sandbox.url, [PAIR], exchange_name="bybit")["exchange"]
    assert fragment["name"] == "bybit" and fragment["pair_whitelist"] == [PAIR]
    api = ccxt.bybit({**fragment["ccxt_config"], "apiKey": "k", "secret": "s"})
    sandbox.set_price(PAIR, 102.0)
    assert api.fetch_ticker(PAIR)["last"] == 102.0 and api.fetch_balance()["USDT"]["total"] == 10_000.0


# ----- the plugin's amend path on a real freqtrade Bybit Exchange (real ccxt) against the sandbox -----

class _Trade:
    """What the governor reads from a freqtrade trade; it holds freqtrade's real Order rows."""

    def __init__(self, amount):
        self.id, self.pair, self.amount, self.leverage, self.orders = 1, PAIR, amount, 1.0, []

    def select_order_by_order_id(self, order_id):
        return next((o for o in self.orders if o.order_id == order_id), None)


class _NoLedger:
    def open_trade(self, pair):
        return None

    def state_of(self, trade):
        return None

    peek = state_of

    def save(self, trade, state, persist=True):
        pass


@pytest.fixture
def governed(sandbox, tmp_path):
    """(freqtrade Exchange 'bybit' in live futures mode with the governor installed, a trade with a stop)."""
    from freqtrade.enums import CandleType, MarginMode, RunMode, TradingMode
    from freqtrade.persistence import Order
    from freqtrade.resolvers import ExchangeResolver

    config = {"dry_run": False, "runmode": RunMode.LIVE, "stake_currency": "USDT", "timeframe": "5m",
              "datadir": tmp_path, "trading_mode": TradingMode.FUTURES, "margin_mode": MarginMode.ISOLATED,
              "candle_type_def": CandleType.FUTURES,
              "exchange": {"name": "bybit", "key": "k", "secret": "s", "enable_ws": False,
                           "pair_whitelist": [PAIR], **ccxt_overrides(sandbox.url, "bybit")}}
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    order_types = {"stoploss": "limit", "stoploss_on_exchange_limit_ratio": 0.99}
    governor = StopGovernor(exchange, parse_config({"exchange": {"retry_attempts": 2}}).exchange, _NoLedger(),
                            EventLog(verbose=False), order_types=lambda: order_types, sleep=lambda s: None)
    governor.install()
    exchange.create_order(pair=PAIR, ordertype="market", side="buy", amount=0.5, rate=100.0, leverage=1.0)
    trade = _Trade(0.5)
    first = exchange.create_stoploss(PAIR, 0.5, 95.0, order_types, "sell", 1.0)
    trade.orders.append(Order.parse_from_ccxt_object(first, PAIR, "stoploss", 0.5, 95.0))
    assert governor.path is ReplacementPath.AMEND
    return exchange, governor, trade, first["id"]


def test_governor_amends_trigger_and_limit_in_place(sandbox, governed):
    exchange, governor, trade, stop_id = governed
    governor._amend(trade, exchange.fetch_stoploss_order(stop_id, PAIR), 97.0, "sell")
    (live,) = sandbox.bybit.book.open_stops(SYMBOL)
    assert live["orderId"] == stop_id and live["triggerPrice"] == "97" and live["price"] == "96.03"
    assert sandbox.count("POST", "/v5/order/cancel") == 0 and sandbox.count("POST", "/v5/order/create") == 2


def test_a_retried_amend_whose_first_answer_was_lost_counts_as_done(sandbox, governed):
    exchange, governor, trade, stop_id = governed
    sandbox.faults.add("POST /v5/order/amend", {"kind": "lost_answer"})  # applied, answered 504
    governor._amend(trade, exchange.fetch_stoploss_order(stop_id, PAIR), 97.0, "sell")
    assert sandbox.count("POST", "/v5/order/amend") == 2  # the retry is answered 34040 "not modified"
    assert governor.counters["amend_already_applied"] == 1 and governor.counters["retries"] == 1
    assert governor.counters["amend_refused"] == 0 and sandbox.count("POST", "/v5/order/create") == 2
    assert [o["triggerPrice"] for o in sandbox.bybit.book.open_stops(SYMBOL)] == ["97"]


def test_a_refused_amend_is_replaced_new_stop_first_and_a_gone_order_is_left_alone(sandbox, governed):
    exchange, governor, trade, stop_id = governed
    current = exchange.fetch_stoploss_order(stop_id, PAIR)
    sandbox.faults.add("POST /v5/order/amend", {"kind": "error", "code": 10001, "msg": "cannot amend now"})
    governor._amend(trade, current, 97.0, "sell")
    (live,) = sandbox.bybit.book.open_stops(SYMBOL)
    assert live["orderId"] != stop_id and live["triggerPrice"] == "97"
    assert governor.counters["amend_refused"] == 1 and governor.counters["alarm_amend_refused"] == 1
    assert sandbox.bybit.book.orders[stop_id]["orderStatus"] == "Deactivated"

    gone = exchange.fetch_stoploss_order(stop_id, PAIR)  # cancelled: the exchange answers 110001
    governor._amend(trade, {**gone, "status": "open"}, 98.0, "sell")
    assert governor.counters["amend_order_gone"] == 1 and governor.counters["amend_refused"] == 1
    assert [o["orderId"] for o in sandbox.bybit.book.open_stops(SYMBOL)] == [live["orderId"]]
