"""Hyperopt ranges that follow the configured settings, so every epoch tests what hyperopt prints.

The three ``smart_trailing`` parameters change one validated setting each (``activation_profit``,
``trail_distance``, ``breakeven.trigger_profit``). Fixed ranges cannot be valid for every config: the
shipped steps start at a distance of 0.005, so a sampled ``ts_trail_distance`` of 0.002-0.004 made the
settings invalid and the epoch ran on the base settings while hyperopt reported the sampled values.
``fit_ranges`` therefore cuts each range, inside the shipped outer bounds, to a box in which EVERY
combination parses (checked corner by corner against ``parse_config``, the one source of truth):

* ``ts_trail_distance`` >= ``steps[0].trail_distance`` (distances only tighten as profit grows);
* ``ts_breakeven_trigger`` > ``breakeven.offset`` and below the lowest activation that can be sampled
  (the activation keeps its whole range; the trigger gets what lies below it);
* ``ts_activation_profit`` above the breakeven trigger when that one is fixed.

A parameter whose range is empty is not optimised (``optimize=False``), fixed at the base setting, and
the reason is reported; ``ts_breakeven_trigger`` without a ``breakeven`` block is removed altogether so
hyperopt neither samples nor prints a value that changes nothing. In a run that does not sample the
space (backtesting, live, hyperopt of other spaces) each parameter holds the setting exactly, because
freqtrade prints and exports its value as "not optimized" while the mixin runs the setting.

How freqtrade finds the parameters (verified in freqtrade 2026.9, ``strategy/hyper.py``):
``IStrategy.ft_bot_start`` runs ``bot_start`` and then ``ft_load_hyper_params``, which calls
``detect_all_parameters(self)``: ``dir()`` and ``getattr()`` on the strategy OBJECT, so an instance
attribute shadows the class attribute. The parameters it finds are stored in ``_ft_hyper_params``; the
params file / ``smart_trailing_params`` values are set on those objects (``_ft_set_param``), hyperopt
builds its search space from them (``HyperOptAuto.get_indicator_space`` -> ``enumerate_parameters`` ->
``get_space``, i.e. ``SKDecimal(low, high, decimals)``) and writes each epoch's sample into them
(``HyperOptimizer.generate_optimizer``); the worker processes receive the pickled strategy object with its
instance attributes. So instance-level ``DecimalParameter`` objects set in ``__init__`` (or ``bot_start``)
are exactly what is sampled and loaded; the class attributes stay untouched (other instances and
``list-strategies --hyperoptable`` still show the shipped outer ranges).

Params-file values (``{"params": {"smart_trailing": ...}}`` next to the strategy, or the strategy's
``smart_trailing_params``; the file wins, as in freqtrade) are never clamped: if the values that would
run make the settings invalid, start-up is refused with a ``ConfigError`` naming each parameter, its value
and the fitted range. Clamping would trade with values nobody tested; the file was made for other
settings and must be re-made or edited. A value that is valid but outside the fitted range (the box is a
subset of the valid combinations) is used as it is and reported. In a hyperopt run that samples the
space, file values of sampled parameters are overwritten by every epoch and are not checked.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from ts_plugin.core.config import ConfigError, TrailingConfig, parse_config

SPACE = "smart_trailing"
ACTIVATION, DISTANCE, TRIGGER = "ts_activation_profit", "ts_trail_distance", "ts_breakeven_trigger"
NAMES = (ACTIVATION, DISTANCE, TRIGGER)
# Which setting each parameter replaces: (key, sub-key).
TARGETS = {
    ACTIVATION: ("activation_profit", None),
    DISTANCE: ("trail_distance", None),
    TRIGGER: ("breakeven", "trigger_profit"),
}


@dataclass(frozen=True)
class Outer:
    """The widest range a parameter may take (the shipped ranges, or the strategy's own class attribute)."""

    low: float
    high: float
    decimals: int = 3
    optimize: bool = True


SHIPPED = {
    ACTIVATION: Outer(0.010, 0.050),
    DISTANCE: Outer(0.002, 0.030),
    TRIGGER: Outer(0.003, 0.009),
}


@dataclass(frozen=True)
class Fitted:
    """The range in force for one parameter. ``low``/``high`` are None when it is not applicable."""

    name: str
    low: float | None
    high: float | None
    decimals: int
    default: float | None
    optimize: bool
    note: str  # why the range is what it is, or why it is not optimised

    @property
    def applicable(self) -> bool:
        return self.low is not None

    def describe(self) -> str:
        if not self.applicable:
            return f"smart_trailing hyperopt: {self.name} not used: {self.note}"
        if not self.optimize:
            return f"smart_trailing hyperopt: {self.name} not optimised, fixed at {_fmt(self.default)}: {self.note}"
        span = f"{_fmt(self.low, self.decimals)}-{_fmt(self.high, self.decimals)}"
        return f"smart_trailing hyperopt: {self.name} {span}" + (f" ({self.note})" if self.note else "")


# ----- the pure part ------------------------------------------------------------------------------


def base_values(config: TrailingConfig) -> dict[str, float]:
    """The value each parameter has in the validated settings (no trigger without a breakeven block)."""
    values = {ACTIVATION: config.activation_profit, DISTANCE: config.trail_distance}
    if config.breakeven is not None:
        values[TRIGGER] = config.breakeven.trigger_profit
    return values


def apply_values(config: TrailingConfig, values: Mapping[str, float]) -> dict[str, Any]:
    """The settings mapping with the parameters' values in place (what the mixin hands parse_config)."""
    settings = config.model_dump(mode="json")
    for name, value in values.items():
        key, sub_key = TARGETS[name]
        if sub_key is None:
            settings[key] = float(value)
        elif settings.get(key) is not None:
            settings[key] = {**settings[key], sub_key: float(value)}
    return settings


def fit_ranges(
    config: TrailingConfig,
    outer: Mapping[str, Outer] = SHIPPED,
    fixed: Mapping[str, float] | None = None,
) -> dict[str, Fitted]:
    """For each parameter, the largest box inside ``outer`` in which every combination is valid.

    ``fixed`` gives the value a parameter has when it ends up not optimised (a params-file value);
    otherwise it is the base setting. Raises ConfigError when a fixed value leaves no valid box.
    """
    fixed = dict(fixed or {})
    base = base_values(config)
    sampled = {n for n in NAMES if outer[n].optimize and n in base}
    notes: dict[str, str] = {
        n: "optimize=False on the strategy's parameter" for n in NAMES if not outer[n].optimize
    }
    for _ in range(len(NAMES) + 1):  # each round fixes at least one more parameter, or ends
        values = {n: fixed.get(n, base[n]) for n in base if n not in sampled}
        boxes = _boxes(config, outer, sampled, values)
        empty = {n for n in sampled if boxes[n][0] > boxes[n][1]}
        if not empty:
            break
        for n in empty:
            notes[n] = boxes[n][2]
        sampled -= empty
    result = {}
    for name in NAMES:
        out = outer[name]
        if name not in base:
            result[name] = Fitted(name, None, None, out.decimals, None, False,
                                  "no breakeven block configured")
        elif name in sampled:
            low, high, note = boxes[name]
            default = min(max(round(base[name], out.decimals), low), high)
            result[name] = Fitted(name, low, high, out.decimals, default, True, note)
        else:
            value = fixed.get(name, base[name])
            result[name] = Fitted(name, value, value, _decimals_of(value, out.decimals), value, False,
                                  notes.get(name, ""))
    _check_corners(config, result, fixed)
    return result


def corners(fitted: Mapping[str, Fitted]) -> list[dict[str, float]]:
    """Every combination of range endpoints (the worst cases: each rule is monotone in each value)."""
    names = [f.name for f in fitted.values() if f.applicable]
    ends = [sorted({fitted[n].low, fitted[n].high}) for n in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*ends)]


def _check_corners(config: TrailingConfig, fitted: Mapping[str, Fitted], fixed: Mapping[str, float]) -> None:
    for combo in corners(fitted):
        try:
            parse_config(apply_values(config, combo))
        except ConfigError as exc:
            loaded = {n: v for n, v in fixed.items() if n in combo and not fitted[n].optimize}
            cause = (f"the params-file values {_show(loaded)} conflict with the settings"
                     if loaded else "internal error in the range fitting")
            raise ConfigError(f"Invalid smart trailing hyperopt parameters: {cause}: {exc}") from None


def _boxes(
    config: TrailingConfig, outer: Mapping[str, Outer], sampled: set[str], fixed: Mapping[str, float]
) -> dict[str, tuple[float, float, str]]:
    """(low, high, note) per sampled parameter given the fixed values of the others; low > high = empty."""
    boxes: dict[str, tuple[float, float, str]] = {}
    if DISTANCE in sampled:
        out = outer[DISTANCE]
        low, high, note = _clip(out)
        if config.steps:
            first = config.steps[0].trail_distance
            low = max(low, _at_least(first, out.decimals))
            note = (f"at least steps[0].trail_distance {_fmt(first)}: distances only tighten as profit grows"
                    if low <= high else
                    f"steps[0].trail_distance {_fmt(first)} is above {_fmt(out.high, out.decimals)}, the top "
                    "of the range, and distances only tighten as profit grows")
        boxes[DISTANCE] = (low, high, note)
    if config.breakeven is None:
        if ACTIVATION in sampled:
            boxes[ACTIVATION] = _clip(outer[ACTIVATION])
        return boxes
    offset = config.breakeven.offset
    a_out, t_out = outer[ACTIVATION], outer[TRIGGER]
    t_span = f"{_fmt(t_out.low, t_out.decimals)}-{_fmt(t_out.high, t_out.decimals)}"
    a_span = f"{_fmt(a_out.low, a_out.decimals)}-{_fmt(a_out.high, a_out.decimals)}"
    if TRIGGER in sampled:
        t_low, t_high, _ = _clip(t_out)
        t_low = max(t_low, _above(offset, t_out.decimals))
        if t_low > t_high:
            boxes[TRIGGER] = (t_low, t_high, f"breakeven.offset {_fmt(offset)} leaves nothing in {t_span} "
                              "above it (the trigger must exceed the offset)")
            if ACTIVATION in sampled:  # settled next round, against the fixed trigger
                boxes[ACTIVATION] = _clip(a_out)
            return boxes
        if ACTIVATION in sampled:
            # The activation keeps its range as far as it can; the trigger gets what lies below it.
            a_low, a_high, _ = _clip(a_out)
            a_low = max(a_low, _above(t_low, a_out.decimals))
            if a_low > a_high:
                boxes[ACTIVATION] = (a_low, a_high, f"the lowest breakeven trigger {_fmt(t_low)} leaves "
                                     f"nothing in {a_span} above it")
                boxes[TRIGGER] = (t_low, t_high, "")  # settled next round, against the fixed activation
                return boxes
            boxes[ACTIVATION] = (a_low, a_high, "" if a_low == a_out.low else
                                 f"above every breakeven trigger sampled")
            t_high = min(t_high, _below(a_low, t_out.decimals))
            boxes[TRIGGER] = (t_low, t_high, f"above breakeven.offset {_fmt(offset)}, "
                              "below every activation_profit sampled")
            return boxes
        activation = fixed[ACTIVATION]
        t_high = min(t_high, _below(activation, t_out.decimals))
        boxes[TRIGGER] = (t_low, t_high, (
            f"above breakeven.offset {_fmt(offset)}, below activation_profit {_fmt(activation)}"
            if t_low <= t_high else
            f"nothing in {t_span} lies above breakeven.offset {_fmt(offset)} and below "
            f"activation_profit {_fmt(activation)}"))
    elif ACTIVATION in sampled:
        trigger = fixed[TRIGGER]
        a_low, a_high, _ = _clip(a_out)
        a_low = max(a_low, _above(trigger, a_out.decimals))
        boxes[ACTIVATION] = (a_low, a_high, (
            ("" if a_low == a_out.low else f"above breakeven.trigger_profit {_fmt(trigger)}")
            if a_low <= a_high else
            f"breakeven.trigger_profit {_fmt(trigger)} leaves nothing in {a_span} above it"))
    return boxes


def _clip(out: Outer) -> tuple[float, float, str]:
    """The outer range cut to the open interval (0, 1) every ratio lives in."""
    return max(out.low, _above(0.0, out.decimals)), min(out.high, _below(1.0, out.decimals)), ""


# Grid helpers: values as DecimalParameter stores them (round(x, decimals)), compared as floats,
# exactly as parse_config will compare them.
def _grid(k: int, decimals: int) -> float:
    return round(k / 10**decimals, decimals)


def _at_least(x: float, decimals: int) -> float:
    k = math.floor(x * 10**decimals) - 1
    while _grid(k, decimals) < x:
        k += 1
    return _grid(k, decimals)


def _above(x: float, decimals: int) -> float:
    k = math.floor(x * 10**decimals) - 1
    while _grid(k, decimals) <= x:
        k += 1
    return _grid(k, decimals)


def _below(x: float, decimals: int) -> float:
    k = math.ceil(x * 10**decimals) + 1
    while _grid(k, decimals) >= x:
        k -= 1
    return _grid(k, decimals)


def _decimals_of(value: float, at_least: int) -> int:
    """Enough decimals to hold ``value`` exactly (a fixed parameter must print what is used)."""
    exponent = Decimal(repr(value)).as_tuple().exponent
    return max(at_least, -int(exponent)) if isinstance(exponent, int) else at_least


def _fmt(value: float | None, decimals: int | None = None) -> str:
    if value is None:
        return "none"
    return f"{value:.{decimals}f}" if decimals is not None else repr(float(value))


def _show(values: Mapping[str, float]) -> str:
    return ", ".join(f"{n} = {_fmt(v)}" for n, v in values.items())


# ----- the freqtrade part -------------------------------------------------------------------------


def outer_bounds(strategy: Any) -> dict[str, Outer]:
    """The strategy class's own DecimalParameter ranges (the mixin ships 0.010-0.050, 0.002-0.030,
    0.003-0.009), or those shipped ranges when the class has none."""
    from freqtrade.strategy import DecimalParameter

    bounds = {}
    for name in NAMES:
        param = getattr(type(strategy), name, None)
        if isinstance(param, DecimalParameter):
            bounds[name] = Outer(float(param.low), float(param.high), param.decimals, bool(param.optimize))
        else:
            bounds[name] = SHIPPED[name]
    return bounds


def loaded_values(strategy: Any) -> dict[str, float]:
    """Values freqtrade will load into the parameters: the params file over ``smart_trailing_params``."""
    values = dict(getattr(strategy, f"{SPACE}_params", None) or {})
    values.update(getattr(strategy, "_ft_params_from_file", {}).get(SPACE, {}) or {})
    values = {n: v for n, v in values.items() if n in TARGETS}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"Invalid smart trailing hyperopt parameters: {SPACE}.{name} = {value!r} "
                              "from the params file or smart_trailing_params: allowed: a finite number")
    return values


def samples_space(config: Mapping[str, Any]) -> bool:
    """True in a hyperopt run whose ``--spaces`` include smart_trailing (also via "all"/"default")."""
    from freqtrade.enums import RunMode
    from freqtrade.optimize.hyperopt_tools import HyperoptTools

    if config.get("runmode") != RunMode.HYPEROPT or not config.get("spaces"):
        return False
    return HyperoptTools.has_space(dict(config), SPACE)


def fit_parameters(strategy: Any, config: TrailingConfig) -> list[str]:
    """Replace the strategy object's three parameters with instance-level ones of the fitted ranges.

    Call from the strategy's ``__init__`` after the settings are parsed (``strategy.config`` and the
    params file are read by freqtrade's ``HyperStrategyMixin.__init__``, i.e. by ``super().__init__``)
    and before ``ft_bot_start``. Returns the lines to log at INFO. Raises ConfigError when the
    params-file values that would run make the settings invalid.
    """
    from freqtrade.strategy import DecimalParameter

    run_config = getattr(strategy, "config", None) or {}
    sampling = samples_space(run_config)
    loaded = loaded_values(strategy)
    base = base_values(config)
    fitted = fit_ranges(config, outer_bounds(strategy), loaded if sampling else None)
    lines = []
    if not sampling:
        lines += _check_loaded(config, fitted, {n: v for n, v in loaded.items() if n in base})
    for name, fit in fitted.items():
        if name in loaded and name not in base:
            lines.append(f"smart_trailing hyperopt: {name} = {_fmt(loaded[name])} from the params file "
                         "ignored: no breakeven block configured")
        if not fit.applicable:
            setattr(strategy, name, None)  # detect_all_parameters skips it: nothing to sample or print
        else:
            decimals, default = fit.decimals, fit.default
            if not sampling and fit.optimize:
                # Not sampled in this run: freqtrade prints and exports the parameter's value, and the
                # mixin runs the base setting (or the loaded value), so hold those exactly.
                default = base[name]
                decimals = max(_decimals_of(default, decimals), _decimals_of(loaded.get(name, 0.0), decimals))
            setattr(strategy, name, DecimalParameter(
                fit.low, fit.high, decimals=decimals, default=default, space=SPACE,
                optimize=fit.optimize, load=True))
        lines.append(fit.describe())
    return lines


def _check_loaded(config: TrailingConfig, fitted: Mapping[str, Fitted], loaded: Mapping[str, float]) -> list[str]:
    """Refuse params-file values that make the settings invalid; report valid ones outside the range."""
    if not loaded:
        return []
    try:
        parse_config(apply_values(config, loaded))
    except ConfigError as exc:
        ranges = ", ".join(
            f"{n} = {_fmt(v)} (fitted range {_fmt(fitted[n].low)}-{_fmt(fitted[n].high)})"
            for n, v in loaded.items())
        raise ConfigError(
            f"Invalid smart trailing hyperopt parameters: {ranges} from the params file or "
            f"{SPACE}_params do not fit the settings ({exc}). Re-run hyperopt for these settings or "
            "edit/remove the values."
        ) from None
    return [
        f"smart_trailing hyperopt: {n} = {_fmt(v)} from the params file lies outside the fitted range "
        f"{_fmt(fitted[n].low)}-{_fmt(fitted[n].high)}; valid with these settings, used as it is"
        for n, v in loaded.items()
        if not fitted[n].low <= v <= fitted[n].high  # type: ignore[operator]
    ]
