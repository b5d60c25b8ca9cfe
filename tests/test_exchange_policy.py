"""The exchange-stop update policy, circuit breaker and retry budget (pure, no exchange)."""

import random

import ccxt
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ts_plugin.core.config import ConfigError, parse_config
from ts_plugin.exchange.circuit import CircuitBreaker, CircuitState
from ts_plugin.exchange.policy import UpdatePolicy, Verdict, decide, improvement
from ts_plugin.exchange.retry import RetryBudgetExceeded, RetryPolicy, call_with_retry

POLICY = UpdatePolicy(min_update_interval_s=60, min_improvement=0.001, emergency_improvement=0.01)


@pytest.mark.parametrize(
    "current, candidate, is_short, last, now, verdict",
    [
        (None, 100.0, False, None, 0, Verdict.MOVE),  # no stop known: always place
        (100.0, 99.0, False, None, 0, Verdict.SKIP_NOT_TIGHTER),
        (100.0, 101.0, True, None, 0, Verdict.SKIP_NOT_TIGHTER),
        (100.0, 100.05, False, 0, 120, Verdict.SKIP_IMPROVEMENT),  # 0.05 % < 0.1 %
        (100.0, 100.5, False, 0, 30, Verdict.SKIP_INTERVAL),  # 0.5 % but 30 s after the last move
        (100.0, 100.5, False, 0, 60, Verdict.MOVE),
        (100.0, 101.0, False, 0, 1, Verdict.EMERGENCY),  # 1 % bypasses the interval
        (100.0, 99.0, True, 0, 1, Verdict.EMERGENCY),
        (100.0, 99.5, True, 0, 61, Verdict.MOVE),
    ],
)
def test_policy_rules(current, candidate, is_short, last, now, verdict):
    assert decide(POLICY, current, candidate, is_short, last, now) is verdict


@pytest.mark.parametrize(
    "current, candidate, is_short, last, now, verdict",
    [
        (100.0, 100.5, False, 0, 60, Verdict.SKIP_TIGHTENING),  # a move, but the run goes on
        (100.0, 99.5, True, 0, 61, Verdict.SKIP_TIGHTENING),
        (100.0, 101.0, False, 0, 1, Verdict.EMERGENCY),  # an emergency never waits
        (100.0, 100.5, False, 0, 30, Verdict.SKIP_INTERVAL),  # the earlier rules still come first
        (None, 100.0, False, None, 0, Verdict.MOVE),  # no stop known: place it now
    ],
)
def test_moves_wait_while_the_bot_stop_is_still_tightening(current, candidate, is_short, last, now, verdict):
    assert decide(POLICY, current, candidate, is_short, last, now, still_tightening=True) is verdict
    relaxed = UpdatePolicy(60, 0.001, 0.01, hold_while_tightening=False)
    expected = Verdict.MOVE if verdict is Verdict.SKIP_TIGHTENING else verdict
    assert decide(relaxed, current, candidate, is_short, last, now, still_tightening=True) is expected


def test_exchange_block_validation():
    assert parse_config({}).exchange.min_update_interval_s == 60
    with pytest.raises(ConfigError, match="emergency_improvement 0.001 must be greater than min_improvement 0.002"):
        parse_config({"exchange": {"min_improvement": 0.002, "emergency_improvement": 0.001}})
    with pytest.raises(ConfigError, match="Did you mean 'min_update_interval_s'"):
        parse_config({"exchange": {"min_update_interval": 30}})


def test_circuit_opens_half_opens_and_closes():
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=100)
    for _ in range(2):
        assert breaker.record_failure(now=0) is CircuitState.CLOSED
    assert breaker.record_failure(now=10) is CircuitState.OPEN and breaker.times_opened == 1
    assert not breaker.allows(now=50)
    # a call that is never held back (a new trade's first stop, a listing) succeeds meanwhile:
    # the cool-down still runs its course
    assert breaker.record_success(now=60) is CircuitState.OPEN and not breaker.allows(now=60)
    assert breaker.allows(now=110) and breaker.state is CircuitState.HALF_OPEN
    assert breaker.record_failure(now=111) is CircuitState.OPEN  # trial failed: open again
    assert breaker.allows(now=211)
    assert breaker.record_success(now=212) is CircuitState.CLOSED and breaker.failures == 0


def test_a_success_after_the_cool_down_closes_an_open_circuit_without_a_held_back_move():
    """Nothing may be moving (a flat price): the next call that goes through after the cool-down,
    the reconciliation's listing say, is the trial."""
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=100)
    assert breaker.record_failure(now=0) is CircuitState.OPEN
    assert breaker.record_success(now=99) is CircuitState.OPEN
    assert breaker.record_success(now=100) is CircuitState.CLOSED


def test_a_read_between_two_failed_order_calls_does_not_end_their_run():
    """Bybit limits each endpoint on its own: the reconciliation's listing goes through between two
    refused amends. The run of failures goes on; an order call's success ends it; after the
    cool-down a read closes the circuit as any call does (the trial)."""
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=100)
    assert breaker.record_failure(now=0) is CircuitState.CLOSED
    assert breaker.record_success(now=1, read_only=True) is CircuitState.CLOSED and breaker.failures == 1
    assert breaker.record_failure(now=2) is CircuitState.OPEN
    assert breaker.record_success(now=50, read_only=True) is CircuitState.OPEN
    assert breaker.record_success(now=102, read_only=True) is CircuitState.CLOSED and breaker.failures == 0
    assert breaker.record_failure(now=103) is CircuitState.CLOSED
    assert breaker.record_success(now=104) is CircuitState.CLOSED and breaker.failures == 0


def test_retry_until_success_with_growing_jittered_delays():
    answers = iter([ccxt.RequestTimeout("t"), ccxt.RateLimitExceeded("429"), ccxt.InvalidNonce("-1021"), "ok"])

    def flaky():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    slept = []
    retried = []
    result = call_with_retry(flaky, RetryPolicy(attempts=5, base_delay_s=1, max_delay_s=8, budget_s=100),
                             on_retry=lambda n, e: retried.append(type(e).__name__),
                             sleep=slept.append, clock=lambda: 0.0, rng=random.Random(1))
    assert result == "ok" and retried == ["RequestTimeout", "RateLimitExceeded", "InvalidNonce"]
    assert all(0 <= d <= cap for d, cap in zip(slept, [1, 2, 4]))


def test_retry_gives_up_on_attempts_and_never_retries_permanent_errors():
    def always_down():
        raise ccxt.ExchangeNotAvailable("503")

    with pytest.raises(RetryBudgetExceeded) as caught:
        call_with_retry(always_down, RetryPolicy(attempts=3), sleep=lambda d: None, clock=lambda: 0.0)
    assert caught.value.attempts == 3

    calls = []

    def refused():
        calls.append(1)
        raise ccxt.InsufficientFunds("no")

    with pytest.raises(ccxt.InsufficientFunds):
        call_with_retry(refused, RetryPolicy(attempts=3), sleep=lambda d: None)
    assert len(calls) == 1


def test_retry_respects_the_time_budget():
    now = [0.0]

    def slow_failure():
        now[0] += 5.0
        raise ccxt.RequestTimeout("t")

    with pytest.raises(RetryBudgetExceeded) as caught:
        call_with_retry(slow_failure, RetryPolicy(attempts=10, base_delay_s=0.1, budget_s=12),
                        sleep=lambda d: None, clock=lambda: now[0])
    assert caught.value.attempts < 10


policies = st.builds(
    lambda interval, minimum, factor, hold: UpdatePolicy(interval, minimum, minimum * factor + 1e-4, hold),
    st.floats(0, 600), st.floats(0, 0.02), st.floats(1.0, 5.0), st.booleans(),
)
decisions = st.tuples(
    st.floats(1.0, 1e6),  # exchange stop
    st.floats(0.5, 1.5),  # candidate / exchange stop
    st.one_of(st.none(), st.floats(0, 1e4)),  # last move
    st.floats(0, 1e4),  # now - last move
    st.booleans(),  # still tightening
)


@given(policies, decisions, st.booleans())
def test_policy_never_loosens_and_emergencies_never_wait(policy, decision, is_short):
    current, ratio, last, elapsed, tightening = decision
    candidate = current * ratio
    now = (last or 0) + elapsed
    verdict = decide(policy, current, candidate, is_short, last, now, tightening)
    gain = improvement(current, candidate, is_short)
    if verdict.moves:
        assert gain > 0
    if gain >= policy.emergency_improvement:
        assert verdict is Verdict.EMERGENCY


@given(policies, decisions)
def test_policy_mirrors_long_and_short(policy, decision):
    current, ratio, last, elapsed, tightening = decision
    now = (last or 0) + elapsed
    gain = ratio - 1
    # Rounding may tip a gain that sits exactly on a threshold either way: keep clear of them.
    assume(all(abs(gain - edge) > 1e-9 for edge in (0.0, policy.min_improvement, policy.emergency_improvement)))
    long_verdict = decide(policy, current, current * ratio, False, last, now, tightening)
    short_verdict = decide(policy, current, current * (2 - ratio), True, last, now, tightening)
    assert long_verdict is short_verdict
