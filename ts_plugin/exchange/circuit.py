"""A circuit breaker per exchange: after N consecutive failures, stop-order moves pause for a while.

CLOSED -> OPEN after ``failure_threshold`` consecutive failures; OPEN -> HALF_OPEN once ``cooldown_s``
has passed (one trial is let through); HALF_OPEN -> CLOSED on success, back to OPEN on failure.
Time is passed in, so the breaker is pure and testable; the bot-side stop keeps trailing throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class CircuitState(str, Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    cooldown_s: float = 120.0
    state: CircuitState = CircuitState.CLOSED
    failures: int = 0
    opened_at: float | None = None
    times_opened: int = 0

    def allows(self, now: float) -> bool:
        """May a request go out now? Moves OPEN to HALF_OPEN once the cool-down is over."""
        if self.state is CircuitState.OPEN:
            if self.opened_at is not None and now - self.opened_at >= self.cooldown_s:
                self.state = CircuitState.HALF_OPEN
                return True
            return False
        return True

    def record_success(self, now: float | None = None, read_only: bool = False) -> CircuitState:
        """A call went through. While OPEN and still inside the cool-down this changes nothing:
        calls that are never held back (a new trade's first stop, the reconciliation's listing)
        must not cut the cool-down short. After it (or while HALF_OPEN) it closes. While CLOSED an
        order call's success ends the run of failures; a read's (``read_only``) does not: a listing
        between two refused moves says nothing of the order path, so the run goes on counting."""
        if (self.state is CircuitState.OPEN and now is not None and self.opened_at is not None
                and now - self.opened_at < self.cooldown_s):
            return self.state
        if read_only and self.state is CircuitState.CLOSED:
            return self.state
        self.failures = 0
        self.state = CircuitState.CLOSED
        self.opened_at = None
        return self.state

    def record_failure(self, now: float) -> CircuitState:
        """Count a failure; returns the new state (OPEN means it just opened or re-opened)."""
        self.failures += 1
        if self.state is CircuitState.HALF_OPEN or self.failures >= self.failure_threshold:
            if self.state is not CircuitState.OPEN:
                self.times_opened += 1
            self.state = CircuitState.OPEN
            self.opened_at = now
        return self.state
