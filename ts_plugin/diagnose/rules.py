"""The tolerances a diagnosis judges a bot by: the plugin's own settings in force, when the bot says.

The REST API does not expose the ``smart_trailing`` settings (``show_config`` has no such section),
but the plugin logs them once at start-up (``smart_trailing settings in force: ...``). That line is
used when it is still in the bot's log buffer; otherwise the defaults of ``ExchangeConfig`` apply
and the diagnosis says so. Only the exchange policy's limits and the breakeven offset are needed:
everything else is judged from each trade's stored state (its activation price, peak and distance),
which is what the plugin itself computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ts_plugin.config import ExchangeConfig
from ts_plugin.exchange.lag import ALARM_SLACK_S

_DEFAULTS = ExchangeConfig()


@dataclass(frozen=True)
class Rules:
    min_update_interval_s: float = _DEFAULTS.min_update_interval_s
    min_improvement: float = _DEFAULTS.min_improvement
    emergency_improvement: float = _DEFAULTS.emergency_improvement
    breakeven_offset: float | None = None  # None: breakeven off or not known (then: at least the entry)
    from_bot: bool = False  # read from the bot's settings line (else the defaults)
    logged_at: float | None = None

    @property
    def lag_limit_s(self) -> float:
        """How long the exchange stop may stay an emergency gap behind: the plugin's own alarm limit."""
        return self.min_update_interval_s + ALARM_SLACK_S

    def describe(self) -> str:
        return (f"exchange.min_improvement={self.min_improvement:g}, "
                f"exchange.emergency_improvement={self.emergency_improvement:g}, "
                f"exchange.min_update_interval_s={self.min_update_interval_s:g}")


def _number(settings: dict[str, str], key: str, default: float) -> float:
    try:
        return float(settings[key])
    except (KeyError, ValueError):
        return default


def rules_from_settings(settings: dict[str, str] | None, logged_at: float | None = None) -> Rules:
    """Rules from the settings line's ``key=value`` pairs (``logs.parse_settings``), or the defaults."""
    if not settings:
        return Rules()
    offset = settings.get("breakeven.offset")
    return Rules(
        min_update_interval_s=_number(settings, "exchange.min_update_interval_s",
                                      _DEFAULTS.min_update_interval_s),
        min_improvement=_number(settings, "exchange.min_improvement", _DEFAULTS.min_improvement),
        emergency_improvement=_number(settings, "exchange.emergency_improvement",
                                      _DEFAULTS.emergency_improvement),
        breakeven_offset=_number(settings, "breakeven.offset", 0.0) if offset is not None else None,
        from_bot=True, logged_at=logged_at,
    )
