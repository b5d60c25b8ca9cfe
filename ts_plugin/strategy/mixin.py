"""SmartTrailingMixin: the thin adapter from freqtrade's strategy callbacks to the pure state machine.

    class MyStrategy(SmartTrailingMixin, IStrategy):
        use_custom_stoploss = True
        stoploss = -0.05          # stays the initial hard stop

Callbacks it implements: ``custom_stoploss``, ``custom_exit``, ``order_filled``, ``bot_loop_start``,
``advise_indicators``, ``advise_exit`` and freqtrade's ``ft_bot_start``. A strategy may define the
callbacks too, with or without ``super()``: the plugin's part runs regardless (see hooks.py).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_seconds
from freqtrade.strategy import DecimalParameter, IStrategy, stoploss_from_absolute
from pandas import DataFrame

from ts_plugin.core import machine
from ts_plugin.core.config import CONFIG_SECTION, ConfigError, TrailingConfig, merge_settings, parse_config
from ts_plugin.core.consistency import STOP_TOLERANCE, contradiction
from ts_plugin.core.events import EventLog, EventName
from ts_plugin.core.indicators import MomentumSeries, add_momentum_columns, momentum_series
from ts_plugin.core.quiet_tick import QuietPlan
from ts_plugin.core.state import Phase, StateError, TrailState
from ts_plugin.strategy import hooks
from ts_plugin.strategy.builtin_match import trailing_value
from ts_plugin.strategy.event_views import lookup_view
from ts_plugin.strategy.health import HealthSchedule, publish
from ts_plugin.strategy.hyperopt_space import fit_parameters
from ts_plugin.strategy.rebuild_facts import rebuild_best_price
from ts_plugin.strategy.store import StateStore
from ts_plugin.strategy.summary import exit_kind, is_losing_entry_candle_trailing_exit
from ts_plugin.strategy.trade_facts import moved_stop, trade_facts

logger = logging.getLogger("ts_plugin")

HYPEROPT_SPACE = "smart_trailing"
PERSISTENT_MODES = frozenset({RunMode.DRY_RUN, RunMode.LIVE})
STOP_EXIT_REASONS = frozenset({"stop_loss", "trailing_stop_loss", "stoploss_on_exchange", "liquidation"})
# The exit reason of a trade closed because its stop was already at or through the price.
CROSSED_EXIT_REASON = "smart_trailing_stop_crossed"

# Hyperopt parameter name -> how it changes the validated settings.
_PARAM_TARGETS = {
    "ts_activation_profit": ("activation_profit", None),
    "ts_trail_distance": ("trail_distance", None),
    "ts_breakeven_trigger": ("breakeven", "trigger_profit"),
}


class SmartTrailingMixin(IStrategy):
    """Smart trailing stop for any freqtrade strategy; state per trade in custom data ``smart_trailing``.

    A subclass of IStrategy itself: a strategy that lists IStrategy before the mixin cannot even be
    defined, and hyperopt's workers can pickle the strategy (freqtrade walks the bases up to IStrategy).
    """

    use_custom_stoploss = True
    # Strategy-level defaults; a ``smart_trailing`` section in config.json wins key by key.
    smart_trailing: dict[str, Any] = {}

    # The outer ranges; each instance fits them to its settings (hyperopt_space.fit_parameters).
    ts_activation_profit = DecimalParameter(
        0.010, 0.050, decimals=3, default=0.015, space=HYPEROPT_SPACE, optimize=True, load=True
    )
    ts_trail_distance = DecimalParameter(
        0.002, 0.030, decimals=3, default=0.005, space=HYPEROPT_SPACE, optimize=True, load=True
    )
    ts_breakeven_trigger = DecimalParameter(
        0.003, 0.009, decimals=3, default=0.008, space=HYPEROPT_SPACE, optimize=True, load=True
    )

    def __init__(self, config: dict) -> None:
        super().__init__(config)  # type: ignore[call-arg]
        self._ts_check_strategy()
        try:
            # The layers stay apart for the start-up report of where each setting came from.
            self._ts_layers = (self.smart_trailing, config.get(CONFIG_SECTION))
            settings = merge_settings(*self._ts_layers)
            self._ts_base_config = parse_config(settings)
            for line in fit_parameters(self, self._ts_base_config):
                logger.info("smart_trailing: %s", line)
        except ConfigError as exc:
            raise OperationalException(str(exc)) from None
        self._ts_settings = settings
        runmode = config.get("runmode")
        self._ts_store = StateStore(persist=runmode in PERSISTENT_MODES)
        self._ts_events = EventLog(verbose=runmode in PERSISTENT_MODES)
        self._ts_momentum: dict[str, MomentumSeries] = {}
        self._ts_active_params: tuple | None = None  # resolved on first use (after params load)
        self._ts_configs: dict[tuple, TrailingConfig] = {}
        self._ts_plan: QuietPlan | None = None  # the fast path's view of the config in force
        self._ts_exits: Counter[str] = Counter()
        self._ts_exit_kinds: Counter[str] = Counter()  # what closed each trade (summary.exit_kind)
        self._ts_entry_candle_losses = 0
        self._ts_tick_errors = 0
        self._ts_rebuilt = 0
        self._ts_governor = None
        self._ts_reconciler = None
        self._ts_health = HealthSchedule()
        self._ts_inside: set[str] = set()  # hooked callbacks being run (see hooks.py)
        self._ts_inner_stoploss: float | None = None
        self._ts_exit_signals_forced = False
        self._ts_crossed: set = set()  # cache keys of open trades due to exit (stop through the price)
        self._ts_through_price: set = set()  # the same, seen by the governor (exchange stop behind)
        self._ts_bad_rates = 0
        self._ts_bad_rate_trades: set = set()
        self._ts_last_time: Any = None  # the last tick's time and its POSIX seconds (_ts_seconds)
        self._ts_last_seconds = 0.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a base order the plugin cannot run in; make overrides unable to skip the plugin."""
        super().__init_subclass__(**kwargs)
        hooks.check_base_order(cls, SmartTrailingMixin)
        cls._ts_wrapped = (*getattr(cls, "_ts_wrapped", ()), *hooks.wrap_overrides(cls))

    # ----- start-up -------------------------------------------------------------------------------

    def _ts_check_strategy(self) -> None:
        """Refuse set-ups in which the smart trailing stop would silently do nothing.

        Run in ``__init__`` (the class's own values) and again in ``ft_bot_start``, after freqtrade
        applied config.json's overrides (``trailing_stop``, ``use_custom_stoploss``) to the strategy.
        """
        name = type(self).__name__
        if not getattr(self, "use_custom_stoploss", False):
            raise OperationalException(
                f"{name}: SmartTrailingMixin needs use_custom_stoploss = true (found false in the "
                "strategy class or in config.json). Remove it from config.json or set it to true."
            )
        if getattr(self, "trailing_stop", False):
            raise OperationalException(
                f"{name}: trailing_stop = true (in the strategy class or config.json) conflicts with "
                "SmartTrailingMixin: freqtrade's built-in trailing runs after custom_stoploss and would "
                "move the stop on its own. Remove it from config.json or set it to false."
            )

    def ft_bot_start(self, **kwargs: Any) -> None:
        """Check the final settings, wire messages and the stop-on-exchange governor, then let
        freqtrade run the strategy's ``bot_start``. Hooked here, not in ``bot_start``, so that a
        strategy's own ``bot_start`` cannot skip it."""
        if not hasattr(self, "_ts_store"):
            raise OperationalException(
                f"{type(self).__name__}.__init__ must call super().__init__(config): "
                "the smart trailing stop is not set up."
            )
        self._ts_check_strategy()
        if (wrapped := hooks.describe_wrapped(type(self))) is not None:
            logger.info(wrapped)  # a forgotten super() in an override is said, not combined silently
        self._ts_open_exit_path()
        dp = getattr(self, "dp", None)
        if self._ts_store.persist and self._ts_base_config.notify and dp is not None:
            self._ts_events.send = lambda text: dp.send_msg(text, always_send=True)
            self._ts_events.lookup = lambda trade_id, pair: lookup_view(dp._exchange, trade_id, pair)
        if self._ts_store.persist and self._ts_base_config.notify:
            from ts_plugin.strategy.alarm_delivery import announce

            self._ts_delivery = announce(self.config)  # channels that would drop the alarms: WARNING
        if self._ts_store.persist and self.order_types.get("stoploss_on_exchange") and dp is not None:
            self._ts_install_governor(dp._exchange)
        elif self._ts_store.persist and self._ts_base_config.exchange.native_backstop:
            logger.warning("smart_trailing: exchange.native_backstop is on but order_types.stoploss_on_exchange "
                           "is off: no native trailing backstop will be held (it lives beside the stop on "
                           "the exchange)")
        if self._ts_store.persist and dp is not None:
            from ts_plugin.strategy.telegram_command import TrailingCommand

            self._ts_telegram = TrailingCommand(self)  # /trailing in freqtrade's Telegram
            self._ts_telegram.try_register(dp)
        super().ft_bot_start(**kwargs)  # type: ignore[misc]
        self._ts_report_settings()

    def _ts_report_settings(self) -> None:
        """One INFO line (and a message in dry-run/live) with every setting in force and its source.
        Here, after freqtrade loaded the hyperopt parameters (in ``IStrategy.ft_bot_start``)."""
        from ts_plugin.strategy.settings_report import report

        line, message = report(self, self._ts_config(), *self._ts_layers)
        logger.info(line)
        self._ts_events.notify(message)

    def _ts_open_exit_path(self) -> None:
        """freqtrade calls ``custom_exit`` only with ``use_exit_signal``; the plugin needs it to close a
        trade whose stop is already through the price. When the strategy switched exit signals off,
        the plugin switches them on only while such a trade is open (``_ts_exit_due``): each call
        costs freqtrade a wrapper on every candle, so it is not paid when nothing is due. The
        strategy's exit columns are blanked (``advise_exit``) and its own ``custom_exit`` not called."""
        if getattr(self, "use_exit_signal", True):
            return
        self._ts_exit_signals_forced = True
        logger.info(
            "smart_trailing: use_exit_signal is false: the plugin turns it on only while a trade's stop "
            "is already through the price, for its own exit; the strategy's exit signals stay ignored"
        )

    def _ts_exit_due(self, key: Any, due: bool) -> None:
        """Track trades whose stop is through the price; keep freqtrade's custom_exit calls open
        exactly while there is one (only when the strategy had exit signals off)."""
        if due:
            self._ts_crossed.add(key)
        else:
            self._ts_crossed.discard(key)
        if self._ts_exit_signals_forced:
            self.use_exit_signal = bool(self._ts_crossed)

    def _ts_stop_through_price(self, trade: Any) -> None:
        """The governor saw this trade's stop at or through the price while the exchange stop is not
        (live, stoploss on exchange: freqtrade leaves the exit to that stop): exit now (``custom_exit``)."""
        key = self._ts_store.key(trade)
        self._ts_through_price.add(key)
        self._ts_exit_due(key, True)

    def _ts_install_governor(self, exchange: Any) -> None:
        from ts_plugin.exchange.wiring import install_governor

        self._ts_governor, self._ts_reconciler = install_governor(self, exchange)

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        """Dry-run/live: reconcile stop orders with the exchange and publish the health view."""
        if "bot_loop_start" not in self._ts_inside:
            self._ts_loop_part(current_time)
        return super().bot_loop_start(current_time=current_time, **kwargs)  # type: ignore[misc]

    def _ts_loop_part(self, current_time: datetime) -> None:
        """Dry-run/live: reconcile at start-up and then every ``exchange.orphan_check_interval_s``;
        publish the health view when it is due (``health.HealthSchedule``) and after a reconciliation."""
        if not self._ts_store.persist:
            return
        telegram = getattr(self, "_ts_telegram", None)
        if telegram is not None and telegram.pending:  # Telegram's thread was not ready at bot_start
            telegram.try_register(getattr(self, "dp", None))
        now = current_time.timestamp()
        reconciler = self._ts_reconciler
        reconciled = reconciler is not None and reconciler.due(
            now, self._ts_base_config.exchange.orphan_check_interval_s)
        if reconciled:
            from ts_plugin.exchange.wiring import reconcile_now

            reconcile_now(self, reconciler, now)
        if reconciled or self._ts_health.due(now):
            self._ts_health.mark(now)
            publish(self, now)

    # ----- indicators -----------------------------------------------------------------------------

    def advise_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Run the strategy's indicators, then add and snapshot the momentum inputs when configured.

        Hooked here rather than in populate_indicators so it works whether or not the strategy's
        populate_indicators calls super().
        """
        dataframe = super().advise_indicators(dataframe, metadata)  # type: ignore[misc]
        tuning = self._ts_base_config.momentum
        if tuning is not None and len(dataframe):
            dataframe = add_momentum_columns(dataframe, tuning)
            seconds = timeframe_to_seconds(self.timeframe)  # type: ignore[attr-defined]
            self._ts_momentum[metadata["pair"]] = momentum_series(dataframe, seconds)
        return dataframe

    # ----- configuration per tick -----------------------------------------------------------------

    def _ts_config(self) -> TrailingConfig:
        """The settings in force now: base settings, with hyperopt parameters that are in play."""
        active = self._ts_active_params
        if active is None:
            active = self._ts_active_params = self._ts_resolve_active_params()
        if not active:
            return self._ts_base_config
        values = tuple(param.value for _, param in active)
        config = self._ts_configs.get(values)
        if config is None:
            config = self._ts_configs[values] = self._ts_apply_params(active, values)
        return config

    def _ts_resolve_active_params(self) -> tuple:
        """Parameters being optimised now, or loaded from a params file / ``smart_trailing_params``."""
        loaded = dict(getattr(self, "_ft_params_from_file", {}).get(HYPEROPT_SPACE, {}))
        loaded.update(getattr(self, f"{HYPEROPT_SPACE}_params", {}) or {})
        active = []
        for name in _PARAM_TARGETS:
            param = getattr(self, name, None)
            if param is None:
                continue
            if (param.in_space and param.optimize) or name in loaded:
                if name == "ts_breakeven_trigger" and self._ts_base_config.breakeven is None:
                    logger.info("smart_trailing: %s ignored, no breakeven block configured", name)
                    continue
                active.append((name, param))
        return tuple(active)

    def _ts_apply_params(self, active: tuple, values: tuple) -> TrailingConfig:
        settings = dict(self._ts_settings)
        for (name, _), value in zip(active, values):
            key, sub_key = _PARAM_TARGETS[name]
            if sub_key is None:
                settings[key] = float(value)
            else:
                settings[key] = {**(settings.get(key) or {}), sub_key: float(value)}
        try:
            return parse_config(settings)
        except ConfigError as exc:
            # Never raise in the loop: keep the validated base settings and say why, once per combination.
            self._ts_events.emit(EventName.WARNING, None, "-", reason=f"parameters ignored: {exc}")
            return self._ts_base_config

    # ----- the tick -------------------------------------------------------------------------------

    @hooks.library_callback
    def custom_stoploss(
        self,
        pair: str,
        trade: Any,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs: Any,
    ) -> float | None:
        """Advance the trade's trailing state; return a new stop (freqtrade's relative form) or None."""
        if "custom_stoploss" in self._ts_inside:  # super() from a strategy's own custom_stoploss
            return self._ts_inner_stoploss
        return self._ts_stoploss_part(pair, trade, current_time, current_rate, after_fill, current_profit)

    def _ts_stoploss_part(
        self, pair: str, trade: Any, current_time: datetime, current_rate: float, after_fill: bool,
        current_profit: float | None = None,
    ) -> float | None:
        try:
            if not after_fill:
                # The fast path: a tick on which machine.step would return the state itself hands
                # freqtrade nothing, exactly as _ts_tick would (see core/quiet_tick.py).
                store = self._ts_store
                key = store.key(trade)
                state = store.cache.get(key)
                if state is not None:
                    config = self._ts_config()
                    plan = self._ts_plan
                    if plan is None or plan.config is not config:
                        plan = self._ts_plan = QuietPlan(config)
                    now = self._ts_seconds(current_time) if plan.needs_time else 0.0
                    if plan.is_quiet(state, current_rate, now, current_profit):
                        return None
                    moved = plan.moves_peak_only(state, current_rate, self._ts_seconds(current_time), current_profit)
                    if moved is not None:  # a new best price while waiting, nothing else: _ts_tick's result
                        store.cache[key] = moved
                        store.write(trade, moved)
                        return None
            return self._ts_tick(pair, trade, current_time, current_rate, after_fill, current_profit)
        except Exception:
            # freqtrade would swallow this and silently stop trailing: make it loud and counted.
            self._ts_tick_errors += 1
            logger.exception("smart_trailing: tick failed for trade %s (%s)", trade.id, pair)
            return None

    def _ts_tick(
        self, pair: str, trade: Any, current_time: datetime, current_rate: float, after_fill: bool,
        current_profit: float | None = None,
    ) -> float | None:
        if not machine.is_valid_price(current_rate):
            self._ts_bad_rate(pair, trade, current_rate)
            return None
        store = self._ts_store
        key = store.key(trade)
        state = store.cache.get(key)
        now = self._ts_seconds(current_time)
        resync = after_fill
        if state is None:
            state = self._ts_load(pair, trade, now)
            resync = True  # first sight in this process: make sure freqtrade holds our stop
        config = self._ts_config()
        momentum = None
        if config.momentum is not None:
            series = self._ts_momentum.get(pair)
            momentum = series.at(now) if series is not None else None
        updated, events = machine.step(state, current_rate, now, config, momentum, profit=current_profit)
        if updated is not state:
            store.cache[key] = updated
            store.write(trade, updated)
            if updated.crossed_at is not None and state.crossed_at is None:
                self._ts_exit_due(key, True)
            for event in events:
                self._ts_events.emit(
                    event.name, trade.id, pair, price=event.price, stop=event.stop, detail=event.detail,
                    trade=trade, stop_now=updated.stop,
                )
        stop = updated.stop
        if stop is None or (stop == state.stop and not resync):
            return None
        if not machine.is_safe_side(stop, current_rate, updated.is_short):
            return None  # a stop through the price cannot be handed over: custom_exit closes the trade
        if config.activation_basis == "profit_after_fees":
            exact = trailing_value(updated, current_rate, trade.leverage or 1.0)
            if exact is not None:
                return self._ts_never_looser(trade, current_rate, exact)
        return self._ts_never_looser(
            trade, current_rate,
            stoploss_from_absolute(stop, current_rate, is_short=trade.is_short, leverage=trade.leverage or 1.0),
        )

    def _ts_seconds(self, current_time: datetime) -> float:
        """``current_time.timestamp()``, remembered for the next call: a backtest asks for every open
        trade of a candle in a row, each time with a new datetime of the same instant, and freqtrade's
        datetimes carry a ``ZoneInfo("UTC")``, whose ``timestamp()`` costs about a microsecond (a
        fifth of the plugin's work per tick); comparing two of them costs a twentieth of that. Equal
        datetimes of the same ``fold`` (Python ignores it when both share a tzinfo, or are naive) are
        the same instant, so their seconds are the same."""
        last = self._ts_last_time
        if current_time != last or current_time.fold != last.fold:
            self._ts_last_seconds = current_time.timestamp()
            self._ts_last_time = current_time
        return self._ts_last_seconds

    def _ts_never_looser(self, trade: Any, current_rate: float, value: float | None) -> float | None:
        """``value`` unless it would put freqtrade's stop looser than the stop the trade holds now
        (freqtrade lets an after-fill call move the stop both ways)."""
        if not hooks.is_stop_value(value):
            return None
        leverage = trade.leverage or 1.0
        is_short = bool(trade.is_short)
        distance = abs(value) / leverage
        stop = current_rate * (1 + distance) if is_short else current_rate * (1 - distance)
        held = trade.stop_loss
        if held and machine.is_tighter(held, stop, is_short) and abs(held - stop) > held * STOP_TOLERANCE:
            return None
        return value

    def _ts_bad_rate(self, pair: str, trade: Any, rate: Any) -> None:
        """A rate the plugin must not act on (NaN, inf, zero, negative): said once per trade."""
        self._ts_bad_rates += 1
        key = self._ts_store.key(trade)
        if key not in self._ts_bad_rate_trades:
            self._ts_bad_rate_trades.add(key)
            self._ts_events.emit(EventName.WARNING, trade.id, pair, rate=rate,
                                 reason="unusable current_rate ignored; the stop is kept as it is")

    # ----- exits the stop cannot make -------------------------------------------------------------

    @hooks.library_callback
    def custom_exit(self, pair: str, trade: Any, current_time: datetime, current_rate: float,
                    current_profit: float, **kwargs: Any) -> str | None:
        """Close a trade whose stop the rules put at or through the price (see machine.py)."""
        if "custom_exit" in self._ts_inside:  # super() from a strategy's own custom_exit
            return None
        return self._ts_exit_part(trade, current_rate)

    def _ts_adjust_part(self, trade: Any, result: Any) -> Any:
        """The strategy's ``adjust_trade_position`` answer, held back (None) when it adds to a trade
        that is exiting (an exit order of it is open) or whose stop the exchange says went off before
        freqtrade booked it (live, stop on exchange).

        freqtrade asks for adjustments while an exit order is open and, to place an added entry,
        cancels that exit: an emergency exit after a refused stop, or the exit of a stop through the
        price, would give way to more of a position with no stop (the Bybit soak: the exit had filled,
        and the added entry reopened the closed trade)."""
        stake = result[0] if isinstance(result, tuple) and result else result
        if (self._ts_governor is None or isinstance(stake, bool) or not isinstance(stake, (int, float))
                or not stake > 0):
            return result
        exit_side = getattr(trade, "exit_side", None)
        exiting = [o.order_id for o in getattr(trade, "open_orders", None) or ()
                   if exit_side is not None and getattr(o, "ft_order_side", None) == exit_side]
        if exiting:
            self._ts_governor.counters["entries_held_while_exiting"] += 1
            logger.info("smart_trailing: entry adjustment of trade %s (%s) held back: its exit order %s is "
                        "open", getattr(trade, "id", None), trade.pair, exiting[0])
            return None
        went_off = self._ts_governor.stop_went_off(trade)
        if went_off is None:
            return result
        logger.info("smart_trailing: entry adjustment of trade %s (%s) held back: its stop order %s went "
                    "off; freqtrade books that exit first", getattr(trade, "id", None), trade.pair, went_off)
        return None

    def _ts_exit_part(self, trade: Any, current_rate: float | None = None) -> str | None:
        store = self._ts_store
        key = store.key(trade)
        state = store.cache.get(key)
        if state is not None and state.crossed_at is not None and state.phase is not Phase.CLOSED:
            return CROSSED_EXIT_REASON
        if key in self._ts_through_price:
            return CROSSED_EXIT_REASON
        governor = self._ts_governor  # live with stoploss on exchange: freqtrade leaves its stop to the exchange
        if governor is not None and state is not None and machine.is_valid_price(current_rate) \
                and governor.exit_due_now(trade, state.exchange_stop, float(current_rate)):
            return CROSSED_EXIT_REASON
        return None

    def advise_exit(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """The strategy's exit signals, blanked when the strategy had switched them off (see
        ``_ts_open_exit_path``)."""
        dataframe = super().advise_exit(dataframe, metadata)  # type: ignore[misc]
        if self._ts_exit_signals_forced:
            for column in ("exit_long", "exit_short"):
                if column in dataframe.columns:
                    dataframe[column] = 0
        return dataframe

    # ----- the one way into a trade's state -------------------------------------------------------

    def _ts_load(self, pair: str, trade: Any, now: float, new_trade: bool = False) -> TrailState:
        """The trade's state: cache, else custom data checked against the trade, else rebuilt from the
        trade (WARNING, counted, stored). ``new_trade``: the first entry fill, where no stored state is
        expected and a fresh one is CREATED."""
        store = self._ts_store
        key = store.key(trade)
        cached = store.cache.get(key)
        if cached is not None:
            return cached
        problem, replace_row, previous = None, False, None
        try:
            previous = store.read(trade)
        except StateError as exc:
            problem, replace_row = f"stored state unreadable ({exc})", True
        if previous is not None:
            problem = contradiction(previous, trade_facts(trade))
            replace_row = problem is not None
        elif problem is None and not new_trade:
            problem = "no stored state"
        if previous is not None and problem is None:
            state = previous
        elif problem is None:
            state = machine.new_state(
                float(trade.open_rate), bool(trade.is_short), trade.open_date_utc.timestamp(), self._ts_config()
            )
            self._ts_events.emit(EventName.CREATED, trade.id, pair, entry=state.entry,
                                 activation_price=state.activation_price)
            store.write(trade, state)
        else:
            state = self._ts_rebuild(trade, now, 1 + (previous.rebuilds if previous else 0))
            self._ts_rebuilt += 1
            self._ts_events.emit(
                EventName.WARNING, trade.id, pair,
                reason=f"{problem}; rebuilt from the trade", phase=state.phase.value,
                peak=state.peak, stop=state.stop,
            )
            store.write(trade, state, replace_corrupt=replace_row)
        store.cache[key] = state
        if state.crossed_at is not None and state.phase is not Phase.CLOSED:
            self._ts_exit_due(key, True)
        return state

    def _ts_rebuild(self, trade: Any, now: float, rebuilds: int) -> TrailState:
        config = self._ts_config()
        series = self._ts_momentum.get(trade.pair) if config.momentum is not None else None
        return machine.adopt(
            entry=float(trade.open_rate),
            is_short=bool(trade.is_short),
            opened_at=trade.open_date_utc.timestamp(),
            now=now,
            best_price=rebuild_best_price(trade),
            current_stop=moved_stop(trade),
            config=config,
            rebuilds=rebuilds,
            momentum=series.at(now) if series is not None else None,  # what the next tick reads
        )

    # ----- fills and exits ------------------------------------------------------------------------

    @hooks.library_callback
    def order_filled(self, pair: str, trade: Any, order: Any, current_time: datetime, **kwargs: Any):
        """Create the state on the first entry fill, follow entry changes, close it on the exit fill."""
        if "order_filled" not in self._ts_inside:
            self._ts_fill_part(pair, trade, order, current_time)
        return super().order_filled(  # type: ignore[misc]
            pair=pair, trade=trade, order=order, current_time=current_time, **kwargs
        )

    def _ts_fill_part(self, pair: str, trade: Any, order: Any, current_time: datetime) -> None:
        try:
            self._ts_on_fill(pair, trade, order, current_time)
        except Exception:
            self._ts_tick_errors += 1
            logger.exception("smart_trailing: fill handling failed for trade %s (%s)", trade.id, pair)

    def _ts_on_fill(self, pair: str, trade: Any, order: Any, current_time: datetime) -> None:
        store = self._ts_store
        key = store.key(trade)
        now = current_time.timestamp()
        side = order.ft_order_side
        if side == trade.entry_side:
            first_fill = key not in store.cache and (trade.nr_of_successful_entries or 0) <= 1
            state = self._ts_load(pair, trade, now, new_trade=first_fill)
            entry = float(trade.open_rate)
            if state.entry != entry:  # position adjusted: new average entry
                state = machine.rebase_entry(state, entry, now, self._ts_config(), price=getattr(order, "safe_price", None))
                store.cache[key] = state
                store.write(trade, state)
            if not first_fill and self._ts_governor is not None:
                self._ts_governor.follow_entry(trade)  # the exchange stop for the new amount, now
            return
        if side != trade.exit_side and side != "stoploss":
            return
        # Live, the trade is already updated by the fill; in backtesting it closes after this call.
        full_exit = not trade.is_open if store.persist else order.safe_amount >= trade.amount
        if not full_exit:
            return  # partial exit: keep trailing the rest
        reason = trade.exit_reason or "unknown"
        self._ts_exits[reason] += 1
        state = self._ts_load(pair, trade, now)  # after a restart the exit fill may come first
        price = getattr(order, "safe_price", None)
        self._ts_count_exit(state, reason, trade, price, now)
        name = EventName.TRIGGERED if reason in STOP_EXIT_REASONS else EventName.REMOVED
        self._ts_events.emit(name, trade.id, pair, reason=reason, phase=state.phase.value, price=price,
                             stop=state.stop, peak=state.peak, trade=trade)
        store.write(trade, machine.close(state, now, reason))
        store.cache.pop(key, None)
        self._ts_through_price.discard(key)
        self._ts_exit_due(key, False)

    def _ts_count_exit(self, state: TrailState, reason: str, trade: Any, price: Any, now: float) -> None:
        """The summary's counters: what closed the trade (phase at exit), losing entry-candle trailing
        exits. In memory, a fixed number of counters."""
        self._ts_exit_kinds[exit_kind(state.phase.value, reason, CROSSED_EXIT_REASON)] += 1
        # The profit is asked only on the entry candle, the only place it counts (freqtrade's is costly).
        if reason == "trailing_stop_loss" and now - trade.open_date_utc.timestamp() < 60 \
                and machine.is_valid_price(price):
            profit = trade.calc_profit_ratio(float(price)) if hasattr(trade, "calc_profit_ratio") else None
            if is_losing_entry_candle_trailing_exit(reason, trade.open_date_utc.timestamp(), now, profit):
                self._ts_entry_candle_losses += 1

    # ----- visibility -----------------------------------------------------------------------------

    def trailing_summary(self) -> dict[str, Any]:
        """Counters of this process: trades seen, breakeven/activation reached, raises, exits, errors."""
        counts = self._ts_events.counts
        return {
            "trades_seen": counts["CREATED"] + self._ts_rebuilt,
            "breakeven": counts["BREAKEVEN"],
            "activated": counts["ACTIVATED"],
            "stop_raises": counts["STOP_RAISED"],
            "triggered": counts["TRIGGERED"],
            "rebuilt": self._ts_rebuilt,
            "tick_errors": self._ts_tick_errors,
            "unusable_rates": self._ts_bad_rates,
            "store_write_failures": self._ts_store.write_failures,
            "exits_by_reason": dict(self._ts_exits),
            "exits_by_phase": dict(self._ts_exit_kinds),
            "activated_by": dict(self._ts_events.activated_by),
            "losing_trailing_exits_on_entry_candle": self._ts_entry_candle_losses,
            "timeframe_detail": (getattr(self, "config", None) or {}).get("timeframe_detail"),
        }
