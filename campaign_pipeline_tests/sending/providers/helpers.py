"""Shared pieces of the provider tests: a Twilio simulator with its client, a callback receiver."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx

from campaign_pipeline.sending.providers.twilio_simulator import TwilioSimulator

ACCOUNT = "AC" + "1" * 32
TOKEN = "secret-token-123"
SENDER = "+358451234567"
SERVICE = "MG" + "a" * 32
TO = "+358401234567"


def api(simulator: TwilioSimulator, token: str = TOKEN) -> httpx.Client:
    """A plain HTTP client on the simulator's account path, authenticated."""
    return httpx.Client(base_url=f"{simulator.url}/2010-04-01/Accounts/{ACCOUNT}", auth=(ACCOUNT, token), timeout=10)


class CallbackReceiver:
    """A real HTTP server on 127.0.0.1 that keeps every POST: (path, headers, form)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.arrived:
                    receiver.received.append((self.path, dict(self.headers), dict(parse_qsl(body.decode(), keep_blank_values=True))))
                    receiver.arrived.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, dict[str, str], dict[str, str]]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)
