"""HTTPS-proxy mode: ccxt keeps Binance's real URLs, and the sandbox answers them itself.

The proxy listens on 127.0.0.1 and accepts ``CONNECT host:443``; instead of reaching the host it
terminates TLS with a certificate for that host from a throwaway trustme CA and serves the sandbox's
own handler over the tunnel. ccxt therefore keeps its real URLs and per-market error mapping, and no
request can ever reach a real exchange. Clients must trust the CA: ``ccxt_async_config.cafile`` for the
async client and ``REQUESTS_CA_BUNDLE`` for the sync one (see ``SandboxProxy.freqtrade_settings``).
"""

from __future__ import annotations

import socketserver
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

from ts_plugin.sandbox.server import (SandboxExchange, _Handler, ensure_loopback, serve_in_background,
                                      shut_down)


class SandboxProxy:
    def __init__(self, sandbox: SandboxExchange, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            import trustme
        except ImportError:
            raise ImportError("the sandbox's HTTPS-proxy mode needs trustme: pip install 'ts_plugin[sandbox]' "
                              "(the URL mode, ccxt_overrides, needs nothing more)") from None

        ensure_loopback(host)
        self.sandbox = sandbox
        self.host, self._requested_port = host, port
        self._ca = trustme.CA()
        self._folder = tempfile.TemporaryDirectory(prefix="ts-sandbox-ca-")
        self.ca_file = Path(self._folder.name) / "sandbox-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None

    def context_for(self, hostname: str) -> ssl.SSLContext:
        with self._lock:
            if hostname not in self._contexts:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                self._ca.issue_cert(hostname).configure_cert(context)
                self._contexts[hostname] = context
            return self._contexts[hostname]

    @property
    def url(self) -> str:
        assert self._server is not None, "proxy is not running"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> "SandboxProxy":
        ensure_loopback(self.host)  # again: ``host`` is a plain attribute and may have been changed
        proxy = self
        handler_class = type("Handler", (_Handler,), {"sandbox": self.sandbox})

        class Tunnel(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request_line = self.rfile.readline(65537).decode("latin-1").split()
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                if len(request_line) < 2 or request_line[0].upper() != "CONNECT":
                    self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                    return
                hostname = request_line[1].rsplit(":", 1)[0]
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                try:
                    secure = proxy.context_for(hostname).wrap_socket(self.connection, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                try:
                    handler_class(secure, self.client_address, self.server)
                except (ssl.SSLError, OSError):
                    return  # the client went away mid-request (a bot killed with kill -9): not an error

        self._server = socketserver.ThreadingTCPServer((self.host, self._requested_port), Tunnel)
        serve_in_background(self._server, "sandbox-proxy")
        return self

    def stop(self) -> None:
        if self._server is not None:
            shut_down(self._server)
            self._server = None
        self._folder.cleanup()

    def freqtrade_settings(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(keys for freqtrade's ``exchange`` section, environment for the bot process)."""
        exchange = {
            "ccxt_config": {"httpsProxy": self.url},
            "ccxt_sync_config": {"requests_trust_env": True},  # so requests reads the CA bundle
            "ccxt_async_config": {"cafile": str(self.ca_file)},
        }
        return exchange, {"REQUESTS_CA_BUNDLE": str(self.ca_file)}

    def __enter__(self) -> "SandboxProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
