"""``/trailing`` in freqtrade's Telegram: registered on freqtrade's running Telegram handler at start-up.

freqtrade has no plugin API for Telegram commands, so the plugin reaches its handler the way the
bot holds it (freqtrade 2026.9): the strategy's DataProvider keeps the bot's ``RPCManager``, whose
``registered_modules`` include the ``Telegram`` object. That object runs python-telegram-bot's
``Application`` in its own thread and asyncio loop, so the command handler is added by a coroutine
run on that loop (``run_coroutine_threadsafe``), never from the bot's thread. The handler is wrapped
in freqtrade's own ``authorized_only``: only the configured ``chat_id`` (and ``topic_id``,
``authorized_users``) get an answer, and a trade database session is opened and closed as for
freqtrade's own commands. Once Telegram is up, ``/trailing`` is appended to the bot's command menu
(``get_my_commands`` / ``set_my_commands``; the commands already listed are kept).

Anything not as expected (another freqtrade version) is said in one WARNING and the bot carries on
without the command. Nothing here runs in backtesting or hyperopt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from enum import Enum
from functools import partial
from typing import Any

from ts_plugin.strategy.health import trade_section
from ts_plugin.strategy.trailing_report import USAGE, TrailingRow, messages, parse_trade_id

logger = logging.getLogger("ts_plugin")

COMMAND = "trailing"
MENU_DESCRIPTION = "Smart trailing stop of the open trades"
# How long the menu update waits for Telegram to be started (freqtrade retries its start-up).
MENU_WAIT_S = 120.0
_MENU_POLL_S = 1.0


class LayoutError(RuntimeError):
    """freqtrade's internals are not as this module expects (another freqtrade version)."""


class Registration(str, Enum):
    PENDING = "pending"  # Telegram's thread has not made its loop yet: tried again next loop start
    SCHEDULED = "scheduled"  # handed to Telegram's loop
    NO_TELEGRAM = "no telegram"  # telegram is not enabled in the config
    UNAVAILABLE = "unavailable"  # warned once; the bot runs without the command


def find_telegram(dp: Any, config: dict) -> Any | None:
    """freqtrade's running Telegram handler; None when telegram is not enabled; LayoutError when
    freqtrade does not hold it where 2026.9 does."""
    enabled = bool((config.get("telegram") or {}).get("enabled", False))
    if not enabled:
        return None
    try:
        from freqtrade.rpc.telegram import Telegram, authorized_only  # noqa: F401
    except ImportError as exc:
        raise LayoutError(f"freqtrade.rpc.telegram has no Telegram / authorized_only ({exc})") from None
    rpc = getattr(dp, "_DataProvider__rpc", None)
    modules = getattr(rpc, "registered_modules", None)
    if not isinstance(modules, list):
        raise LayoutError("the DataProvider holds no RPC manager with registered_modules")
    found = [module for module in modules if isinstance(module, Telegram)]
    if not found:
        raise LayoutError("telegram is enabled but no Telegram handler is registered with the RPC manager")
    for name in ("_config", "_send_msg", "_thread"):
        if not hasattr(found[0], name):
            raise LayoutError(f"freqtrade's Telegram handler has no {name}")
    return found[0]


def collect_rows(strategy: Any) -> list[TrailingRow]:
    """The open trades with the plugin's state and the exchange side; run in Telegram's thread.

    The state cache and the governor are the bot thread's: they are copied, never changed, and a
    copy that met a concurrent change is taken again."""
    from freqtrade.persistence import Trade

    trades = sorted(Trade.get_open_trades(), key=lambda trade: trade.id)
    cache = dict(strategy._ts_store.cache)
    governor = getattr(strategy, "_ts_governor", None)
    sides: dict[str, dict[str, Any]] = {}
    for _ in range(3):
        try:
            sides = trade_section(strategy)
            break
        except RuntimeError:  # "dictionary changed size during iteration": the bot thread moved on
            continue
    circuit = governor.breaker.state.value if governor is not None else None
    return [TrailingRow(trade, cache.get(trade.id), sides.get(str(trade.id), {}), circuit) for trade in trades]


def make_callback(telegram: Any, strategy: Any) -> Any:
    """The command's callback, behind freqtrade's ``authorized_only``, bound to the Telegram handler."""
    from freqtrade.rpc.telegram import authorized_only

    async def _trailing(tg: Any, update: Any, context: Any) -> None:
        try:
            trade_id = parse_trade_id(getattr(context, "args", None))
        except ValueError:
            await tg._send_msg(USAGE)
            return
        for text in messages(collect_rows(strategy), time.time(), trade_id):
            await tg._send_msg(text)

    return partial(authorized_only(_trailing), telegram)


async def _install(telegram: Any, callback: Any) -> None:
    """On Telegram's loop: add the handler, then the menu entry once Telegram has started."""
    from telegram.ext import CommandHandler

    app = telegram._app
    app.add_handler(CommandHandler(COMMAND, callback))
    logger.info("smart_trailing: /%s added to freqtrade's Telegram commands (authorised chat only)", COMMAND)
    waited = 0.0
    while not app.running:
        if waited >= MENU_WAIT_S:
            logger.warning("smart_trailing: Telegram did not start within %.0fs: /%s is not in the bot's "
                           "command menu (it answers when typed once Telegram is up)", MENU_WAIT_S, COMMAND)
            return
        await asyncio.sleep(_MENU_POLL_S)
        waited += _MENU_POLL_S
    await add_to_menu(app.bot)


async def add_to_menu(bot: Any) -> None:
    """Append ``/trailing`` to the bot's command menu, keeping the commands already listed."""
    from telegram import BotCommand

    try:
        listed = list(await bot.get_my_commands())
        if any(command.command == COMMAND for command in listed):
            return
        await bot.set_my_commands([*listed, BotCommand(COMMAND, MENU_DESCRIPTION)])
    except Exception as exc:  # network or API refusal: the command still works when typed
        logger.warning("smart_trailing: /%s could not be added to the bot's command menu: %s", COMMAND, exc)


class TrailingCommand:
    """Registers ``/trailing`` once: at ``bot_start``, or at a following loop start when Telegram's
    thread had not made its loop yet."""

    def __init__(self, strategy: Any) -> None:
        self.strategy = strategy
        self.status = Registration.PENDING
        self.future: Any = None

    @property
    def pending(self) -> bool:
        return self.status is Registration.PENDING

    def try_register(self, dp: Any) -> Registration:
        """One attempt; never raises (a surprise is one WARNING and no command)."""
        if not self.pending:
            return self.status
        try:
            telegram = find_telegram(dp, self.strategy.config)
            if telegram is None:
                self.status = Registration.NO_TELEGRAM
                return self.status
            loop = getattr(telegram, "_loop", None)
            if loop is None:
                if telegram._thread.is_alive():
                    return self.status  # the thread's first statement makes it: next loop start
                raise LayoutError("freqtrade's Telegram thread ended without an asyncio loop")
            if not isinstance(loop, asyncio.AbstractEventLoop):
                raise LayoutError("freqtrade's Telegram handler has no asyncio loop in _loop")
            callback = make_callback(telegram, self.strategy)
            self.future = asyncio.run_coroutine_threadsafe(_install(telegram, callback), loop)
            self.future.add_done_callback(_report_failure)
            self.status = Registration.SCHEDULED
        except Exception as exc:
            self.status = Registration.UNAVAILABLE
            logger.warning("smart_trailing: /%s is not available in Telegram: freqtrade's Telegram handler "
                           "is not as expected (%s); the bot runs without it", COMMAND, exc)
        return self.status


def _report_failure(future: Any) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        logger.warning("smart_trailing: /%s could not be added to freqtrade's Telegram: %s", COMMAND, exc)
