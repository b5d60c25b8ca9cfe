"""The settings a diagnosis judges a bot by: the plugin's own settings in force, when the bot says.

The REST API does not expose the ``smart_trailing`` settings (``show_config`` has no such section),
but the plugin logs every setting in force once at start-up (``smart_trailing settings in force:
...``, settings_report.py). That line is read back into a ``TrailingConfig`` through the plugin's own
validation (``parse_config``) when it is still in the bot's log buffer. Without it, the exchange
policy's defaults apply (and the diagnosis says so), and the trailing rules are judged from each
trade's stored state alone (its activation price, peak and distance: what the plugin computed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ts_plugin.core.config import ConfigError, ExchangeConfig, TrailingConfig, parse_config
from ts_plugin.exchange.lag import ALARM_SLACK_S

_OFF = ("off", "none", "not used")


@dataclass(frozen=True)
class Rules:
    config: TrailingConfig | None = None  # None: the settings line is gone from the bot's log
    logged_at: float | None = None

    @property
    def from_bot(self) -> bool:
        return self.config is not None

    @property
    def exchange(self) -> ExchangeConfig:
        return self.config.exchange if self.config is not None else ExchangeConfig()

    @property
    def emergency_improvement(self) -> float:
        return self.exchange.emergency_improvement

    @property
    def lag_limit_s(self) -> float:
        """How long the exchange stop may stay an emergency gap behind: the plugin's own alarm limit."""
        return self.exchange.min_update_interval_s + ALARM_SLACK_S

    @property
    def breakeven_offset(self) -> float | None:
        breakeven = self.config.breakeven if self.config is not None else None
        return breakeven.offset if breakeven is not None else None

    def describe(self) -> str:
        policy = self.exchange
        return (f"exchange.min_improvement={policy.min_improvement:g}, "
                f"exchange.emergency_improvement={policy.emergency_improvement:g}, "
                f"exchange.min_update_interval_s={policy.min_update_interval_s:g}")


def _value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text else number


# Keys of the settings line that report on the set-up rather than set anything (alarm_delivery.py).
REPORT_ONLY_KEYS = frozenset({"alarms"})


def settings_mapping(settings: dict[str, str]) -> dict[str, Any]:
    """The settings line's ``key=value`` pairs back into a ``smart_trailing`` mapping."""
    mapping: dict[str, Any] = {}
    for key, text in settings.items():
        if key in REPORT_ONLY_KEYS:
            continue
        block, _, sub_key = key.partition(".")
        if not sub_key:
            if key == "steps":
                pairs = text.strip("[]")
                mapping["steps"] = [] if text in _OFF or not pairs else [
                    {"profit": float(p), "trail_distance": float(d)}
                    for p, d in (pair.split(":") for pair in pairs.split(","))]
            elif text in _OFF:
                mapping[key] = None
            else:
                mapping[key] = _value(text)
            continue
        if text not in _OFF:  # an input written "off" (momentum.atr_multiplier) is left out
            mapping.setdefault(block, {})[sub_key] = _value(text)
    if mapping.get("exchange") is None:
        mapping.pop("exchange", None)
    return mapping


def rules_from_settings(settings: dict[str, str] | None, logged_at: float | None = None) -> Rules:
    """Rules from the settings line (``logs.parse_settings``); the defaults when it cannot be read."""
    if not settings:
        return Rules()
    try:
        config = parse_config(settings_mapping(settings))
    except (ConfigError, ValueError):
        return Rules()  # "optimised ..." (hyperopt) or a line from another version: not judged by it
    return Rules(config, logged_at)
