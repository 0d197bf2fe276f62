"""What the webhook server needs from the environment, checked before it listens."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending.db.engine import database_url

BASE_URL_VARIABLE = "CAMPAIGN_WEBHOOK_BASE_URL"
TOKEN_VARIABLE = "TWILIO_AUTH_TOKEN"


@dataclass(frozen=True)
class WebhookSettings:
    auth_token: str
    base_url: str | None  # what Twilio calls, in front of the path this server receives
    database_url: str


def webhook_settings(env: Mapping[str, str] | None = None) -> WebhookSettings:
    env = os.environ if env is None else env
    token = (env.get(TOKEN_VARIABLE) or "").strip()
    if not token:
        raise InputError(f"{TOKEN_VARIABLE} is not set: the webhooks check Twilio's signature with it")
    return WebhookSettings(token, base_url(env), database_url(env))


def base_url(env: Mapping[str, str]) -> str | None:
    """`CAMPAIGN_WEBHOOK_BASE_URL` without a trailing slash; an http(s) URL with a
    host, no query and no fragment (the callback paths and queries follow it)."""
    text = (env.get(BASE_URL_VARIABLE) or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InputError(f"{BASE_URL_VARIABLE} must be an http(s) URL without query or fragment,"
                         " for example https://hooks.example.com")
    return text.rstrip("/")
