"""The daily job that builds the whole chain for one day, and its schedule."""

from dagster import AssetSelection, build_schedule_from_partitioned_job, define_asset_job


campaign_job = define_asset_job(
    "campaign_job",
    selection=AssetSelection.groups("campaign"),
    description="Portal snapshot to campaign datasets and exclusions, for one day.",
)

# 06:00 UTC: the morning run builds today's campaign (today is a partition
# thanks to end_offset=1).
daily_campaign_schedule = build_schedule_from_partitioned_job(
    campaign_job, hour_of_day=6, minute_of_hour=0, name="daily_campaign_schedule"
)
