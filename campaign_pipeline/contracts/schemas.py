"""One Pandera schema per asset boundary, validated where each asset is written.

Column layouts come from core/columns.py so the rules and the contracts cannot
drift apart; these models add what a column may hold.
"""

import pandera.polars as pa
import polars as pl

from campaign_pipeline.core import columns as C

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


class CampaignDataset(pa.DataFrameModel):
    """The contract's dataset: one row per (organization_id, segment, phone)."""

    organization_id: str = pa.Field(nullable=False, str_length={"min_value": 1})
    segment: str = pa.Field(nullable=False, isin=list(C.SEGMENTS))
    phone: str = pa.Field(nullable=False, str_matches=E164)
    region: str = pa.Field(nullable=False, str_matches=REGION)
    first_name: str = pa.Field(nullable=False)
    last_name: str = pa.Field(nullable=False)
    job_id: str = pa.Field(nullable=False, str_length={"min_value": 1})
    job_name: str = pa.Field(nullable=False)
    activity_id: str = pa.Field(nullable=False, str_length={"min_value": 1})
    activity_name: str = pa.Field(nullable=False)
    group_name: str = pa.Field(nullable=False)
    subject_id: str = pa.Field(nullable=False, str_length={"min_value": 1})
    access_key: str = pa.Field(nullable=False)
    contact_source: str = pa.Field(nullable=False, isin=list(C.CONTACT_SOURCES))
    consent_at: str = pa.Field(nullable=False, str_matches=r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)?$")
    locale: str = pa.Field(nullable=False)
    subject_count: pl.Int64 = pa.Field(nullable=False, ge=1)
    subject_ids: str = pa.Field(nullable=False, str_length={"min_value": 1})
    access_keys: str = pa.Field(nullable=False)

    class Config:
        strict = True
        ordered = True
        unique = ["organization_id", "segment", "phone"]


class Exclusions(pa.DataFrameModel):
    """The contract's exclusions: one row per excluded or quarantined record."""

    organization_id: str = pa.Field(nullable=False)
    segment: str = pa.Field(nullable=False, isin=[*C.SEGMENTS, ""])
    job_id: str = pa.Field(nullable=False)
    activity_id: str = pa.Field(nullable=False)
    subject_id: str = pa.Field(nullable=False)
    reason: str = pa.Field(nullable=False, isin=list(C.REASONS))
    detail: str = pa.Field(nullable=False)

    class Config:
        strict = True
        ordered = True
