"""The settings in force, and where each one came from: one INFO line at start-up (and a short
message to Telegram / webhooks in dry-run and live).

Settings come in layers (README, "Configuration reference"): the strategy's ``smart_trailing``
attribute, overridden key by key by config.json's ``smart_trailing`` section (a block is replaced
whole), overridden by the hyperopt parameters while they are optimised or when loaded from the
strategy's params file (or its ``smart_trailing_params``). The report is written after freqtrade
loaded the hyperopt parameters (``IStrategy.ft_bot_start``), from the settings the trailing runs with
(``SmartTrailingMixin._ts_config``), so no line can show a value that is not in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ts_plugin.core.config import TrailingConfig

STRATEGY, CONFIG_JSON, DEFAULT = "strategy", "config.json", "default"
PARAMS_FILE, STRATEGY_PARAMS, HYPEROPT = "params file", "smart_trailing_params", "hyperopt"
# Hyperopt parameter -> the setting it replaces (dotted).
PARAM_SETTINGS = {
    "ts_activation_profit": "activation_profit",
    "ts_trail_distance": "trail_distance",
    "ts_breakeven_trigger": "breakeven.trigger_profit",
}
_BLOCK_KEYS = {
    "breakeven": ("trigger_profit", "offset"),
    "time_activation": ("after_minutes", "min_profit"),
    "momentum": ("atr_period", "atr_multiplier", "roc_period", "roc_threshold", "roc_factor",
                 "min_distance", "max_distance"),
}


@dataclass(frozen=True)
class Setting:
    """One setting in force: dotted key, value as written in the line, where it came from."""

    key: str
    value: Any
    source: str
    optimised: str | None = None  # "low-high" while hyperopt samples it (the value changes per epoch)


@dataclass(frozen=True)
class Override:
    """A hyperopt parameter in force: where its value came from; ``span`` while it is sampled."""

    source: str
    span: str | None = None


def _source(key: str, class_layer: Mapping | None, config_layer: Mapping | None,
            sub_key: str | None = None) -> str:
    for layer, name in ((config_layer, CONFIG_JSON), (class_layer, STRATEGY)):
        if isinstance(layer, Mapping) and key in layer:
            if sub_key is None:
                return name
            block = layer[key]
            return name if isinstance(block, Mapping) and sub_key in block else DEFAULT
    return DEFAULT


def settings_in_force(
    config: TrailingConfig,
    class_layer: Mapping | None,
    config_layer: Mapping | None,
    overrides: Mapping[str, Override] | None = None,
    exchange_in_use: bool = False,
    alarms: str | None = None,
) -> list[Setting]:
    """Every setting the trailing runs with, each with its source. ``overrides``: dotted setting ->
    the hyperopt parameter in force for it (see ``hyperopt_overrides``); ``alarms``: where the
    plugin's messages go (``alarm_delivery.Delivery.summary``), when notify is on in dry-run/live."""
    overrides = overrides or {}
    settings: list[Setting] = []

    def add(key: str, value: Any, source: str) -> None:
        override = overrides.get(key)
        if override is not None:
            settings.append(Setting(key, value, override.source, override.span))
        else:
            settings.append(Setting(key, value, source))

    for key in ("activation_profit", "trail_distance"):
        add(key, getattr(config, key), _source(key, class_layer, config_layer))
    if config.activation_basis != "price":  # the default stays off the line, as it always was
        add("activation_basis", config.activation_basis, _source("activation_basis", class_layer, config_layer))
    for block in ("breakeven", "time_activation", "steps", "momentum"):
        source = _source(block, class_layer, config_layer)
        if block == "steps":
            pairs = ",".join(f"{s.profit:g}:{s.trail_distance:g}" for s in config.steps)
            settings.append(Setting("steps", f"[{pairs}]" if pairs else "none", source))
            continue
        value = getattr(config, block)
        if value is None:
            settings.append(Setting(block, "off", source))
            continue
        for sub_key in _BLOCK_KEYS[block]:
            add(f"{block}.{sub_key}", getattr(value, sub_key),
                _source(block, class_layer, config_layer, sub_key))
    settings.append(Setting("notify", config.notify, _source("notify", class_layer, config_layer)))
    if alarms is not None:
        settings.append(Setting("alarms", alarms, "freqtrade channels"))
    if exchange_in_use:
        for name in type(config.exchange).model_fields:
            settings.append(Setting(f"exchange.{name}", getattr(config.exchange, name),
                                    _source("exchange", class_layer, config_layer, name)))
    else:
        settings.append(Setting("exchange", "not used", "stoploss_on_exchange is off"))
    return settings


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "off"  # momentum.atr_multiplier / roc_threshold: that input is off
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def format_line(settings: list[Setting]) -> str:
    """The INFO line: ``key=value [source]`` for every setting."""
    parts = []
    for s in settings:
        value = f"optimised {s.optimised}" if s.optimised else _value(s.value)
        parts.append(f"{s.key}={value} [{s.source}]")
    return "smart_trailing settings in force: " + ", ".join(parts)


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.4g}%"


def format_message(settings: list[Setting]) -> str:
    """The short Telegram / webhook message: the trailing rules in words, each with its source."""
    by_key = {s.key: s for s in settings}

    def shown(key: str, words) -> str:
        s = by_key[key]
        return f"optimised {s.optimised}" if s.optimised else words(s.value)

    def sources(*keys: str) -> str:
        found = []
        for key in keys:
            for s in settings:
                if (s.key == key or s.key.startswith(key + ".")) and s.source not in found:
                    found.append(s.source)
        return ", ".join(found)

    lines = ["\N{SHIELD} *Smart trailing:* settings in force"]
    basis = " profit after fees" if "activation_basis" in by_key else ""
    lines.append(f"*Activation:* `{shown('activation_profit', lambda v: '+' + _pct(v))}{basis}` "
                 f"({sources('activation_profit')})")
    lines.append(f"*Trailing distance:* `{shown('trail_distance', _pct)}` ({sources('trail_distance')})")
    if "breakeven.trigger_profit" in by_key:
        trigger = shown("breakeven.trigger_profit", lambda v: "+" + _pct(v))
        offset = _pct(by_key["breakeven.offset"].value)
        lines.append(f"*Breakeven:* `at {trigger}, stop at entry +{offset}` ({sources('breakeven')})")
    else:
        lines.append(f"*Breakeven:* `off` ({sources('breakeven')})")
    if "time_activation.after_minutes" in by_key:
        minutes = by_key["time_activation.after_minutes"].value
        profit = by_key["time_activation.min_profit"].value
        lines.append(f"*Time activation:* `after {minutes:g} min at +{_pct(profit)}` "
                     f"({sources('time_activation')})")
    if "not delivered" in str(getattr(by_key.get("alarms"), "value", "")):
        lines.append(f"*Alarms:* `{by_key['alarms'].value}`")
    steps = by_key["steps"]
    if steps.value != "none":
        words = "; ".join(f"from +{_pct(float(p))}: {_pct(float(d))}"
                          for p, d in (pair.split(":") for pair in steps.value.strip("[]").split(",")))
        lines.append(f"*Steps:* `{words}` ({steps.source})")
    if "momentum.min_distance" in by_key:
        parts = []
        if by_key["momentum.atr_multiplier"].value is not None:
            parts.append(f"{by_key['momentum.atr_multiplier'].value:g} x ATR({by_key['momentum.atr_period'].value})")
        if by_key["momentum.roc_threshold"].value is not None:
            parts.append(f"x{by_key['momentum.roc_factor'].value:g} when ROC({by_key['momentum.roc_period'].value})"
                         f" >= {_pct(by_key['momentum.roc_threshold'].value)}")
        parts.append(f"{_pct(by_key['momentum.min_distance'].value)}-{_pct(by_key['momentum.max_distance'].value)}")
        lines.append(f"*Momentum:* `{'; '.join(parts)}` ({sources('momentum')})")
    return "\n".join(lines)


# ----- reading a strategy -------------------------------------------------------------------------


def hyperopt_overrides(strategy: Any, config: TrailingConfig) -> dict[str, Override]:
    """The hyperopt parameters in force on ``strategy`` (after freqtrade loaded them), by setting."""
    from_file = (getattr(strategy, "_ft_params_from_file", None) or {}).get("smart_trailing", {}) or {}
    from_attr = getattr(strategy, "smart_trailing_params", None) or {}
    overrides = {}
    for name, param in getattr(strategy, "_ts_active_params", None) or ():
        setting = PARAM_SETTINGS[name]
        if getattr(param, "in_space", False) and getattr(param, "optimize", False):
            decimals = getattr(param, "decimals", 3)
            span = f"{float(param.low):.{decimals}f}-{float(param.high):.{decimals}f}"
            overrides[setting] = Override(HYPEROPT, span)
            continue
        if _setting_value(config, setting) != float(param.value):
            continue  # not applied (the WARNING event said why): the layers' value is in force
        overrides[setting] = Override(PARAMS_FILE if name in from_file else
                                      STRATEGY_PARAMS if name in from_attr else HYPEROPT)
    return overrides


def _setting_value(config: TrailingConfig, setting: str) -> Any:
    value: Any = config
    for part in setting.split("."):
        value = getattr(value, part, None)
    return value


def report(strategy: Any, config: TrailingConfig, class_layer: Mapping | None,
           config_layer: Mapping | None) -> tuple[str, str]:
    """(the INFO line, the message) for ``strategy`` with the settings ``config`` in force."""
    order_types = getattr(strategy, "order_types", None) or {}
    delivery = getattr(strategy, "_ts_delivery", None)
    settings = settings_in_force(config, class_layer, config_layer,
                                 hyperopt_overrides(strategy, config),
                                 exchange_in_use=bool(order_types.get("stoploss_on_exchange")),
                                 alarms=delivery.summary() if delivery is not None else None)
    return format_line(settings), format_message(settings)
