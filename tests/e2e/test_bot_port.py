"""The e2e bot's REST port is chosen free, then bound by freqtrade seconds later; on a machine where
other test sessions start bots too, another process can take it in between (seen: uvicorn's "address
already in use", the test then talking to whatever held the port). A bot of another session answers
only its own password, and a bot that could not bind is restarted on another port."""

import json
import threading
from base64 import b64encode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.bot import API_USER, free_port

pytestmark = pytest.mark.slow

ANOTHER_SESSIONS_PASSWORD = "not-a-secret"


class AnotherSessionsBot:
    """Holds a port as a running freqtrade of another test session does: ping answers anyone, the
    rest only that session's login."""

    def __init__(self) -> None:
        login = "Basic " + b64encode(f"{API_USER}:{ANOTHER_SESSIONS_PASSWORD}".encode()).decode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path.endswith("/ping"):
                    self._answer(200, {"status": "pong"})
                elif self.headers.get("Authorization") == login:
                    self._answer(200, {"state": "running", "strategy": "AnotherSessionsStrategy"})
                else:
                    self._answer(401, {"detail": "Unauthorized"})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_port_taken_after_it_was_chosen_moves_the_bot_to_another(start_bot):
    other = AnotherSessionsBot()
    try:
        bot = start_bot(dry_run=True, api_port=other.port)  # chosen free, taken before the bot binds it
        assert bot.api_port != other.port
        assert bot.config["api_server"]["listen_port"] == bot.api_port
        assert bot.client.show_config()["strategy"] == "E2ETrailing"  # this bot, not the other session's
        assert "error while attempting to bind" in bot.log_text()
    finally:
        other.close()
