"""Timestamps as instants: validated RFC 3339 text to UTC, a column at a time."""

import polars as pl

_RFC3339 = "%Y-%m-%dT%H:%M:%S%.f%#z"


def instant(text: pl.Expr) -> pl.Expr:
    """Validated RFC 3339 text as a UTC instant, so that equal instants written
    in different offsets compare equal. Digits past nanoseconds are cut."""
    return text.str.replace(r"(\.\d{9})\d+", "${1}").str.to_datetime(
        _RFC3339, time_unit="ns", time_zone="UTC"
    )
