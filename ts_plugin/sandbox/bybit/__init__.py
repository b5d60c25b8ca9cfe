"""Bybit v5 (unified account, USDT linear perpetuals) on the sandbox: the same scripted prices and fault
plan as the Binance API, its own account and orders, served under ``/v5/`` by the same server (and
through the HTTPS proxy under Bybit's real host names)."""

from ts_plugin.sandbox.bybit.api import BybitVenue

__all__ = ["BybitVenue"]
