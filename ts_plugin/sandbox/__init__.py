"""A Binance-compatible spot and USD-M futures exchange on 127.0.0.1 for offline backtests, dry-runs and
live end-to-end tests: real ccxt talks to it, prices are scripted, faults can be injected per endpoint."""

from ts_plugin.sandbox.server import SandboxExchange, ccxt_overrides, config_fragment

__all__ = ["SandboxExchange", "ccxt_overrides", "config_fragment"]
