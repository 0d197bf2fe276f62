"""Everything that imports Dagster: the assets of each domain, alerts, IO managers."""
