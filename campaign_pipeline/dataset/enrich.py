"""Rules 2 to 5: from valid subject records to one enriched row per record.

Every record that comes in leaves as exactly one row: either with its chosen
contact, or with the reason it is excluded (`reason` set). Nothing here loops
over rows; phones are parsed once per distinct string by `phones.parse_phones`.
"""

import polars as pl

from campaign_pipeline.dataset import columns as C
from campaign_pipeline.common.masking import mask_phone_expr
from campaign_pipeline.dataset.phones import parse_phones
from campaign_pipeline.dataset.decode import Subjects
from campaign_pipeline.dataset.settings import BuildSettings
from campaign_pipeline.dataset.suppressions import is_suppressed
from campaign_pipeline.dataset.timestamps import instant

_CONSENT_AT = "%Y-%m-%dT%H:%M:%SZ"


def with_activity(records: pl.DataFrame, activities: pl.DataFrame) -> pl.DataFrame:
    """Records with their organization, job and activity (from stage one)."""
    context = activities.filter(pl.col("reason").is_null()).select(
        pl.col("activity_seq").alias("activity_index"),
        "organization_id",
        "job_id",
        "job_name",
        "activity_id",
        "activity_name",
        "activity_group_name",
    )
    return records.join(context, on="activity_index", how="left", maintain_order="left")


def latest_records(records: pl.DataFrame) -> pl.DataFrame:
    """Rule 2: one record per (activity_id, subject_id), the latest `updated_at`
    winning, ties going to the one seen first."""
    winners = (
        records.select("seq", "activity_id", "subject_id", "updated_at")
        .sort(
            ["activity_id", "subject_id", "updated_at", "seq"],
            descending=[False, False, True, False],
        )
        .unique(["activity_id", "subject_id"], keep="first")
        .get_column("seq")
    )
    return records.filter(pl.col("seq").is_in(winners.implode()))


def with_segment(records: pl.DataFrame) -> pl.DataFrame:
    """Rule 3: a buyer in a job when any of the person's records in that job has
    a paid, shipped or delivered order (`bought`); decided before any filter."""
    return records.with_columns(
        segment=pl.when(pl.col("bought").any().over("job_id", "subject_id"))
        .then(pl.lit("buyer"))
        .otherwise(pl.lit("non_buyer"))
    )


def filter_detail(records: pl.DataFrame, candidates: pl.DataFrame, settings: BuildSettings) -> pl.Expr:
    """Rule 4: why a record is filtered out (null when it is kept). Job ids are not
    here: they narrow the input before anything is read."""
    detail = pl.lit(None, dtype=pl.String)
    if settings.contact_sources is not None:
        with_source = candidates.filter(
            pl.col("contact_source").is_in(settings.contact_sources)
        ).get_column("seq")
        detail = (
            pl.when(~pl.col("seq").is_in(with_source.implode()))
            .then(pl.lit("contact source filter"))
            .otherwise(detail)
        )
    if settings.groups is not None:
        in_group = pl.col("subject_group_name").is_in(settings.groups).fill_null(False) | pl.col(
            "activity_group_name"
        ).is_in(settings.groups).fill_null(False)
        detail = pl.when(~in_group).then(pl.lit("group filter")).otherwise(detail)
    return detail


def judge_candidates(
    candidates: pl.DataFrame, settings: BuildSettings, suppressions: pl.DataFrame
) -> pl.DataFrame:
    """Rule 5 per record: the first qualifying candidate, and what the others
    lacked. `candidates` come sorted by (seq, rank), so "first" is by priority,
    each with its record's organization_id (suppressions are per organization,
    dataset/suppressions.py)."""
    if settings.contact_sources is not None:
        candidates = candidates.filter(pl.col("contact_source").is_in(settings.contact_sources))
    phones = parse_phones(candidates.get_column("phone"), settings.region)
    judged = candidates.join(phones, left_on="phone", right_on="raw", how="left", maintain_order="left")
    judged = judged.with_columns(is_suppressed(judged, suppressions, phone="e164"))
    sms_capable = pl.col("sms_capable").fill_null(False)
    consented = sms_capable & (pl.col("sms_consent") == True).fill_null(False)  # noqa: E712 (JSON true only)
    qualifies = consented & ~pl.col("suppressed")

    def first(condition: pl.Expr, **columns: pl.Expr) -> pl.DataFrame:
        return judged.filter(condition).unique("seq", keep="first", maintain_order=True).select("seq", **columns)

    chosen = first(
        qualifies,
        phone=pl.col("e164"),
        region=pl.col("region"),
        contact_source=pl.col("contact_source"),
        chosen_consent_at=pl.col("sms_consent_at"),
        locale=pl.col("locale"),
    )
    return (
        chosen.join(first(sms_capable, first_sms_capable=pl.col("e164")), on="seq", how="full", coalesce=True)
        .join(first(consented, first_consented=pl.col("e164")), on="seq", how="full", coalesce=True)
        .with_columns(any_sms_capable=pl.col("first_sms_capable").is_not_null())
    )


def enrich_subjects(
    activities: pl.DataFrame, subjects: Subjects, settings: BuildSettings, suppressions: pl.DataFrame
) -> pl.DataFrame:
    """Rules 2-5 over valid records: one row per surviving record of the selected
    segments (layout `ENRICHED`), its contact chosen or its reason given."""
    records = with_segment(latest_records(with_activity(subjects.records, activities))).filter(
        pl.col("segment").is_in(settings.segments)
    )
    candidates = subjects.candidates.join(
        records.select("seq", "organization_id"), on="seq", how="inner", maintain_order="left"
    )
    filtered = filter_detail(records, candidates, settings)
    judged = judge_candidates(candidates, settings, suppressions)
    chosen = pl.col("phone").is_not_null()
    reason = (
        pl.when(pl.col("filtered").is_not_null())
        .then(pl.lit("filtered_out"))
        .when(chosen)
        .then(pl.lit(None, dtype=pl.String))
        .when(~pl.col("any_sms_capable").fill_null(False))
        .then(pl.lit("no_phone"))
        .when(pl.col("first_consented").is_null())
        .then(pl.lit("no_consent"))
        .otherwise(pl.lit("suppressed"))
    )
    detail = (
        pl.when(pl.col("reason") == "filtered_out")
        .then(pl.col("filtered"))
        .when(pl.col("reason") == "no_consent")
        .then(mask_phone_expr(pl.col("first_sms_capable")))
        .when(pl.col("reason") == "suppressed")
        .then(mask_phone_expr(pl.col("first_consented")))
        .when(pl.col("reason").is_not_null())
        .then(pl.lit(""))
    )
    kept = pl.col("reason").is_null()
    return (
        records.with_columns(filtered=filtered)
        .join(judged, on="seq", how="left", maintain_order="left")
        .with_columns(reason=reason)
        .with_columns(
            detail=detail,
            group_name=pl.when(pl.col("subject_group_name").fill_null("") != "")
            .then(pl.col("subject_group_name"))
            .otherwise(pl.col("activity_group_name").fill_null("")),
            consent_at=instant(pl.col("chosen_consent_at")).dt.strftime(_CONSENT_AT),
        )
        .with_columns(
            # Only a kept record has a contact: an excluded one carries none.
            *(
                pl.when(kept).then(pl.col(name)).alias(name)
                for name in ("phone", "region", "contact_source", "consent_at", "locale")
            )
        )
        .select(C.ENRICHED.keys())
    )
