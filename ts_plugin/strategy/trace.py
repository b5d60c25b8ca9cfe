"""The stop path a dry-run/live trade leaves behind: a bounded list of (time, stop, phase) points.

Stored by the store beside the state, under its own custom-data key (``smart_trailing_trace``), and
only when the stop moved or the phase changed: a quiet tick writes nothing. Its JSON form is compact
(one ``[time, stop, phase]`` row per point) because a long trade may gather hundreds of raises:

    {"v": 1, "points": [["2026-01-05T12:05:00Z", 50100.0, "BREAKEVEN"], ...], "thinned": 0}

Bounded at ``MAX_POINTS``: when full, every second point of the older half is dropped (a point where
the phase changed is kept, and so are the first point and the newer half), and ``thinned`` counts the
points dropped. The older part of a very long trade is then drawn coarser; its phases and its
latest stops stay exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ts_plugin.core.state import Phase, TrailState, noise_free

TRACE_VERSION = 1
MAX_POINTS = 500
_PHASES = frozenset(phase.value for phase in Phase)


@dataclass(frozen=True, slots=True)
class StopPoint:
    """The stop in force from ``time`` (epoch seconds, UTC) on, and the trade's phase then."""

    time: float
    stop: float
    phase: str


class TraceError(ValueError):
    """A stored trace that cannot be read; it is drawn as missing and restarted when next written."""


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _epoch(text: Any) -> float:
    if not isinstance(text, str):
        raise TraceError(f"expected an ISO-8601 time, got {text!r}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TraceError(str(exc)) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def next_trace(points: list[StopPoint], state: TrailState, limit: int = MAX_POINTS) -> list[StopPoint] | None:
    """``points`` with the state's stop appended, or None when there is nothing new to record (no
    stop yet, or the same stop and phase as the last point)."""
    if state.stop is None:
        return None
    stop = noise_free(state.stop)
    if points and points[-1].stop == stop and points[-1].phase == state.phase.value:
        return None
    return thin([*points, StopPoint(state.updated_at, stop, state.phase.value)], limit)


def thin(points: list[StopPoint], limit: int = MAX_POINTS) -> list[StopPoint]:
    """At most ``limit`` points: every second point of the older half dropped until it fits, phase
    changes, the first point and the newer half kept."""
    while len(points) > limit:
        half = len(points) // 2
        kept = [points[0]]
        for index in range(1, half):
            point = points[index]
            if index % 2 == 0 or point.phase != kept[-1].phase:
                kept.append(point)
        if len(kept) == half:  # nothing could go (phase changes only): drop the oldest after the first
            kept.pop(1)
        points = kept + points[half:]
    return points


def encode_trace(points: list[StopPoint], thinned: int = 0) -> dict[str, Any]:
    return {"v": TRACE_VERSION, "points": [[_iso(p.time), p.stop, p.phase] for p in points], "thinned": thinned}


def decode_trace(stored: Any) -> list[StopPoint]:
    """The points of a stored trace, or ``TraceError`` saying what is wrong with it."""
    if not isinstance(stored, dict) or stored.get("v") != TRACE_VERSION:
        raise TraceError(f"expected a version {TRACE_VERSION} trace object")
    rows = stored.get("points")
    if not isinstance(rows, list):
        raise TraceError("points: expected a list")
    points = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3):
            raise TraceError(f"expected [time, stop, phase], got {row!r}")
        time, stop, phase = row
        if isinstance(stop, bool) or not isinstance(stop, (int, float)) or not math.isfinite(stop) or stop <= 0:
            raise TraceError(f"stop: expected a positive price, got {stop!r}")
        if phase not in _PHASES:
            raise TraceError(f"phase: unknown {phase!r}")
        points.append(StopPoint(_epoch(time), float(stop), phase))
    return points


def thinned_count(stored: Any) -> int:
    """How many points a stored trace dropped (0 when unknown)."""
    count = stored.get("thinned") if isinstance(stored, dict) else None
    return count if isinstance(count, int) and count >= 0 else 0
