"""`campaign-cli build` as one function: read, build, write, report.

The I/O around the core: the source (an export file or the live portal),
suppression files and the output files. The rules themselves are all in dataset/.
"""

import os
import sys
from dataclasses import dataclass

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.common.values import checked, header_token
from campaign_pipeline.dataset import defaults as build_defaults
from campaign_pipeline.portal import defaults as portal_defaults


@dataclass(frozen=True)
class BuildRequest:
    jobs_file: str | None = None
    jobs_url: str | None = None
    job_ids: tuple[str, ...] | None = None
    segments: tuple[str, ...] = ("buyer", "non_buyer")
    groups: tuple[str, ...] | None = None
    contact_sources: tuple[str, ...] | None = None
    suppress: tuple[str, ...] = ()
    region: str = build_defaults.REGION
    out: str | None = None
    dataset_format: str | None = None  # as a flag asked; None: --out's extension, else CSV
    exclusions: str | None = None
    concurrency: int = portal_defaults.CONCURRENCY
    requests_per_second: float | None = None
    dry_run: bool = False


def run_build(request: BuildRequest, log: JsonLog) -> dict:
    """Runs one build; returns the dry-run summary (also for a real run)."""
    import polars as pl

    from campaign_pipeline.dataset import formats
    from campaign_pipeline.dataset.access_keys import apply_access_keys, subjects_needing_keys
    from campaign_pipeline.dataset.dataset import missing_keys_message
    from campaign_pipeline.dataset.suppressions import invalid_entries_message
    from campaign_pipeline.dataset.decode import decode_export
    from campaign_pipeline.dataset.pipeline import enriched_with_quarantine, finish
    from campaign_pipeline.dataset.settings import BuildSettings
    from campaign_pipeline.files.suppression_file import load_suppression_list

    try:
        settings = BuildSettings(
            region=request.region,
            segments=request.segments,
            job_ids=request.job_ids,
            groups=request.groups,
            contact_sources=request.contact_sources,
        )
    except ValueError as error:
        raise InputError(str(error)) from None
    dataset_format = _check_outputs(request)
    log.info("build_started", source=_source_kind(request), segments=list(settings.segments), dry_run=request.dry_run)
    with log.timed("suppressions_loaded") as counters:
        suppressed, invalid = load_suppression_list(request.suppress, settings.region)
        counters.update(numbers=suppressed.height, invalid_entries=invalid)
    if invalid:
        log.warning("suppression_entries_invalid", count=invalid, message=invalid_entries_message(invalid))
    portal = _live_portal(request)
    if portal:
        with log.timed("source_read", source="portal") as counters, log.progress("portal_fetch", unit="requests") as progress:
            lines = portal.fetch_lines(settings.job_ids, counters, progress)
    else:
        lines = _export_lines(request.jobs_file, log)  # read as the build consumes it
    with log.timed("subjects_enriched") as counters:
        activities, subjects = decode_export(lines, settings.job_ids)
        # The database's suppressions of the export's organizations (and of
        # every organization), read once the export says which ones.
        suppressed = pl.concat([suppressed, _database_suppressions(activities, log)])
        enriched = enriched_with_quarantine(activities, settings, suppressed, subjects)
        counters["records"] = enriched.height
    if portal and not request.dry_run:
        with log.timed("access_keys_generated") as counters:
            needed = subjects_needing_keys(enriched)
            with log.progress("access_keys", total=len(needed), unit="keys") as progress:
                keys, failures = portal.access_keys(needed, counters, progress)
            enriched = apply_access_keys(enriched, keys, failures)
            counters.update(asked=len(needed), failed=len(failures))
    with log.timed("dataset_built") as counters:
        result = finish(enriched, settings)
        summary = result.summary()
        missing_keys = result.rows_without_access_key()
        counters.update(summary, rows_without_access_key=missing_keys)
    if missing_keys:
        log.warning("rows_without_access_key", count=missing_keys, message=missing_keys_message(missing_keys))
    if request.dry_run:
        return summary
    dataset = formats.encode(result.dataset(), dataset_format)
    files = {}
    if request.out:
        files[request.out] = dataset
    if request.exclusions:
        files[request.exclusions] = formats.to_csv(result.exclusions)
    with log.timed("files_written", files=len(files)):
        _write(files)
        if not request.out:
            sys.stdout.buffer.write(dataset)
            sys.stdout.flush()
    return summary


def _database_suppressions(activities, log: JsonLog):
    """The campaign database's suppressions for the organizations of `activities`.
    No database yet (the default SQLite file missing) is none; it is not created."""
    from campaign_pipeline.sending.suppressions import stored_suppressions

    organizations = activities.get_column("organization_id").drop_nulls().unique().to_list()
    with log.timed("database_suppressions_loaded") as counters:
        frame, where = stored_suppressions(organizations)
        counters.update(numbers=frame.height, organizations=len(organizations), database=where or "none")
    return frame


def _check_outputs(request: BuildRequest) -> str:
    """Refuses outputs that cannot be written or whose format the name and the
    flags disagree on, before any work; returns the dataset's format. A dry run
    is checked as well (it is how to ask whether the run would work) but creates
    no probe file, since it writes nothing."""
    from campaign_pipeline.dataset.formats import format_of_path, output_format
    from campaign_pipeline.files.storage import check_targets

    try:
        dataset_format = output_format(request.out, request.dataset_format)
    except ValueError as error:
        raise InputError(f"--{request.dataset_format} contradicts --out: {error}") from None
    if request.exclusions and format_of_path(request.exclusions) not in (None, "csv"):
        raise InputError(f"--exclusions {request.exclusions}: exclusions are CSV: name the file .csv")
    if dataset_format == "parquet" and not request.out and not request.dry_run and sys.stdout.isatty():
        raise InputError("binary Parquet to a terminal: give --out")
    targets = {"--out": request.out, "--exclusions": request.exclusions}
    check_targets({flag: path for flag, path in targets.items() if path}, probe=not request.dry_run)
    return dataset_format


def _source_kind(request: BuildRequest) -> str:
    return "export" if request.jobs_file else "portal"


def _export_lines(path: str, log: JsonLog):
    """The export's lines as the build consumes them, with progress lines while
    it reads; `source_read` is logged once the file was read to its end, then a
    warning when the file is empty or not JSON Lines."""
    import time

    from campaign_pipeline.files.export_file import ExportRead

    export = ExportRead(path)
    started = time.perf_counter()
    with log.progress("export_read", unit="bytes") as progress:
        yield from export.lines(progress)
    log.info(
        "source_read", source="export", seconds=round(time.perf_counter() - started, 3),
        job_lines=export.job_lines, bytes=progress.done,
    )
    if warning := export.warning():
        event, message = warning
        log.warning(event, file=str(path), message=message)


def _live_portal(request: BuildRequest):
    """The live portal, or None when the build reads an export file."""
    from campaign_pipeline.common.values import checked, header_token
    from campaign_pipeline.portal.live import LivePortal

    if request.jobs_file:
        return None
    if not request.jobs_url:
        raise InputError("no portal: give --jobs FILE or --jobs-url URL (or set PORTAL_URL)")
    # Without a token the portal answers 401 and the run fails (exit 1) with a
    # line naming the endpoint, as the contract has it for a missing token.
    token = checked("PORTAL_TOKEN", header_token, os.environ.get("PORTAL_TOKEN", ""))
    return LivePortal(
        request.jobs_url, token, concurrency=request.concurrency, requests_per_second=request.requests_per_second
    )


def _write(files: dict[str, bytes]) -> None:
    from campaign_pipeline.files.storage import write_atomically

    write_atomically(files)
