"""The daily job that builds the whole chain for one day, and its schedule."""

from dagster import AssetSelection, build_schedule_from_partitioned_job, define_asset_job


dataset_job = define_asset_job(
    "dataset_job",
    # checked_datasets: the day's datasets loaded into the campaign database once their checks passed.
    selection=AssetSelection.groups("datasets", "checked_datasets"),
    description="Portal snapshot to campaign datasets and exclusions, for one day, and the "
    "checked datasets loaded into the campaign database.",
)

# 06:00 UTC: the morning run builds today's campaign (today is a partition
# thanks to end_offset=1).
daily_dataset_schedule = build_schedule_from_partitioned_job(
    dataset_job, hour_of_day=6, minute_of_hour=0, name="daily_dataset_schedule"
)
