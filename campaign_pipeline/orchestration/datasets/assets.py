"""The campaign chain as software-defined assets, each with its checks beside it:

portal_snapshot -> activities -> enriched_subjects -> buyers / non_buyers
-> campaign_dataset/<segment>, and exclusions.

Each asset is one stage of dataset/pipeline.py, validated against its Pandera
schema where it is written; the rules themselves are all in dataset/.
"""

import time
import warnings
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetRecordsFilter,
    Failure,
    MetadataValue,
    Output,
    PreviewWarning,
    asset,
    asset_check,
    multi_asset,
)

from campaign_pipeline.orchestration.datasets.partitions import daily_partitions
from campaign_pipeline.orchestration.datasets.resources import DatasetBuildSettings, PortalSource
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase
from campaign_pipeline.contracts import schemas
from campaign_pipeline.contracts.table_schema import table_schema
from campaign_pipeline.dataset import columns as C
from campaign_pipeline.dataset import invariants
from campaign_pipeline.dataset.access_keys import apply_access_keys, subjects_needing_keys
from campaign_pipeline.common.errors import ExportUnreadable, InputError, RunFailed
from campaign_pipeline.dataset.dataset import campaign_dataset, exclusions as exclusion_rows
from campaign_pipeline.dataset.dataset import missing_keys_message, rows_without_access_key
from campaign_pipeline.dataset.suppressions import invalid_entries_message
from campaign_pipeline.dataset.decode import decode_activities
from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.common.masking import masked
from campaign_pipeline.dataset.pipeline import enriched_with_quarantine, segment_rows
from campaign_pipeline.orchestration.io_managers import DATASET, EXCLUSIONS, FILE_ROLE
from campaign_pipeline.files.export_file import export_warning

# Asset checks need their asset's partitions, a preview feature in Dagster 1.13;
# that is deliberate, so its warning would only be noise in every command.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=PreviewWarning)

GROUP = "datasets"
OWNER = "team:campaigns"
# Materialization metadata of campaign_dataset/<segment>: {organization_id: rows},
# what the next day's no_sudden_change check compares with.
ROWS_PER_ORGANIZATION = "rows_per_organization"
SEGMENT_ASSETS = {"buyer": "buyers", "non_buyer": "non_buyers"}


def _report(context, started: float, counts: dict, **metadata) -> None:
    """Counters and timing of one asset, both as run metadata and as a JSON log
    line on stderr (with the run id); neither ever holds personal data."""
    seconds = round(time.perf_counter() - started, 3)
    JsonLog(run_id=context.run.run_id).info(
        "asset_materialized", asset=context.op_execution_context.op.name,
        partition=context.partition_key, seconds=seconds, **counts,
    )
    context.add_output_metadata({**counts, "seconds": seconds, **metadata})


def _warn(context, metadata: dict, event: str, message: str, **fields) -> None:
    """A warning a manager must see: in the run's log, as a JSON log line and
    in the materialization's metadata (`warning`)."""
    context.log.warning(message)
    JsonLog(run_id=context.run.run_id).warning(event, message=message, **fields)
    metadata["warning"] = MetadataValue.text(message)


@contextmanager
def _as_failure():
    """A user's mistake or an unreachable portal is one clear message in Dagster,
    not a stack trace."""
    try:
        yield
    except (InputError, RunFailed) as error:
        raise Failure(description=str(error)) from None


def _text_line(number: int, line: bytes) -> str:
    try:
        return line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ExportUnreadable(f"portal export line {number}: not UTF-8 text") from None


def _counts(frame: pl.DataFrame, column: str) -> dict:
    counts = frame.filter(pl.col(column).is_not_null()).get_column(column).value_counts(sort=True)
    return {str(value): int(count) for value, count in counts.iter_rows()}


def _preview(frame: pl.DataFrame, rows: int = 5) -> MetadataValue:
    sample = masked(frame.head(rows))
    header = "| " + " | ".join(sample.columns) + " |\n|" + "---|" * sample.width + "\n"
    body = "".join(
        "| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in row) + " |\n"
        for row in sample.iter_rows()
    )
    return MetadataValue.md(header + body)


@asset(
    partitions_def=daily_partitions,
    group_name=GROUP,
    kinds={"polars", "parquet"},
    owners=[OWNER],
    description="The day's raw portal snapshot: one JSON line per job, as read. Later "
    "assets of a day are recomputed from it, never refetched.",
)
def portal_snapshot(
    context: AssetExecutionContext, portal: PortalSource, dataset_build: DatasetBuildSettings
) -> pl.DataFrame:
    today = datetime.now(UTC).date().isoformat()
    if portal.is_live() and context.partition_key != today:
        raise Failure(
            f"refusing to snapshot the live portal for {context.partition_key}: it shows today's "
            f"data ({today}), not that day's. Materialize {today}, or rebuild later assets of "
            f"{context.partition_key} from its stored snapshot."
        )
    started = time.perf_counter()
    log = JsonLog(run_id=context.run.run_id)
    phase, unit = ("export_read", "bytes") if portal.export_file() else ("portal_fetch", "requests")
    with _as_failure(), log.progress(phase, unit=unit) as progress:
        fetched = portal.fetch_lines(dataset_build.build_settings().job_ids, progress)
        lines = [_text_line(number, line) for number, line in enumerate(fetched, start=1)]
    # Blank lines carry nothing; dropping them keeps the stored snapshot clean.
    snapshot = pl.DataFrame({"line": [line for line in lines if line.strip()]}, schema={"line": pl.String})
    schemas.PortalSnapshot.validate(snapshot)
    metadata = {"source": portal.describe()}
    if path := portal.export_file():
        first = snapshot.get_column("line")[0].encode() if snapshot.height else None
        if warning := export_warning(path, first):
            _warn(context, metadata, warning[0], warning[1], file=path)
    _report(context, started, {"job_lines": snapshot.height}, **metadata)
    return snapshot


@asset(
    partitions_def=daily_partitions,
    group_name=GROUP,
    kinds={"polars", "parquet"},
    owners=[OWNER],
    description="Activities of the selling jobs, validated (rule 1); malformed lines, "
    "jobs and activities quarantined as rows with a reason.",
)
def activities(
    context: AssetExecutionContext, portal_snapshot: pl.DataFrame, dataset_build: DatasetBuildSettings
) -> pl.DataFrame:
    started = time.perf_counter()
    lines = (line.encode() for line in portal_snapshot.get_column("line"))
    with _as_failure():
        result = decode_activities(lines, dataset_build.build_settings().job_ids)
    schemas.Activities.validate(result, lazy=True)
    _report(
        context,
        started,
        {
            "activities": result.filter(pl.col("reason").is_null()).height,
            "quarantined": result.filter(pl.col("reason").is_not_null()).height,
        },
    )
    return result


@asset(
    partitions_def=daily_partitions,
    group_name=GROUP,
    kinds={"polars", "parquet"},
    owners=[OWNER],
    description="Every subject record: deduplicated (rule 2), segmented (3), filtered (4), "
    "given its contact (5) and access key (6), or the reason it is excluded.",
)
def enriched_subjects(
    context: AssetExecutionContext,
    activities: pl.DataFrame,
    dataset_build: DatasetBuildSettings,
    portal: PortalSource,
    campaign_database: CampaignDatabase,
) -> pl.DataFrame:
    started = time.perf_counter()
    log = JsonLog(run_id=context.run.run_id)
    with _as_failure():
        suppressed, invalid_entries = dataset_build.suppression_list()
        stored, where = campaign_database.suppressions(_organizations(activities))
        result = enriched_with_quarantine(
            activities, dataset_build.build_settings(), pl.concat([suppressed, stored])
        )
        needed = subjects_needing_keys(result)
        with log.progress("access_keys", total=len(needed), unit="keys") as progress:
            answers = portal.access_keys(needed, progress)
    if answers is not None:
        result = apply_access_keys(result, *answers)
    schemas.EnrichedSubjects.validate(result, lazy=True)
    metadata = {"preview": _preview(result.filter(pl.col("reason").is_null())),
                "campaign_database": where or "none yet"}
    if invalid_entries:
        _warn(context, metadata, "suppression_entries_invalid", invalid_entries_message(invalid_entries),
              count=invalid_entries)
    _report(
        context,
        started,
        {
            "records": result.height,
            "chosen": result.filter(pl.col("reason").is_null()).height,
            "exclusions_by_reason": _counts(result, "reason"),
            "suppression_invalid_entries": invalid_entries,
            "file_suppressions": suppressed.height,
            "database_suppressions": stored.height,
        },
        **metadata,
    )
    return result


def _organizations(frame: pl.DataFrame) -> list[str]:
    return frame.get_column("organization_id").drop_nulls().unique().to_list()


def suppressions_now(dataset_build: DatasetBuildSettings, campaign_database: CampaignDatabase,
                     organizations: list[str]) -> pl.DataFrame:
    """The suppressions as they are now: the files' and the database's."""
    stored, _ = campaign_database.suppressions(organizations)
    return pl.concat([dataset_build.suppression_list()[0], stored])


@multi_asset(
    partitions_def=daily_partitions,
    group_name=GROUP,
    outs={
        name: AssetOut(description=f"Enriched records of the {segment} segment (chosen and excluded), "
                       "the input of its campaign dataset.", kinds={"polars", "parquet"}, owners=[OWNER])
        for segment, name in SEGMENT_ASSETS.items()
    },
)
def buyers_and_non_buyers(context: AssetExecutionContext, enriched_subjects: pl.DataFrame):
    for segment, name in SEGMENT_ASSETS.items():
        rows = segment_rows(enriched_subjects, segment)
        schemas.EnrichedSubjects.validate(rows, lazy=True)
        yield Output(rows, output_name=name, metadata={"records": rows.height})


def _campaign_dataset_asset(segment: str, upstream: str):
    key = AssetKey(["campaign_dataset", segment])

    @asset(
        key=key,
        ins={"rows": AssetIn(upstream)},
        partitions_def=daily_partitions,
        group_name=GROUP,
        kinds={"polars", "csv"},
        owners=[OWNER],
        metadata={FILE_ROLE: DATASET, "dagster/column_schema": table_schema(schemas.CampaignDataset)},
        description=f"The {segment} campaign dataset of the day: one row per (organization, "
        "phone) in the contract's order (rules 7-8), the file a manager uses. Its blocking "
        "checks read the stored file back; only a day that passes them is loaded into the "
        f"campaign database (checked_dataset/{segment}).",
    )
    def _dataset(context: AssetExecutionContext, rows: pl.DataFrame) -> pl.DataFrame:
        started = time.perf_counter()
        dataset = campaign_dataset(rows, segment)
        # Row by row only: what holds across rows is for the checks, on the stored file.
        schemas.CampaignDatasetRows.validate(dataset, lazy=True)
        missing_keys = rows_without_access_key(dataset)
        counts = {
            "rows": dataset.height,
            "subjects": int(dataset.get_column("subject_count").sum() or 0),
            "rows_without_access_key": missing_keys,
        }
        metadata = {
            "preview": _preview(dataset),
            ROWS_PER_ORGANIZATION: MetadataValue.json(invariants.rows_per_organization(dataset)),
        }
        if missing_keys:
            _warn(context, metadata, "rows_without_access_key", missing_keys_message(missing_keys), count=missing_keys)
        _report(context, started, counts, **metadata)
        return dataset

    def gate(context: AssetCheckExecutionContext, database: CampaignDatabase, result: AssetCheckResult):
        """A failed check marks the day's dataset of this segment as not loadable
        (sending/dataset_days.py), so an earlier load of the same day is not used either."""
        if not result.passed:
            from campaign_pipeline.sending.dataset_days import mark_checks_failed

            with _as_failure():
                engine = database.engine()
                try:
                    mark_checks_failed(engine, _day(context), segment, result.check_name, run_id=context.run.run_id)
                finally:
                    engine.dispose()
        return result

    @asset_check(asset=key, blocking=True, partitions_def=daily_partitions, name="one_row_per_phone",
                 description="The stored file holds one row per (organization, segment, phone).")
    def _one_row_per_phone(
        context: AssetCheckExecutionContext, dataset: pl.DataFrame, campaign_database: CampaignDatabase
    ) -> AssetCheckResult:
        repeated = invariants.repeated_phones(dataset)
        return gate(context, campaign_database, AssetCheckResult(
            check_name="one_row_per_phone", passed=repeated == 0, metadata={"repeated_rows": repeated}))

    @asset_check(asset=key, blocking=True, partitions_def=daily_partitions, name="contract_order",
                 description="The stored file's rows are in the contract's order (rule 8).")
    def _contract_order(
        context: AssetCheckExecutionContext, dataset: pl.DataFrame, campaign_database: CampaignDatabase
    ) -> AssetCheckResult:
        misplaced = invariants.rows_out_of_order(dataset)
        return gate(context, campaign_database, AssetCheckResult(
            check_name="contract_order", passed=misplaced == 0, metadata={"rows_out_of_order": misplaced}))

    @asset_check(asset=key, blocking=True, partitions_def=daily_partitions, name="no_suppressed_phone",
                 description="No row of the stored file is suppressed by the suppression files or by the "
                 "campaign database as it is now (a number suppressed after the build is caught).")
    def _no_suppressed_phone(
        context: AssetCheckExecutionContext, dataset: pl.DataFrame,
        dataset_build: DatasetBuildSettings, campaign_database: CampaignDatabase,
    ) -> AssetCheckResult:
        with _as_failure():
            suppressions = suppressions_now(dataset_build, campaign_database, _organizations(dataset))
        found = invariants.suppressed_rows(dataset, suppressions)
        return gate(context, campaign_database, AssetCheckResult(
            check_name="no_suppressed_phone", passed=found == 0, metadata={"suppressed_rows": found}))

    @asset_check(asset=key, blocking=True, partitions_def=daily_partitions, name="no_sudden_change",
                 description="Rows per organization did not fall or grow by more than the allowed share "
                 "(dataset_build.max_daily_change, default 0.5) since the previous day's materialization. "
                 "A first day, or an organization absent the day before, passes.")
    def _no_sudden_change(
        context: AssetCheckExecutionContext, dataset: pl.DataFrame,
        dataset_build: DatasetBuildSettings, campaign_database: CampaignDatabase,
    ) -> AssetCheckResult:
        previous = (_day(context) - timedelta(days=1)).isoformat()
        yesterday = _materialization_metadata(context.instance, key, previous).get(ROWS_PER_ORGANIZATION)
        today = invariants.rows_per_organization(dataset)
        changes = invariants.sudden_changes(yesterday or {}, today, dataset_build.max_daily_change)
        metadata = {"previous_day": previous if yesterday is not None else "none",
                    "max_daily_change": dataset_build.max_daily_change,
                    "changed_organizations": MetadataValue.json(changes)}
        if changes:
            metadata["changes"] = MetadataValue.md(_changes_table(changes))
        return gate(context, campaign_database, AssetCheckResult(
            check_name="no_sudden_change", passed=not changes, metadata=metadata))

    return _dataset, [_one_row_per_phone, _contract_order, _no_suppressed_phone, _no_sudden_change]


def _day(context) -> date:
    return date.fromisoformat(context.partition_key)


def _materialization_metadata(instance, key: AssetKey, partition: str) -> dict:
    """The metadata values of the latest materialization of one partition ({} when none)."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return {}
    return {name: value.value for name, value in records[0].asset_materialization.metadata.items()}


def _changes_table(changes: list[dict]) -> str:
    lines = ["| organization | yesterday | today | change |", "|---|---:|---:|---:|"]
    lines += [f"| {c['organization_id']} | {c['yesterday']} | {c['today']} | {c['change']:+.0%} |" for c in changes]
    return "\n".join(lines) + "\n"


_per_segment = [_campaign_dataset_asset(segment, upstream) for segment, upstream in SEGMENT_ASSETS.items()]
campaign_datasets = [dataset for dataset, _ in _per_segment]
campaign_dataset_checks = [check for _, checks in _per_segment for check in checks]


@asset(
    partitions_def=daily_partitions,
    group_name=GROUP,
    kinds={"polars", "csv"},
    owners=[OWNER],
    metadata={FILE_ROLE: EXCLUSIONS, "dagster/column_schema": table_schema(schemas.Exclusions)},
    description="Every excluded or quarantined record with its reason, sorted.",
)
def exclusions(context: AssetExecutionContext, enriched_subjects: pl.DataFrame) -> pl.DataFrame:
    started = time.perf_counter()
    result = exclusion_rows(enriched_subjects)
    schemas.Exclusions.validate(result, lazy=True)
    _report(context, started, {"rows": result.height, "by_reason": _counts(result, "reason")})
    return result


@asset_check(
    asset=exclusions,
    blocking=True,
    partitions_def=daily_partitions,
    additional_ins={
        "enriched_subjects": AssetIn("enriched_subjects"),
        **{segment: AssetIn(AssetKey(["campaign_dataset", segment])) for segment in C.SEGMENTS},
    },
    description="Every subject record is in exactly one dataset row or one exclusion.",
)
def every_record_accounted_for(
    context: AssetCheckExecutionContext,
    exclusions: pl.DataFrame,
    enriched_subjects: pl.DataFrame,
    buyer: pl.DataFrame,
    non_buyer: pl.DataFrame,
) -> AssetCheckResult:
    problems = invariants.unaccounted_records(enriched_subjects, [buyer, non_buyer], exclusions)
    return AssetCheckResult(passed=not any(problems.values()), metadata=problems)
