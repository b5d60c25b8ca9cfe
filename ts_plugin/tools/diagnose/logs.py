"""What the plugin wrote into the bot's log, as the REST API returns it (``/logs``): pure parsing.

freqtrade keeps the last log records in memory (up to 1,000; it drops the older half when full) and
returns each as ``[time text, epoch ms, logger, level, message]``. Three kinds of plugin lines matter
here: the latest ``smart_trailing health {json}`` line (health.py), the start-up line
``smart_trailing settings in force: key=value [source], ...`` (settings_report.py; long-running
bots may have dropped it) and the lines the plugin logged at WARNING (its alarm events).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

HEALTH_PREFIX = "smart_trailing health "
SETTINGS_PREFIX = "smart_trailing settings in force: "
PLUGIN_LOGGER = "ts_plugin"
_SETTING = re.compile(r"([\w.]+)=(.*?) \[[^\]]*\](?:, |$)")


@dataclass(frozen=True)
class LogLine:
    at: float  # epoch seconds
    level: str
    message: str


@dataclass(frozen=True)
class PluginLog:
    health: dict[str, Any] | None = None
    health_logged_at: float | None = None
    settings: dict[str, str] | None = None  # dotted key -> value as written in the line
    settings_logged_at: float | None = None
    warnings: tuple[LogLine, ...] = field(default_factory=tuple)


def _records(records: Iterable[Any]) -> Iterable[LogLine | None]:
    for record in records:
        try:
            _, epoch_ms, logger, level, message = record[:5]
            if logger == PLUGIN_LOGGER or str(logger).startswith(PLUGIN_LOGGER + "."):
                yield LogLine(float(epoch_ms) / 1000, str(level), str(message))
        except (TypeError, ValueError):
            continue  # not a record as freqtrade writes them: ignore it rather than guess


def parse_settings(message: str) -> dict[str, str]:
    """``key=value [source], ...`` -> {key: value}; values may hold commas (``steps=[0.03:0.005,...]``)."""
    return {key: value for key, value in _SETTING.findall(message[len(SETTINGS_PREFIX):])}


def read_plugin_log(records: Iterable[Any]) -> PluginLog:
    """The latest health line, the latest settings line and every plugin WARNING, oldest first."""
    health = health_at = settings = settings_at = None
    warnings: list[LogLine] = []
    for line in _records(records):
        if line.message.startswith(HEALTH_PREFIX):
            try:
                parsed = json.loads(line.message[len(HEALTH_PREFIX):])
            except ValueError:
                continue
            if isinstance(parsed, dict):
                health, health_at = parsed, line.at
        elif line.message.startswith(SETTINGS_PREFIX):
            settings, settings_at = parse_settings(line.message), line.at
        elif line.level in ("WARNING", "ERROR", "CRITICAL"):
            warnings.append(line)
    return PluginLog(health, health_at, settings, settings_at, tuple(warnings))
