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

from campaign_pipeline.dataset.phones import parse_phones


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
    return parse_suppressions(entries, region)[0]


def parse_suppressions(entries: Iterable[str], region: str) -> tuple[pl.Series, int]:
    """(the distinct E.164 numbers among raw entries, sorted; how many non-blank
    entries did not parse to a valid number and so suppress nothing)."""
    raw = pl.Series("phone", list(entries), dtype=pl.String)
    e164 = parse_suppression_entries(raw, region)
    invalid = int((e164.is_null() & (raw.str.strip_chars() != "")).sum())
    return e164.drop_nulls().unique().sort().rename("phone"), invalid


def invalid_entries_message(count: int) -> str:
    return f"{count} suppression entries are not valid phone numbers and suppress nothing"


# Suppressions as rule 5 reads them: a frame (organization_id, phone) where
# organization "*" means every organization. Files suppress for every
# organization; the campaign database adds its organization-scoped rows.
EVERY_ORGANIZATION = "*"
SCHEMA = {"organization_id": pl.String, "phone": pl.String}


def for_every_organization(numbers: pl.Series) -> pl.DataFrame:
    """E.164 numbers (a file's) as suppressions of every organization."""
    return pl.DataFrame({"organization_id": EVERY_ORGANIZATION, "phone": numbers}, schema=SCHEMA)


def no_suppressions() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def is_suppressed(rows: pl.DataFrame, suppressions: pl.DataFrame, phone: str = "phone") -> pl.Series:
    """Per row of `rows` (which has organization_id and `phone`): whether its
    organization or every organization suppresses that number. One semi-join
    of each row under its own organization and under "*"."""
    indexed = rows.select("organization_id", pl.col(phone).alias("phone")).with_row_index("row")
    under_every = indexed.with_columns(organization_id=pl.lit(EVERY_ORGANIZATION))
    hits = (
        pl.concat([indexed, under_every])
        .join(suppressions.select(SCHEMA.keys()).unique(), on=["organization_id", "phone"], how="semi")
        .get_column("row")
    )
    return indexed.get_column("row").is_in(hits.implode()).alias("suppressed")
