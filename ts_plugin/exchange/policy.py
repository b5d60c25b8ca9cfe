"""When may the stop order on the exchange move? A pure decision, decided before anything is touched.

Rules, in order (ratios of price, like every setting):
1. a candidate that does not tighten the exchange stop is never sent;
2. an improvement of at least ``emergency_improvement`` goes out at once (no interval applies);
3. otherwise at most one move per ``min_update_interval_s`` per trade;
4. and only when it tightens the stop by at least ``min_improvement``;
5. and, with ``hold_while_tightening``, not while the bot's stop is still tightening from one
   iteration to the next: the price is then running away from the stop, so the move waits for the
   first pause or turn and goes out once, at the run's best level, instead of once per interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(str, Enum):
    MOVE = "move"
    EMERGENCY = "emergency"
    SKIP_NOT_TIGHTER = "not_tighter"
    SKIP_INTERVAL = "interval"
    SKIP_IMPROVEMENT = "improvement"
    SKIP_TIGHTENING = "tightening"

    @property
    def moves(self) -> bool:
        return self in (Verdict.MOVE, Verdict.EMERGENCY)


@dataclass(frozen=True, slots=True)
class UpdatePolicy:
    min_update_interval_s: float = 60.0
    min_improvement: float = 0.001
    emergency_improvement: float = 0.01
    hold_while_tightening: bool = True


def improvement(current: float, candidate: float, is_short: bool) -> float:
    """How much ``candidate`` tightens ``current``, as a ratio of ``current`` (negative = loosens)."""
    return (current - candidate) / current if is_short else (candidate - current) / current


def decide(
    policy: UpdatePolicy,
    exchange_stop: float | None,
    candidate: float,
    is_short: bool,
    last_move_at: float | None,
    now: float,
    still_tightening: bool = False,
) -> Verdict:
    """Should the exchange stop at ``exchange_stop`` move to ``candidate`` at time ``now``?

    ``still_tightening``: the bot's stop tightened since the previous decision for this trade.
    """
    if exchange_stop is None or exchange_stop <= 0:
        return Verdict.MOVE  # nothing known on the exchange: placing protection is always right
    gain = improvement(exchange_stop, candidate, is_short)
    if gain <= 0:
        return Verdict.SKIP_NOT_TIGHTER
    if gain >= policy.emergency_improvement:
        return Verdict.EMERGENCY
    if last_move_at is not None and now - last_move_at < policy.min_update_interval_s:
        return Verdict.SKIP_INTERVAL
    if gain < policy.min_improvement:
        return Verdict.SKIP_IMPROVEMENT
    if still_tightening and policy.hold_while_tightening:
        return Verdict.SKIP_TIGHTENING
    return Verdict.MOVE
