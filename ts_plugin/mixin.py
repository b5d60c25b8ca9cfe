"""SmartTrailingMixin: the thin adapter from freqtrade's strategy callbacks to the pure state machine.

    class MyStrategy(SmartTrailingMixin, IStrategy):
        use_custom_stoploss = True
        stoploss = -0.05          # stays the initial hard stop

Callbacks it implements (a strategy that defines them too must call ``super()``): ``__init__``,
``bot_start``, ``order_filled``, ``custom_stoploss``, ``advise_indicators``.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_seconds
from freqtrade.strategy import DecimalParameter, stoploss_from_absolute
from pandas import DataFrame

from ts_plugin import machine
from ts_plugin.config import CONFIG_SECTION, ConfigError, TrailingConfig, merge_settings, parse_config
from ts_plugin.events import EventLog, EventName
from ts_plugin.indicators import MomentumSeries, add_momentum_columns, momentum_series
from ts_plugin.state import Phase, StateError, TrailState
from ts_plugin.store import StateStore

logger = logging.getLogger("ts_plugin")

HYPEROPT_SPACE = "smart_trailing"
PERSISTENT_MODES = frozenset({RunMode.DRY_RUN, RunMode.LIVE})
STOP_EXIT_REASONS = frozenset({"stop_loss", "trailing_stop_loss", "stoploss_on_exchange", "liquidation"})

# Hyperopt parameter name -> how it changes the validated settings.
_PARAM_TARGETS = {
    "ts_activation_profit": ("activation_profit", None),
    "ts_trail_distance": ("trail_distance", None),
    "ts_breakeven_trigger": ("breakeven", "trigger_profit"),
}


class SmartTrailingMixin:
    """Smart trailing stop for any freqtrade strategy; state per trade in custom data ``smart_trailing``."""

    use_custom_stoploss = True
    # Strategy-level defaults; a ``smart_trailing`` section in config.json wins key by key.
    smart_trailing: dict[str, Any] = {}

    # Ranges keep every combination valid: the breakeven trigger stays below any activation profit.
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
        settings = merge_settings(self.smart_trailing, config.get(CONFIG_SECTION))
        try:
            self._ts_base_config = parse_config(settings)
        except ConfigError as exc:
            raise OperationalException(str(exc)) from None
        self._ts_settings = settings
        runmode = config.get("runmode")
        self._ts_store = StateStore(persist=runmode in PERSISTENT_MODES)
        self._ts_events = EventLog(verbose=runmode in PERSISTENT_MODES)
        self._ts_momentum: dict[str, MomentumSeries] = {}
        self._ts_active_params: tuple | None = None  # resolved on first use (after params load)
        self._ts_configs: dict[tuple, TrailingConfig] = {}
        self._ts_exits: Counter[str] = Counter()
        self._ts_tick_errors = 0
        self._ts_rebuilt = 0
        self._ts_governor = None
        self._ts_reconciler = None
        self._ts_health_at: float | None = None

    # ----- start-up -------------------------------------------------------------------------------

    def _ts_check_strategy(self) -> None:
        """Refuse set-ups in which the smart trailing stop would silently do nothing."""
        name = type(self).__name__
        if not getattr(self, "use_custom_stoploss", False):
            raise OperationalException(
                f"{name}: SmartTrailingMixin needs use_custom_stoploss = True (found False)."
            )
        if getattr(self, "trailing_stop", False):
            raise OperationalException(
                f"{name}: trailing_stop = True conflicts with SmartTrailingMixin: freqtrade's built-in "
                "trailing runs after custom_stoploss and would move the stop on its own. Set it to False."
            )
        if type(self).custom_stoploss is not SmartTrailingMixin.custom_stoploss:
            logger.error(
                "%s overrides custom_stoploss: the smart trailing stop only runs if that method "
                "returns super().custom_stoploss(...) (with after_fill as a named parameter).",
                name,
            )

    def bot_start(self, **kwargs: Any) -> None:
        """Wire event messages (dry-run/live) and install the stop-on-exchange governor."""
        dp = getattr(self, "dp", None)
        if self._ts_store.persist and self._ts_base_config.notify and dp is not None:
            self._ts_events.send = lambda text: dp.send_msg(text, always_send=True)
        if self._ts_store.persist and self.order_types.get("stoploss_on_exchange") and dp is not None:
            self._ts_install_governor(dp._exchange)
        parent = getattr(super(), "bot_start", None)
        if parent is not None:
            parent(**kwargs)

    def _ts_install_governor(self, exchange: Any) -> None:
        from ts_plugin.exchange.wiring import install_governor

        self._ts_governor, self._ts_reconciler = install_governor(self, exchange)

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        """Dry-run/live: reconcile stop orders with the exchange and publish the health view, at
        start-up and then every ``exchange.orphan_check_interval_s``."""
        now = current_time.timestamp() if self._ts_store.persist else 0.0
        if self._ts_store.persist and (
            self._ts_health_at is None
            or now - self._ts_health_at >= self._ts_base_config.exchange.orphan_check_interval_s
        ):
            self._ts_health_at = now
            if self._ts_reconciler is not None:
                from ts_plugin.exchange.wiring import reconcile_now

                reconcile_now(self, self._ts_reconciler, now)
            from ts_plugin.health import publish

            publish(self, now)
        parent = getattr(super(), "bot_loop_start", None)
        if parent is not None:
            parent(current_time=current_time, **kwargs)

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
        try:
            return self._ts_tick(pair, trade, current_time, current_rate, after_fill)
        except Exception:
            # freqtrade would swallow this and silently stop trailing: make it loud and counted.
            self._ts_tick_errors += 1
            logger.exception("smart_trailing: tick failed for trade %s (%s)", trade.id, pair)
            return None

    def _ts_tick(
        self, pair: str, trade: Any, current_time: datetime, current_rate: float, after_fill: bool
    ) -> float | None:
        store = self._ts_store
        key = store.key(trade)
        state = store.cache.get(key)
        now = current_time.timestamp()
        resync = after_fill
        if state is None:
            state = self._ts_load(pair, trade, now)
            resync = True  # first sight in this process: make sure freqtrade holds our stop
        config = self._ts_config()
        momentum = None
        if config.momentum is not None:
            series = self._ts_momentum.get(pair)
            momentum = series.at(now) if series is not None else None
        updated, events = machine.step(state, current_rate, now, config, momentum)
        if updated is not state:
            store.cache[key] = updated
            store.write(trade, updated)
            for event in events:
                self._ts_events.emit(
                    event.name, trade.id, pair, price=event.price, stop=event.stop, detail=event.detail
                )
        if updated.stop is None or (updated.stop == state.stop and not resync):
            return None
        return stoploss_from_absolute(
            updated.stop, current_rate, is_short=trade.is_short, leverage=trade.leverage or 1.0
        )

    def _ts_load(self, pair: str, trade: Any, now: float) -> TrailState:
        """State from custom data; rebuilt from the trade itself (and stored) when missing or corrupt."""
        store = self._ts_store
        problem = "no stored state"
        corrupt = False
        try:
            state = store.read(trade)
        except StateError as exc:
            state, problem, corrupt = None, f"stored state unreadable ({exc})", True
        if state is None:
            state = self._ts_rebuild(trade, now)
            self._ts_rebuilt += 1
            self._ts_events.emit(
                EventName.WARNING, trade.id, pair,
                reason=f"{problem}; rebuilt from the trade", phase=state.phase.value,
                peak=state.peak, stop=state.stop,
            )
            store.write(trade, state, replace_corrupt=corrupt)
        store.cache[store.key(trade)] = state
        return state

    def _ts_rebuild(self, trade: Any, now: float) -> TrailState:
        is_short = bool(trade.is_short)
        best = trade.min_rate if is_short else trade.max_rate
        moved = bool(getattr(trade, "is_stop_loss_trailing", False))
        return machine.adopt(
            entry=float(trade.open_rate),
            is_short=is_short,
            opened_at=trade.open_date_utc.timestamp(),
            now=now,
            best_price=float(best) if best else None,
            current_stop=float(trade.stop_loss) if moved and trade.stop_loss else None,
            config=self._ts_config(),
            rebuilds=1,
        )

    # ----- fills and exits ------------------------------------------------------------------------

    def order_filled(self, pair: str, trade: Any, order: Any, current_time: datetime, **kwargs: Any):
        """Create the state on the first entry fill, follow entry changes, close it on the exit fill."""
        try:
            self._ts_on_fill(pair, trade, order, current_time)
        except Exception:
            self._ts_tick_errors += 1
            logger.exception("smart_trailing: fill handling failed for trade %s (%s)", trade.id, pair)
        parent = getattr(super(), "order_filled", None)
        if parent is not None:
            return parent(pair=pair, trade=trade, order=order, current_time=current_time, **kwargs)
        return None

    def _ts_on_fill(self, pair: str, trade: Any, order: Any, current_time: datetime) -> None:
        store = self._ts_store
        key = store.key(trade)
        state = store.cache.get(key)
        now = current_time.timestamp()
        side = order.ft_order_side
        if side == trade.entry_side:
            if state is None:
                state = machine.new_state(
                    float(trade.open_rate), bool(trade.is_short),
                    trade.open_date_utc.timestamp(), self._ts_config(),
                )
                self._ts_events.emit(EventName.CREATED, trade.id, pair, entry=state.entry,
                                     activation_price=state.activation_price)
            elif state.entry != float(trade.open_rate):  # position adjusted: new average entry
                state = machine.rebase_entry(state, float(trade.open_rate), now, self._ts_config())
            else:
                return
            store.cache[key] = state
            store.write(trade, state)
            return
        if side != trade.exit_side and side != "stoploss":
            return
        # Live, the trade is already updated by the fill; in backtesting it closes after this call.
        full_exit = not trade.is_open if store.persist else order.safe_amount >= trade.amount
        if not full_exit:
            return  # partial exit: keep trailing the rest
        reason = trade.exit_reason or "unknown"
        self._ts_exits[reason] += 1
        if state is None:
            return
        name = EventName.TRIGGERED if reason in STOP_EXIT_REASONS else EventName.REMOVED
        self._ts_events.emit(name, trade.id, pair, reason=reason, stop=state.stop, peak=state.peak)
        store.write(trade, machine.close(state, now, reason))
        del store.cache[key]

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
            "store_write_failures": self._ts_store.write_failures,
            "exits_by_reason": dict(self._ts_exits),
        }
