"""Where trailing state lives: an in-memory cache in front of freqtrade's per-trade custom data.

Read once per trade per process, then served from memory; written only when the state changed, and only
in dry-run and live. Backtesting and hyperopt never touch custom data: freqtrade keeps it there in a list
that is scanned on every access and never pruned, which would make each call slower as trades close.

Beside the state, the trade's stop path for ``ts-plugin plot`` (key ``smart_trailing_trace``, see
plot/trace.py): appended only when a state write moved the stop or changed the phase, bounded per trade.
"""

from __future__ import annotations

import logging
from typing import Any

from ts_plugin.core.state import Phase, StateError, TrailState, decode, encode
from ts_plugin.strategy.trace import StopPoint, decode_trace, encode_trace, next_trace, thinned_count

CUSTOM_DATA_KEY = "smart_trailing"
TRACE_KEY = "smart_trailing_trace"

logger = logging.getLogger("ts_plugin")


def end_read() -> None:
    """End the read transaction a custom-data read opened, so its database connection goes back to
    the pool. freqtrade scopes that session per thread, and per REST request for calls made inside
    one (``/forceenter`` fills an entry, and so creates a state, in the API's worker thread); a
    request's session is never closed by freqtrade, so a read left open there kept its connection
    for good, and some fifteen force-entered trades exhausted the pool and stalled the bot."""
    from freqtrade.persistence.custom_data import _CustomData

    session = _CustomData.session()  # this thread's (or this request's) session
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()


class StateStore:
    """Per-process cache of open trades' states, backed by custom data when ``persist`` is on."""

    def __init__(self, persist: bool) -> None:
        self.persist = persist
        self.cache: dict[Any, TrailState] = {}
        self.write_failures = 0
        # Open trades' stop paths as stored: (points, points thinned so far, stored value unreadable).
        self.traces: dict[Any, tuple[list[StopPoint], int, bool]] = {}
        self.trace_failures = 0

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
        finally:
            end_read()
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
        except Exception:
            self.write_failures += 1
            logger.exception("smart_trailing: could not store state of trade %s", trade.id)
            return False
        self._write_trace(trade, state)
        return True

    def _write_trace(self, trade: Any, state: TrailState) -> None:
        """Append the stop to the trade's stored path when it moved or the phase changed. A failure
        here is logged and counted, never raised: the path is for pictures, the state is what trades."""
        key = self.key(trade)
        try:
            points, thinned, unreadable = self.traces.get(key) or self._read_trace(trade)
            updated = next_trace(points, state)
            if updated is not None:
                thinned += len(points) + 1 - len(updated)
                if unreadable:
                    trade.delete_custom_data(TRACE_KEY)
                trade.set_custom_data(TRACE_KEY, encode_trace(updated, thinned))
                points, unreadable = updated, False
        except Exception:
            self.trace_failures += 1
            logger.warning("smart_trailing: could not store the stop path of trade %s", trade.id, exc_info=True)
            self.traces.pop(key, None)
            return
        if state.phase is Phase.CLOSED:
            self.traces.pop(key, None)
        else:
            self.traces[key] = (points, thinned, unreadable)

    @staticmethod
    def _read_trace(trade: Any) -> tuple[list[StopPoint], int, bool]:
        """The stored path (continued after a restart); an unreadable one is started afresh."""
        try:
            stored = trade.get_custom_data(TRACE_KEY)
            return ([], 0, False) if stored is None else (decode_trace(stored), thinned_count(stored), False)
        except Exception:  # TraceError, or freqtrade unable to parse what it stored
            return [], 0, True
        finally:
            end_read()
