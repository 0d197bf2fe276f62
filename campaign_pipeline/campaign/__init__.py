"""The campaign domain: its partitions, resources, assets with their checks, and schedules."""
