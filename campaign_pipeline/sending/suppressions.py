"""Suppressions in the campaign database: numbers never to message, for one
organization or for every one (`'*'`), with a reason and a source.

One row per (scope, phone); adding an existing one keeps the first. An import
is one transaction: the numbers are staged in a temporary table (COPY on
PostgreSQL, one executemany on SQLite) and moved with one INSERT .. SELECT ..
ON CONFLICT DO NOTHING, whose row count is the number added.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, delete, select, text

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.common.masking import mask_phone
from campaign_pipeline.dataset.suppressions import SCHEMA as SUPPRESSION_FRAME
from campaign_pipeline.dataset.suppressions import no_suppressions, parse_suppression_entries
from campaign_pipeline.sending.db.engine import dialect_insert, writing
from campaign_pipeline.sending.db.models import ALL_ORGANIZATIONS, UtcDateTime, suppressions, utc_now

REASONS = ("unsubscribe", "dnc", "blacklist", "stop_reply", "provider_opt_out", "complaint")
DEFAULT_REASON = "dnc"
EXPORT_COLUMNS = ("organization_id", "phone", "reason", "source", "created_at")


@dataclass(frozen=True)
class ImportCounts:
    added: int
    already: int
    invalid: int

    def as_dict(self) -> dict:
        return {"added": self.added, "already": self.already, "invalid": self.invalid}


def check_reason(reason: str) -> str:
    if reason not in REASONS:
        raise InputError(f"unknown suppression reason {reason!r}: expected one of {', '.join(REASONS)}")
    return reason


def normalize_phones(entries: Sequence[str], region: str) -> pl.Series:
    """Each entry as E.164 (null where invalid), as rule 5 and `build --suppress` read them."""
    try:
        return parse_suppression_entries(entries, region)
    except ValueError as error:  # an unknown region
        raise InputError(str(error)) from None


def normalize_each(phones: Sequence[str], region: str) -> list[str]:
    """E.164 of every given number; one that does not parse is a usage error
    naming it (masked), before anything changes."""
    parsed = normalize_phones(phones, region)
    bad = [raw for raw, e164 in zip(phones, parsed.to_list(), strict=True) if e164 is None]
    if bad:
        shown = ", ".join(repr(mask_phone(raw.strip())) for raw in bad[:5])
        raise InputError(f"not a valid phone number: {shown}" + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""))
    return parsed.to_list()


def add(engine: Engine, scope: str, phones: Sequence[str], reason: str, source: str) -> dict:
    """Adds E.164 numbers to one scope; existing rows are kept as they are."""
    return _stage_and_insert(engine, scope, pl.Series("phone", list(phones), dtype=pl.String), reason, source,
                             invalid=0)


def add_one(connection: Connection, scope: str, phone: str, reason: str, source: str) -> bool:
    """Adds one suppression inside the caller's transaction (a STOP reply, a
    provider opt-out); True when it is new."""
    statement = dialect_insert(connection, suppressions).values(
        organization_id=scope, phone=phone, reason=check_reason(reason), source=source, created_at=utc_now(),
    ).on_conflict_do_nothing(index_elements=["organization_id", "phone"])
    return connection.execute(statement).rowcount == 1


def remove(engine: Engine, scope: str, phones: Sequence[str]) -> dict:
    """Removes numbers from one scope (never another scope's rows)."""
    distinct = sorted(set(phones))
    with writing(engine) as connection, connection.begin():
        removed = connection.execute(
            delete(suppressions).where(suppressions.c.organization_id == scope,
                                       suppressions.c.phone.in_(distinct))).rowcount
    return {"removed": removed, "absent": len(distinct) - removed}


def remove_entries(engine: Engine, scope: str, entries: Sequence[str], region: str) -> dict:
    """Removes raw entries (any format): those that do not parse are counted as
    invalid and skipped, never fatal (sending.md, "Suppressions")."""
    parsed = normalize_phones(entries, region)
    return {**remove(engine, scope, parsed.drop_nulls().to_list()), "invalid": parsed.null_count()}


def remove_one(connection: Connection, scope: str, phone: str, reason: str | None = None) -> bool:
    """Removes one suppression inside the caller's transaction, only of `reason`
    when given (START removes a stop_reply, never a dnc)."""
    condition = [suppressions.c.organization_id == scope, suppressions.c.phone == phone]
    if reason is not None:
        condition.append(suppressions.c.reason == reason)
    return connection.execute(delete(suppressions).where(*condition)).rowcount == 1


def import_entries(engine: Engine, scope: str, entries: Sequence[str], region: str, reason: str,
                   source: str, log=None) -> ImportCounts:
    """Imports raw entries (any format) in one transaction: all or nothing."""
    parsed = normalize_phones(entries, region)
    invalid = parsed.null_count()
    counts = _stage_and_insert(engine, scope, parsed.drop_nulls(), reason, source, invalid=invalid, log=log)
    return ImportCounts(**counts)


def _stage_and_insert(engine: Engine, scope: str, phones: pl.Series, reason: str, source: str, *,
                      invalid: int, log=None) -> dict:
    check_reason(reason)
    # Sorted, the rows reach the primary key's B-tree in order: far fewer page splits.
    distinct = phones.unique().sort()
    repeats = phones.len() - distinct.len()
    with writing(engine) as connection, connection.begin():
        if log is not None:
            log.info("suppressions_writing", scope=scope, distinct=distinct.len())
        _stage(connection, distinct)
        added = connection.execute(
            text(
                "INSERT INTO suppressions (organization_id, phone, reason, source, created_at) "
                "SELECT :scope, phone, :reason, :source, :created_at FROM staged_suppressions WHERE true "
                "ON CONFLICT (organization_id, phone) DO NOTHING"
            ).bindparams(bindparam("created_at", type_=UtcDateTime)),
            {"scope": scope, "reason": reason, "source": source, "created_at": utc_now()},
        ).rowcount
        connection.exec_driver_sql("DROP TABLE staged_suppressions")
    return {"added": added, "already": distinct.len() - added + repeats, "invalid": invalid}


def _stage(connection: Connection, phones: pl.Series) -> None:
    """The numbers into a temporary table of this transaction."""
    postgres = connection.dialect.name == "postgresql"
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE staged_suppressions (phone VARCHAR(16) NOT NULL)"
        + (" ON COMMIT DROP" if postgres else "")
    )
    if phones.is_empty():
        return
    cursor = connection.connection.driver_connection.cursor()
    try:
        if postgres:
            # E.164 holds nothing COPY's text format would need to escape.
            text = "\n".join(phones.to_list()) + "\n"
            cursor.copy_expert("COPY staged_suppressions (phone) FROM STDIN", io.StringIO(text))
        else:
            cursor.executemany("INSERT INTO staged_suppressions (phone) VALUES (?)", zip(phones.to_list()))
    finally:
        cursor.close()


def is_suppressed(connection: Connection, organization_id: str, phone: str) -> bool:
    """Whether the number is suppressed for the organization, now (its rows and '*')."""
    found = connection.execute(
        select(suppressions.c.phone).where(
            suppressions.c.phone == phone,
            suppressions.c.organization_id.in_([organization_id, ALL_ORGANIZATIONS]),
        ).limit(1)
    ).first()
    return found is not None


def suppressed_numbers(engine: Engine | Connection, organization_ids: Iterable[str]) -> pl.DataFrame:
    """Suppressions of these organizations and of every organization ('*', kept
    as '*'): columns organization_id, phone. A dataset row (org, phone) is
    suppressed when (org, phone) or ('*', phone) is here."""
    scopes = sorted({*organization_ids, ALL_ORGANIZATIONS})
    query = select(suppressions.c.organization_id, suppressions.c.phone).where(
        suppressions.c.organization_id.in_(scopes))
    rows = _read(engine, query)
    return pl.DataFrame(rows, schema=SUPPRESSION_FRAME, orient="row")


def stored_suppressions(organization_ids: Iterable[str], url: str | None = None) -> tuple[pl.DataFrame, str | None]:
    """(suppressed_numbers of the campaign database for a dataset build, where
    they were read: the masked URL, None when there is no database yet). The
    build never creates the database (engine.existing_database)."""
    from campaign_pipeline.sending.db.engine import existing_database, masked_url

    engine = existing_database(url)
    if engine is None:
        return no_suppressions(), None
    try:
        return suppressed_numbers(engine, organization_ids), masked_url(engine.url)
    finally:
        engine.dispose()


def export_rows(engine: Engine, scope: str | None) -> pl.DataFrame:
    """The rows of one scope (None: every row), sorted by the export's columns
    (in polars, so the order is bytewise whatever the database's collation)."""
    query = select(*(suppressions.c[name] for name in EXPORT_COLUMNS))
    if scope is not None:
        query = query.where(suppressions.c.organization_id == scope)
    rows = _read(engine, query)
    frame = pl.DataFrame(
        rows, orient="row",
        schema={"organization_id": pl.String, "phone": pl.String, "reason": pl.String, "source": pl.String,
                "created_at": pl.Datetime("us", "UTC")},
    )
    return frame.with_columns(pl.col("created_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).sort(list(EXPORT_COLUMNS))


def export_csv(frame: pl.DataFrame) -> str:
    """CSV text of export_rows: a header, RFC 4180 quoting where needed, `\\n` line ends."""
    return frame.write_csv(line_terminator="\n")


def _read(engine: Engine | Connection, query) -> list[tuple]:
    if isinstance(engine, Connection):
        return [tuple(row) for row in engine.execute(query)]
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]
