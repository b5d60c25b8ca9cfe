"""Where trailing state lives: an in-memory cache in front of freqtrade's per-trade custom data.

Read once per trade per process, then served from memory; written only when the state changed, and only
in dry-run and live. Backtesting and hyperopt never touch custom data: freqtrade keeps it there in a list
that is scanned on every access and never pruned, which would make each call slower as trades close.
"""

from __future__ import annotations

import logging
from typing import Any

from ts_plugin.state import StateError, TrailState, decode, encode

CUSTOM_DATA_KEY = "smart_trailing"

logger = logging.getLogger("ts_plugin")


class StateStore:
    """Per-process cache of open trades' states, backed by custom data when ``persist`` is on."""

    def __init__(self, persist: bool) -> None:
        self.persist = persist
        self.cache: dict[Any, TrailState] = {}
        self.write_failures = 0

    def key(self, trade: Any) -> Any:
        """Cache key of a trade. Live, the database id is unique (and ``open_date`` may come back
        from SQLite without its timezone, so it must not be part of the key); in backtesting and
        hyperopt ids can repeat across runs of one process, so the open time is added."""
        return trade.id if self.persist else (trade.id, trade.open_date)

    def read(self, trade: Any) -> TrailState | None:
        """The stored state of ``trade``, None when it has none; ``StateError`` when unreadable."""
        if not self.persist:
            return None
        try:
            stored = trade.get_custom_data(CUSTOM_DATA_KEY)
        except Exception as exc:  # bad JSON or a wrong stored type raise inside freqtrade
            raise StateError(f"custom data could not be read: {exc}") from None
        if stored is None:
            return None
        return decode(stored)

    def write(self, trade: Any, state: TrailState, replace_corrupt: bool = False) -> bool:
        """Persist ``state``; False (logged, counted) when the database refused it.

        ``replace_corrupt`` deletes the old row first: freqtrade keeps a key's type from its first
        write, so a corrupt value of another type would otherwise stay unreadable forever.
        """
        if not self.persist:
            return True
        try:
            if replace_corrupt:
                trade.delete_custom_data(CUSTOM_DATA_KEY)
            trade.set_custom_data(CUSTOM_DATA_KEY, encode(state))
            return True
        except Exception:
            self.write_failures += 1
            logger.exception("smart_trailing: could not store state of trade %s", trade.id)
            return False
