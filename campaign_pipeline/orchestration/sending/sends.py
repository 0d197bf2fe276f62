"""`campaign_sends`: one dispatch pass of one campaign per materialization.

Each campaign is a partition (campaigns.py). Materializing one runs the very
function `campaign-cli dispatch --campaign ID` runs (sending/dispatcher.py,
`dispatch_run`): same lease, same rules, same ledger, same artifacts under the
output root. Its metadata are the pass's counts (per status, per skip and
defer reason), throughput, the ETA of what is left and where the artifacts are.

How many campaigns send at once is bounded twice: Dagster's pool
`campaign_sends` (the instance's default pool limit in dagster.yaml) and the
run coordinator's tag limit on `campaign_pipeline/sends` bound the runs, and
CAMPAIGN_MAX_SENDING bounds the campaigns in `sending` whoever dispatches them.

`campaign_sends_sensor` launches a pass for every campaign with something due
(sending/due.py), with a run key made of the campaign id and the due
watermark, so ticks that see the same facts launch one run.
"""

import os
import time

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    DefaultSensorStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, RunsFilter

from campaign_pipeline.orchestration.datasets.assets import OWNER, _as_failure
from campaign_pipeline.orchestration.sending.campaigns import campaign_partitions
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase, SmsProvider

GROUP = "campaigns"
POOL = "campaign_sends"
# Runs of this job carry this tag; dagster.yaml's run coordinator limits them.
CONCURRENCY_TAG = "campaign_pipeline/sends"


@asset(
    partitions_def=campaign_partitions,
    group_name=GROUP,
    pool=POOL,
    kinds={"sqlalchemy"},
    owners=[OWNER],
    description="One dispatch pass of the partition's campaign, exactly as `campaign-cli dispatch --campaign ID` "
    "(same lease, rules, ledger and artifacts): what is due is handed over, deferred or skipped. "
    "Metadata: counts per status and reason, throughput, ETA, artifact paths. The provider is SMS_PROVIDER's.",
)
def campaign_sends(context: AssetExecutionContext, campaign_database: CampaignDatabase,
                   sms_provider: SmsProvider) -> MaterializeResult:
    from campaign_pipeline.common.logs import JsonLog
    from campaign_pipeline.sending.artifacts import output_root
    from campaign_pipeline.sending.dispatcher import Settings, dispatch_run
    from campaign_pipeline.sending.providers import ConfigurationError

    log = JsonLog(run_id=context.run.run_id)
    with _as_failure():
        settings = Settings.from_env(os.environ)
        try:
            provider = sms_provider.open()
        except ConfigurationError as error:
            raise Failure(description=str(error)) from None
        engine = campaign_database.engine()
        try:
            run = dispatch_run(engine, provider, log, settings, campaign_id=context.partition_key,
                               output_root=output_root())
            report = run.reports[int(context.partition_key)]
            metadata = pass_metadata(engine, report, run.folders.get(report.id), provider.name)
        finally:
            provider.close()
            engine.dispose()
    context.log.info(f"campaign {report.id}: {report.handed_over} handed over, {report.deferred} deferred, "
                     f"{report.skipped} skipped, {report.failed} failed, {report.pending} pending "
                     f"({metadata['campaign_status'].value})")
    if report.failure:
        raise Failure(description=f"campaign {report.id}: the provider failed the pass: {report.failure}",
                      metadata=metadata)
    return MaterializeResult(metadata=metadata)


def pass_metadata(engine, report, folder: str | None, provider: str) -> dict:
    """The pass's figures; ids, counts and paths only (no phone, no body)."""
    from campaign_pipeline.sending import ledger
    from campaign_pipeline.sending.forecast import preview

    seconds = max(0.0, (report.finished or time.time()) - report.started)
    with engine.connect() as connection:
        statuses = ledger.counts(connection, report.id)
    left = preview(engine, report.organization_id, report.id)
    metadata = {
        "campaign_id": report.id,
        "organization_id": report.organization_id,
        "provider": provider,
        "campaign_status": MetadataValue.text(report.status),
        "handed_over": report.handed_over,
        "deferred": report.deferred,
        "skipped": report.skipped,
        "failed": report.failed,
        "pending": report.pending,
        "messages_by_status": MetadataValue.json(statuses),
        "skipped_by_reason": MetadataValue.json(dict(report.skipped_reasons)),
        "deferred_by_reason": MetadataValue.json(dict(report.deferred_reasons)),
        "outcomes": MetadataValue.json(dict(report.outcomes)),
        "seconds": round(seconds, 3),
        "messages_per_second": round(report.handed_over / seconds, 1) if seconds > 0 else 0.0,
        # What is left (deferred, pending) at the organization's rate: when the last one would go.
        "eta": MetadataValue.text(left["eta"] or "nothing left"),
        "finishes_in_window": bool(left["finishes_in_window"]),
        "stopped": MetadataValue.text(report.note or ""),
    }
    if folder is not None:
        for name in ("summary.json", "summary.md", "attempts.csv"):
            metadata[name] = MetadataValue.path(f"{folder}/{name}")
    return metadata


campaign_sends_job = define_asset_job(
    "campaign_sends_job",
    selection=AssetSelection.assets(campaign_sends),
    tags={CONCURRENCY_TAG: "dispatch"},
    description="One dispatch pass of one campaign (its partition), then the blocking hand-over audits.",
)


@sensor(
    name="campaign_sends_sensor",
    job=campaign_sends_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description="Launches a dispatch pass for each campaign with something due (scheduled time reached, "
    "deferred messages whose not_before passed, messages left pending), adding its partition when "
    "new. Run key: campaign id + due watermark, so ticks never launch the same pass twice.",
)
def campaign_sends_sensor(context: SensorEvaluationContext, campaign_database: CampaignDatabase):
    from campaign_pipeline.sending.due import due_passes

    due = campaign_database.read_existing(due_passes)
    if due is None:
        return SkipReason(f"no campaign database yet at {campaign_database.where()}")
    if not due:
        return SkipReason("no campaign has anything due")
    known = set(context.instance.get_dynamic_partitions(campaign_partitions.name))
    new = [str(d.campaign_id) for d in due if str(d.campaign_id) not in known]
    running = _partitions_in_flight(context.instance)
    requests = [
        RunRequest(run_key=d.run_key, partition_key=str(d.campaign_id),
                   tags={"campaign_pipeline/due": d.reason, "campaign_pipeline/organization": d.organization_id})
        for d in due if str(d.campaign_id) not in running
    ]
    if not requests and not new:
        return SkipReason(f"{len(due)} due, each already has a pass queued or running")
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[campaign_partitions.build_add_request(new)] if new else [],
    )


def _partitions_in_flight(instance) -> set[str]:
    """Partitions with a pass queued or running: a second one would only find the lease
    held, and a queued one has not taken it yet, so the facts say nothing about it."""
    records = instance.get_run_records(RunsFilter(job_name=campaign_sends_job.name,
                                                  statuses=list(IN_PROGRESS_RUN_STATUSES)))
    return {record.dagster_run.tags.get("dagster/partition") for record in records}
