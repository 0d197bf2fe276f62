"""One daily partitioning for the whole chain, keyed by the snapshot's UTC day.

`end_offset=1` makes today a valid partition: the morning run builds today's
campaign from today's snapshot.
"""

from dagster import DailyPartitionsDefinition

daily_partitions = DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1, timezone="UTC")
