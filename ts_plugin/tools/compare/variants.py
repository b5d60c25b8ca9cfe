"""The variants of one strategy that ``ts-plugin compare`` backtests: they differ only in their exit rules.

How a variant is switched without editing the user's file: every variant is a fresh instance of the
user's strategy class, loaded by freqtrade's StrategyResolver from the same config; a variant's
``smart_trailing`` settings are that config's ``smart_trailing`` section (the layer that wins over the
class's own, as in any run). The plugin is switched off, and freqtrade's built-in trailing on, on the
instance right after freqtrade's ``ft_bot_start`` (where the mixin checks its set-up):
``use_custom_stoploss = False`` (freqtrade then never calls ``custom_stoploss``) and
``trailing_stop`` / ``trailing_stop_positive`` / ``_offset`` / ``trailing_only_offset_is_reached``,
the attributes freqtrade's backtesting reads on every candle. Variants with explicit settings also drop
hyperopt values loaded from a params file, which would otherwise replace their activation and distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from ts_plugin.core.config import TrailingConfig
from ts_plugin.strategy.builtin_match import settings_from_builtin
from ts_plugin.strategy.hyperopt_space import SPACE, TARGETS

OFF, BUILTIN, PLUGIN_BUILTIN, YOURS, OPTIMISED = "off", "builtin", "plugin-builtin", "yours", "optimised"
# The smart rules an ablation adds one at a time to the built-in-semantics base, by settings key.
RULES = {"breakeven": "+breakeven", "time_activation": "+time", "steps": "+steps", "momentum": "+momentum"}
NAMES = (OFF, BUILTIN, PLUGIN_BUILTIN, YOURS, *RULES.values(), OPTIMISED)  # optimised: with --split


@dataclass(frozen=True)
class Variant:
    """One backtest of the comparison. ``settings``: the ``smart_trailing`` section it runs with (None:
    the config as the user gave it); ``plugin``: the mixin trails; ``builtin``: freqtrade's trailing
    attributes set on the strategy (empty: the strategy's own, which the mixin requires off)."""

    name: str
    title: str
    settings: dict[str, Any] | None = None
    plugin: bool = True
    builtin: dict[str, Any] = field(default_factory=dict)
    # the built-in attributes its trail distance is mapped from (plugin-builtin and the ablation rows):
    # freqtrade divides trailing_stop_positive by the trade's leverage, see at_leverage
    mapped_from: dict[str, Any] | None = None

    @property
    def exact_settings(self) -> bool:
        """Settings given here, not the user's: params-file values must not replace them."""
        return self.settings is not None


def effective_settings(settings: Mapping[str, Any], loaded: Mapping[str, Any]) -> dict[str, Any]:
    """The user's settings with the ``smart_trailing`` hyperopt values the strategy loads (params file,
    ``smart_trailing_params``) applied, as the mixin applies them."""
    out = dict(settings)
    for name, value in loaded.items():
        if name not in TARGETS:
            continue
        key, sub_key = TARGETS[name]
        if sub_key is None:
            out[key] = float(value)
        elif out.get(key):
            out[key] = {**out[key], sub_key: float(value)}
    return out


def loaded_params(strategy: Any) -> dict[str, Any]:
    """The ``smart_trailing`` hyperopt values a strategy instance will load (file wins, as in freqtrade)."""
    loaded = dict(getattr(strategy, f"{SPACE}_params", None) or {})
    loaded.update((getattr(strategy, "_ft_params_from_file", None) or {}).get(SPACE, {}))
    return loaded


def _as_settings(config: TrailingConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")


def builtin_attributes(config: TrailingConfig) -> dict[str, Any]:
    """freqtrade's built-in trailing with the user's numbers: the distance behind the peak, armed once
    the profit after fees exceeds the activation (spot: leverage 1)."""
    return {"trailing_stop": True, "trailing_stop_positive": config.trail_distance,
            "trailing_stop_positive_offset": config.activation_profit,
            "trailing_only_offset_is_reached": True}


def _mapped(attributes: Mapping[str, Any], leverage: float = 1.0) -> dict[str, Any]:
    """The plugin's settings for these built-in attributes at this leverage (ValueError when they do not
    map)."""
    return settings_from_builtin(
        attributes["trailing_stop"], attributes["trailing_stop_positive"],
        attributes["trailing_stop_positive_offset"], attributes["trailing_only_offset_is_reached"],
        leverage=leverage)


def at_leverage(variant: Variant, leverage: float) -> Variant:
    """The variant with its built-in-mapped trail distance for trades at ``leverage`` (freqtrade's
    built-in trails trailing_stop_positive / leverage behind the peak, the plugin its distance on
    price); a variant not mapped from the built-in, or leverage 1, is returned as it is."""
    if variant.mapped_from is None or leverage == 1:
        return variant
    distance = _mapped(variant.mapped_from, leverage)["trail_distance"]
    return replace(variant, settings={**(variant.settings or {}), "trail_distance": distance},
                   title=f"{variant.title}, at leverage {leverage:g}")


def strategy_builtin(strategy: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The built-in trailing numbers a strategy still carries (``trailing_stop_positive`` and its offset,
    left from before the mixin, which needs ``trailing_stop`` off) when they map onto the plugin
    (``settings_from_builtin``), and a note when they are set but do not map (the user's numbers are
    used then)."""
    positive = getattr(strategy, "trailing_stop_positive", None)
    if not positive:
        return None, None
    attributes = {"trailing_stop": True, "trailing_stop_positive": float(positive),
                  "trailing_stop_positive_offset": float(getattr(strategy, "trailing_stop_positive_offset", 0.0) or 0.0),
                  "trailing_only_offset_is_reached": bool(getattr(strategy, "trailing_only_offset_is_reached", False))}
    try:
        _mapped(attributes)
    except ValueError as exc:
        return None, (f"NOTE: the strategy's trailing_stop_positive {positive:g} is not used for the builtin row "
                      f"({exc}); it uses your smart_trailing activation and distance")
    return attributes, None


def build(user: TrailingConfig, chosen: list[str] | None = None,
          from_strategy: dict[str, Any] | None = None) -> list[Variant]:
    """The comparison's variants from the user's settings in force, in table order; ``chosen`` keeps
    only those names (an ablation row exists only for a rule the user configured). ``from_strategy``:
    the built-in trailing the strategy's own ``trailing_*`` attributes describe (``strategy_builtin``);
    without them the built-in gets the user's activation and distance. The built-in is mapped at
    leverage 1 here; ``at_leverage`` maps it for the leverage the trades have (futures)."""
    attributes = from_strategy or builtin_attributes(user)
    base = {**_as_settings(user), **_mapped(attributes)}
    source = ("your strategy's trailing_stop_positive "
              f"{attributes['trailing_stop_positive']:g} / offset {attributes['trailing_stop_positive_offset']:g}"
              if from_strategy else "same numbers")
    found = [
        Variant(OFF, "strategy as written, smart trailing off", plugin=False),
        Variant(BUILTIN, f"freqtrade's built-in trailing, {source}", plugin=False, builtin=attributes),
        Variant(PLUGIN_BUILTIN, "plugin with the built-in's semantics", settings=base, mapped_from=attributes),
        Variant(YOURS, "plugin with your settings"),
    ]
    mine = _as_settings(user)
    for key, name in RULES.items():
        if mine.get(key):
            found.append(Variant(name, f"built-in semantics + your {key} alone", settings={**base, key: mine[key]},
                                 mapped_from=attributes))
    if chosen:
        found = [variant for variant in found if variant.name in chosen]
    return found


def optimised(user_settings: Mapping[str, Any], params: Mapping[str, Any], before: str) -> Variant:
    """The user's settings with hyperopt's best values (found before ``before``) applied."""
    values = ", ".join(f"{name}={value:g}" for name, value in sorted(params.items())) or "no result: yours"
    return Variant(OPTIMISED, f"your settings, hyperopt's best before {before} ({values})",
                   settings=effective_settings(user_settings, params))


def unknown_names(chosen: list[str]) -> list[str]:
    return [name for name in chosen if name not in NAMES]
