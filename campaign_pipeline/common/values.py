"""Checks of the values users type: flags and environment variables alike.

Each check returns the parsed value or raises ValueError with a reason that
reads well after the name of the flag or variable ("--rate-limit: must be a
number greater than 0, got 'nan'"); the caller adds the name. Standard library
only, so the command line can use them before anything heavy loads.
"""

import argparse
import math
import re
from urllib.parse import urlsplit

# Every id and count column of the campaign database is INTEGER: 4 bytes on
# PostgreSQL, the narrower of its two databases. A count beyond it cannot be
# stored, and an id beyond it names no row.
DATABASE_INT_MAX = 2**31 - 1
# ASCII digits only: int() also takes "１０", "١٠" and "1_0", which nobody means.
_WHOLE = re.compile(r"[+-]?[0-9]+")
_DIGITS = re.compile(r"[0-9]+")


def whole_number(text: str | int, *, signed: bool = True) -> int | None:
    """The whole number `text` writes in ASCII digits (spaces around it allowed), else None;
    an int (a setting already typed) is itself."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if signed or text >= 0 else None
    text = text.strip() if isinstance(text, str) else ""
    return int(text) if (_WHOLE if signed else _DIGITS).fullmatch(text) else None


def positive_int(text: str) -> int:
    value = whole_number(text)
    if value is None:
        raise ValueError(f"not a whole number: {text!r}")
    if value < 1:
        raise ValueError(f"must be at least 1, got {text!r}")
    return value


def database_count(text: str) -> int:
    """A count the database stores (a rate, a quota): 1 to DATABASE_INT_MAX."""
    value = positive_int(text)
    if value > DATABASE_INT_MAX:
        # Written with commas: a run of ten digits would be masked as a phone number in the log.
        raise ValueError(f"must be at most {DATABASE_INT_MAX:,} (the database's INTEGER), got {text!r}")
    return value


def database_id(text: str | int) -> int | None:
    """The row id `text` can name, or None when it can name none (not ASCII digits,
    beyond the column): the caller says "not found", as for any unknown id."""
    value = whole_number(text, signed=False)
    return value if value is not None and 0 <= value <= DATABASE_INT_MAX else None


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


def port(text: str) -> int:
    """A TCP port to listen on, 0 (the system picks a free one) to 65535. The socket
    layer takes any number modulo 65536 (99999 listens on 34463): check first."""
    value = whole_number(text, signed=False)
    if value is None or value > 65535:
        raise ValueError(f"expected a port from 0 to 65535 (0 picks a free one), got {text!r}")
    return value


def argument_type(check):
    """An argparse type from one of these checks, keeping its reason (exit 2 naming the flag)."""

    def parse(text: str):
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def checked(name: str, check, value):
    """`check(value)`, its ValueError turned into the user's mistake (exit 2),
    named after the flag, variable or setting the value came from."""
    from campaign_pipeline.common.errors import InputError

    try:
        return check(value)
    except ValueError as error:
        raise InputError(f"{name}: {error}") from None
