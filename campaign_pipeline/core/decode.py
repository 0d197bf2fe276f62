"""Rule 1: from portal export lines to validated activities and subject records.

Two stages, matching two assets: `decode_activities` validates jobs and
activities (and leaves each activity's subjects as raw JSON), `decode_subjects`
validates the subjects and flattens them into one polars frame. A malformed
record becomes a quarantine row (reason `invalid_record`) and nothing under it
is read. Per-record work is msgspec in C; the flattening is polars' own JSON
reader with an explicit schema, fed only records already known to be valid.
"""

import io
from collections.abc import Collection, Iterable

import msgspec
import polars as pl

from campaign_pipeline.core import columns as C
from campaign_pipeline.core.errors import ExportUnreadable
from campaign_pipeline.core.portal_records import (
    SELLING_STATUS,
    Activity,
    Identity,
    Job,
    Subject,
)

_identity = msgspec.json.Decoder(Identity)
_job = msgspec.json.Decoder(Job)
_activity = msgspec.json.Decoder(Activity)
_subject = msgspec.json.Decoder(Subject)
_subjects = msgspec.json.Decoder(list[Subject])
_raw_items = msgspec.json.Decoder(list[msgspec.Raw])

# Validated subjects are re-read by polars in batches of about this many bytes,
# so memory stays bounded by the batch, not the export.
_BATCH_BYTES = 32 * 1024 * 1024

_CONTACT_FIELDS = {
    "phone": pl.String,
    "sms_consent": pl.Boolean,
    "sms_consent_at": pl.String,
    "locale": pl.String,
}
_SUBJECT_SCHEMA = pl.Struct(
    {
        "id": pl.String,
        "first_name": pl.String,
        "last_name": pl.String,
        "group_name": pl.String,
        "access_key": pl.String,
        "updated_at": pl.String,
        "user": pl.Struct(_CONTACT_FIELDS),
        "deliveries": pl.List(
            pl.Struct({**_CONTACT_FIELDS, "id": pl.String, "created_at": pl.String})
        ),
        "orders": pl.List(pl.Struct({"status": pl.String})),
    }
)
_BATCH_SCHEMA = {"activity_index": pl.UInt32, "subjects": pl.List(_SUBJECT_SCHEMA)}


def decode_activities(
    lines: Iterable[bytes], job_ids: Collection[str] | None = None
) -> pl.DataFrame:
    """One row per activity of a selling job (schema `ACTIVITIES`), plus one
    quarantine row per malformed line, job or activity (reason set)."""
    wanted = set(job_ids) if job_ids is not None else None
    rows: list[dict] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            head = _identity.decode(line)
        except msgspec.ValidationError:
            rows.append(_activity_quarantine(_quarantine_row(detail="not a JSON object")))
            continue
        except msgspec.DecodeError as error:
            raise ExportUnreadable(f"portal export line {number}: not JSON ({error})") from None
        if head.status != SELLING_STATUS:
            continue
        if wanted is not None and head.id not in wanted:
            continue
        rows.extend(_job_rows(line, head))
    return pl.DataFrame(rows, schema=C.ACTIVITIES, orient="row").with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("activity_seq")
    )


def _job_rows(line: bytes, head: Identity) -> list[dict]:
    try:
        job = _job.decode(line)
    except msgspec.ValidationError:
        return [
            _activity_quarantine(
                _quarantine_row(
                    organization_id=_text(head.organization_id),
                    job_id=_text(head.id),
                    detail="malformed job",
                )
            )
        ]
    rows = []
    for raw in job.activities:
        try:
            activity = _activity.decode(raw)
            if not bytes(activity.subjects).startswith(b"["):
                raise msgspec.ValidationError("subjects is not an array")
        except msgspec.ValidationError:
            rows.append(
                _activity_quarantine(
                    _quarantine_row(
                        organization_id=job.organization_id,
                        job_id=job.id,
                        activity_id=_identity_id(raw),
                        detail="malformed activity",
                    )
                )
            )
            continue
        rows.append(
            {
                "organization_id": job.organization_id,
                "job_id": job.id,
                "job_name": job.name,
                "activity_id": activity.id,
                "activity_name": activity.name,
                "activity_group_name": activity.group_name,
                "subjects_json": bytes(activity.subjects).decode(),
                "reason": None,
                "detail": None,
            }
        )
    return rows


def decode_subjects(activities: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(records, quarantine): one row per valid subject record in the order seen
    (schema `RECORDS`), and one exclusion row per malformed subject."""
    valid = activities.filter(pl.col("reason").is_null()).sort("activity_seq")
    quarantine: list[dict] = []
    frames: list[pl.DataFrame] = []
    batch: list[bytes] = []
    batch_bytes = 0
    for index, row in enumerate(
        valid.select("organization_id", "job_id", "activity_id", "subjects_json").iter_rows()
    ):
        organization_id, job_id, activity_id, subjects_json = row
        raw = subjects_json.encode()
        try:
            _subjects.decode(raw)
        except msgspec.ValidationError:
            raw = _keep_valid_subjects(raw, organization_id, job_id, activity_id, quarantine)
        batch.append(b'{"activity_index":%d,"subjects":%s}' % (index, raw))
        batch_bytes += len(raw)
        if batch_bytes >= _BATCH_BYTES:
            frames.append(_read_batch(batch))
            batch, batch_bytes = [], 0
    if batch or not frames:
        frames.append(_read_batch(batch))
    subjects = pl.concat(frames)
    context = valid.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("activity_index"),
        "organization_id",
        "job_id",
        "job_name",
        "activity_id",
        "activity_name",
        "activity_group_name",
    )
    records = (
        subjects.join(context, on="activity_index", how="left", maintain_order="left")
        .with_row_index("seq")
        .select(C.RECORDS.keys())
    )
    return records, pl.DataFrame(quarantine, schema=C.EXCLUSIONS, orient="row")


def _keep_valid_subjects(
    raw: bytes, organization_id: str, job_id: str, activity_id: str, quarantine: list[dict]
) -> bytes:
    """The array of the valid subjects only; a quarantine row for each other item."""
    kept = []
    for item in _raw_items.decode(raw):
        try:
            _subject.decode(item)
        except msgspec.ValidationError:
            quarantine.append(
                _quarantine_row(
                    organization_id=organization_id,
                    job_id=job_id,
                    activity_id=activity_id,
                    subject_id=_identity_id(item),
                    detail="malformed subject",
                )
            )
            continue
        kept.append(bytes(item))
    return b"[" + b",".join(kept) + b"]"


def _read_batch(batch: list[bytes]) -> pl.DataFrame:
    frame = pl.read_ndjson(io.BytesIO(b"\n".join(batch)), schema=_BATCH_SCHEMA)
    return (
        frame.explode("subjects")
        .filter(pl.col("subjects").is_not_null())
        .unnest("subjects")
        .rename({"id": "subject_id", "group_name": "subject_group_name"})
    )


def _identity_id(raw: msgspec.Raw) -> str:
    try:
        return _text(_identity.decode(raw).id)
    except msgspec.ValidationError:
        return ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def quarantine_of_activities(activities: pl.DataFrame) -> pl.DataFrame:
    """The exclusion rows of the lines, jobs and activities that stage one quarantined."""
    return activities.filter(pl.col("reason").is_not_null()).select(
        "organization_id",
        pl.lit("").alias("segment"),
        "job_id",
        "activity_id",
        pl.lit("").alias("subject_id"),
        "reason",
        "detail",
    )


def _activity_quarantine(row: dict) -> dict:
    """A quarantine row in the shape of the activities frame."""
    return {
        "organization_id": row["organization_id"],
        "job_id": row["job_id"],
        "job_name": None,
        "activity_id": row["activity_id"],
        "activity_name": None,
        "activity_group_name": None,
        "subjects_json": None,
        "reason": row["reason"],
        "detail": row["detail"],
    }


def _quarantine_row(
    *, organization_id: str = "", job_id: str = "", activity_id: str = "",
    subject_id: str = "", detail: str,
) -> dict:
    return {
        "organization_id": organization_id,
        "segment": "",
        "job_id": job_id,
        "activity_id": activity_id,
        "subject_id": subject_id,
        "reason": "invalid_record",
        "detail": detail,
    }
