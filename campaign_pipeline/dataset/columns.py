"""The column layouts of the frames passed between the pipeline's stages.

Only the dataset and exclusion layouts are the contract's (campaign-dataset.md,
"Output"); the others are this project's own, kept here so that every stage,
schema and test names the same columns in the same order.
"""

import polars as pl

S = pl.String

ACTIVITIES = {
    "organization_id": S,
    "job_id": S,
    "job_name": S,
    "activity_id": S,
    "activity_name": S,
    "activity_group_name": S,
    "subjects_json": S,
    "reason": S,
    "detail": S,
}

ENRICHED = {
    "organization_id": S,
    "segment": S,
    "job_id": S,
    "job_name": S,
    "activity_id": S,
    "activity_name": S,
    "group_name": S,
    "subject_id": S,
    "first_name": S,
    "last_name": S,
    "access_key": S,
    "phone": S,
    "region": S,
    "contact_source": S,
    "consent_at": S,
    "locale": S,
    "reason": S,
    "detail": S,
}

DATASET = {
    "organization_id": S,
    "segment": S,
    "phone": S,
    "region": S,
    "first_name": S,
    "last_name": S,
    "job_id": S,
    "job_name": S,
    "activity_id": S,
    "activity_name": S,
    "group_name": S,
    "subject_id": S,
    "access_key": S,
    "contact_source": S,
    "consent_at": S,
    "locale": S,
    "subject_count": pl.Int64,
    "subject_ids": S,
    "access_keys": S,
}

EXCLUSIONS = {
    "organization_id": S,
    "segment": S,
    "job_id": S,
    "activity_id": S,
    "subject_id": S,
    "reason": S,
    "detail": S,
}

SEGMENTS = ("buyer", "non_buyer")
REASONS = (
    "invalid_record",
    "filtered_out",
    "no_phone",
    "no_consent",
    "suppressed",
    "access_key_failed",
)
CONTACT_SOURCES = ("user", "delivery")
