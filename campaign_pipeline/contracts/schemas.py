"""One Pandera schema per asset boundary, validated where each asset is written.

Column layouts come from dataset/columns.py so the rules and the contracts cannot
drift apart; these models add what a column may hold.
"""

import pandera.polars as pa
import polars as pl

from campaign_pipeline.dataset import columns as C

E164 = r"^\+[1-9]\d{6,14}$"
UTC_SECOND = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
REGION = r"^[A-Z]{2}$"


class PortalSnapshot(pa.DataFrameModel):
    """The day's portal export, one raw JSON line per job, as read."""

    line: str = pa.Field(nullable=False)

    class Config:
        strict = True
        ordered = True


class Activities(pa.DataFrameModel):
    """Validated activities of selling jobs (subjects still raw), plus one
    quarantine row per malformed line, job or activity (`reason` set)."""

    organization_id: str = pa.Field(nullable=False)
    job_id: str = pa.Field(nullable=False)
    job_name: str = pa.Field(nullable=True)
    activity_id: str = pa.Field(nullable=False)
    activity_name: str = pa.Field(nullable=True)
    activity_group_name: str = pa.Field(nullable=True)
    subjects_json: str = pa.Field(nullable=True, str_startswith="[")
    reason: str = pa.Field(nullable=True, isin=["invalid_record"])
    detail: str = pa.Field(nullable=True)
    activity_seq: pl.UInt32 = pa.Field(nullable=False, unique=True)

    class Config:
        strict = True
        ordered = True


class EnrichedSubjects(pa.DataFrameModel):
    """One row per subject record: its chosen contact, or why it is excluded."""

    organization_id: str = pa.Field(nullable=False)
    segment: str = pa.Field(nullable=True, isin=[*C.SEGMENTS, ""])
    job_id: str = pa.Field(nullable=False)
    job_name: str = pa.Field(nullable=True)
    activity_id: str = pa.Field(nullable=False)
    activity_name: str = pa.Field(nullable=True)
    group_name: str = pa.Field(nullable=True)
    subject_id: str = pa.Field(nullable=False)
    first_name: str = pa.Field(nullable=True)
    last_name: str = pa.Field(nullable=True)
    access_key: str = pa.Field(nullable=True)
    phone: str = pa.Field(nullable=True, str_matches=E164)
    region: str = pa.Field(nullable=True, str_matches=REGION)
    contact_source: str = pa.Field(nullable=True, isin=list(C.CONTACT_SOURCES))
    consent_at: str = pa.Field(nullable=True, str_matches=UTC_SECOND)
    locale: str = pa.Field(nullable=True)
    reason: str = pa.Field(nullable=True, isin=list(C.REASONS))
    detail: str = pa.Field(nullable=True)

    class Config:
        strict = True
        ordered = True

    @pa.dataframe_check
    def chosen_rows_have_a_phone(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("reason").is_not_null() | pl.col("phone").is_not_null())


class CampaignDatasetRows(pa.DataFrameModel):
    """The campaign dataset's columns, row by row. What holds across rows (one
    row per phone, the order) is CampaignDataset's and the asset checks'."""

    organization_id: str = pa.Field(
        nullable=False, str_length={"min_value": 1}, description="The job's organization."
    )
    segment: str = pa.Field(
        nullable=False, isin=list(C.SEGMENTS),
        description="buyer (a paid, shipped or delivered order in this job) or non_buyer.",
    )
    phone: str = pa.Field(
        nullable=False, str_matches=E164, description="The chosen number in E.164, e.g. +358401234567."
    )
    region: str = pa.Field(
        nullable=False, str_matches=REGION, description="ISO 3166-1 alpha-2 region of the phone, e.g. FI."
    )
    first_name: str = pa.Field(nullable=False, description="The primary subject's first name.")
    last_name: str = pa.Field(nullable=False, description="The primary subject's last name.")
    job_id: str = pa.Field(nullable=False, str_length={"min_value": 1}, description="The primary subject's job.")
    job_name: str = pa.Field(nullable=False, description="That job's name.")
    activity_id: str = pa.Field(
        nullable=False, str_length={"min_value": 1}, description="The primary subject's activity."
    )
    activity_name: str = pa.Field(nullable=False, description="That activity's name.")
    group_name: str = pa.Field(
        nullable=False, description="The subject's group, else the activity's; may be empty."
    )
    subject_id: str = pa.Field(
        nullable=False, str_length={"min_value": 1},
        description="The primary subject: the first by (job_id, activity_id, subject_id) of the row.",
    )
    access_key: str = pa.Field(
        nullable=False, description="The primary subject's access key; empty only in a dry run or offline."
    )
    contact_source: str = pa.Field(
        nullable=False, isin=list(C.CONTACT_SOURCES),
        description="Where the phone came from: user (the subject's user) or delivery (an order delivery).",
    )
    consent_at: str = pa.Field(
        nullable=False, str_matches=r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)?$",
        description="The chosen contact's sms_consent_at in UTC, YYYY-MM-DDTHH:MM:SSZ; may be empty.",
    )
    locale: str = pa.Field(nullable=False, description="The chosen contact's locale, e.g. fi-FI; may be empty.")
    subject_count: pl.Int64 = pa.Field(
        nullable=False, ge=1, description="How many distinct subject ids were merged into this row."
    )
    subject_ids: str = pa.Field(
        nullable=False, str_length={"min_value": 1},
        description="Those subject ids, each once, primary first, ';'-joined.",
    )
    access_keys: str = pa.Field(
        nullable=False,
        description="Their access keys in the same order, ';'-joined; a missing key keeps its empty slot (AK1;;AK3).",
    )

    class Config:
        strict = True
        ordered = True


class CampaignDataset(CampaignDatasetRows):
    """The campaign dataset (contract v1): one row per (organization_id, segment,
    phone), sorted by the primary subject's (organization_id, segment, job_id,
    activity_id, subject_id). Empty values are empty strings, never null."""

    class Config:
        strict = True
        ordered = True
        unique = ["organization_id", "segment", "phone"]


class Exclusions(pa.DataFrameModel):
    """Every subject record left out of the dataset, and every quarantined record,
    with one reason; sorted by all columns in order. Empty values are empty strings."""

    organization_id: str = pa.Field(nullable=False, description="The job's organization; empty if unknown.")
    segment: str = pa.Field(
        nullable=False, isin=[*C.SEGMENTS, ""],
        description="buyer or non_buyer; empty for a quarantined (invalid_record) row.",
    )
    job_id: str = pa.Field(nullable=False, description="The job; empty if the record had no string id.")
    activity_id: str = pa.Field(nullable=False, description="The activity; empty if the record had no string id.")
    subject_id: str = pa.Field(
        nullable=False, description="The subject; empty for a malformed job or activity, or a non-string id."
    )
    reason: str = pa.Field(
        nullable=False, isin=list(C.REASONS),
        description="Why the record is left out: invalid_record, filtered_out, no_phone, no_consent, "
        "suppressed or access_key_failed.",
    )
    detail: str = pa.Field(
        nullable=False,
        description="A masked hint, never a full phone: the filter, the masked number, the HTTP status "
        "or what was malformed; may be empty.",
    )

    class Config:
        strict = True
        ordered = True
