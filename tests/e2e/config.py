"""freqtrade configs for the end-to-end bot, pointed at the sandbox exchange on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from tests.e2e.bot import API_PASSWORD, API_USER


def bot_config(exchange_overrides: dict[str, Any], api_port: int, pairs: list[str], dry_run: bool = True,
               smart_trailing: dict | None = None, trading_mode: str = "spot", margin_mode: str | None = None,
               use_order_book: bool = False) -> dict:
    """A complete trade config; ``exchange_overrides`` comes from the sandbox (ccxt URLs / proxy).

    Futures needs ``use_order_book``: Binance's futures tickers carry no bid/ask for ticker pricing.
    """
    config = {
        "max_open_trades": 3,
        "stake_currency": "USDT",
        "stake_amount": 100,
        "tradable_balance_ratio": 0.99,
        "dry_run": dry_run,
        "dry_run_wallet": 1000,
        "cancel_open_orders_on_exit": False,
        "trading_mode": trading_mode,
        "timeframe": "1m",
        "unfilledtimeout": {"entry": 10, "exit": 10, "unit": "minutes"},
        "entry_pricing": {"price_side": "other", "use_order_book": use_order_book, "price_last_balance": 0.0},
        "exit_pricing": {"price_side": "other", "use_order_book": use_order_book},
        "exchange": {
            "name": "binance",
            "key": "sandbox-key",
            "secret": "sandbox-secret",
            "pair_whitelist": pairs,
            "pair_blacklist": [],
            "enable_ws": False,  # websockets would try the real exchange's stream host
            **exchange_overrides,
        },
        "pairlists": [{"method": "StaticPairList"}],
        "force_entry_enable": True,
        "api_server": {
            "enabled": True,
            "listen_ip_address": "127.0.0.1",
            "listen_port": api_port,
            "verbosity": "error",
            "jwt_secret_key": "end-to-end-tests-only-not-a-real-secret-0123456789",
            "CORS_origins": [],
            "username": API_USER,
            "password": API_PASSWORD,
        },
        "internals": {"process_throttle_secs": 1, "heartbeat_interval": 0},
        "bot_name": "ts_plugin_e2e",
        "initial_state": "running",
        "smart_trailing": smart_trailing or {},
    }
    if margin_mode is not None:
        config["margin_mode"] = margin_mode
    return config
