"""The dataset's invariants, as counts of what breaks them (0 = holds).

Checked by the Dagster asset checks after every materialization and by the
tests on every build; the rules that should make them hold live elsewhere.
"""

import polars as pl

from campaign_pipeline.dataset.dataset import PRIMARY_ORDER, ROW_KEY
from campaign_pipeline.dataset.suppressions import is_suppressed


def repeated_phones(dataset: pl.DataFrame) -> int:
    """Rows beyond the first for one (organization_id, segment, phone)."""
    return dataset.height - dataset.select(ROW_KEY).n_unique()


def rows_out_of_order(dataset: pl.DataFrame) -> int:
    """Rows not where the contract's order (rule 8) puts them."""
    keys = dataset.select(PRIMARY_ORDER)
    return int((keys != keys.sort(PRIMARY_ORDER)).select(pl.any_horizontal(pl.all())).to_series().sum())


def suppressed_rows(dataset: pl.DataFrame, suppressions: pl.DataFrame) -> int:
    """Rows whose phone their organization, or every organization, suppresses."""
    return int(is_suppressed(dataset, suppressions).sum())


def unaccounted_records(
    enriched: pl.DataFrame, datasets: list[pl.DataFrame], exclusions: pl.DataFrame
) -> dict[str, int]:
    """How the accounting identity fails: every record merged into exactly one
    row (its id listed there) or excluded exactly once, and nothing else."""
    listed = (
        pl.concat([d.select(*ROW_KEY, "subject_ids") for d in datasets])
        .with_columns(pl.col("subject_ids").str.split(";"))
        .explode("subject_ids")
        .rename({"subject_ids": "subject_id"})
        .with_columns(in_row=pl.lit(True))
    )
    chosen = enriched.filter(pl.col("reason").is_null())
    excluded = enriched.filter(pl.col("reason").is_not_null())
    rows_per_record = chosen.join(listed, on=[*ROW_KEY, "subject_id"], how="left").group_by(
        "organization_id", "segment", "activity_id", "subject_id"
    ).agg(rows=pl.col("in_row").is_not_null().sum())
    listed_without_record = listed.join(chosen, on=[*ROW_KEY, "subject_id"], how="anti").height
    return {
        "records_in_no_row": int((rows_per_record.get_column("rows") == 0).sum()),
        "ids_listed_without_record": listed_without_record,
        "exclusions_missing_or_extra": abs(excluded.height - exclusions.height),
    }


def rows_per_organization(dataset: pl.DataFrame) -> dict[str, int]:
    """Dataset rows per organization, by organization id."""
    counts = dataset.group_by("organization_id").len().sort("organization_id")
    return {str(organization): int(rows) for organization, rows in counts.iter_rows()}


def sudden_changes(yesterday: dict[str, int], today: dict[str, int], max_share: float) -> list[dict]:
    """Organizations whose rows fell or grew by more than `max_share` (0.5: half)
    of yesterday's: {organization_id, yesterday, today, change} with change a
    signed share rounded to 3 places. An organization with no rows yesterday
    (new, or a first day) has nothing to compare with and is not listed; one
    gone today fell by all of its rows."""
    changes = []
    for organization, before in sorted(yesterday.items()):
        if before <= 0:
            continue
        now = today.get(organization, 0)
        change = (now - before) / before
        if abs(change) > max_share:
            changes.append({"organization_id": organization, "yesterday": before, "today": now,
                            "change": round(change, 3)})
    return changes
