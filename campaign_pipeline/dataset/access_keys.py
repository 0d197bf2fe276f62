"""Rule 6: chosen subjects without an access key get one from the portal.

The portal call itself is not here (dataset/ does no I/O): `subjects_needing_keys`
says which subject ids to ask for, one POST each, and `apply_access_keys` folds
the answers back in. Offline and in a dry run nothing is asked and a missing key
stays empty, which is not an exclusion.
"""

from collections.abc import Mapping

import polars as pl

_MISSING = pl.col("access_key").fill_null("") == ""
_CHOSEN = pl.col("reason").is_null()


def subjects_needing_keys(enriched: pl.DataFrame) -> list[str]:
    """Distinct subject ids with a chosen record that has no key (`""` = none), sorted."""
    return enriched.filter(_CHOSEN & _MISSING).get_column("subject_id").unique().sort().to_list()


def apply_access_keys(
    enriched: pl.DataFrame, keys: Mapping[str, str], failures: Mapping[str, int]
) -> pl.DataFrame:
    """Generated keys fill the records that lacked one; a permanent failure
    (HTTP status) excludes every chosen record of that subject as
    `access_key_failed`, so its dataset row is formed by the remaining members."""
    answers = pl.DataFrame(
        {
            "subject_id": [*keys, *failures],
            "generated_key": [*keys.values(), *([None] * len(failures))],
            "failed_status": [*([None] * len(keys)), *failures.values()],
        },
        schema={"subject_id": pl.String, "generated_key": pl.String, "failed_status": pl.Int64},
    )
    failed = pl.col("key_failed")
    return (
        enriched.join(answers, on="subject_id", how="left", maintain_order="left")
        .with_columns(key_failed=_CHOSEN & pl.col("failed_status").is_not_null())
        .with_columns(
            access_key=pl.when(_CHOSEN & _MISSING & pl.col("generated_key").is_not_null())
            .then(pl.col("generated_key"))
            .otherwise(pl.col("access_key")),
            reason=pl.when(failed).then(pl.lit("access_key_failed")).otherwise(pl.col("reason")),
            detail=pl.when(failed)
            .then(pl.format("HTTP {}", pl.col("failed_status")))
            .otherwise(pl.col("detail")),
        )
        .with_columns(
            *(pl.when(~failed).then(pl.col(c)).alias(c) for c in ("phone", "region", "contact_source", "consent_at", "locale"))
        )
        .select(enriched.columns)
    )
