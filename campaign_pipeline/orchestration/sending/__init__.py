"""The sending domain in Dagster: the campaign database as a resource, the
loading of each day's checked datasets into it, and campaigns as dynamic partitions."""
