"""A webhook receiver on 127.0.0.1 for end-to-end bots: what freqtrade's webhook delivered.

freqtrade's webhook posts a strategy message (``dp.send_msg``, the plugin's alarms and events) only
where the webhook has ``allow_custom_messages: true`` and a ``strategy_msg`` payload; ``webhook_config``
writes that section. The receiver keeps every message body it got, in order, and answers 200 at once
(freqtrade's webhook call blocks the bot's loop until answered).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    """``with WebhookReceiver() as receiver: ... receiver.messages``: the ``msg`` texts received."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                try:
                    text = str(json.loads(body).get("msg", body))
                except (ValueError, AttributeError):
                    text = body
                with receiver._lock:
                    receiver.messages.append(text)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # a burst of messages on a loaded machine: never a refused connect

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def received(self) -> list[str]:
        with self._lock:
            return list(self.messages)

    def webhook_config(self) -> dict:
        """freqtrade's ``webhook`` section: strategy messages only, as JSON ``{"msg": ...}``."""
        return {"enabled": True, "url": self.url, "format": "json", "allow_custom_messages": True,
                "retries": 2, "retry_delay": 0.2, "timeout": 5, "strategy_msg": {"msg": "{msg}"}}

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
