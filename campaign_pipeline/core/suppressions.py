"""Suppression lists: numbers that must never be messaged, in any format.

A file is CSV when its first non-empty line, read as CSV, has a `phone` column
(trimmed, case-insensitive); otherwise it is one number a line, blank and `#`
lines ignored. Entries are normalized to E.164 as rule 5 parses phones; those
that do not parse to a valid number are ignored by the build and counted as
invalid by `suppress import`.
"""

import csv
from collections.abc import Iterable

import polars as pl

from campaign_pipeline.core.phones import parse_phones


def suppression_entries(text: str) -> list[str]:
    """The raw entries of one suppression file's text."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    header = [cell.strip().casefold() for cell in next(csv.reader([first]), [])]
    if "phone" in header:
        column = header.index("phone")
        body = lines[lines.index(first) + 1 :]
        return [row[column] for row in csv.reader(body) if len(row) > column]
    return [
        line.strip()
        for line in lines
        if line.strip() and not line.strip().startswith("#")
    ]


def parse_suppression_entries(entries: Iterable[str], region: str) -> pl.Series:
    """Each raw entry as E.164, in entry order; null where it is not a valid number."""
    raw = pl.Series("phone", list(entries), dtype=pl.String)
    parsed = parse_phones(raw, region)  # one row per distinct entry
    return raw.replace_strict(parsed.get_column("raw"), parsed.get_column("e164"), default=None, return_dtype=pl.String)


def normalize_suppressions(entries: Iterable[str], region: str) -> pl.Series:
    """The distinct E.164 numbers among raw entries, sorted."""
    return parse_suppression_entries(entries, region).drop_nulls().unique().sort()
