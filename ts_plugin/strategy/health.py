"""A health view of the plugin in a running bot: one JSON file, rewritten every minute.

``user_data/smart_trailing_health.<database>.json`` (one per bot: health_identity.py names it after
the bot's database, and it records the bot and the database) answers "is my trailing stop working?"
at a glance: bot and database, where the alarms go, event
counters, rebuilt states, tick errors, the exchange circuit, retries, skips by reason, unprotected
windows, what the last orphan reconciliation found and, per open trade (keyed by trade id), the
counters ``ts-plugin status`` shows next to what the database holds. It is also logged as one INFO line.

It is written at start-up, after the bot's first whole iteration (freqtrade has placed its stops by
then) and then every ``HEALTH_INTERVAL_S``, and after each reconciliation, which keeps its own interval.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ts_plugin.exchange.watch import BEHIND
from ts_plugin.strategy.health_identity import LEGACY_HEALTH_FILE, health_file_name, identity_fields

logger = logging.getLogger("ts_plugin")

HEALTH_FILE = LEGACY_HEALTH_FILE  # the old shared name; each bot now writes health_file_name(db_url)
# How often the health view is rewritten, whatever the reconciliation interval.
HEALTH_INTERVAL_S = 60.0


class HealthSchedule:
    """When the health view is due: at the first loop start, at the next one (after the bot's first
    whole iteration), then every ``HEALTH_INTERVAL_S`` of the bot's clock."""

    def __init__(self) -> None:
        self.published = 0
        self.last_at: float | None = None

    def due(self, now: float) -> bool:
        return self.published < 2 or self.last_at is None or now - self.last_at >= HEALTH_INTERVAL_S

    def mark(self, now: float) -> None:
        self.published += 1
        self.last_at = now


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def trade_section(strategy: Any) -> dict[str, dict[str, Any]]:
    """Per open trade tracked by this process (trade id as text): the state's counters and what only
    the running bot knows (the exchange side: last skip, a failed create, no live stop found)."""
    governor = getattr(strategy, "_ts_governor", None)
    reconciler = getattr(strategy, "_ts_reconciler", None)
    unprotected = {trade_id for _, trade_id in reconciler.unprotected} if reconciler else set()
    awaiting = {trade_id for _, trade_id in reconciler.awaiting} if reconciler else set()
    watches = {trade_id: watch for (_, trade_id), watch in governor.watches.trades.items()} if governor else {}
    lagging = governor.watches.raised_for(BEHIND) if governor else set()
    trades: dict[str, dict[str, Any]] = {}
    for key, state in list(strategy._ts_store.cache.items()):
        if not isinstance(key, int):  # backtesting keys; health runs in dry-run/live only
            continue
        entry: dict[str, Any] = {
            "phase": state.phase.value,
            "stop": state.stop,
            "exchange_stop": state.exchange_stop,
            "exchange_moved_at": _iso(state.exchange_moved_at),
            "exchange_moves": state.exchange_moves,
            "exchange_skips": state.exchange_skips,
            "stop_raises": state.stop_raises,
            "rebuilds": state.rebuilds,
        }
        if governor is not None:
            watch = watches.get(key)
            entry.update({
                "unprotected": key in unprotected,
                "awaiting_stop": key in awaiting,
                "last_skip": watch.last_skip if watch else None,
                "create_failed": bool(watch and watch.create_failed),
                "exchange_behind_since": _iso(watch.behind_since) if watch else None,
                # behind beyond the policy's limits (the lag alarm raised), not the moment between
                # the bot's move and the exchange's, which every move has
                "exchange_lagging": key in lagging,
            })
        trades[str(key)] = entry
    return trades


def snapshot(strategy: Any, now: float) -> dict[str, Any]:
    summary = strategy.trailing_summary()
    health: dict[str, Any] = {
        "at": _iso(now),
        **identity_fields(getattr(strategy, "config", None) or {}),
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
            "reconciliations": strategy._ts_reconciler.passes if strategy._ts_reconciler else 0,
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
    delivery = getattr(strategy, "_ts_delivery", None)
    if delivery is not None:  # notify on: where the alarms go (alarm_delivery.py)
        health["alarms"] = {"summary": delivery.summary(), **delivery.as_dict()}
    health["trades"] = trade_section(strategy)
    return health


def publish(strategy: Any, now: float) -> dict[str, Any]:
    """Write the health file next to the bot's user data and log it; never raises."""
    health = snapshot(strategy, now)
    name = health_file_name(strategy.config.get("db_url"))
    try:
        path = Path(strategy.config.get("user_data_dir") or ".") / name
        partial = path.with_name(f".{name}.partial")  # readers never see half a file
        partial.write_text(json.dumps(health, indent=1, sort_keys=True))
        os.replace(partial, path)
    except OSError as exc:
        logger.warning("smart_trailing: could not write %s: %s", name, exc)
    logger.info("smart_trailing health %s", json.dumps(health, sort_keys=True))
    return health
