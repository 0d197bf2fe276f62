"""`campaign-cli webhooks` as a real process on 127.0.0.1, and signed requests to it."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from urllib.parse import urlencode

import httpx

from campaign_pipeline.sending.providers.twilio_signature import sign
from campaign_pipeline_tests.cli.helpers import CLI, environment, logs

TOKEN = "webhook-token-0123"
SENDER = "+358451234567"
SERVICE = "MG" + "b" * 32
ACCOUNT = "AC" + "2" * 32


class WebhookServer:
    """Starts `campaign-cli webhooks --port 0`, waits for its `webhooks_listening`
    line; on exit stops it with SIGTERM and checks every stderr line is JSON and
    masked (`self.logs`)."""

    def __init__(self, db_url: str, *, token: str | None = TOKEN, base_url: str | None = None, workers: int = 1,
                 extra: tuple[str, ...] = ()):
        env = environment(db_url)
        env.pop("TWILIO_AUTH_TOKEN", None)
        env.pop("CAMPAIGN_WEBHOOK_BASE_URL", None)
        if token is not None:
            env["TWILIO_AUTH_TOKEN"] = token
        if base_url is not None:
            env["CAMPAIGN_WEBHOOK_BASE_URL"] = base_url
        self.env, self.token, self.workers, self.extra = env, token, workers, extra
        self.lines: list[str] = []
        self.logs: list[dict] = []
        self.url = ""
        self.returncode: int | None = None

    def __enter__(self) -> WebhookServer:
        self.process = subprocess.Popen(
            [CLI, "webhooks", "--port", "0", "--workers", str(self.workers), *self.extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        listening = threading.Event()

        def drain():  # the pipe must never fill, or the server would block on a log line
            for line in self.process.stderr:
                self.lines.append(line)
                if '"webhooks_listening"' in line:
                    self.url = json.loads(line)["url"]
                    listening.set()
            listening.set()

        self._reader = threading.Thread(target=drain, daemon=True)
        self._reader.start()
        if not listening.wait(120) or not self.url:
            self.stop()
            raise AssertionError(f"the server did not start: {''.join(self.lines)}")
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # workers load the app after the socket is bound
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server never became healthy: {''.join(self.lines)}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.returncode = self.process.wait()
        self._reader.join(10)
        self.stdout = self.process.stdout.read()
        self.process.stdout.close()
        self.logs = logs("".join(self.lines))  # JSON lines, no full phone
        return self.returncode

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def events(self, name: str) -> list[dict]:
        return [entry for entry in (json.loads(line) for line in self.lines) if entry["event"] == name]

    def post(self, path: str, form: dict[str, str], *, signed_url: str | None = None, token: str | None = None,
             signature: str | None = None, client: httpx.Client | None = None, **kwargs) -> httpx.Response:
        """POSTs `form`, signed as Twilio signs it for `signed_url` (default: the URL posted to)."""
        url = self.url + path
        if signature is None:
            signature = sign(token or self.token, signed_url or url, form)
        headers = {"X-Twilio-Signature": signature}
        return (client or httpx).post(url, content=urlencode(form), timeout=30, headers={
            **headers, "Content-Type": "application/x-www-form-urlencoded"}, **kwargs)


def status_form(sid: str, status: str, error_code: str | None = None, to: str = "+358401234567") -> dict[str, str]:
    form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status, "To": to,
            "From": SENDER, "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01"}
    if error_code:
        form["ErrorCode"] = error_code
    return form


def inbound_form(sid: str, phone: str, body: str, to: str = SENDER, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": ACCOUNT, "From": phone, "To": to, "Body": body, "NumSegments": "1",
            "NumMedia": "0", "FromCountry": "FI", "ApiVersion": "2010-04-01", **extra}

