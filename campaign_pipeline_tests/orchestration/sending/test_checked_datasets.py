"""The day's checked datasets in the campaign database, for real: the chain
materialized on SQLite and PostgreSQL, checks that gate the load, and
`campaign-cli campaign create --day D` reading only what was loaded."""

import os
from datetime import date

import polars as pl
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance

from campaign_pipeline.sending import suppressions
from campaign_pipeline.orchestration.datasets.resources import DatasetBuildSettings
from campaign_pipeline.sending.dataset_days import day_status
from campaign_pipeline.sending.db.engine import open_database
from campaign_pipeline.sending.db.models import dataset_rows
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline_tests.builders import activity, job, subject
from campaign_pipeline_tests.cli.helpers import output, run, usage_error
from campaign_pipeline_tests.orchestration.datasets.test_assets import DAY, materialize_all

BUYER = AssetKey(["campaign_dataset", "buyer"])
CHECKED_BUYER = AssetKey(["checked_dataset", "buyer"])
# The buyer dataset's checks and its load, without rebuilding it: what runs
# when a stored file is checked again.
CHECK_AND_LOAD = AssetSelection.checks_for_assets(BUYER) | AssetSelection.assets(CHECKED_BUYER)


def buyers(*phones, organization_id="org-1", job_id="job-1"):
    """An export job whose subjects all bought, one per phone."""
    paid = [{"id": "o", "status": "paid", "created_at": "2026-10-01T10:00:00Z"}]
    return job(job_id, organization_id=organization_id, activities=[activity(f"act-{job_id}", job_id, subjects=[
        subject(f"s{i}-{job_id}", f"act-{job_id}", phone=phone, orders=paid, access_key=f"AK{i}")
        for i, phone in enumerate(phones)])])


@pytest.fixture
def database(campaign_db_url, campaign_engine, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_DB_URL", campaign_db_url)
    set_organization(campaign_engine, "org-1", {})
    return campaign_engine


def stored_rows(engine, day=DAY, segment="buyer"):
    with engine.connect() as connection:
        return connection.execute(
            dataset_rows.select().where(dataset_rows.c.day == date.fromisoformat(day), dataset_rows.c.segment == segment)
            .order_by(dataset_rows.c.position)).mappings().all()


def create_for_day(url, day=DAY):
    return run(url, "campaign", "create", "--org", "org-1", "--name", "n", "--body", "Hi {first_name}", "--day", day)


def test_a_checked_day_is_loaded_and_becomes_a_campaign_and_the_build_honours_stored_suppressions(
        database, campaign_db_url, export, tmp_path):
    # org-1's own suppression and one of every organization; org-2's suppresses nothing here.
    suppressions.add(database, "org-1", ["+358401111111"], "dnc", "test")
    suppressions.add(database, "*", ["+358402222222"], "dnc", "test")
    suppressions.add(database, "org-2", ["+358403333333"], "dnc", "test")
    portal = export([buyers("040 111 1111", "040 222 2222", "040 333 3333", "040 444 4444")])
    result = materialize_all(portal, tmp_path / "out")
    assert result.success
    assert [row["phone"] for row in stored_rows(database)] == ["+358403333333", "+358404444444"]
    assert day_status(database, date.fromisoformat(DAY), "buyer")["status"] == "loaded"
    metadata = {e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert metadata[AssetKey("enriched_subjects")]["database_suppressions"].value == 2
    assert metadata[CHECKED_BUYER]["rows"].value == 2
    created = output(create_for_day(campaign_db_url))
    assert created["status"] == "draft"
    # Loading the day again replaces it whole (one transaction): no duplicate rows.
    assert materialize_all(portal, tmp_path / "out", selection=AssetSelection.assets(CHECKED_BUYER)).success
    assert len(stored_rows(database)) == 2


def test_a_suppression_added_after_the_build_fails_no_suppressed_phone_and_the_day_is_no_campaign(
        database, campaign_db_url, export, tmp_path):
    portal = export([buyers("040 111 1111", "040 444 4444")])
    instance = DagsterInstance.ephemeral()
    assert materialize_all(portal, tmp_path / "out", instance=instance).success
    assert len(stored_rows(database)) == 2
    suppressions.add(database, "org-1", ["+358401111111"], "complaint", "test")
    # The stored dataset, checked again against the database as it is now.
    result = materialize_all(portal, tmp_path / "out", instance=instance, selection=CHECK_AND_LOAD)
    failed = {c.check_name for c in result.get_asset_check_evaluations() if not c.passed}
    assert failed == {"no_suppressed_phone"}
    assert CHECKED_BUYER not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert stored_rows(database) == []
    assert usage_error(create_for_day(campaign_db_url)) == (
        f"dataset of {DAY} (buyer) failed its checks: no_suppressed_phone; it was not loaded")


@pytest.mark.parametrize("tamper, check", [
    (lambda rows: pl.concat([rows, rows.tail(1)]), "one_row_per_phone"),
    (lambda rows: rows.reverse(), "contract_order"),
])
def test_the_checks_read_the_stored_file_back(tamper, check, export, tmp_path):
    portal = export([buyers("040 111 1111", "040 444 4444")])
    instance = DagsterInstance.ephemeral()
    assert materialize_all(portal, tmp_path / "out", instance=instance).success
    stored = tmp_path / "out" / "campaign_dataset" / DAY / "buyer.csv"
    tamper(pl.read_csv(stored, infer_schema=False)).write_csv(stored)  # a file edited by hand
    result = materialize_all(portal, tmp_path / "out", instance=instance, selection=CHECK_AND_LOAD)
    assert {c.check_name for c in result.get_asset_check_evaluations() if not c.passed} == {check}
    assert CHECKED_BUYER not in {e.asset_key for e in result.get_asset_materialization_events()}
    url = os.environ["CAMPAIGN_DB_URL"]  # SQLite (campaign_pipeline_tests/conftest.py)
    engine = open_database(url)
    set_organization(engine, "org-1", {})
    engine.dispose()
    assert f"failed its checks: {check}" in usage_error(create_for_day(url))


def test_rows_per_organization_falling_by_more_than_half_fail_no_sudden_change(export, tmp_path):
    instance = DagsterInstance.ephemeral()
    first = export([buyers("040 111 1111", "040 222 2222", "040 333 3333", "040 444 4444"),
                    buyers("040 555 5555", organization_id="org-2", job_id="job-2")])
    assert materialize_all(first, tmp_path / "out", instance=instance, day="2026-11-22").success  # a first day passes
    # The next day org-1 has one row of four (-75 %), org-2 is steady, org-3 is new.
    second = export([buyers("040 111 1111"), buyers("040 555 5555", organization_id="org-2", job_id="job-2"),
                     buyers("040 666 6666", organization_id="org-3", job_id="job-3")])
    result = materialize_all(second, tmp_path / "out", instance=instance, day="2026-11-23")
    (failed,) = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed.check_name == "no_sudden_change" and failed.asset_key == BUYER
    assert failed.metadata["changed_organizations"].value == [
        {"organization_id": "org-1", "yesterday": 4, "today": 1, "change": -0.75}]
    assert failed.metadata["previous_day"].value == "2026-11-22"
    assert CHECKED_BUYER not in {e.asset_key for e in result.get_asset_materialization_events()}
    # A larger allowed share (the resource's setting) lets the same day through.
    assert materialize_all(second, tmp_path / "out", instance=instance, day="2026-11-23",
                           overrides={"dataset_build": DatasetBuildSettings(max_daily_change=0.8)}).success
