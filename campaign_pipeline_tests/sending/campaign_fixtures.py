"""Fixtures of the campaign tests: datasets written with the build's own writers, and
a campaign database (SQLite and PostgreSQL) holding organizations org-1 and org-2."""

import polars as pl
import pytest

from campaign_pipeline.dataset import formats
from campaign_pipeline.dataset.columns import DATASET
from campaign_pipeline.sending.organizations import set_organization


def dataset_row(phone="+358401234567", organization_id="org-1", segment="buyer", **extra) -> dict:
    row = {name: "" for name in DATASET}
    row.update(
        organization_id=organization_id, segment=segment, phone=phone, region="FI", first_name="Anna",
        last_name="Äijälä", job_id="job-1", job_name="Spring 2026", activity_id="act-1",
        activity_name="Class 5B", group_name="5B", subject_id="subj-1", access_key="KEY1",
        contact_source="user", consent_at="2026-10-01T07:00:00Z", locale="fi-FI",
        subject_count=1, subject_ids="subj-1", access_keys="KEY1",
    )
    row.update(extra)
    return row


def dataset_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=DATASET, orient="row") if rows else pl.DataFrame(schema=DATASET)


@pytest.fixture
def write_dataset(tmp_path):
    """Writes rows with the build's own writers (formats.encode) and returns the path."""

    def _write(rows, fmt="csv", name=None):
        path = tmp_path / (name or f"dataset.{fmt}")
        path.write_bytes(formats.encode(dataset_frame(rows), fmt))
        return path

    return _write


@pytest.fixture
def engine(campaign_engine):
    """The campaign database of campaign_db_url with organizations org-1 and org-2 (defaults)."""
    for organization_id in ("org-1", "org-2"):
        set_organization(campaign_engine, organization_id, {})
    return campaign_engine
