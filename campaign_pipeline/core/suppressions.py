"""Suppression lists: numbers that must never be messaged, in any format.

A file is CSV when its first non-empty line, read as CSV, has a `phone` column
(trimmed, case-insensitive); otherwise it is one number a line, blank and `#`
lines ignored. Entries are normalized to E.164 as rule 5 parses phones; those
that do not parse to a valid number are ignored.
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


def normalize_suppressions(entries: Iterable[str], region: str) -> pl.Series:
    """The distinct E.164 numbers among raw entries, sorted."""
    return parse_suppressions(entries, region)[0]


def parse_suppressions(entries: Iterable[str], region: str) -> tuple[pl.Series, int]:
    """(the distinct E.164 numbers among raw entries, sorted; how many non-blank
    entries did not parse to a valid number and so suppress nothing)."""
    raw = pl.Series("phone", list(entries), dtype=pl.String)
    parsed = parse_phones(raw, region)  # one row per distinct entry
    unparsed = parsed.filter(pl.col("e164").is_null() & (pl.col("raw").str.strip_chars() != ""))
    invalid = int(raw.is_in(unparsed.get_column("raw").implode()).sum())
    return parsed.get_column("e164").drop_nulls().unique().sort().rename("phone"), invalid


def invalid_entries_message(count: int) -> str:
    return f"{count} suppression entries are not valid phone numbers and suppress nothing"
