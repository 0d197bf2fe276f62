"""Twilio's Messaging REST API over httpx, exactly the subset of provider-twilio.md.

One pool of kept-alive connections (an `httpx.HTTPTransport`) serves every
call; its timeouts are explicit. `send` makes exactly one request and
classifies the answer (see base.py); the dispatcher retries.

The create is a live pass's hot path, one per recipient: it goes straight to the
transport with a request built from parts prepared once. The client's own work
per request (merging URLs, the auth flow, the cookie jar, redirects) cost a
quarter of a live dispatch's CPU. Reads (reconciliation, polling) use the client.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from campaign_pipeline.common.masking import scrub
from campaign_pipeline.http.retry import retry_after_seconds
from campaign_pipeline.sending.providers.base import (
    Accepted,
    AccountFailure,
    ConfigurationError,
    DeliveryStatus,
    NotCreated,
    ProviderMessage,
    ProviderUnavailable,
    RateLimited,
    Rejected,
    SendOutcome,
    Uncertain,
)
from campaign_pipeline.sending.rules.senders import MESSAGING_SERVICE, sender_kind

DEFAULT_API_BASE = "https://api.twilio.com"
API_VERSION = "2010-04-01"
OPT_OUT_CODE = "21610"
LIST_PAGE_SIZE = 100
# How far before the attempt's start a listed message still counts as this
# attempt's. Twilio's dates have whole seconds and its clock is not ours; a
# minute covers both. A message that matches wrongly would be the same body
# to the same number from the same sender within that minute: the recipient
# already has those words, so recording it as sent sends nothing twice.
CLOCK_SKEW = timedelta(seconds=60)
TIMEOUT = httpx.Timeout(connect=5.0, read=15.0, write=10.0, pool=10.0)

# Could not open a connection or get one from the pool: the request never left.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class TwilioProvider:
    name = "twilio"
    can_reconcile = True
    can_poll = True

    def __init__(
        self,
        account_sid: str,
        username: str,
        password: str,
        api_base: str = DEFAULT_API_BASE,
        timeout: httpx.Timeout = TIMEOUT,
        max_connections: int = 32,
    ) -> None:
        self.account_sid = account_sid
        self.api_base = api_base.rstrip("/")
        self._messages_path = f"/{API_VERSION}/Accounts/{quote(account_sid, safe='')}/Messages"
        self._transport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections))
        self._http = httpx.Client(
            base_url=self.api_base,
            auth=httpx.BasicAuth(username, password),
            timeout=timeout,
            transport=self._transport,
            headers={"Accept": "application/json"},
        )
        self._create_url = httpx.URL(f"{self.api_base}{self._messages_path}.json")
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._create_headers = [("Accept", "application/json"), ("Authorization", f"Basic {credentials}"),
                                ("Content-Type", "application/x-www-form-urlencoded"),
                                ("User-Agent", self._http.headers["User-Agent"])]
        self._create_extensions = {"timeout": timeout.as_dict()}

    @classmethod
    def from_env(cls, env: Mapping[str, str], **options: Any) -> TwilioProvider:
        """From TWILIO_API_BASE, TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or the key pair
        TWILIO_API_KEY / TWILIO_API_SECRET in place of the token."""
        account_sid = _required(env, "TWILIO_ACCOUNT_SID")
        if env.get("TWILIO_API_KEY") or env.get("TWILIO_API_SECRET"):
            username, password = _required(env, "TWILIO_API_KEY"), _required(env, "TWILIO_API_SECRET")
        else:
            username, password = account_sid, _required(env, "TWILIO_AUTH_TOKEN")
        api_base = env.get("TWILIO_API_BASE") or DEFAULT_API_BASE
        if not api_base.startswith(("https://", "http://")):
            raise ConfigurationError(f"TWILIO_API_BASE must be an http(s) URL, got {api_base!r}")
        return cls(account_sid, username, password, api_base=api_base, **options)

    def __enter__(self) -> TwilioProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- create ----------------------------------------------------------------

    def send(self, to: str, body: str, sender: str, status_callback: str | None = None) -> SendOutcome:
        form = {"To": to, "Body": body}
        form["MessagingServiceSid" if _is_service(sender) else "From"] = sender
        if status_callback:
            form["StatusCallback"] = status_callback
        request = httpx.Request("POST", self._create_url, headers=self._create_headers,
                                content=urlencode(form).encode(), extensions=self._create_extensions)
        try:
            response = self._transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        except _NOT_SENT as exc:
            return NotCreated(retry_after=None, reason=f"connection not opened: {type(exc).__name__}")
        except httpx.TransportError as exc:  # sent, then timed out or closed: it may exist
            return Uncertain(reason=f"no answer: {type(exc).__name__}")
        return self._classify(response)

    def _classify(self, response: httpx.Response) -> SendOutcome:
        status = response.status_code
        if status in (200, 201):
            try:
                message = response.json()
                return Accepted(message["sid"], message["status"], _int_or_none(message.get("num_segments")))
            except (ValueError, KeyError, TypeError):
                return Uncertain(reason=f"{status} with a body that is not a message")
        code, text = _error(response)
        if status in (401, 403):
            raise AccountFailure(f"twilio: {status} for account {self.account_sid} (code {code or '-'}): "
                                 "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN / TWILIO_API_KEY")
        if status == 429:
            return NotCreated(retry_after_seconds(response.headers.get("Retry-After")), f"429 (code {code or '-'})")
        if 400 <= status < 500:
            return Rejected(code=code or str(status), message=text, opt_out=code == OPT_OUT_CODE)
        return Uncertain(reason=f"HTTP {status}")

    # -- reconcile and poll ----------------------------------------------------------

    def find_message(self, to: str, body: str, sender: str, since: datetime,
                     exclude: Collection[str] = ()) -> ProviderMessage | None:
        """Walks the list for `to` (and `From` unless a Messaging Service picked the
        sender), newest first, until messages are older than `since - CLOCK_SKEW`."""
        query = {"To": to, "PageSize": str(LIST_PAGE_SIZE)}
        if not _is_service(sender):
            query["From"] = sender
        oldest = since - CLOCK_SKEW
        url: str | None = self._messages_path + ".json"
        params: dict[str, str] | None = query
        while url is not None:
            page = self._get(url, params)
            if not isinstance(page, dict) or not isinstance(page.get("messages"), list):
                raise ProviderUnavailable("twilio: the message list is not one")
            for item in page["messages"]:
                message = _message(item)
                if message.created_at < oldest:
                    return None  # newest first: the rest are older still
                if message.body == body and _sent_by(item, sender) and message.provider_id not in exclude:
                    return message
            url, params = page.get("next_page_uri"), None  # relative to the base, query included
        return None

    def fetch(self, provider_id: str) -> ProviderMessage | None:
        """One message, or None when Twilio does not know it (404)."""
        item = self._get(f"{self._messages_path}/{quote(provider_id, safe='')}.json", None, missing_ok=True)
        return None if item is None else _message(item)

    def fetch_status(self, provider_id: str) -> DeliveryStatus | None:
        message = self.fetch(provider_id)
        return None if message is None else DeliveryStatus(message.status, message.error_code)

    def _get(self, url: str, params: dict[str, str] | None, missing_ok: bool = False) -> Any:
        try:
            response = self._http.get(url, params=params)
        except httpx.TransportError as exc:
            raise ProviderUnavailable(f"twilio: GET {_path(url)}: {type(exc).__name__}") from None
        status = response.status_code
        if status in (401, 403):
            raise AccountFailure(f"twilio: {status} for account {self.account_sid}: check the credentials")
        if status == 404 and missing_ok:
            return None
        if status == 429:
            raise RateLimited(f"twilio: GET {_path(url)}: 429", retry_after_seconds(response.headers.get("Retry-After")))
        if status != 200:
            raise ProviderUnavailable(f"twilio: GET {_path(url)}: HTTP {status}")
        try:
            return response.json()
        except ValueError:
            raise ProviderUnavailable(f"twilio: GET {_path(url)}: the answer is not JSON") from None


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if not value:
        raise ConfigurationError(f"{name} is not set (SMS_PROVIDER=twilio needs it)")
    return value


def _is_service(sender: str) -> bool:
    """A Messaging Service sid rather than a number or alphanumeric id (rules/senders.py)."""
    return sender_kind(sender) == MESSAGING_SERVICE


def _sent_by(item: dict[str, Any], sender: str) -> bool:
    if _is_service(sender):
        return item.get("messaging_service_sid") == sender
    return True  # the list was already filtered by From


def _message(item: Any) -> ProviderMessage:
    try:
        return _parse_message(item)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ProviderUnavailable("twilio: a listed message is not one (no sid or date_created)") from None


def _parse_message(item: dict[str, Any]) -> ProviderMessage:
    error_code = item.get("error_code")
    return ProviderMessage(
        provider_id=item["sid"],
        to=item.get("to") or "",
        body=item.get("body") or "",
        status=item.get("status") or "",
        error_code=None if error_code is None else str(error_code),
        created_at=parsedate_to_datetime(item["date_created"]),
        segments=_int_or_none(item.get("num_segments")),
    )


def _error(response: httpx.Response) -> tuple[str | None, str]:
    """Twilio's error code and message (phones masked) from an error body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return None, f"HTTP {response.status_code}"
    code = body.get("code")
    return (None if code is None else str(code)), scrub(str(body.get("message") or f"HTTP {response.status_code}"))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _path(url: str) -> str:
    return url.split("?", 1)[0]
