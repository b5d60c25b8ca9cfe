"""The hook on the bot's own Exchange object that governs stop-on-exchange replacements.

freqtrade asks ``exchange.stoploss_adjust(stop, order, side)`` every iteration whether the stop order
should be replaced, and then replaces it by cancel-then-create. Wrapping three methods of that one
instance lets the plugin:
- apply the update policy (interval, minimum improvement, emergency override) and the circuit breaker;
- replace by amend or make-before-break itself where the exchange allows it (and answer False so
  freqtrade does nothing more), or let freqtrade cancel-then-create and time the unprotected window;
- retry transient errors, and never create a second stop while a cancel left that trade's old one live;
- find and adopt a stop whose create was placed but answered with a timeout (lost answer);
- raise a WARNING once per trade when its exchange stop lags beyond the policy's limits;
- place the stop for an entry adjustment's new amount before the old one goes (``entry_follow.py``);
- have the strategy exit a trade whose stop is through the price while the exchange stop is not, or
  whose new stop the exchange refuses as triggering at once (``through_price.py``).
Memory is per trade or per order, never per pair (see ``watch.py``). Nothing here raises into
freqtrade's loop except the exceptions freqtrade itself expects.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from dataclasses import replace
from typing import Any, Callable, Protocol

from freqtrade.exceptions import DDosProtection, InsufficientFundsError, InvalidOrderException, TemporaryError

from ts_plugin.core.config import ExchangeConfig
from ts_plugin.core.events import EventLog, EventName
from ts_plugin.core.state import TrailState
from ts_plugin.exchange.cancel_outcome import covers, filled_amount, went_off
from ts_plugin.exchange.capabilities import ReplacementPath, replacement_path
from ts_plugin.exchange.circuit import CircuitBreaker, CircuitState
from ts_plugin.exchange.entry_follow import EntryFollower
from ts_plugin.exchange.lag import LagAlarms
from ts_plugin.exchange.listing import OPEN_STATUSES, open_stop_orders
from ts_plugin.exchange.placement import Placement, find_placed
from ts_plugin.exchange.policy import UpdatePolicy, decide, improvement
from ts_plugin.exchange.price_band import band_for, clamp, is_band_refusal
from ts_plugin.exchange.retry import RetryBudgetExceeded, RetryPolicy, call_with_retry
from ts_plugin.exchange.through_price import ALARM_KIND as THROUGH_PRICE
from ts_plugin.exchange.through_price import exit_due, is_would_trigger
from ts_plugin.exchange.venues import amend_unchanged
from ts_plugin.exchange.watch import UNPROTECTED, TradeKey, TradeWatch, Watches

logger = logging.getLogger("ts_plugin")

# Unprotected windows kept for the health view's median and max: the latest ones, so a bot that
# runs for months keeps a fixed-size sample (the total is counted apart).
WINDOW_SAMPLES = 1000
AMEND_REFUSED = "amend_refused"  # alarm kind: once per trade until an amend goes through again
# Alarm kind of a stop clamped into the exchange's price band: one WARNING per trade, every clamp counted.
CLAMPED = "clamped"
# A refusal that still names the band (the exchange's reference price moved further than the margin)
# is retried once with the margin doubled and widened by this much.
BAND_RETRY_WIDENING = 0.01


class TradeLedger(Protocol):
    """What the governor needs from the strategy: open trades and their trailing state."""

    def open_trade(self, pair: str) -> Any | None: ...

    def state_of(self, trade: Any) -> TrailState | None: ...

    def peek(self, trade: Any) -> TrailState | None: ...

    def save(self, trade: Any, state: TrailState, persist: bool = True) -> None: ...


class StopGovernor:
    """Installed once per bot process on ``strategy.dp._exchange`` (see ``install``)."""

    def __init__(
        self,
        exchange: Any,
        settings: ExchangeConfig,
        ledger: TradeLedger,
        events: EventLog,
        order_types: Callable[[], dict] = dict,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        dry_run: bool = False,
    ) -> None:
        self.exchange = exchange
        self.settings = settings
        self.ledger = ledger
        self.events = events
        self._order_types = order_types
        self.path = replacement_path(exchange)
        self.policy = UpdatePolicy(
            settings.min_update_interval_s, settings.min_improvement, settings.emergency_improvement,
            settings.hold_while_tightening,
        )
        self.retry = RetryPolicy(attempts=settings.retry_attempts, budget_s=settings.retry_budget_s)
        # After a restart nothing is known about the exchange's health: let one trial through first.
        self.breaker = CircuitBreaker(
            settings.circuit_failure_threshold, settings.circuit_cooldown_s,
            state=CircuitState.HALF_OPEN,
        )
        self.counters: Counter[str] = Counter()
        self.windows_ms: deque[float] = deque(maxlen=WINDOW_SAMPLES)
        self._wall = wall_clock
        self._mono = monotonic
        self._sleep = sleep
        self.dry_run = dry_run
        self.watches = Watches()
        self.lag = LagAlarms(settings, self.watches, self.alarm)
        self._original: dict[str, Callable] = {}
        self.reconciled = False  # moves wait for the first reconciliation after start-up
        self.backstop: Any | None = None  # the native trailing backstop keeper, when one is held
        # Told when a trade's stop is through the price and the exchange stop is not (the strategy
        # exits it, see through_price.py); set by wiring.
        self.on_through_price: Callable[[Any], None] | None = None
        self.through_price: set[TradeKey] = set()  # trades told so, until they close
        self.entry = EntryFollower(self)  # the stop follows an entry adjustment's new amount

    # ----- installation ---------------------------------------------------------------------------

    def install(self) -> None:
        """Wrap the exchange instance's methods (idempotent: a second install does nothing)."""
        if getattr(self.exchange, "_ts_governor", None) is not None:
            return
        for name in ("stoploss_adjust", "cancel_stoploss_order", "create_stoploss"):
            self._original[name] = getattr(self.exchange, name)
        self.exchange.stoploss_adjust = self.stoploss_adjust
        self.exchange.cancel_stoploss_order = self.cancel_stoploss_order
        self.exchange.create_stoploss = self.create_stoploss
        if hasattr(self.exchange, "fetch_stoploss_order"):
            self._original["fetch_stoploss_order"] = self.exchange.fetch_stoploss_order
            self.exchange.fetch_stoploss_order = self.fetch_stoploss_order
        self.exchange._ts_governor = self
        logger.info("smart_trailing: governing stop-on-exchange updates (%s)", self.path.value)

    def _price_of(self, order: dict) -> float | None:
        value = order.get(self.exchange.get_option("stop_price_prop", "stopPrice"))
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    # ----- the decision ---------------------------------------------------------------------------

    def stoploss_adjust(self, stop_loss: float, order: dict, side: str) -> bool:
        """freqtrade's question 'replace the stop order?', answered by the policy. Never raises."""
        try:
            return self._adjust(stop_loss, order, side)
        except Exception:
            self.counters["hook_errors"] += 1
            logger.exception("smart_trailing: stop-on-exchange decision failed; keeping the order")
            return False

    def _trade_key(self, pair: str) -> tuple[Any | None, TradeKey]:
        trade = self.ledger.open_trade(pair)
        return trade, (pair, getattr(trade, "id", None))

    def _adjust(self, stop_loss: float, order: dict, side: str) -> bool:
        pair = order.get("symbol") or ""
        is_short = side == "buy"
        trade, key = self._trade_key(pair)
        self._backstop("follow", trade)
        watch = self.watches.of(key)
        previous, watch.last_candidate = watch.last_candidate, stop_loss
        still_tightening = previous is not None and improvement(previous, stop_loss, is_short) > 0
        now = self._wall()
        exchange_stop = self._price_of(order)
        self.entry.settled(pair, order.get("id"))  # freqtrade's cancel after an entry fill is behind us
        self._check_through_price(trade, key, stop_loss, exchange_stop, is_short)
        self.lag.gap(key, watch, exchange_stop, stop_loss, is_short, now)
        if not self._original["stoploss_adjust"](stop_loss, order, side):
            return False
        state = self.ledger.state_of(trade) if trade is not None else None
        if not self.reconciled:
            self.lag.unreconciled(key, watch, now)
            self._skip("not_reconciled", trade, pair, watch)
            return False
        self.lag.reconciled(key, watch)
        if not self.breaker.allows(now):
            self._skip("circuit_open", trade, pair, watch)
            return False
        verdict = decide(
            self.policy, exchange_stop, stop_loss, is_short,
            state.exchange_moved_at if state else None, now, still_tightening,
        )
        if not verdict.moves:
            self._skip(verdict.value, trade, pair, watch, state)
            return False
        self.counters[f"decided_{verdict.value}"] += 1
        if self.path is ReplacementPath.CANCEL_THEN_CREATE or trade is None:
            return True  # freqtrade cancels then creates; our wrappers time the window
        if self.path is ReplacementPath.AMEND:
            self._amend(trade, order, stop_loss, side)
        else:
            self._make_before_break(trade, order, stop_loss, side)
        return False

    def _skip(self, reason: str, trade: Any, pair: str, watch: TradeWatch,
              state: TrailState | None = None) -> None:
        self.counters[f"skip_{reason}"] += 1
        watch.last_skip = reason
        logger.debug("smart_trailing: exchange stop move skipped pair=%s reason=%s", pair, reason)
        if trade is not None and state is not None:
            # Counted in memory only: a skip repeats every iteration and must not cost a write;
            # the count is stored with the next real change.
            self.ledger.save(trade, replace(state, exchange_skips=state.exchange_skips + 1), persist=False)

    # ----- alarms ---------------------------------------------------------------------------------

    def alarm(self, key: TradeKey, kind: str, reason: str, **fields: Any) -> None:
        """A WARNING event for this trade, once per episode of ``kind`` (see ``Watches.settle``)."""
        pair, trade_id = key

        def emit() -> None:
            self.counters[f"alarm_{kind}"] += 1
            self.events.emit(EventName.WARNING, trade_id, pair, reason=reason, **fields)

        self.watches.raise_once(key, kind, emit)

    # ----- a stop through the price ----------------------------------------------------------------

    def _check_through_price(self, trade: Any, key: TradeKey, stop_loss: float, exchange_stop: float | None,
                             is_short: bool) -> None:
        """Every iteration: the bot's stop at or through the price while the exchange stop is not.
        Live only: in dry-run freqtrade exits on its own stop."""
        if trade is None or self.dry_run:
            return
        try:  # the rate freqtrade refreshed at this iteration (cached: no request)
            rate = float(self.exchange.get_rate(trade.pair, refresh=False, side="exit", is_short=is_short))
        except Exception:
            return
        if exit_due(float(stop_loss), exchange_stop, rate, is_short):
            self._through_price(trade, key, stop_loss, exchange_stop, rate, None)

    def exit_due_now(self, trade: Any, exchange_stop: float | None, rate: float) -> bool:
        """The strategy's ``custom_exit`` asks with the rate freqtrade just refreshed: is this trade's stop
        at or through it while the exchange stop is not? (Live only; says so once, as above.)"""
        stop = getattr(trade, "stop_loss", None)
        if self.dry_run or not stop or not exit_due(float(stop), exchange_stop, rate, bool(trade.is_short)):
            return False
        self._through_price(trade, (trade.pair, getattr(trade, "id", None)), float(stop), exchange_stop, rate, None)
        return True

    def _through_price(self, trade: Any, key: TradeKey, stop_loss: float, exchange_stop: float | None,
                       rate: float | None, refusal: BaseException | None) -> None:
        """The trade exits now (the strategy's ``custom_exit``); one WARNING per trade and episode."""
        pair = key[0]
        self.counters["stop_through_price_refused" if refusal is not None else "stop_through_price_seen"] += 1
        fields = {"bot_stop": float(stop_loss), "exchange_stop": exchange_stop, "price": rate}
        if refusal is not None:
            fields["refusal"] = str(refusal)[:200]
        logger.debug("smart_trailing: stop of %s through the price: %s", pair, fields)

        def emit() -> None:
            self.counters["stop_through_price_exits"] += 1
            self.events.emit(EventName.WARNING, key[1], pair, reason=(
                "the bot's stop is at or through the price and the exchange stop is not"
                + (" (the exchange refused the new stop: it would trigger at once)" if refusal is not None else "")
                + "; exiting the trade now"), **fields)

        self.watches.raise_once(key, THROUGH_PRICE, emit)
        self.through_price.add(key)
        if self.on_through_price is not None:
            self.on_through_price(trade)

    # ----- an entry adjustment while the stop may have filled -----------------------------------

    def stop_went_off(self, trade: Any) -> str | None:
        """The id of a stop order of ``trade`` that the exchange says went off, else None (live only).

        freqtrade reads its stop in ``exit_positions`` and asks ``adjust_trade_position`` later in the
        same iteration: a stop that fills in between is not booked yet, and an added entry would open a
        new position under a trade whose position is gone. Asked only when the strategy wants to add,
        so it costs one read per entry adjustment. A read that fails says nothing (None)."""
        if self.dry_run:
            return None
        for order in list(getattr(trade, "open_sl_orders", None) or ()):
            try:
                answer = self.fetch_stoploss_order(order.order_id, trade.pair)
            except Exception as exc:
                logger.debug("smart_trailing: stop %s of %s not read before an entry adjustment: %s",
                             order.order_id, trade.pair, exc)
                continue
            if went_off(answer):
                self.counters["entries_held_after_stop_fill"] += 1
                return str(order.order_id)
        return None

    # ----- an entry adjustment's new amount (entry_follow.py) ------------------------------------

    def follow_entry(self, trade: Any) -> None:
        """An entry adjustment filled: the trade's stop for the new amount now, new stop first."""
        self.entry.follow(trade)

    # ----- guarded exchange calls -----------------------------------------------------------------

    def _guarded(self, label: str, func: Callable[[], Any], *, read_only: bool = False) -> Any:
        """Retry transient errors; feed the circuit breaker; map exhaustion to TemporaryError.

        A read that goes through (``read_only``: a listing, an order read) is no proof that the order
        path works again (exchanges limit each endpoint on its own, Bybit): see
        ``CircuitBreaker.record_success``."""
        def count_retry(attempt: int, error: BaseException) -> None:
            self.counters["retries"] += 1
            logger.warning("smart_trailing: %s failed (attempt %d): %s", label, attempt, error)

        try:
            result = call_with_retry(func, self.retry, on_retry=count_retry, sleep=self._sleep)
        except RetryBudgetExceeded as exc:
            self._failure(label, exc.last)
            raise TemporaryError(f"{label}: {exc}") from exc
        self.breaker.record_success(self._wall(), read_only=read_only)
        return result

    def _failure(self, label: str, error: BaseException) -> None:
        self.counters["failures"] += 1
        before = self.breaker.state
        if self.breaker.record_failure(self._wall()) is CircuitState.OPEN and before is not CircuitState.OPEN:
            self.events.emit(EventName.CIRCUIT_OPEN, None, "-", after=label, error=str(error),
                             cooldown_s=self.settings.circuit_cooldown_s)

    def cancel_stoploss_order(self, order_id: str, pair: str, params: dict | None = None) -> dict:
        """Cancel with retries; an 'unknown order' answer is checked against the order's real status."""
        original = self._original["cancel_stoploss_order"]
        trade, key = self._trade_key(pair)
        answered = self.entry.before_cancel(trade, order_id, pair)
        if answered is not None:
            return answered  # kept for the new amount, or already replaced by a stop for it
        try:
            result = self._guarded("cancel stop", lambda: original(order_id, pair, params))
        except InvalidOrderException as exc:
            result = self._confirm_gone(order_id, pair, params, exc)
        self.watches.of(key).cancelled_at = self._mono()
        self.watches.blockers.pop((pair, str(order_id)), None)
        self._backstop("after_cancel", order_id, pair)
        self.entry.cancelled(pair, order_id, result)
        return result

    def fetch_stoploss_order(self, order_id: str, pair: str, params: dict | None = None) -> dict:
        """freqtrade reads its stop every iteration: the backstop keeper sees the answer first. A stop
        record that carries a backstop's fill is named by the fill's id, which is no stop order: the
        keeper answers for it (``backstop_booking.py``)."""
        carried = self._backstop("carried", order_id, pair)
        if carried is not None:
            return carried
        fetch = self._original["fetch_stoploss_order"]
        order = fetch(order_id, pair) if params is None else fetch(order_id, pair, params)
        if self.backstop is None:
            return order
        return self._backstop("after_fetch", order_id, pair, order) or order

    def _backstop(self, action: str, *args: Any) -> Any:
        """The native trailing backstop's part (``backstop_keeper.py``); it never breaks the stop."""
        if self.backstop is None:
            return None
        try:
            return getattr(self.backstop, action)(*args)
        except Exception:
            self.counters["backstop_errors"] += 1
            logger.exception("smart_trailing: native trailing backstop (%s) failed; the stop is unaffected", action)
            return None

    def _confirm_gone(self, order_id: str, pair: str, params: dict | None, error: Exception,
                      block_create: bool = True) -> dict:
        """Binance may answer -2011 while the order lives on: retry until it is really gone."""
        original = self._original["cancel_stoploss_order"]
        for attempt in range(self.settings.retry_attempts):
            try:
                current = self.exchange.fetch_stoploss_order(order_id, pair)
            except InvalidOrderException:
                current = None  # the exchange does not know it either
            if current is None or current.get("status") not in OPEN_STATUSES:
                self.counters["cancel_unknown_but_gone"] += 1
                return current or {"id": order_id, "status": "canceled", "fee": {}, "info": {}}
            self.counters["cancel_unknown_but_live"] += 1
            self._sleep(min(self.retry.max_delay_s, self.retry.base_delay_s * 2**attempt))
            try:
                return original(order_id, pair, params)
            except InvalidOrderException as again:
                error = again
        trade_id = None
        if block_create:
            _, (_, trade_id) = self._trade_key(pair)
            self.watches.blockers[(pair, str(order_id))] = trade_id
        self.events.emit(EventName.WARNING, trade_id, pair, order_id=order_id,
                         reason=f"stop order still live after cancel: {error}; no second stop created")
        raise InvalidOrderException(f"stop order {order_id} still live after cancel: {error}")

    def _refuse_while_old_live(self, key: TradeKey) -> None:
        """A second stop while this trade's old one is live would double it (or fail on locked coins).
        The guard names an order: it ends when that order is no longer open, whatever closed it."""
        pair, trade_id = key
        for (blocked_pair, order_id), owner in list(self.watches.blockers.items()):
            if blocked_pair != pair:
                continue
            if owner != trade_id or not self._still_open(order_id, pair):
                del self.watches.blockers[(blocked_pair, order_id)]
                self.counters["stale_blocks_cleared"] += 1
                continue
            self.counters["create_refused_old_live"] += 1
            raise TemporaryError(f"stop order {order_id} for {pair} is still live; not creating another")

    def _still_open(self, order_id: str, pair: str) -> bool:
        try:
            current = self.exchange.fetch_stoploss_order(order_id, pair)
        except InvalidOrderException:
            return False  # the exchange does not know it
        except Exception:
            return True  # status unknown: a second live stop is the worse mistake
        return current is not None and current.get("status") in OPEN_STATUSES

    def create_stoploss(self, pair: str, amount: float, stop_price: float, order_types: dict,
                        side: str, leverage: float) -> dict:
        """Create with retries; refuse while this trade's old stop is still live; adopt a stop whose
        answer was lost."""
        trade, key = self._trade_key(pair)
        self._refuse_while_old_live(key)
        original = self._original["create_stoploss"]
        order, stop = self._place_in_band(
            key, pair, side, float(amount), float(stop_price), order_types, self._known_stop_ids(trade, pair),
            lambda stop, types: original(pair=pair, amount=amount, stop_price=stop,
                                         order_types=types, side=side, leverage=leverage),
        )
        watch = self.watches.of(key)
        cancelled_at, watch.cancelled_at = watch.cancelled_at, None
        window_ms = None if cancelled_at is None else (self._mono() - cancelled_at) * 1000.0
        self._record_move(pair, stop, window_ms, ReplacementPath.CANCEL_THEN_CREATE, order)
        return order

    # ----- the exchange's price band ----------------------------------------------------------------

    def _place_in_band(self, key: TradeKey, pair: str, side: str, amount: float, stop: float,
                       order_types: dict, known_ids: set[str],
                       create: Callable[[float, dict], dict]) -> tuple[dict, float]:
        """Place the stop clamped into the exchange's price band; a refusal that still names the band
        (the exchange's reference price moved further than the margin) is retried once, wider."""
        for retry, margin in enumerate(self._band_margins()):
            banded, types = self._into_band(key, pair, side, stop, order_types, margin)
            placement = Placement(pair, side, amount, banded, self._wall())
            try:
                return self._place(key, placement, known_ids, lambda: create(banded, types))
            except InvalidOrderException as exc:
                if retry or not is_band_refusal(exc):
                    raise
                self._band_refused("stop", pair, exc)
        raise AssertionError("unreachable")

    def _band_margins(self) -> tuple[float, float]:
        """The margin a stop is clamped with, then the wider one of the single retry."""
        margin = self.settings.price_band_margin
        return margin, 2 * margin + BAND_RETRY_WIDENING

    def _band_refused(self, what: str, pair: str, error: BaseException) -> None:
        self.counters["band_refusals"] += 1
        logger.warning("smart_trailing: %s refused the %s for %s as outside its price band (%s); retrying "
                       "once with a wider margin", self._exchange_id(), what, pair, error)

    def _exchange_id(self) -> str:
        return getattr(getattr(self.exchange, "_api", None), "id", "") or ""

    def _into_band(self, key: TradeKey, pair: str, side: str, stop: float, order_types: dict,
                   margin: float) -> tuple[float, dict]:
        """(stop, order types) to place: as asked, or the tightest order the exchange's band accepts.

        freqtrade derives the limit from the stop and ``stoploss_on_exchange_limit_ratio``; a clamped
        limit is handed back to it as that ratio. A band that cannot be met by tightening is left to
        the exchange (which refuses, as it would have without the plugin)."""
        ratio = order_types.get("stoploss_on_exchange_limit_ratio", 0.99)
        has_limit = self._stop_order_kind(order_types) == "limit"
        limit = (stop * ratio if side == "sell" else stop * (2 - ratio)) if has_limit else None
        seen: list[float] = []

        def reference() -> float:
            """The exit rate freqtrade refreshed at its last iteration (cached: no request)."""
            if not seen:
                seen.append(float(self.exchange.get_rate(pair, refresh=False, side="exit",
                                                         is_short=side == "buy")))
            return seen[0]

        market = (getattr(self.exchange, "markets", None) or {}).get(pair)
        try:
            band = band_for(self._exchange_id(), market, side, stop, reference, margin)
        except Exception as exc:  # no reference price: place as asked, the exchange decides
            self.counters["band_unknown"] += 1
            logger.warning("smart_trailing: price band of %s unknown, stop placed as asked: %s", pair, exc)
            return stop, order_types
        if band is None or band.accepts(stop, limit):
            return stop, order_types
        result = clamp(side, stop, limit, band, seen[0] if seen else None)
        if result is None and not seen:  # moving the stop needs the price to stay on its side
            try:
                result = clamp(side, stop, limit, band, reference())
            except Exception:
                result = None
        if result is None:
            self.counters["band_unmet"] += 1
            logger.warning("smart_trailing: stop %s for %s is outside the exchange's price band %s and "
                           "cannot be tightened into it", f"{stop:.10g}", pair, band.describe(stop))
            return stop, order_types
        self.counters["stops_clamped"] += 1

        def price(value: float | None) -> float | None:
            return None if value is None else float(self.exchange.price_to_precision(pair, value))

        fields = {"bot_stop": stop, "exchange_stop": price(result.stop), "asked_limit": price(limit),
                  "exchange_limit": price(result.limit),
                  "band": band.describe(stop, lambda value: f"{price(value):.10g}")}
        logger.info("smart_trailing: stop for %s clamped into the price band: %s", pair,
                    " ".join(f"{name}={value:.10g}" if isinstance(value, float) else f"{name}={value}"
                             for name, value in fields.items()))
        self.alarm(key, CLAMPED, "stop clamped into the exchange's price band: the closest stop it "
                                 "accepts (tighter); the bot's own stop keeps its level", **fields)
        types = dict(order_types)
        if result.limit is not None:
            kept = result.limit / result.stop
            types["stoploss_on_exchange_limit_ratio"] = kept if side == "sell" else 2 - kept
        return result.stop, types

    def _stop_order_kind(self, order_types: dict) -> str:
        """"limit" or "market", as freqtrade's exchange class will place it."""
        asked = order_types.get("stoploss", "market")
        choose = getattr(self.exchange, "_get_stop_order_type", None)
        if choose is None:
            return asked
        try:
            return choose(asked)[1]
        except Exception:
            return asked

    # ----- a create whose answer was lost ---------------------------------------------------------

    def _place(self, key: TradeKey, placement: Placement, known_ids: set[str],
               create: Callable[[], dict]) -> tuple[dict, float]:
        """Create a stop; when the answer is lost, look for it on the exchange before anything else.

        Returns the order and its stop price. A timeout or 5xx leaves the outcome unknown: the pair's
        open stops are searched (and again when a retry then finds the coins locked, and before the
        trade's next create) and a match is handed to freqtrade as the created order.
        """
        watch = self.watches.of(key)
        if watch.lost is not None and (found := self._find_lost(watch.lost, known_ids)) is not None:
            return self._adopt_lost(key, watch, found)

        def attempt() -> tuple[dict, float]:
            try:
                return create(), placement.stop
            except DDosProtection:
                raise  # rate limited: refused before it was processed, nothing was placed
            except (TemporaryError, InsufficientFundsError) as exc:
                if isinstance(exc, TemporaryError) and watch.lost is None:
                    watch.lost = placement
                found = self._find_lost(watch.lost, known_ids) if watch.lost is not None else None
                if found is None:
                    raise
                return self._adopt_lost(key, watch, found)

        try:
            order, stop = self._guarded("create stop", attempt)
        except Exception:
            watch.create_failed = True
            raise
        watch.create_failed = False
        watch.lost = None
        return order, stop

    def _find_lost(self, placement: Placement, known_ids: set[str]) -> dict | None:
        try:  # one plain request: the create's own retries and the trade's next create look again
            orders = open_stop_orders(self.exchange, [placement.pair], self.dry_run, lambda _, func: func())
        except Exception as exc:
            self.counters["lost_answer_lookup_failures"] += 1
            logger.warning("smart_trailing: could not look for a stop whose answer was lost: %s", exc)
            return None
        return find_placed(placement, orders, known_ids, self._price_of)

    def _adopt_lost(self, key: TradeKey, watch: TradeWatch, order: dict) -> tuple[dict, float]:
        stop = self._price_of(order) or (watch.lost.stop if watch.lost else 0.0)
        watch.lost = None
        self.counters["lost_answers_adopted"] += 1
        self.events.emit(EventName.STOP_ADOPTED, key[1], key[0], order_id=order.get("id"), stop=stop,
                         reason="stop placed but its answer was lost: found on the exchange")
        return order, stop

    def _known_stop_ids(self, trade: Any, pair: str) -> set[str]:
        """Stop orders the bot already holds: never the one whose answer was lost."""
        ids = {str(order_id) for blocked_pair, order_id in self.watches.blockers if blocked_pair == pair}
        for order in getattr(trade, "orders", None) or []:
            if getattr(order, "ft_order_side", None) == "stoploss" and getattr(order, "order_id", None):
                ids.add(str(order.order_id))
        return ids

    def adopted_lost(self, key: TradeKey, order: dict, path: ReplacementPath) -> None:
        """The reconciliation found and re-attached the stop whose answer was lost."""
        watch = self.watches.of(key)
        watch.lost, watch.create_failed = None, False
        self.counters["lost_answers_adopted"] += 1
        stop = self._price_of(order)
        if stop is not None:
            self._record_move(key[0], stop, None, path, order)

    def lost_placement(self, key: TradeKey) -> Placement | None:
        watch = self.watches.peek(key)
        return watch.lost if watch else None

    def forget_closed(self, open_keys: set[TradeKey]) -> None:
        """Called by each reconciliation: what belonged to closed trades goes."""
        self.watches.forget_all_but(open_keys)
        self.through_price &= open_keys

    # ----- replacements the plugin performs itself ------------------------------------------------

    def _amend(self, trade: Any, order: dict, stop_loss: float, side: str) -> None:
        """Move the stop in place: one request, the same order id, never a moment without it.

        The new stop and limit are clamped into the exchange's price band as a new stop would be (a
        refusal that still names the band is retried once, wider). Any other refusal by the exchange
        (its rules, not its health) falls back to a replacement that places the new stop before
        cancelling the old one; a transient failure (retries spent, counted by the circuit breaker)
        leaves the stop where it is for a later iteration; an order that is no longer live is left to
        freqtrade, which reads its status next."""
        import ccxt

        key = (trade.pair, getattr(trade, "id", None))
        for retry, margin in enumerate(self._band_margins()):
            banded, types = self._into_band(key, trade.pair, side, float(stop_loss), self._order_types(), margin)
            stop, limit = self._amend_prices(trade.pair, order, banded, side, types)
            try:
                self._guarded("amend stop", lambda: self._amend_once(order, trade.pair, side, stop, limit))
            except TemporaryError as exc:
                self.counters["amend_failures"] += 1
                logger.warning("smart_trailing: amending the stop of %s failed; it stays in place: %s",
                               trade.pair, exc)
                return
            except ccxt.OrderNotFound as exc:
                self.counters["amend_order_gone"] += 1
                logger.info("smart_trailing: stop order %s of %s is no longer live (%s); not moved",
                            order["id"], trade.pair, exc)
                return
            except ccxt.BaseError as exc:
                if is_would_trigger(exc):
                    self._through_price(trade, key, stop_loss, self._price_of(order), None, exc)
                    return
                if not retry and is_band_refusal(exc):
                    self._band_refused("amended stop", trade.pair, exc)
                    continue
                self._amend_refused(key, trade, order, stop_loss, side, exc)
                return
            break
        self.watches.settle(key, AMEND_REFUSED)
        self._record_move(trade.pair, stop, 0.0, ReplacementPath.AMEND, order)

    def _amend_once(self, order: dict, pair: str, side: str, stop: float, limit: float | None) -> None:
        import ccxt

        api = self.exchange._api
        try:
            api.edit_order(order["id"], pair, order.get("type"), side, None, limit, {"triggerPrice": stop})
        except ccxt.ExchangeError as exc:
            if not amend_unchanged(api.id, exc):
                raise
            self.counters["amend_already_applied"] += 1  # a retried amend whose answer was lost

    def _amend_prices(self, pair: str, order: dict, stop_loss: float, side: str,
                      order_types: dict) -> tuple[float, float | None]:
        """The new trigger, rounded as freqtrade rounds a new stop, and for a limit stop its new limit
        (``stoploss_on_exchange_limit_ratio`` from it, as clamped into the band), so the amended order
        is the one freqtrade would place."""
        from freqtrade.exchange.exchange_utils import ROUND_DOWN, ROUND_UP

        rounding = ROUND_DOWN if side == "buy" else ROUND_UP
        stop = self.exchange.price_to_precision(pair, stop_loss, rounding_mode=rounding)
        if order.get("type") != "limit":
            return stop, None
        limit = self.exchange._get_stop_limit_rate(stop, order_types, side)
        return stop, self.exchange.price_to_precision(pair, limit, rounding_mode=rounding)

    def _amend_refused(self, key: TradeKey, trade: Any, order: dict, stop_loss: float, side: str,
                       error: BaseException) -> None:
        """The exchange would not move this stop in place: replace it, new stop first. If that fails
        too, the old stop is still live and still protects the trade."""
        self.counters["amend_refused"] += 1
        self.alarm(key, AMEND_REFUSED, f"the exchange refused to amend stop order {order['id']}: {error}; "
                                       "replacing it instead (new stop first)", order_id=order["id"])
        try:
            self._make_before_break(trade, order, stop_loss, side)
        except Exception as exc:
            self.counters["amend_fallback_failures"] += 1
            logger.warning("smart_trailing: replacing the stop of %s after a refused amend failed; "
                           "the old stop stays live: %s", trade.pair, exc)

    def _make_before_break(self, trade: Any, order: dict, stop_loss: float, side: str) -> None:
        from freqtrade.persistence import Order

        key = (trade.pair, getattr(trade, "id", None))
        try:
            created, stop = self._place_in_band(
                key, trade.pair, side, float(trade.amount), float(stop_loss), self._order_types(),
                self._known_stop_ids(trade, trade.pair) | {str(order["id"])},
                lambda stop, types: self._original["create_stoploss"](
                    pair=trade.pair, amount=trade.amount, stop_price=stop,
                    order_types=types, side=side, leverage=trade.leverage,
                ),
            )
        except InvalidOrderException as exc:
            if not is_would_trigger(exc):
                raise
            # The old stop stays live; the trade exits now instead (a refusal, not a failure).
            self._through_price(trade, key, stop_loss, self._price_of(order), None, exc)
            return
        record = Order.parse_from_ccxt_object(created, trade.pair, "stoploss", trade.amount, stop)
        trade.orders.append(record)
        noted = self._note_replacement(trade, created)
        cancelled: dict | None = None
        try:
            cancelled = self.cancel_stoploss_order(order["id"], trade.pair)
            self.watches.of(key).cancelled_at = None  # the new stop was live throughout
            if not went_off(cancelled):
                old = trade.select_order_by_order_id(order["id"])
                if old is not None:
                    old.update_from_ccxt_object({**order, **(cancelled or {}), "status": "canceled"})
        finally:
            if went_off(cancelled) and self._filled_while_replaced(trade, order, created, record, cancelled):
                latest = self.ledger.state_of(trade) if noted is not None else None
                if latest is not None:  # the old stop's fill is the trade's: the plugin's last is that stop
                    self.ledger.save(trade, replace(latest, exchange_stop_id=noted.exchange_stop_id))
            else:
                self._record_move(trade.pair, stop, 0.0, ReplacementPath.MAKE_BEFORE_BREAK, created)

    def _note_replacement(self, trade: Any, created: dict) -> TrailState | None:
        """Store the new stop's id as the plugin's last stop before the old one is cancelled; returns
        the state as it was (None when the trade has none).

        freqtrade commits its record of the new stop only after this iteration: a bot killed between
        the create and the cancel would restart with two live stops, the new one known to nobody. The
        stored id lets the reconciliation after a restart take the new stop back and cancel the old
        one (``reconcile.py``: an interrupted replacement)."""
        state = self.ledger.state_of(trade)
        if state is None or created.get("id") is None:
            return None
        self.ledger.save(trade, replace(state, exchange_stop_id=str(created["id"])))
        return state

    def _filled_while_replaced(self, trade: Any, old: dict, created: dict, record: Any,
                               answer: dict | None) -> bool:
        """The old stop filled between the new stop's creation and its own cancel.

        Its record is left open, so freqtrade reads it at its next iteration, finds it filled and
        books the exit as its own stop's (a record marked cancelled here would never be read again:
        the trade would stay open on an empty position). The new stop then guards nothing: it is
        cancelled, unless the fill closed only part of the position (it is reduce-only: it cannot
        close more than is left). False when the new stop stays as the trade's stop."""
        filled = filled_amount(answer)
        self.counters["filled_while_replaced"] += 1
        logger.info("smart_trailing: stop order %s of %s filled (%s of %s) while it was being replaced; "
                    "freqtrade books the exit", old["id"], trade.pair,
                    "?" if filled is None else f"{filled:.10g}", f"{float(trade.amount):.10g}")
        if not covers(filled, float(trade.amount)):
            self.counters["partial_fill_while_replaced"] += 1
            return False
        original = self._original["cancel_stoploss_order"]
        try:
            try:
                result = self._guarded("cancel stop", lambda: original(created["id"], trade.pair, None))
            except InvalidOrderException as exc:
                result = self._confirm_gone(created["id"], trade.pair, None, exc, block_create=False)
        except Exception as exc:
            self.counters["replacement_cancel_failures"] += 1
            logger.warning("smart_trailing: the replacement stop %s of %s (nothing left to protect) could "
                           "not be cancelled; the reconciliation clears it once the trade is closed: %s",
                           created["id"], trade.pair, exc)
            return True
        record.update_from_ccxt_object({**created, **(result or {}), "status": "canceled"})
        self.counters["replacements_cancelled_after_fill"] += 1
        return True

    # ----- bookkeeping ----------------------------------------------------------------------------

    def _record_move(self, pair: str, stop: float, window_ms: float | None, path: ReplacementPath,
                     order: dict | None) -> None:
        trade = self.ledger.open_trade(pair)
        state = self.ledger.state_of(trade) if trade is not None else None
        moved = state is not None and state.exchange_stop is not None
        if state is not None:
            order_id = (order or {}).get("id")
            self.ledger.save(trade, replace(
                state, exchange_stop=stop, exchange_moved_at=self._wall(),
                exchange_stop_id=str(order_id) if order_id is not None else state.exchange_stop_id,
                exchange_moves=state.exchange_moves + (1 if moved else 0),
            ))
        trade_id = getattr(trade, "id", None)
        self.watches.settle((pair, trade_id), UNPROTECTED)  # it has a stop again: a new episode may alarm
        if moved:
            self.counters[f"moves_{path.value}"] += 1
            self.events.emit(EventName.EXCHANGE_STOP_MOVED, trade_id, pair, stop=stop,
                             path=path.value, window_ms=window_ms)
        if window_ms is not None and window_ms > 0:
            self.windows_ms.append(window_ms)
            self.counters["unprotected_windows"] += 1
            if window_ms > self.settings.alert_unprotected_window_ms:
                self.events.emit(EventName.UNPROTECTED_WINDOW, trade_id, pair,
                                 window_ms=round(window_ms, 1),
                                 limit_ms=self.settings.alert_unprotected_window_ms)
