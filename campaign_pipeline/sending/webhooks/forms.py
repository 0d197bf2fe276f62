"""Twilio's callback forms, read and checked (provider-twilio.md, "Callbacks to
the product"). Pure: no HTTP framework, no database.

A form is checked only after its signature (the server's job): what fails here
is a signed but malformed request, answered 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from campaign_pipeline.sending.replies import Inbound

# A status callback is well under 1 KiB; an inbound message at most 1,600
# characters, percent-encoded (up to 12 bytes each for 4-byte UTF-8), plus media
# URLs: 64 KiB leaves room for all of it and refuses a flood early.
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 200

_SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_STATUS = re.compile(r"[a-z_]{1,32}")
_ERROR_CODE = re.compile(r"[0-9]{1,10}")
_SERVICE = re.compile(r"MG[0-9a-f]{32}")


class Malformed(ValueError):
    """A signed request whose form is not what the provider sends: 400."""


@dataclass(frozen=True)
class StatusNews:
    provider_message_id: str
    status: str
    error_code: str | None


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The fields of an `application/x-www-form-urlencoded` body, in order, blanks
    kept (they are signed too). Undecodable bytes become U+FFFD: such a request
    cannot carry a valid signature unless its sender signed exactly that."""
    try:
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:  # more fields than MAX_FIELDS
        raise Malformed(f"more than {MAX_FIELDS} form fields") from None


def status_news(pairs: Iterable[tuple[str, str]]) -> StatusNews:
    fields = dict(pairs)
    sid = _required(fields, "MessageSid", _SID)
    status = _required(fields, "MessageStatus", _STATUS)
    code = fields.get("ErrorCode") or None
    if code is not None and not _ERROR_CODE.fullmatch(code):
        raise Malformed("ErrorCode is not a number")
    return StatusNews(sid, status, code)


def inbound_message(pairs: Iterable[tuple[str, str]]) -> Inbound:
    fields = dict(pairs)
    if "Body" not in fields:
        raise Malformed("Body is missing")
    service = fields.get("MessagingServiceSid") or None
    if service is not None and not _SERVICE.fullmatch(service):
        raise Malformed("MessagingServiceSid is not a Messaging Service id")
    to = fields.get("To", "").strip()
    if not to or len(to) > 64:
        raise Malformed("To is missing or too long")
    return Inbound(
        provider_message_id=_required(fields, "MessageSid", _SID),
        phone=_required(fields, "From", _E164),
        to=to,
        body=fields["Body"],
        messaging_service_sid=service,
        opt_out_type=fields.get("OptOutType") or None,
    )


def _required(fields: dict[str, str], name: str, pattern: re.Pattern) -> str:
    value = fields.get(name)
    if not value:
        raise Malformed(f"{name} is missing")
    if not pattern.fullmatch(value):
        raise Malformed(f"{name} is not in the provider's format")
    return value
