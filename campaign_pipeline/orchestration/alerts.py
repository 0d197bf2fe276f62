"""Alerts: one clear JSON line on stderr for every failed run, with its run id."""

import sys

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from campaign_pipeline.common.logs import JsonLog


@run_failure_sensor(name="run_failure_alert", default_status=DefaultSensorStatus.RUNNING)
def run_failure_alert(context: RunFailureSensorContext) -> None:
    run = context.dagster_run
    failure = context.failure_event.message or "the run failed"
    JsonLog(stream=sys.stderr, run_id=run.run_id).error(
        "run_failed_alert",
        job=run.job_name,
        partition=run.tags.get("dagster/partition", ""),
        message=f"campaign run {run.run_id} of {run.job_name} failed: {failure}",
    )
