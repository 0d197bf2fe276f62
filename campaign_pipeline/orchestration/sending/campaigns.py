"""Campaigns in Dagster: one dynamic partition per campaign, added by a sensor.

The sensor reads the campaign database (the command line, which creates and
schedules campaigns, never imports Dagster) and adds the ids of scheduled and
sending campaigns not yet partitions. A dispatch of one campaign (next issue)
will be one materialization of that campaign's partition.
"""

from dagster import DynamicPartitionsDefinition, SensorEvaluationContext, SensorResult, SkipReason, sensor

from campaign_pipeline.orchestration.sending.resources import CampaignDatabase

campaign_partitions = DynamicPartitionsDefinition(name="campaigns")

# A campaign becomes a partition once it is due to be sent.
PARTITIONED_STATUSES = ("scheduled", "sending")


@sensor(
    name="campaign_partitions_sensor",
    minimum_interval_seconds=30,
    description="Adds each scheduled or sending campaign of the campaign database as a partition "
    "of `campaigns` (its id), so that campaigns appear in the UI.",
)
def campaign_partitions_sensor(context: SensorEvaluationContext, campaign_database: CampaignDatabase):
    from campaign_pipeline.sending.campaigns import list_campaign_ids

    ids = campaign_database.read_existing(lambda engine: list_campaign_ids(engine, PARTITIONED_STATUSES))
    if ids is None:
        return SkipReason(f"no campaign database yet at {campaign_database.where()}")
    ids = [str(campaign_id) for campaign_id in ids]
    known = set(context.instance.get_dynamic_partitions(campaign_partitions.name))
    new = [campaign_id for campaign_id in ids if campaign_id not in known]
    if not new:
        return SkipReason(f"no new campaign ({len(ids)} scheduled or sending)")
    return SensorResult(dynamic_partitions_requests=[campaign_partitions.build_add_request(new)])
