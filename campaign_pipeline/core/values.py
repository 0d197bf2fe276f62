"""Checks of the values users type: flags and environment variables alike.

Each check returns the parsed value or raises ValueError with a reason that
reads well after the name of the flag or variable ("--rate-limit: must be a
number greater than 0, got 'nan'"); the caller adds the name. Standard library
only, so the command line can use them before anything heavy loads.
"""

import math
from urllib.parse import urlsplit


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ValueError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise ValueError(f"must be at least 1, got {text!r}")
    return value


def positive_number(text: str) -> float:
    """A finite number greater than 0 (nan and inf are refused)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be a number greater than 0, got {text!r}")
    return value


def http_url(text: str) -> str:
    """An http(s) URL with a host, e.g. http://127.0.0.1:8080."""
    # A URL without a scheme ("127.0.0.1:8080") is the usual slip: the HTTP
    # client would fail on it much later with a message about protocols.
    try:
        parts = urlsplit(text)
        parts.port  # raises for a port that is not a number or out of range
        valid = (
            parts.scheme.lower() in ("http", "https")
            and bool(parts.hostname)
            and all(c.isprintable() and not c.isspace() for c in text)
        )
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"expected an http:// or https:// URL with a host, such as http://127.0.0.1:8080, got {text!r}")
    return text


def header_token(text: str) -> str:
    """A bearer token an HTTP header can carry: printable ASCII, no spaces. The
    message never repeats the token."""
    if not all(33 <= ord(c) <= 126 for c in text):
        raise ValueError("contains spaces or characters an HTTP header cannot carry (printable ASCII only)")
    return text


def checked(name: str, check, value):
    """`check(value)`, its ValueError turned into the user's mistake (exit 2),
    named after the flag, variable or setting the value came from."""
    from campaign_pipeline.core.errors import InputError

    try:
        return check(value)
    except ValueError as error:
        raise InputError(f"{name}: {error}") from None
