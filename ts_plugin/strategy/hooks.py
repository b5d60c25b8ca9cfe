"""The plugin's part of every freqtrade callback runs, whether or not an override calls ``super()``.

A strategy that defines ``bot_loop_start``, ``order_filled``, ``custom_stoploss`` or ``custom_exit``
itself would otherwise replace the mixin's version, and forgetting ``super()`` would silently switch
off reconciliation, fill tracking, the trailing stop or the exit of a trade whose stop is already
through the price. So each such override is wrapped when its class is defined: the wrapper runs the
plugin's part once (the outermost call), then the strategy's own code; a ``super()`` call from that
code reaches the mixin, which sees it is already inside and does not run the plugin's part again.

``custom_stoploss``: the strategy's value and the plugin's are combined, the tighter one wins.
``adjust_trade_position`` (the mixin has none of its own): an added entry is held back while the
exchange says the trade's stop went off (live, stop on exchange), see ``StopGovernor.stop_went_off``.
The wrapped overrides are named in one INFO line at start-up (``describe_wrapped``), so a forgotten
``super()`` is not combined silently.

A base listed before the mixin (``class S(MyBase, SmartTrailingMixin)``) that defines one of the
mixin's methods cannot be repaired here (it would shadow the mixin's): it is refused when the class is
defined, naming the base and the methods, as freqtrade's one-line start-up error
(``OperationalException``: ``freqtrade trade``, ``backtesting`` and ``hyperopt`` print the message and
exit with code 2). A base ahead that defines none of them (a shared ``populate_*`` helper) is fine.
"""

from __future__ import annotations

import inspect
import logging
import math
from typing import Any, Callable

from freqtrade.exceptions import OperationalException

logger = logging.getLogger("ts_plugin")

HOOKED = ("bot_loop_start", "order_filled", "custom_stoploss", "custom_exit", "adjust_trade_position")


class WiringError(OperationalException):
    """A strategy class the plugin cannot work in; the message (one line) says how to fix it.
    An ``OperationalException``: freqtrade prints it as one line and exits with code 2."""


def _is_method(value: Any) -> bool:
    return inspect.isfunction(value) or isinstance(value, (staticmethod, classmethod, property))


def mixin_methods(mixin: type) -> frozenset[str]:
    """The methods the mixin defines itself: what a base ahead of it must not define. Its class
    attributes (``smart_trailing``, ``use_custom_stoploss``, the hyperopt parameters) are settings
    a strategy is meant to set, and Python's own ``__dunder__`` names belong to every class."""
    return frozenset(name for name, value in vars(mixin).items()
                     if _is_method(value) and not (name.startswith("__") and name.endswith("__")))


def shadowing_bases(cls: type, mixin: type) -> dict[type, list[str]]:
    """The classes ahead of the mixin in ``cls``'s MRO (not the strategy's own subclasses of it, whose
    overrides are wrapped) that define one of the mixin's methods, with those names."""
    mro = cls.__mro__
    ours = mixin_methods(mixin)
    found: dict[type, list[str]] = {}
    for base in mro[1:mro.index(mixin)]:
        if issubclass(base, mixin):
            continue
        names = sorted(ours & set(vars(base)))
        if names:
            found[base] = names
    return found


def check_base_order(cls: type, mixin: type) -> None:
    """Refuse a class in which a base ahead of the mixin would shadow one of the mixin's methods: that
    method of the base is not wrapped and the plugin's would never run (IStrategy itself is a base
    of the mixin, so ``class S(IStrategy, SmartTrailingMixin)`` already fails in Python's MRO check).
    A base ahead that defines none of them is accepted."""
    shadowing = shadowing_bases(cls, mixin)
    if not shadowing:
        return
    which = "; ".join(f"{base.__name__} defines {', '.join(names)}" for base, names in shadowing.items())
    # The mixin (or the strategy's own class built on it) first and IStrategy (the mixin's base) last,
    # so that a helper's populate_* still comes before IStrategy's in the MRO.
    with_mixin = [b for b in cls.__bases__ if issubclass(b, mixin)]
    others = [b for b in cls.__bases__ if b not in with_mixin and b not in mixin.__bases__]
    order = ", ".join(base.__name__ for base in (*with_mixin, *others, *mixin.__bases__))
    raise WiringError(
        f"{cls.__name__}: a base listed before {mixin.__name__} would shadow the plugin's own methods "
        f"({which}), so the trailing stop would not run as documented. Move those methods into "
        f"{cls.__name__} itself (its own overrides are wrapped), or write: class {cls.__name__}({order})"
    )


def describe_wrapped(cls: type) -> str | None:
    """One line naming each of the strategy's own callbacks the plugin wrapped (None when none)."""
    wrapped = [f"{klass.__name__}.{name}" for klass in reversed(cls.__mro__) for name in HOOKED
               if getattr(vars(klass).get(name), "_ts_wrapper", False)]
    if not wrapped:
        return None
    return ("smart_trailing: wrapped the strategy's own " + ", ".join(wrapped) + ": the plugin's part runs "
            "once, with or without super(); a custom_stoploss value is combined with the plugin's "
            "(the tighter one wins); an added entry is held back while the trade's stop went off")


def wrap_overrides(cls: type) -> list[str]:
    """Wrap the hooked callbacks ``cls`` defines itself; returns their names."""
    wrapped = []
    for name in HOOKED:
        function = cls.__dict__.get(name)
        if function is None or getattr(function, "_ts_wrapper", False):
            continue
        wrapper = _WRAPPERS[name](function)
        wrapper._ts_wrapper = True  # type: ignore[attr-defined]
        wrapper.__doc__ = function.__doc__
        wrapper.__qualname__ = function.__qualname__
        setattr(cls, name, wrapper)
        wrapped.append(name)
    return wrapped


def library_callback(function: Callable) -> Callable:
    """Mark one of the plugin's own callbacks as library code for freqtrade.

    freqtrade's ``strategy_safe_wrapper`` deep-copies the trade before every strategy callback (to
    protect it from the strategy's code) unless the callback's ``__qualname__`` starts with
    ``IStrategy.`` (its own defaults). The plugin's callbacks never modify the trade, and that copy
    is the largest single cost of a backtest: ``custom_exit``, called on every candle, would double
    it. A strategy's own overrides keep their names (see ``wrap_overrides``) and get their copy.
    """
    function.__qualname__ = f"IStrategy.{function.__name__}[ts_plugin]"
    return function


def is_stop_value(value: Any) -> bool:
    """A custom_stoploss result freqtrade acts on (None, 0, NaN and inf mean 'no change')."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value != 0


def tighter_stop_value(ours: float | None, theirs: Any) -> float | None:
    """Of two custom_stoploss results (distances from the same rate), the one closer to the price."""
    if not is_stop_value(theirs):
        return ours
    if not is_stop_value(ours):
        return float(theirs)
    return ours if abs(ours) <= abs(theirs) else float(theirs)


def _takes_after_fill(function: Callable) -> bool:
    spec = inspect.getfullargspec(function)
    return "after_fill" in spec.args or "after_fill" in spec.kwonlyargs or spec.varkw is not None


def _wrap_bot_loop_start(function: Callable) -> Callable:
    def bot_loop_start(self, current_time, **kwargs):
        if "bot_loop_start" in self._ts_inside:
            return function(self, current_time=current_time, **kwargs)
        self._ts_loop_part(current_time)
        self._ts_inside.add("bot_loop_start")
        try:
            return function(self, current_time=current_time, **kwargs)
        finally:
            self._ts_inside.discard("bot_loop_start")

    return bot_loop_start


def _wrap_order_filled(function: Callable) -> Callable:
    def order_filled(self, pair, trade, order, current_time, **kwargs):
        if "order_filled" in self._ts_inside:
            return function(self, pair=pair, trade=trade, order=order, current_time=current_time, **kwargs)
        self._ts_fill_part(pair, trade, order, current_time)
        self._ts_inside.add("order_filled")
        try:
            return function(self, pair=pair, trade=trade, order=order, current_time=current_time, **kwargs)
        finally:
            self._ts_inside.discard("order_filled")

    return order_filled


def _wrap_custom_stoploss(function: Callable) -> Callable:
    pass_after_fill = _takes_after_fill(function)

    def call(self, pair, trade, current_time, current_rate, current_profit, after_fill, kwargs):
        if pass_after_fill:
            kwargs = {**kwargs, "after_fill": after_fill}
        return function(self, pair=pair, trade=trade, current_time=current_time,
                        current_rate=current_rate, current_profit=current_profit, **kwargs)

    # ``after_fill`` must stay a named parameter: freqtrade only makes after-fill calls to a
    # custom_stoploss whose signature shows it.
    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill=False,
                        **kwargs):
        if "custom_stoploss" in self._ts_inside:
            return call(self, pair, trade, current_time, current_rate, current_profit, after_fill, kwargs)
        ours = self._ts_stoploss_part(pair, trade, current_time, current_rate, after_fill, current_profit)
        self._ts_inside.add("custom_stoploss")
        self._ts_inner_stoploss = ours
        try:
            theirs = call(self, pair, trade, current_time, current_rate, current_profit, after_fill, kwargs)
        except Exception:
            logger.exception("smart_trailing: %s.custom_stoploss failed; the plugin's stop stands",
                             type(self).__name__)
            theirs = None
        finally:
            self._ts_inside.discard("custom_stoploss")
        combined = tighter_stop_value(ours, theirs)
        if combined is not ours and after_fill:
            combined = self._ts_never_looser(trade, current_rate, combined)
        return combined

    return custom_stoploss


def _wrap_custom_exit(function: Callable) -> Callable:
    def custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        arguments = dict(pair=pair, trade=trade, current_time=current_time,
                         current_rate=current_rate, current_profit=current_profit, **kwargs)
        if "custom_exit" in self._ts_inside:
            return function(self, **arguments)
        reason = self._ts_exit_part(trade, current_rate)
        if reason:
            return reason
        if self._ts_exit_signals_forced:
            return None  # freqtrade would never have called it: the strategy switched exit signals off
        self._ts_inside.add("custom_exit")
        try:
            return function(self, **arguments)
        finally:
            self._ts_inside.discard("custom_exit")

    return custom_exit


def _wrap_adjust_trade_position(function: Callable) -> Callable:
    def adjust_trade_position(self, trade, **kwargs):
        if "adjust_trade_position" in self._ts_inside:
            return function(self, trade=trade, **kwargs)
        self._ts_inside.add("adjust_trade_position")
        try:
            result = function(self, trade=trade, **kwargs)
        finally:
            self._ts_inside.discard("adjust_trade_position")
        return self._ts_adjust_part(trade, result)

    return adjust_trade_position


_WRAPPERS = {
    "bot_loop_start": _wrap_bot_loop_start,
    "order_filled": _wrap_order_filled,
    "custom_stoploss": _wrap_custom_stoploss,
    "custom_exit": _wrap_custom_exit,
    "adjust_trade_position": _wrap_adjust_trade_position,
}
