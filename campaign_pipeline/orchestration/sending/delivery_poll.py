"""The poll fallback in Dagster: a sensor that asks the provider about the handed-over
messages the schedule says are due (sending.md, "Delivery and replies"), for when
status callbacks cannot reach the webhook server.

It polls inline, inside the tick, with a time budget (docs/decisions.md): a pass
is a few hundred short reads, not worth a run's process and event log every 30
seconds; what a budget leaves due is the next tick's. The provider is the one
SMS_PROVIDER chooses (the `sms_provider` resource of campaign_sends, as for
`campaign-cli poll`); the schedule is
CAMPAIGN_POLL_SCHEDULE's, else the contract's.
"""

import os

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from campaign_pipeline.orchestration.sending.resources import CampaignDatabase, SmsProvider

TICK_BUDGET_SECONDS = 20.0  # well inside a sensor evaluation's 60 s limit


@sensor(
    name="delivery_poll_sensor",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Asks the SMS provider for the status of handed-over messages not yet final, on the poll "
    "schedule (30 s after hand-over, then every 5 minutes up to 30 minutes), within a 20-second budget "
    "per tick; the same pass as `campaign-cli poll --due`.",
)
def delivery_poll_sensor(context: SensorEvaluationContext, campaign_database: CampaignDatabase,
                         sms_provider: SmsProvider):
    from campaign_pipeline.sending.polling import poll, schedule_from_env

    def poll_due(engine):
        provider = sms_provider.open()  # the resource campaign_sends uses; misconfigured, it fails the tick, visibly
        try:
            return poll(engine, provider, due_only=True, schedule=schedule_from_env(os.environ),
                        budget_seconds=TICK_BUDGET_SECONDS)
        finally:
            provider.close()

    report = campaign_database.read_existing(poll_due)
    if report is None:
        return SkipReason(f"no campaign database yet at {campaign_database.where()}")
    summary = report.note or ", ".join(f"{key} {value}" for key, value in report.document().items())
    context.log.info(f"delivery poll: {summary}")
    unanswered = report.unavailable_note()
    if unanswered:  # a warning, not a failed tick: the messages stay due and the next tick asks again
        context.log.warning(f"delivery poll: {unanswered}")
    return SkipReason(f"polled inline: {summary}")  # no run to launch: the tick did the work
