"""The stop-on-exchange governor on a stand-in Exchange object (unit seam: no network, no bot).

The real bot with the real ccxt client against the sandbox is exercised by the end-to-end tests;
here each rule is pinned down with scripted exchange answers.
"""

from dataclasses import replace

import ccxt
import pytest
from freqtrade.exceptions import InvalidOrderException, TemporaryError

from ts_plugin.core.config import parse_config
from ts_plugin.core.events import EventLog
from ts_plugin.core.machine import new_state
from ts_plugin.exchange.capabilities import ReplacementPath, replacement_path
from ts_plugin.exchange.circuit import CircuitState
from ts_plugin.exchange.governor import StopGovernor

SETTINGS = parse_config({"exchange": {"circuit_failure_threshold": 2, "circuit_cooldown_s": 100,
                                      "retry_attempts": 2}}).exchange


class StandInExchange:
    """Just the methods freqtrade's loop calls, with scripted answers."""

    def __init__(self, ccxt_id="binance", blocks_assets=True, edit=False):
        self._api = type("Api", (), {"id": ccxt_id, "has": {"editOrder": edit}, "edits": []})()
        self._api.edit_order = lambda *a: self._api.edits.append(a) or {"id": a[0]}
        self._api.fetch_open_orders = self._open_orders
        self.open_orders, self.lists = [], 0  # what a listing of open orders shows
        self._dry_run_open_orders = {}
        self.options = {"stoploss_blocks_assets": blocks_assets, "stop_price_prop": "stopPrice"}
        self.cancel_answers, self.create_answers, self.fetch_answers = [], [], []
        self.calls = []

    def get_option(self, name, default=None):
        return self.options.get(name, default)

    def price_to_precision(self, pair, price, **kwargs):
        return round(price, 2)

    def stoploss_adjust(self, stop_loss, order, side):
        return stop_loss > float(order["stopPrice"]) if side == "sell" else stop_loss < float(order["stopPrice"])

    def _answer(self, answers, default):
        answer = answers.pop(0) if answers else default
        if isinstance(answer, Exception):
            raise answer
        return answer

    def cancel_stoploss_order(self, order_id, pair, params=None):
        self.calls.append(("cancel", order_id))
        return self._answer(self.cancel_answers, {"id": order_id, "status": "canceled"})

    def create_stoploss(self, pair, amount, stop_price, order_types, side, leverage):
        self.calls.append(("create", stop_price))
        return self._answer(self.create_answers, {"id": f"new-{stop_price}", "status": "open"})

    def _open_orders(self, pair, params=None):
        self.lists += 1
        return [o for o in self.open_orders if o["symbol"] == pair]

    def fetch_stoploss_order(self, order_id, pair):
        self.calls.append(("fetch", order_id))
        return self._answer(self.fetch_answers, {"id": order_id, "status": "open"})


def trade_on(pair="BTC/USDT", trade_id=1):
    return type("T", (), {"id": trade_id, "pair": pair, "amount": 1.0, "leverage": 1.0, "orders": []})()


class Ledger:
    def __init__(self):
        self.trade = trade_on()
        self.state = replace(new_state(100.0, False, 0.0, parse_config({})), exchange_stop=95.0)

    def open_trade(self, pair):
        return self.trade

    def state_of(self, trade):
        return self.state

    peek = state_of

    def save(self, trade, state, persist=True):
        self.state = state


class Clock:
    def __init__(self):
        self.now = 1_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def rig():
    exchange, ledger, clock = StandInExchange(), Ledger(), Clock()
    governor = StopGovernor(exchange, SETTINGS, ledger, EventLog(verbose=True),
                            wall_clock=clock, monotonic=clock, sleep=lambda s: None)
    governor.install()
    governor.reconciled = True
    governor.breaker.record_success()
    return exchange, ledger, clock, governor


ORDER = {"id": "old", "symbol": "BTC/USDT", "stopPrice": "95.0", "type": "stop_loss_limit"}


def _replace(exchange, stop):
    """What freqtrade does when stoploss_adjust says yes: cancel, then create."""
    if exchange.stoploss_adjust(stop, ORDER, "sell"):
        exchange.cancel_stoploss_order("old", "BTC/USDT")
        exchange.create_stoploss("BTC/USDT", 1.0, stop, {}, "sell", 1.0)
        return True
    return False


def test_capabilities_choose_the_path():
    assert replacement_path(StandInExchange("bybit", blocks_assets=False, edit=True)) is ReplacementPath.AMEND
    assert replacement_path(StandInExchange("binanceusdm", blocks_assets=False, edit=True)) is ReplacementPath.MAKE_BEFORE_BREAK
    assert replacement_path(StandInExchange("binance", blocks_assets=True, edit=True)) is ReplacementPath.CANCEL_THEN_CREATE


def test_policy_governs_and_records_moves(rig):
    exchange, ledger, clock, governor = rig
    assert not _replace(exchange, 95.05)  # +0.05 %: below min_improvement, and interval fresh
    assert not _replace(exchange, 95.5)  # worth a move, but the bot's stop is still tightening
    assert ledger.state.exchange_stop == 95.0
    assert _replace(exchange, 95.5)  # it held still: the move goes out (no previous move time)
    assert ledger.state.exchange_stop == 95.5 and ledger.state.exchange_moves == 1
    assert ledger.state.exchange_stop_id == "new-95.5"  # recorded before freqtrade records the order
    clock.now += 10
    assert not _replace(exchange, 95.8)  # 0.3 % but only 10 s later
    assert _replace(exchange, 96.5)  # 1.05 %: emergency, interval and hold bypassed
    assert governor.counters["skip_improvement"] == 1 and governor.counters["skip_interval"] == 1
    assert governor.counters["skip_tightening"] == 1 and governor.counters["decided_emergency"] == 1
    assert ledger.state.exchange_skips == 3 and ledger.state.exchange_moved_at == clock.now


def test_hold_while_tightening_can_be_switched_off():
    settings = parse_config({"exchange": {"hold_while_tightening": False}}).exchange
    exchange, ledger, clock = StandInExchange(), Ledger(), Clock()
    governor = StopGovernor(exchange, settings, ledger, EventLog(verbose=True),
                            wall_clock=clock, monotonic=clock, sleep=lambda s: None)
    governor.install()
    governor.reconciled = True
    assert not _replace(exchange, 95.05)
    assert _replace(exchange, 95.5)  # tightening since the last question, moved all the same
    assert governor.counters["skip_tightening"] == 0


def test_unprotected_window_is_measured_and_alerted(rig, caplog):
    exchange, ledger, clock, governor = rig
    exchange.cancel_stoploss_order("old", "BTC/USDT")
    clock.now += 0.8  # 800 ms between confirmed cancel and acknowledged create
    exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert list(governor.windows_ms) == [pytest.approx(800)] and governor.counters["unprotected_windows"] == 1
    assert "event=UNPROTECTED_WINDOW" in caplog.text


def test_unknown_order_on_cancel_while_live_blocks_a_second_stop(rig):
    exchange, ledger, clock, governor = rig
    unknown = InvalidOrderException("binance -2011 Unknown order sent.")
    exchange.cancel_answers = [unknown, unknown, unknown]
    with pytest.raises(InvalidOrderException):
        exchange.cancel_stoploss_order("old", "BTC/USDT")
    with pytest.raises(TemporaryError):  # freqtrade logs this and keeps the old (live) stop
        exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert ("create", 96.0) not in exchange.calls
    exchange.cancel_stoploss_order("old", "BTC/USDT")  # a later cancel succeeds: creation allowed
    exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert ("create", 96.0) in exchange.calls


def test_unknown_order_on_cancel_when_really_gone_is_fine(rig):
    exchange, ledger, clock, governor = rig
    exchange.cancel_answers = [InvalidOrderException("-2011")]
    exchange.fetch_answers = [{"id": "old", "status": "canceled"}]
    assert exchange.cancel_stoploss_order("old", "BTC/USDT")["status"] == "canceled"
    assert governor.counters["cancel_unknown_but_gone"] == 1


def test_failures_open_the_circuit_and_success_closes_it(rig, caplog):
    exchange, ledger, clock, governor = rig
    exchange.create_answers = [ccxt.RateLimitExceeded("429")] * 4
    for _ in range(2):
        with pytest.raises(TemporaryError):
            exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert governor.breaker.state is CircuitState.OPEN and "event=CIRCUIT_OPEN" in caplog.text
    clock.now += 10
    assert not _replace(exchange, 99.0)  # even an emergency move waits while the circuit is OPEN ...
    clock.now += SETTINGS.circuit_cooldown_s
    assert _replace(exchange, 99.0)  # ... and goes out as the half-open trial, which succeeds
    assert governor.breaker.state is CircuitState.CLOSED


def test_a_listing_between_two_failed_creates_does_not_keep_the_circuit_closed(rig):
    """The reconciliation's listing goes through between two refused stop creates (an exchange that
    limits each endpoint on its own): the second failure in a row still opens the circuit."""
    from ts_plugin.exchange.reconciler import Reconciler

    exchange, ledger, clock, governor = rig
    reconciler = Reconciler(governor, dry_run=False, bot_created_stops=lambda pairs: set())
    exchange.create_answers = [ccxt.RateLimitExceeded("429")] * 4
    with pytest.raises(TemporaryError):
        exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert reconciler.open_stop_orders(["BTC/USDT"]) == [] and exchange.lists == 1
    with pytest.raises(TemporaryError):
        exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert governor.breaker.state is CircuitState.OPEN


def test_circuit_open_pauses_moves(rig):
    exchange, ledger, clock, governor = rig
    governor.breaker.record_failure(clock.now)
    governor.breaker.record_failure(clock.now)
    assert not _replace(exchange, 99.0)
    assert governor.counters["skip_circuit_open"] == 1


def test_moves_wait_for_the_first_reconciliation(rig):
    exchange, ledger, clock, governor = rig
    governor.reconciled = False
    assert not _replace(exchange, 99.0)
    assert governor.counters["skip_not_reconciled"] == 1


def test_amend_path_moves_in_place():
    exchange, ledger, clock = StandInExchange("bybit", blocks_assets=False, edit=True), Ledger(), Clock()
    governor = StopGovernor(exchange, SETTINGS, ledger, EventLog(verbose=True), wall_clock=clock,
                            monotonic=clock, sleep=lambda s: None)
    governor.install()
    governor.reconciled = True
    assert exchange.stoploss_adjust(96.0, ORDER, "sell") is False  # freqtrade does nothing more
    assert exchange._api.edits[0][0] == "old" and exchange._api.edits[0][-1] == {"triggerPrice": 96.0}
    assert [c[0] for c in exchange.calls] == [] and ledger.state.exchange_stop == 96.0


def test_make_before_break_creates_first(monkeypatch):
    exchange, ledger, clock = StandInExchange("binanceusdm", blocks_assets=False), Ledger(), Clock()
    ledger.trade.select_order_by_order_id = lambda order_id: None
    monkeypatch.setattr("freqtrade.persistence.Order.parse_from_ccxt_object",
                        staticmethod(lambda order, *a: order))
    governor = StopGovernor(exchange, SETTINGS, ledger, EventLog(verbose=True), wall_clock=clock,
                            monotonic=clock, sleep=lambda s: None)
    governor.install()
    governor.reconciled = True
    assert exchange.stoploss_adjust(96.0, ORDER, "sell") is False
    assert [c[0] for c in exchange.calls] == ["create", "cancel"]
    assert ledger.trade.orders[0]["id"] == "new-96.0" and ledger.state.exchange_stop == 96.0
    assert not governor.windows_ms


def test_hook_never_raises_into_the_loop(rig):
    exchange, ledger, clock, governor = rig
    ledger.state_of = lambda trade: 1 / 0
    assert exchange.stoploss_adjust(99.0, ORDER, "sell") is False
    assert governor.counters["hook_errors"] == 1


# ----- issue 6: memory per trade and per order, never per pair ------------------------------------

def _block(exchange):
    """A cancel answered -2011 on every try while the old stop stays live."""
    unknown = InvalidOrderException("binance -2011 Unknown order sent.")
    exchange.cancel_answers = [unknown, unknown, unknown]
    with pytest.raises(InvalidOrderException):
        exchange.cancel_stoploss_order("old", "BTC/USDT")


def test_a_block_ends_when_the_old_stop_fills_instead_of_being_cancelled(rig):
    exchange, ledger, clock, governor = rig
    _block(exchange)
    exchange.fetch_answers = [{"id": "old", "status": "closed"}]  # it filled: nothing left to cancel
    ledger.trade = trade_on(trade_id=2)  # the trade closed on it; the pair's next trade wants a stop
    exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert ("create", 96.0) in exchange.calls and governor.counters["create_refused_old_live"] == 0


def test_a_block_belongs_to_its_trade_and_rechecks_the_order(rig):
    exchange, ledger, clock, governor = rig
    _block(exchange)
    with pytest.raises(TemporaryError):  # same trade, old stop really live: refused
        exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    exchange.fetch_answers = [{"id": "old", "status": "canceled"}]  # gone meanwhile (manual cancel)
    exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert exchange.calls.count(("create", 96.0)) == 1
    ledger.trade = trade_on(trade_id=2)
    _block(exchange)
    ledger.trade = trade_on(trade_id=3)  # another trade: the guard is not its business
    exchange.create_stoploss("BTC/USDT", 1.0, 97.0, {}, "sell", 1.0)
    assert ("create", 97.0) in exchange.calls


def test_a_window_is_never_charged_to_the_pairs_next_trade(rig, caplog):
    exchange, ledger, clock, governor = rig
    exchange.cancel_stoploss_order("old", "BTC/USDT")
    exchange.create_answers = [InvalidOrderException("-2010 Order would trigger immediately.")]
    with pytest.raises(InvalidOrderException):  # freqtrade exits the trade at market instead
        exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    clock.now += 4.42
    ledger.trade = trade_on(trade_id=2)
    exchange.create_stoploss("BTC/USDT", 1.0, 90.0, {}, "sell", 1.0)  # the next trade's first stop
    assert not governor.windows_ms and "event=UNPROTECTED_WINDOW" not in caplog.text


def test_the_hold_rule_compares_a_trade_only_with_itself(rig):
    exchange, ledger, clock, governor = rig
    assert not _replace(exchange, 95.05)  # trade 1's last question
    ledger.trade = trade_on(trade_id=2)
    assert _replace(exchange, 95.5)  # trade 2's first question: nothing to be "still tightening" from
    assert governor.counters["skip_tightening"] == 0


# ----- issue 6 D.10: a create whose answer was lost -----------------------------------------------

def _placed(order_id, stop, at_ms, pair="BTC/USDT"):
    return {"id": order_id, "symbol": pair, "type": "stop_loss_limit", "side": "sell", "amount": 1.0,
            "stopPrice": stop, "status": "open", "timestamp": at_ms}


def test_a_stop_placed_but_answered_with_a_timeout_is_found_and_adopted(rig):
    exchange, ledger, clock, governor = rig
    lost = TemporaryError("binance -1007 Timeout waiting for response. execution status unknown")
    exchange.open_orders = [_placed("older", 96.0, (clock.now - 60) * 1000),  # an old one: not it
                            _placed("new-7", 96.0, clock.now * 1000 + 20)]
    exchange.create_answers = [lost]
    exchange.cancel_stoploss_order("old", "BTC/USDT")
    order = exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert order["id"] == "new-7" and exchange.calls.count(("create", 96.0)) == 1  # never placed twice
    assert ledger.state.exchange_stop_id == "new-7" and ledger.state.exchange_stop == 96.0
    assert governor.counters["lost_answers_adopted"] == 1 and governor.events.counts["STOP_ADOPTED"] == 1


def test_a_lost_stop_that_shows_up_late_is_adopted_when_the_retry_finds_the_coins_locked(rig):
    exchange, ledger, clock, governor = rig
    from freqtrade.exceptions import InsufficientFundsError

    exchange.create_answers = [TemporaryError("504"), InsufficientFundsError("-2010 insufficient balance")]
    real_list = exchange._api.fetch_open_orders

    def lagging(pair, params=None):  # the first listing does not show it yet
        exchange.open_orders = [_placed("new-8", 96.0, clock.now * 1000)] if exchange.lists else []
        return real_list(pair, params)

    exchange._api.fetch_open_orders = lagging
    order = exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert order["id"] == "new-8" and exchange.calls.count(("create", 96.0)) == 2


def test_a_lost_stop_not_found_yet_is_looked_for_before_the_trades_next_create(rig):
    exchange, ledger, clock, governor = rig
    exchange.create_answers = [TemporaryError("504")] * 2
    with pytest.raises(TemporaryError):
        exchange.create_stoploss("BTC/USDT", 1.0, 96.0, {}, "sell", 1.0)
    assert governor.watches.peek(("BTC/USDT", 1)).create_failed
    exchange.open_orders = [_placed("new-9", 96.0, clock.now * 1000)]
    clock.now += 5
    order = exchange.create_stoploss("BTC/USDT", 1.0, 96.5, {}, "sell", 1.0)  # next iteration
    assert order["id"] == "new-9" and ("create", 96.5) not in exchange.calls


# ----- issue 6 C.7: an exchange stop lagging beyond the policy's limits is a WARNING --------------

def _warnings(caplog, reason):
    return [r for r in caplog.records if "event=WARNING" in r.getMessage() and reason in r.getMessage()]


def test_moves_skipped_as_not_reconciled_for_too_long_raise_one_warning_per_trade(rig, caplog):
    exchange, ledger, clock, governor = rig
    governor.reconciled = False
    for _ in range(3):
        assert not _replace(exchange, 99.0)
        clock.now += SETTINGS.orphan_check_interval_s
    warnings = _warnings(caplog, "no reconciliation has run")
    assert len(warnings) == 1 and "trade_id=1 " in warnings[0].getMessage()
    assert caplog.records[-1].levelname == "WARNING"


def test_an_exchange_stop_left_behind_by_an_emergency_gap_raises_one_warning_per_episode(rig, caplog):
    exchange, ledger, clock, governor = rig
    governor.breaker.cooldown_s = 1e9
    governor.breaker.record_failure(clock.now)
    governor.breaker.record_failure(clock.now)  # circuit open: moves pause
    for _ in range(4):
        assert not _replace(exchange, 99.0)  # 4 % above the exchange stop
        clock.now += SETTINGS.min_update_interval_s
    assert len(_warnings(caplog, "stays behind")) == 1
    assert not _replace(exchange, 95.1)  # the gap closed (the bot's stop fell back)
    governor.breaker.record_failure(clock.now)
    for _ in range(3):
        _replace(exchange, 99.0)
        clock.now += SETTINGS.min_update_interval_s
    assert len(_warnings(caplog, "stays behind")) == 2  # a new episode alarms again


def test_only_the_order_just_placed_matches_a_lost_placement():
    from ts_plugin.exchange.placement import Placement, find_placed

    lost = Placement("BTC/USDT", "sell", 1.0, 96.0, started_at=1_000.0)
    stop_of = lambda o: float(o["stopPrice"])  # noqa: E731
    at = 1_000_000.0
    others = [_placed("known", 96.0, at), _placed("old", 96.0, at - 60_000),
              {**_placed("buy", 96.0, at), "side": "buy"}, {**_placed("half", 96.0, at), "amount": 0.5},
              _placed("far", 97.0, at), _placed("eth", 96.0, at, pair="ETH/USDT")]
    assert find_placed(lost, others, {"known"}, stop_of) is None
    rounded = {**_placed("it", 96.004, at + 150), "amount": 0.9999}  # precision rounding
    assert find_placed(lost, others + [rounded], {"known"}, stop_of)["id"] == "it"
