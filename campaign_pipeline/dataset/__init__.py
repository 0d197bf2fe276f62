"""The campaign dataset's rules (campaign-dataset.md): plain Python + polars + msgspec, no Dagster."""
