"""Retry transient exchange errors with exponential backoff and jitter, inside a bounded budget.

Transient: timeouts, network errors, 5xx, rate limits (429/418), -1021 timestamp. Everything else
(insufficient funds, invalid order, unknown order) is not retried here: the caller decides.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

import ccxt
from freqtrade.exceptions import DDosProtection, TemporaryError

T = TypeVar("T")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ccxt.OperationFailed,  # 5xx answers, and every NetworkError: timeouts, 429/418, exchange down
    ccxt.InvalidNonce,  # Binance -1021 timestamp outside recvWindow
    TemporaryError,
    DDosProtection,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0
    budget_s: float = 8.0  # wall-clock budget for one call including its retries


class RetryBudgetExceeded(Exception):
    """All attempts failed transiently; ``last`` is the final error."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempts: {last}")
        self.attempts = attempts
        self.last = last


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(max, base x 2^attempt)]."""
    return rng.uniform(0, min(policy.max_delay_s, policy.base_delay_s * (2**attempt)))


def call_with_retry(
    func: Callable[[], T],
    policy: RetryPolicy,
    on_retry: Callable[[int, BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """Call ``func``; retry transient errors until it succeeds, attempts run out or budget is spent."""
    rng = rng or random.Random()
    started = clock()
    attempt = 0
    while True:
        try:
            return func()
        except TRANSIENT_ERRORS as exc:
            attempt += 1
            if on_retry is not None:
                on_retry(attempt, exc)
            delay = backoff_delay(policy, attempt - 1, rng)
            if attempt >= policy.attempts or clock() - started + delay > policy.budget_s:
                raise RetryBudgetExceeded(attempt, exc) from exc
            sleep(delay)
