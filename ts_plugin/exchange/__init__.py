"""Stop-on-exchange governance: pure policy, retries and circuit breaker, and the exchange hook."""
