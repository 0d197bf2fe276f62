"""Rules 7 and 8: one row per (organization, segment, phone), in the contract's
order; and the exclusions file."""

import polars as pl

from campaign_pipeline.core import columns as C

ROW_KEY = ["organization_id", "segment", "phone"]
PRIMARY_ORDER = ["organization_id", "segment", "job_id", "activity_id", "subject_id"]


def campaign_dataset(enriched: pl.DataFrame, segment: str | None = None) -> pl.DataFrame:
    """The dataset rows (schema `DATASET`) of the chosen records, of one segment
    or of all in `enriched`. Members of a row are ordered by (job_id, activity_id,
    subject_id); the first is the primary, each subject id is listed once with the
    key of its first record."""
    chosen = enriched.filter(pl.col("reason").is_null())
    if segment is not None:
        chosen = chosen.filter(pl.col("segment") == segment)
    members = chosen.sort(PRIMARY_ORDER)
    listed = (
        members.filter(pl.struct(*ROW_KEY, "subject_id").is_first_distinct())
        .group_by(ROW_KEY, maintain_order=True)
        .agg(
            subject_count=pl.len().cast(pl.Int64),
            subject_ids=pl.col("subject_id").str.join(";"),
            access_keys=pl.col("access_key").fill_null("").str.join(";"),
        )
    )
    # Members are in the contract's order, so their first of each row (the
    # primary) is too: the rows need no sorting of their own.
    primaries = members.filter(pl.struct(*ROW_KEY).is_first_distinct())
    return primaries.join(listed, on=ROW_KEY, how="left", maintain_order="left").select(
        pl.col(name).fill_null("") if dtype == pl.String else pl.col(name) for name, dtype in C.DATASET.items()
    )


def exclusions(enriched: pl.DataFrame) -> pl.DataFrame:
    """Every excluded or quarantined record (schema `EXCLUSIONS`), sorted by all
    columns; quarantine rows are already among the enriched rows."""
    return (
        enriched.filter(pl.col("reason").is_not_null())
        .select(C.EXCLUSIONS.keys())
        .with_columns(pl.all().fill_null(""))
        .sort(list(C.EXCLUSIONS))
    )


def rows_without_access_key(dataset: pl.DataFrame) -> int:
    """Dataset rows whose primary subject has no access key: offline and dry-run
    builds never create keys, and a link built from `{access_key}` would break."""
    return dataset.filter(pl.col("access_key").fill_null("") == "").height


def missing_keys_message(count: int) -> str:
    return (
        f"{count} dataset rows have no access key (only a build from the live portal, not a dry run, "
        "creates keys): an SMS link built from {access_key} would break for them"
    )
