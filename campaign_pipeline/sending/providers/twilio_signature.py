"""Twilio's request signature (X-Twilio-Signature), pure: provider-twilio.md, "Signature".

Base64 of HMAC-SHA1, keyed with the auth token, over the full URL followed by
every POST field sorted by name, each written as name then value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping


def sign(token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    pairs = params.items() if isinstance(params, Mapping) else params
    # Sorted by name; a repeated name keeps its values in the order sent (a stable sort).
    payload = url + "".join(name + value for name, value in sorted(pairs, key=lambda pair: pair[0]))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid(token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]], signature: str | None) -> bool:
    """True when `signature` is the one Twilio would send; compared in constant time."""
    if not signature:
        return False
    return hmac.compare_digest(sign(token, url, params).encode(), signature.encode("utf-8", "replace"))
