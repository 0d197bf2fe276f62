"""The dataset domain in Dagster: partitions, resources, assets with their checks, and schedules."""
