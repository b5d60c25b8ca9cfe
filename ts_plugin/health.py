"""A health view of the plugin in a running bot: one JSON file, rewritten at each reconciliation.

``user_data/smart_trailing_health.json`` answers "is my trailing stop working?" at a glance: event
counters, rebuilt states, tick errors, the exchange circuit, retries, skips by reason, unprotected
windows and what the last orphan reconciliation found. It is also logged as one INFO line.
"""

from __future__ import annotations

import json
import logging
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

logger = logging.getLogger("ts_plugin")

HEALTH_FILE = "smart_trailing_health.json"


def snapshot(strategy: Any, now: float) -> dict[str, Any]:
    summary = strategy.trailing_summary()
    health: dict[str, Any] = {
        "at": datetime.fromtimestamp(now, tz=timezone.utc).isoformat().replace("+00:00", "Z"),
        "open_trades_tracked": len(strategy._ts_store.cache),
        "events": dict(strategy._ts_events.counts),
        "rebuilt_states": summary["rebuilt"],
        "tick_errors": summary["tick_errors"],
        "unusable_rates": summary["unusable_rates"],
        "store_write_failures": summary["store_write_failures"],
    }
    governor = getattr(strategy, "_ts_governor", None)
    if governor is not None:
        windows = governor.windows_ms
        health["exchange"] = {
            "replacement_path": governor.path.value,
            "circuit": governor.breaker.state.value,
            "circuit_opened": governor.breaker.times_opened,
            "reconciled": governor.reconciled,
            "counters": dict(governor.counters),
            "unprotected_windows_ms": {
                "count": governor.counters["unprotected_windows"],
                "median_of_last": round(statistics.median(windows), 1) if windows else None,
                "max_of_last": round(max(windows), 1) if windows else None,
                "last": len(windows),
            },
        }
        reconciler = strategy._ts_reconciler
        result = reconciler.last_result if reconciler else None
        if result is not None:
            # Trades, not pairs: a pair's next trade is another trade. Awaiting = no stop yet, but
            # freqtrade has not had its iteration to place one (not an alarm).
            health["last_reconciliation"] = {
                "orphans": len(result.orphans), "foreign": len(result.foreign),
                "unprotected_trades": [trade_id for _, trade_id in reconciler.unprotected],
                "unprotected_pairs": [pair for pair, _ in reconciler.unprotected],
                "awaiting_stop_trades": [trade_id for _, trade_id in reconciler.awaiting],
                "live_stops": len(result.current),
            }
    return health


def publish(strategy: Any, now: float) -> dict[str, Any]:
    """Write the health file next to the bot's user data and log it; never raises."""
    health = snapshot(strategy, now)
    try:
        folder = Path(strategy.config.get("user_data_dir") or ".")
        (folder / HEALTH_FILE).write_text(json.dumps(health, indent=1, sort_keys=True))
    except OSError as exc:
        logger.warning("smart_trailing: could not write %s: %s", HEALTH_FILE, exc)
    logger.info("smart_trailing health %s", json.dumps(health, sort_keys=True))
    return health
