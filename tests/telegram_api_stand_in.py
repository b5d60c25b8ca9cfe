"""A stand-in for Telegram's Bot API at python-telegram-bot's HTTP seam (``HTTPXRequest.do_request``).

Everything above the seam is real: freqtrade's Telegram class, its thread and asyncio loop, its
``Application`` with every handler, long polling, update dispatch and ``authorized_only``. The stand-in
answers the few API methods a bot uses, records what the bot sent, and delivers updates queued by a
test through ``getUpdates``, as Telegram's servers would.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "ts", "username": "ts_test_bot"}


class TelegramApiStandIn:
    def __init__(self, listed_commands: list[dict[str, str]] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []  # sendMessage parameters, in order
        self.commands: list[dict[str, str]] = list(listed_commands or [])
        self.menu_updates = 0
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._changed = threading.Condition()

    # ----- the test's side ------------------------------------------------------------------------

    def send_command(self, text: str, chat_id: int, topic_id: int | None = None) -> None:
        """Queue a message from ``chat_id`` as Telegram would deliver it to the bot."""
        command = text.split()[0]
        message: dict[str, Any] = {
            "message_id": self._next_update_id, "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if topic_id is None else "supergroup"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "trader"},
            "text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }
        if topic_id is not None:
            message.update(message_thread_id=topic_id, is_topic_message=True)
        with self._changed:
            self._updates.append({"update_id": self._next_update_id, "message": message})
            self._next_update_id += 1

    def wait_for(self, predicate, timeout: float = 60.0) -> None:
        """Wait until ``predicate(self)`` holds (checked whenever the bot called the API)."""
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self), timeout), "the bot never got there"

    # ----- the API --------------------------------------------------------------------------------

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any, **kwargs: Any):
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        if endpoint == "getUpdates":
            return self._ok(await self._updates_after(int(params.get("offset") or 0)))
        with self._changed:
            result = self._answer(endpoint, params)
            self._changed.notify_all()
        return self._ok(result)

    def _answer(self, endpoint: str, params: dict[str, Any]) -> Any:
        if endpoint == "getMe":
            return BOT_USER
        if endpoint == "sendMessage":
            self.sent.append(params)
            return {"message_id": len(self.sent), "date": int(time.time()), "text": params.get("text"),
                    "chat": {"id": int(params["chat_id"]), "type": "private"}}
        if endpoint == "getMyCommands":
            return self.commands
        if endpoint == "setMyCommands":
            commands = params["commands"]
            self.commands = json.loads(commands) if isinstance(commands, str) else list(commands)
            self.menu_updates += 1
            return True
        if endpoint in ("deleteWebhook", "setMyDescription"):
            return True
        raise AssertionError(f"the bot called an API method the stand-in does not know: {endpoint}")

    async def _updates_after(self, offset: int) -> list[dict[str, Any]]:
        """Long polling: what is queued from ``offset`` on, or an empty answer a moment later."""
        for _ in range(20):
            with self._changed:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates:
                    return list(self._updates)
            await asyncio.sleep(0.05)  # the server's long-poll wait, not the test's synchronisation
        return []

    @staticmethod
    def _ok(result: Any) -> tuple[int, bytes]:
        return 200, json.dumps({"ok": True, "result": result}).encode()
