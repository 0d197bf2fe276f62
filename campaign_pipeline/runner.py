"""`campaign-cli build` as one function: read, build, write, report.

The I/O around the core: the source (an export file or the live portal),
suppression files and the output files. The rules themselves are all in core.
"""

import sys
from dataclasses import dataclass

from campaign_pipeline.core.errors import InputError
from campaign_pipeline.core.logs import JsonLog


@dataclass(frozen=True)
class BuildRequest:
    jobs_file: str | None = None
    jobs_url: str | None = None
    job_ids: tuple[str, ...] | None = None
    segments: tuple[str, ...] = ("buyer", "non_buyer")
    groups: tuple[str, ...] | None = None
    contact_sources: tuple[str, ...] | None = None
    suppress: tuple[str, ...] = ()
    region: str = "FI"
    out: str | None = None
    dataset_format: str = "csv"
    exclusions: str | None = None
    concurrency: int = 16
    dry_run: bool = False


def run_build(request: BuildRequest, log: JsonLog) -> dict:
    """Runs one build; returns the dry-run summary (also for a real run)."""
    from campaign_pipeline.core import formats
    from campaign_pipeline.core.phones import check_region
    from campaign_pipeline.core.pipeline import build
    from campaign_pipeline.core.settings import BuildSettings
    from campaign_pipeline.sources.suppression_file import load_suppressions

    try:
        region = check_region(request.region)
        settings = BuildSettings(
            region=region,
            segments=request.segments,
            job_ids=request.job_ids,
            groups=request.groups,
            contact_sources=request.contact_sources,
        )
    except ValueError as error:
        raise InputError(str(error)) from None
    log.info("build_started", source=_source_kind(request), segments=list(settings.segments), dry_run=request.dry_run)
    with log.timed("suppressions_loaded") as counters:
        suppressed = load_suppressions(request.suppress, region)
        counters["numbers"] = suppressed.len()
    with log.timed("dataset_built") as counters:
        result = build(_source_lines(request), settings, suppressed)
        summary = result.summary()
        counters.update(summary)
    if request.dry_run:
        return summary
    dataset = formats.encode(result.dataset(), request.dataset_format)
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


def _source_kind(request: BuildRequest) -> str:
    return "export" if request.jobs_file else "portal"


def _source_lines(request: BuildRequest):
    from campaign_pipeline.sources.export_file import iter_export_lines

    if request.jobs_file:
        return iter_export_lines(request.jobs_file)
    if not request.jobs_url:
        raise InputError("no portal: give --jobs FILE or --jobs-url URL (or set PORTAL_URL)")
    raise InputError("reading the live portal is not available yet: use --jobs FILE")


def _write(files: dict[str, bytes]) -> None:
    from campaign_pipeline.storage import write_atomically

    write_atomically(files)
