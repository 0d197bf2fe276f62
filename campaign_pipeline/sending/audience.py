"""A campaign's audience: the dataset rows of its organization and segment.

The rows come from a dataset file (CSV or JSON as `campaign-cli build` writes
them) or from the campaign database's checked dataset of a day. Either way the
audience is a frame with every dataset column as text (a template renders
`{subject_count}` like any other column), empty values as "", one row per phone
(the first wins, in dataset order).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, select

from campaign_pipeline.dataset.columns import DATASET, SEGMENTS
from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending.db.models import dataset_rows
from campaign_pipeline.sending.rules.encoding import measure
from campaign_pipeline.sending.rules.templates import Template, render

COLUMNS = tuple(DATASET)
# The dataset writes E.164 only; anything else means the file is not a dataset
# (or was edited by hand) and no message could be sent to that row.
_E164 = r"^\+[1-9][0-9]{6,14}$"


def read_dataset_file(path: str | Path, organization_id: str, segment: str | None) -> tuple[pl.DataFrame, str]:
    """The audience of `organization_id` in a dataset file, and its segment.

    A file of one segment (`build --buyers`) is that segment's audience: with
    `segment` None it is taken as the campaign's; naming the other one is a
    usage error rather than an empty audience. A file of both segments is
    narrowed to `segment` (None: buyer). InputError (exit 2) too when the file
    is missing, unreadable, of another shape (naming the missing columns) or
    holds a phone that is not E.164."""
    source = Path(path).name
    rows = _read_file(Path(path))
    missing = [name for name in COLUMNS if name not in rows.columns]
    if missing:
        raise InputError(f"{source} is not a campaign dataset: missing columns {', '.join(missing)}")
    held = set(rows["segment"].cast(pl.String).unique().to_list()) & set(SEGMENTS)
    if len(held) == 1:
        (only,) = held
        if segment not in (None, only):
            raise InputError(f"{source} holds only {only} rows, no {segment}: give --segment {only} or another file")
        segment = only
    segment = segment or SEGMENTS[0]
    return audience_of(rows, organization_id, segment, source), segment


def audience_of(rows: pl.DataFrame, organization_id: str, segment: str, source: str) -> pl.DataFrame:
    """Narrows dataset rows to one organization and segment, one row per phone."""
    audience = (
        rows.lazy()
        .select(pl.col(name).cast(pl.String).fill_null("") for name in COLUMNS)
        .filter((pl.col("organization_id") == organization_id) & (pl.col("segment") == segment))
        .unique("phone", keep="first", maintain_order=True)
        .collect()
    )
    bad = audience.filter(~pl.col("phone").str.contains(_E164)).height
    if bad:
        raise InputError(f"{source}: {bad} row{'s' if bad > 1 else ''} with a phone not in E.164 format")
    return audience


def _read_file(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise InputError(f"dataset file {path} does not exist")
    if not path.is_file():
        raise InputError(f"dataset {path} is not a file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read dataset file {path}: {error.strerror}") from None
    # The build writes JSON as one array; anything else it writes is CSV.
    kind = "JSON" if data.lstrip()[:1] in (b"[", b"{") else "CSV"
    try:
        rows = _read_json(data) if kind == "JSON" else _read_csv(data)
        # Text columns only: a nested JSON value or a stray type fails here, not later.
        return rows.with_columns(pl.col(name).cast(pl.String) for name in COLUMNS if name in rows.columns)
    # The parser's own message may quote a line of the file (names, phones): only the kind of failure is told.
    except _NotADataset as error:
        reason = str(error)
    except UnicodeDecodeError as error:
        reason = f"not UTF-8 (byte {error.start})"
    except (pl.exceptions.PolarsError, ValueError, TypeError) as error:
        reason = f"it cannot be parsed ({type(error).__name__})"
    raise InputError(f"dataset file {path} is not readable {kind}: {reason}")


class _NotADataset(ValueError):
    pass


def _read_csv(data: bytes) -> pl.DataFrame:
    if not data.strip():
        raise _NotADataset("the file is empty")
    data.decode()  # polars would replace bad bytes silently; a dataset is UTF-8
    return pl.read_csv(data, infer_schema=False)


def _read_json(data: bytes) -> pl.DataFrame:
    if not data.lstrip().startswith(b"["):
        raise _NotADataset("not an array of objects")
    if data.strip() == b"[]":
        return pl.DataFrame(schema=dict.fromkeys(COLUMNS, pl.String))
    return pl.read_json(data, infer_schema_length=None)


def read_dataset_day(connection: Connection, day: date, organization_id: str, segment: str) -> pl.DataFrame:
    """The audience in the campaign database's checked dataset of `day` (loaded
    by Dagster after the dataset's blocking checks passed), in dataset order.
    The caller checks the day was loaded (campaigns.require_loaded_day)."""
    query = (
        select(*(dataset_rows.c[name] for name in COLUMNS))
        .where(dataset_rows.c.day == day, dataset_rows.c.segment == segment,
               dataset_rows.c.organization_id == organization_id)
        .order_by(dataset_rows.c.position)
    )
    rows = connection.execute(query).all()
    frame = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String), orient="row", strict=False)
    return audience_of(frame, organization_id, segment, source=f"dataset of {day} ({segment})")


def messages_for(audience: pl.DataFrame, template: Template) -> pl.DataFrame:
    """The frozen messages of an audience: phone, subject_id, the body rendered
    for the row, its encoding and segments (rules.encoding.measure)."""
    bodies = render(template, audience)
    measured = measure(bodies)
    return pl.DataFrame({
        "phone": audience["phone"], "subject_id": audience["subject_id"], "body": bodies,
        "encoding": measured["encoding"], "segments": measured["segments"],
        "ucs2_characters": measured["ucs2_characters"],
    })
