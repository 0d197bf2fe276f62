"""The checked datasets of each day in the campaign database (`dataset_days`,
`dataset_rows`): what `campaign create --day D` reads (campaigns.require_loaded_day,
audience.read_dataset_day).

Dagster writes them: a day's dataset of one segment is loaded once its
blocking checks passed, replacing that day and segment whole in one
transaction; a failed blocking check marks the day and segment
`checks_failed` (naming the check) and removes its rows, so an earlier load
of the same day can no longer become a campaign either.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Connection, Engine, delete, select, update

from campaign_pipeline.dataset.columns import DATASET
from campaign_pipeline.sending.db.bulk import bulk_insert
from campaign_pipeline.sending.db.engine import writing
from campaign_pipeline.sending.db.models import dataset_days, dataset_rows, utc_now

LOADED = "loaded"
CHECKS_FAILED = "checks_failed"


def load_day(engine: Engine, day: date, segment: str, dataset: pl.DataFrame, *,
             dataset_path: str | None = None, run_id: str | None = None) -> int:
    """Replaces the checked dataset of (day, segment) by `dataset` (one segment's
    rows in the contract's order, which `position` keeps); returns its rows."""
    rows = dataset.select(
        *(pl.col(name) for name in DATASET), position=pl.int_range(pl.len(), dtype=pl.Int64)
    ).filter(pl.col("segment") == segment)
    with writing(engine) as connection, connection.begin():
        _forget(connection, day, segment)
        connection.execute(dataset_days.insert().values(
            day=day, segment=segment, status=LOADED, failed_checks=None, row_count=rows.height,
            dataset_path=dataset_path, run_id=run_id, loaded_at=utc_now()))
        bulk_insert(connection, dataset_rows, rows, constants={"day": day})
    return rows.height


def mark_checks_failed(engine: Engine, day: date, segment: str, check: str, *, run_id: str | None = None) -> None:
    """Records that `check` failed on (day, segment)'s dataset: the day is
    `checks_failed` (the names of every check that failed, in order) and holds no rows."""
    with writing(engine) as connection, connection.begin():
        found = connection.execute(
            select(dataset_days.c.status, dataset_days.c.failed_checks, dataset_days.c.run_id)
            .where(dataset_days.c.day == day, dataset_days.c.segment == segment)
        ).first()
        same_run = found is not None and found.status == CHECKS_FAILED and found.run_id == run_id
        names = [*(found.failed_checks.split(", ") if same_run and found.failed_checks else []), check]
        connection.execute(delete(dataset_rows).where(dataset_rows.c.day == day, dataset_rows.c.segment == segment))
        values = dict(status=CHECKS_FAILED, failed_checks=", ".join(dict.fromkeys(names)), row_count=0,
                      dataset_path=None, run_id=run_id, loaded_at=utc_now())
        if found is None:
            connection.execute(dataset_days.insert().values(day=day, segment=segment, **values))
        else:
            connection.execute(update(dataset_days).where(
                dataset_days.c.day == day, dataset_days.c.segment == segment).values(**values))


def day_status(engine: Engine, day: date, segment: str) -> dict | None:
    with engine.connect() as connection:
        found = connection.execute(
            select(dataset_days.c.status, dataset_days.c.failed_checks, dataset_days.c.row_count)
            .where(dataset_days.c.day == day, dataset_days.c.segment == segment)
        ).first()
    return None if found is None else dict(found._mapping)


def _forget(connection: Connection, day: date, segment: str) -> None:
    # Rows first: SQLite enforces the cascade only with foreign_keys on, and
    # this must not depend on a connection setting.
    connection.execute(delete(dataset_rows).where(dataset_rows.c.day == day, dataset_rows.c.segment == segment))
    connection.execute(delete(dataset_days).where(dataset_days.c.day == day, dataset_days.c.segment == segment))
