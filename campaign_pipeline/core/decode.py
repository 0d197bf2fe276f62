"""Rule 1: from portal export lines to validated activities and subject records.

Two stages, matching two assets: `decode_activities` validates jobs and
activities (each activity's subjects stay raw JSON), `decode_subjects` validates
the subjects and flattens them into lean columnar frames. `decode_export` runs
both as one stream for the command line, so the raw JSON of the whole export is
never held at once. A malformed record becomes a quarantine row (reason
`invalid_record`) and nothing under it is read.

Per-record work is msgspec in C (validation); flattening is pyarrow's JSON reader
with an explicit schema, fed only records already known to be valid, in batches
parsed on a worker thread while the next batch is validated.
(benchmarks/bench_decoders.py compares it with polars' own reader and others.)
"""

import io
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

import msgspec
import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json

from campaign_pipeline.core import columns as C
from campaign_pipeline.core.errors import JSON_LINES_HINT, ExportUnreadable
from campaign_pipeline.core.portal_records import (
    BUYING_ORDER_STATUSES,
    SELLING_STATUS,
    Activity,
    Identity,
    Job,
    TIMESTAMP_PATTERN_POLARS,
    Subject,
)
from campaign_pipeline.core.timestamps import instant

_identity = msgspec.json.Decoder(Identity)
_job = msgspec.json.Decoder(Job)
_activity = msgspec.json.Decoder(Activity)
_subject = msgspec.json.Decoder(Subject)
_subjects = msgspec.json.Decoder(list[Subject])
_raw_items = msgspec.json.Decoder(list[msgspec.Raw])

# Validated subjects are flattened in batches of about this many bytes, so
# memory follows the batch, not the export.
_BATCH_BYTES = 16 * 1024 * 1024

_CONTACT = [
    ("phone", pa.string()),
    ("sms_consent", pa.bool_()),
    ("sms_consent_at", pa.string()),
    ("locale", pa.string()),
]
_SUBJECT = pa.struct(
    [
        ("id", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("group_name", pa.string()),
        ("access_key", pa.string()),
        ("updated_at", pa.string()),
        ("user", pa.struct(_CONTACT)),
        ("deliveries", pa.list_(pa.struct([*_CONTACT, ("id", pa.string()), ("created_at", pa.string())]))),
        ("orders", pa.list_(pa.struct([("status", pa.string()), ("created_at", pa.string())]))),
    ]
)
_BATCH_SCHEMA = pa.schema([("activity_index", pa.uint32()), ("subjects", pa.list_(_SUBJECT))])


@dataclass
class Subjects:
    """Stage two's output, lean enough for a million records:
    `records`: one row per valid subject record in the order seen: seq,
      activity_index (stage one's activity_seq), subject_id, first_name,
      last_name, subject_group_name, access_key, updated_at (UTC instant),
      bought (has a paid/shipped/delivered order);
    `candidates`: its contacts in rule 5's priority order: seq, contact_source,
      rank, phone, sms_consent, sms_consent_at, locale;
    `quarantine`: exclusion rows of malformed subjects."""

    records: pl.DataFrame
    candidates: pl.DataFrame
    quarantine: pl.DataFrame


# --- stage one: jobs and activities ------------------------------------------------


def decode_activities(
    lines: Iterable[bytes], job_ids: Collection[str] | None = None
) -> pl.DataFrame:
    """One row per activity of a selling job (layout `ACTIVITIES` + activity_seq),
    plus one quarantine row per malformed line, job or activity (reason set)."""
    rows = [
        {**row, "subjects_json": None if raw is None else raw.decode()}
        for row, raw in iter_activities(lines, job_ids)
    ]
    return pl.DataFrame(rows, schema=C.ACTIVITIES, orient="row").with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("activity_seq")
    )


def iter_activities(
    lines: Iterable[bytes], job_ids: Collection[str] | None = None
) -> Iterator[tuple[dict, bytes | None]]:
    """(activity row, raw subjects array) per valid activity of a selling job, and
    (quarantine row, None) per malformed line, job or activity, in file order."""
    wanted = set(job_ids) if job_ids is not None else None
    objects_seen = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        # Most lines are valid jobs: decode them once, fully; only a line that
        # fails is read again for whatever ids it still carries.
        try:
            job = _job.decode(line)
        except msgspec.ValidationError:
            job = None
        except msgspec.DecodeError as error:
            # Not JSON before any JSON object: most often a pretty-printed file.
            hint = "" if objects_seen else f"; {JSON_LINES_HINT}"
            raise ExportUnreadable(f"portal export line {number}: not JSON ({error}){hint}") from None
        head = job if job is not None else _head(line)
        objects_seen = objects_seen or head is not None
        if head is None:
            yield _activity_quarantine(detail="not a JSON object"), None
        elif head.status == SELLING_STATUS and (wanted is None or head.id in wanted):
            if job is None:
                yield _activity_quarantine(
                    organization_id=_text(head.organization_id), job_id=_text(head.id), detail="malformed job"
                ), None
            else:
                yield from _job_activities(job)


def _head(line: bytes) -> Identity | None:
    """The ids and status of a malformed job line; None when it is no JSON object."""
    try:
        return _identity.decode(line)
    except msgspec.ValidationError:
        return None


def _job_activities(job: Job) -> Iterator[tuple[dict, bytes | None]]:
    for raw in job.activities:
        try:
            activity = _activity.decode(raw)
            subjects = bytes(activity.subjects)
            if not subjects.startswith(b"["):
                raise msgspec.ValidationError("subjects is not an array")
        except msgspec.ValidationError:
            yield _activity_quarantine(
                organization_id=job.organization_id,
                job_id=job.id,
                activity_id=_identity_id(raw),
                detail="malformed activity",
            ), None
            continue
        yield {
            "organization_id": job.organization_id,
            "job_id": job.id,
            "job_name": job.name,
            "activity_id": activity.id,
            "activity_name": activity.name,
            "activity_group_name": activity.group_name,
            "reason": None,
            "detail": None,
        }, subjects


def quarantine_of_activities(activities: pl.DataFrame) -> pl.DataFrame:
    """The exclusion rows of the lines, jobs and activities stage one quarantined."""
    return activities.filter(pl.col("reason").is_not_null()).select(
        "organization_id",
        pl.lit("").alias("segment"),
        "job_id",
        "activity_id",
        pl.lit("").alias("subject_id"),
        "reason",
        "detail",
    )


# --- stage two: subjects -----------------------------------------------------------


def decode_subjects(activities: pl.DataFrame) -> Subjects:
    """Stage two over stage one's frame; `activity_index` in the output refers to
    `activity_seq` there."""
    valid = activities.filter(pl.col("reason").is_null()).sort("activity_seq")
    batcher = _SubjectBatcher()
    for seq, org, job, activity, subjects in valid.select(
        "activity_seq", "organization_id", "job_id", "activity_id", "subjects_json"
    ).iter_rows():
        batcher.add(seq, org, job, activity, subjects.encode())
    return batcher.finish()


def decode_export(
    lines: Iterable[bytes], job_ids: Collection[str] | None = None
) -> tuple[pl.DataFrame, Subjects]:
    """Both stages as one stream: (activities without their raw subjects, Subjects)."""
    rows: list[dict] = []
    batcher = _SubjectBatcher()
    for row, raw in iter_activities(lines, job_ids):
        if raw is not None:
            batcher.add(len(rows), row["organization_id"], row["job_id"], row["activity_id"], raw)
        rows.append({**row, "subjects_json": None})
    activities = pl.DataFrame(rows, schema=C.ACTIVITIES, orient="row").with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("activity_seq")
    )
    return activities, batcher.finish()


class _SubjectBatcher:
    """Validates subject arrays one activity at a time (msgspec, this thread) while
    pyarrow parses the previous batches of valid ones (a worker thread: it
    releases the GIL), then flattens everything in one pass of polars."""

    def __init__(self) -> None:
        self.quarantine: list[dict] = []
        self.parsing: list[Future] = []
        self.workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="subjects-json")
        self.batch: list[bytes] = []
        self.batch_bytes = 0
        self.longest = 0
        self.context: dict[int, tuple[str, str, str]] = {}

    def add(self, activity_index: int, org: str, job: str, activity: str, raw: bytes) -> None:
        self.context[activity_index] = (org, job, activity)
        try:
            _subjects.decode(raw)
        except msgspec.ValidationError:
            raw = self._keep_valid(raw, org, job, activity)
        line = b'{"activity_index":%d,"subjects":%s}' % (activity_index, raw)
        self.batch.append(line)
        self.batch_bytes += len(line)
        self.longest = max(self.longest, len(line))
        if self.batch_bytes >= _BATCH_BYTES:
            self._hand_over()

    def finish(self) -> Subjects:
        self._hand_over()
        try:
            tables = [future.result() for future in self.parsing]
        finally:
            self.workers.shutdown()
        subjects = (
            pl.from_arrow(pa.concat_tables(tables) if tables else _BATCH_SCHEMA.empty_table())
            .explode("subjects")
            .filter(pl.col("subjects").is_not_null())
            .with_row_index("seq")
            .unnest("subjects")
        )
        timely = subjects.select(_timestamps_valid()).to_series()
        for activity_index, subject_id in subjects.filter(~timely).select("activity_index", "id").iter_rows():
            self._quarantine(*self.context[activity_index], subject_id)
        subjects = subjects.filter(timely)
        return Subjects(
            records=_lean_records(subjects),
            candidates=_ranked_candidates(subjects),
            quarantine=pl.DataFrame(self.quarantine, schema=C.EXCLUSIONS, orient="row"),
        )

    def _keep_valid(self, raw: bytes, org: str, job: str, activity: str) -> bytes:
        """The array of the valid subjects only; a quarantine row for each other item."""
        kept = []
        for item in _raw_items.decode(raw):
            try:
                _subject.decode(item)
            except msgspec.ValidationError:
                self._quarantine(org, job, activity, _identity_id(item))
                continue
            kept.append(bytes(item))
        return b"[" + b",".join(kept) + b"]"

    def _quarantine(self, org: str, job: str, activity: str, subject_id: str) -> None:
        self.quarantine.append(
            {
                "organization_id": org,
                "segment": "",
                "job_id": job,
                "activity_id": activity,
                "subject_id": subject_id,
                "reason": "invalid_record",
                "detail": "malformed subject",
            }
        )

    def _hand_over(self) -> None:
        if self.batch:
            self.parsing.append(self.workers.submit(_parse_batch, b"\n".join(self.batch), self.longest))
            self.batch, self.batch_bytes, self.longest = [], 0, 0


def _parse_batch(buffer: bytes, longest_line: int) -> pa.Table:
    return pa_json.read_json(
        io.BytesIO(buffer),
        # A block must hold a whole line, and one activity's line can be long.
        read_options=pa_json.ReadOptions(block_size=max(1 << 20, 2 * longest_line), use_threads=False),
        parse_options=pa_json.ParseOptions(explicit_schema=_BATCH_SCHEMA, unexpected_field_behavior="ignore"),
    )


def _place_in_run(key: pl.Expr) -> pl.Expr:
    """0, 1, 2... within each run of equal `key` values in a frame sorted by it:
    the same as int_range().over(key), without hashing a million groups."""
    index = pl.int_range(pl.len(), dtype=pl.UInt32)
    run_start = pl.when(key != key.shift(1)).then(index).forward_fill().fill_null(0)
    return index - run_start


def _timestamps_valid() -> pl.Expr:
    """Whether every timestamp of a record is RFC 3339 as the contract reads it."""

    def valid(text: pl.Expr) -> pl.Expr:
        return text.is_null() | text.str.contains(TIMESTAMP_PATTERN_POLARS)

    def all_valid(items: str, field: str) -> pl.Expr:
        return pl.col(items).list.eval(valid(pl.element().struct.field(field))).list.all().fill_null(True)

    return (
        valid(pl.col("updated_at"))
        & valid(pl.col("user").struct.field("sms_consent_at"))
        & all_valid("deliveries", "created_at")
        & all_valid("deliveries", "sms_consent_at")
        & all_valid("orders", "created_at")
    )


def _lean_records(subjects: pl.DataFrame) -> pl.DataFrame:
    bought = (
        pl.col("orders")
        .list.eval(pl.element().struct.field("status").is_in(BUYING_ORDER_STATUSES))
        .list.any()
        .fill_null(False)
    )
    return subjects.select(
        "seq",
        "activity_index",
        pl.col("id").alias("subject_id"),
        "first_name",
        "last_name",
        pl.col("group_name").alias("subject_group_name"),
        "access_key",
        instant(pl.col("updated_at")).alias("updated_at"),
        bought.alias("bought"),
    )


def _ranked_candidates(subjects: pl.DataFrame) -> pl.DataFrame:
    """Rule 5's candidates in priority order: the user contact (rank 0), then the
    deliveries newest first, undated ones last, ties by delivery id (code point,
    missing ids last), then as listed."""
    contact = [name for name, _ in _CONTACT]
    users = subjects.filter(pl.col("user").is_not_null()).select(
        "seq",
        pl.lit("user").alias("contact_source"),
        pl.lit(0, dtype=pl.UInt32).alias("rank"),
        *(pl.col("user").struct.field(name) for name in contact),
    )
    deliveries = (
        subjects.select(
            "seq", "deliveries", position=pl.int_ranges(0, pl.col("deliveries").list.len(), dtype=pl.UInt32)
        )
        .explode("deliveries", "position")
        .filter(pl.col("deliveries").is_not_null())
        .unnest("deliveries")
        .with_columns(created=instant(pl.col("created_at")))
        .sort(["seq", "created", "id", "position"], descending=[False, True, False, False], nulls_last=True)
        .select(
            "seq",
            pl.lit("delivery").alias("contact_source"),
            (_place_in_run(pl.col("seq")) + 1).alias("rank"),
            *contact,
        )
    )
    return pl.concat([users, deliveries]).sort("seq", "rank")


def _identity_id(raw: msgspec.Raw) -> str:
    try:
        return _text(_identity.decode(raw).id)
    except msgspec.ValidationError:
        return ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _activity_quarantine(
    *, organization_id: str = "", job_id: str = "", activity_id: str = "", detail: str
) -> dict:
    return {
        "organization_id": organization_id,
        "job_id": job_id,
        "job_name": None,
        "activity_id": activity_id,
        "activity_name": None,
        "activity_group_name": None,
        "reason": "invalid_record",
        "detail": detail,
    }
