"""The Dagster definitions, with the resources chosen per deployment in one place.

The embedded default needs nothing: the bundled sample export, a local output
folder. The environment points it elsewhere:
- PORTAL_URL (+ PORTAL_TOKEN, PORTAL_CONCURRENCY, PORTAL_RATE_LIMIT): read the live portal;
- PORTAL_EXPORT: otherwise, a portal export file to read instead of the sample;
- CAMPAIGN_OUTPUT_URI: the output root (default ./output);
- CAMPAIGN_DATASET_FORMAT: csv (default), json or parquet;
- CAMPAIGN_SUPPRESS: suppression files, separated by the OS path separator;
- CAMPAIGN_DB_URL: the campaign database (default: the SQLite file .state/campaign.db);
- SMS_PROVIDER (+ TWILIO_*, AWS_*): the provider of `campaign_sends` (as for `campaign-cli dispatch`)
  and of delivery_poll_sensor; CAMPAIGN_POLL_SCHEDULE: when that sensor asks.

The daily assets and the campaign-partitioned ones (`campaign_sends`, `campaign_delivery`) have
different partitions, so one command materializes one kind: select the daily
groups (`group:datasets or group:checked_datasets`) or one campaign partition.
"""

import os
from collections.abc import Mapping

from dagster import Definitions, in_process_executor
from dagster_aws.s3 import S3Resource

from campaign_pipeline.orchestration.datasets import assets
from campaign_pipeline.orchestration.datasets.resources import (
    MisconfiguredIOManagerFactory,
    dataset_build_from_env,
    dataset_format_problem,
    portal_from_env,
)
from campaign_pipeline.orchestration.sending import assets as sending_assets
from campaign_pipeline.orchestration.sending.campaigns import campaign_partitions_sensor
from campaign_pipeline.orchestration.sending.delivery import campaign_delivery
from campaign_pipeline.orchestration.sending.delivery_poll import delivery_poll_sensor
from campaign_pipeline.orchestration.sending.handover_audit import handover_checks
from campaign_pipeline.orchestration.sending.resources import campaign_database_from_env, provider_resource_from_env
from campaign_pipeline.orchestration.sending.sends import campaign_sends, campaign_sends_job, campaign_sends_sensor
from campaign_pipeline.orchestration.datasets.schedules import dataset_job, daily_dataset_schedule
from campaign_pipeline.orchestration.alerts import run_failure_alert
from campaign_pipeline.orchestration.io_managers import PolarsFileIOManagerFactory
from campaign_pipeline.sample import SAMPLE_EXPORT


def resources_from_env(env: Mapping[str, str] = os.environ) -> dict:
    """The resources of this deployment, as its environment chooses them. A bad
    value never stops the definitions from loading (resources.py)."""
    format_problem = dataset_format_problem(env)
    io_manager = (
        MisconfiguredIOManagerFactory(problem=format_problem)
        if format_problem
        else PolarsFileIOManagerFactory(
            base_uri=env.get("CAMPAIGN_OUTPUT_URI") or os.path.abspath("output"),
            dataset_format=env.get("CAMPAIGN_DATASET_FORMAT", "csv"),
            s3=S3Resource(),
        )
    )
    return {
        "portal": portal_from_env(env, str(SAMPLE_EXPORT)),
        "dataset_build": dataset_build_from_env(env),
        "campaign_database": campaign_database_from_env(env),
        "sms_provider": provider_resource_from_env(env),
        "io_manager": io_manager,
    }


ASSETS = [
    assets.portal_snapshot,
    assets.activities,
    assets.enriched_subjects,
    assets.buyers_and_non_buyers,
    *assets.campaign_datasets,
    assets.exclusions,
    *sending_assets.checked_datasets,
]
ASSET_CHECKS = [*assets.campaign_dataset_checks, assets.every_record_accounted_for]
# Partitioned by campaign (`campaigns`), not by day: each pass of a campaign's sending,
# and what its messages became.
SENDING_ASSETS = [campaign_sends]
SENDING_CHECKS = [*handover_checks]
DELIVERY_ASSETS = [campaign_delivery]

defs = Definitions(
    assets=[*ASSETS, *SENDING_ASSETS, *DELIVERY_ASSETS],
    asset_checks=[*ASSET_CHECKS, *SENDING_CHECKS],
    jobs=[dataset_job, campaign_sends_job],
    schedules=[daily_dataset_schedule],
    sensors=[run_failure_alert, campaign_partitions_sensor, campaign_sends_sensor,
             delivery_poll_sensor],
    resources=resources_from_env(),
    executor=in_process_executor,
)
