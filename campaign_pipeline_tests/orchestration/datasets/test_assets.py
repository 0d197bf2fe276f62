"""The asset chain, materialized for real: files where the contract puts them,
the same bytes as the command line, masked metadata, checks that pass."""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from campaign_pipeline.dataset import columns as C
from campaign_pipeline.definitions import ASSET_CHECKS, ASSETS, defs, resources_from_env
from campaign_pipeline_tests.builders import activity, job, subject

DAY = "2026-11-23"
CLI = str(Path(sys.executable).parent / "campaign-cli")
DAGSTER = str(Path(sys.executable).parent / "dagster")


@pytest.fixture
def portal_export(export):
    shared_phone = "+358 40 111 2222"
    return export([
        job("job-1", activities=[
            activity("act-1", group_name="5B", subjects=[
                subject("s1", phone="040 123 4567", first_name="Åsa, \"Q\"",
                        orders=[{"id": "o", "status": "delivered", "created_at": "2026-10-01T10:00:00Z"}]),
                subject("s2", phone=shared_phone, access_key="AK2"),
                subject("s3", phone=shared_phone, access_key="AK3"),
                subject("s4", phone="0401234568", consent=None),
                {"id": 5},
            ]),
        ]),
        job("job-2", organization_id="org-2", activities=[activity("act-9", "job-2", subjects=[subject("s9", "act-9")])]),
        job("job-3", status="draft"),
    ], compress=True)


def materialize_all(portal_export, out, instance=None, day=DAY, selection=None, overrides=None, **env):
    """The whole chain of `day` (or `selection` of it) on the campaign database
    of CAMPAIGN_DB_URL (campaign_pipeline_tests/conftest.py: a fresh one per test);
    `overrides`: resources to use instead of the environment's."""
    resources = resources_from_env({"PORTAL_EXPORT": str(portal_export), "CAMPAIGN_OUTPUT_URI": str(out),
                                    "CAMPAIGN_DB_URL": os.environ["CAMPAIGN_DB_URL"], **env}) | (overrides or {})
    return materialize([*ASSETS, *ASSET_CHECKS], partition_key=day, resources=resources, selection=selection,
                       instance=instance or DagsterInstance.ephemeral(), raise_on_error=False)


def test_the_whole_chain_writes_the_contracts_files_and_its_checks_pass(portal_export, tmp_path):
    tmp_path = tmp_path / "out"
    result = materialize_all(portal_export, tmp_path)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 9 and all(check.passed for check in checks)
    buyer = tmp_path / "campaign_dataset" / DAY / "buyer.csv"
    non_buyer = tmp_path / "campaign_dataset" / DAY / "non_buyer.csv"
    assert buyer.read_text().splitlines()[1].startswith('org-1,buyer,+358401234567,FI,"Åsa, ""Q""",')
    rows = pl.read_csv(non_buyer, schema=C.DATASET).fill_null("")
    assert rows.select("organization_id", "subject_ids", "access_keys").rows() == [
        ("org-1", "s2;s3", "AK2;AK3"), ("org-2", "s9", "")]
    exclusions = (tmp_path / "exclusions" / f"{DAY}.csv").read_text().splitlines()
    assert exclusions[1:] == ["org-1,,job-1,act-1,,invalid_record,malformed subject",
                              "org-1,non_buyer,job-1,act-1,s4,no_consent,+35840*****68"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        f"activities/{DAY}.parquet", f"buyers/{DAY}.parquet", f"campaign_dataset/{DAY}/buyer.csv",
        f"campaign_dataset/{DAY}/non_buyer.csv", f"enriched_subjects/{DAY}.parquet", f"exclusions/{DAY}.csv",
        f"non_buyers/{DAY}.parquet", f"portal_snapshot/{DAY}.parquet"]
    # Modes follow the umask (read without changing it for good), like cp's.
    umask = os.umask(0o022)
    os.umask(umask)
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.rglob("*") if p.is_file()} == {0o666 & ~umask}


def test_materialization_metadata_counts_and_masks(portal_export, tmp_path):
    result = materialize_all(portal_export, tmp_path)
    metadata = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    enriched = metadata["enriched_subjects"]
    assert enriched["exclusions_by_reason"].value == {"invalid_record": 1, "no_consent": 1}
    assert metadata["campaign_dataset/non_buyer"]["rows"].value == 2
    everything = json.dumps({k: {n: str(v.value) for n, v in m.items()} for k, m in metadata.items()})
    assert not re.search(r"\+\d{9,}", everything), "a full phone number reached run metadata"
    assert "Åsa" not in everything and "AK2" not in everything
    assert "+35840*****67" in everything


def test_dataset_format_json_and_reading_back_through_the_io_manager(portal_export, tmp_path):
    assert materialize_all(portal_export, tmp_path, CAMPAIGN_DATASET_FORMAT="json").success
    rows = json.loads((tmp_path / "campaign_dataset" / DAY / "buyer.json").read_text())
    assert list(rows[0]) == list(C.DATASET) and rows[0]["subject_count"] == 1
    # The checks read the JSON back through the IO manager and passed.


def test_cli_and_assets_write_byte_identical_files(portal_export, tmp_path):
    assert materialize_all(portal_export, tmp_path / "assets").success
    for flag, segment in (("--buyers", "buyer"), ("--non-buyers", "non_buyer")):
        out = tmp_path / f"cli-{segment}.csv"
        subprocess.run([CLI, "build", "--jobs", portal_export, flag, "--out", out], check=True, capture_output=True)
        assert out.read_bytes() == (tmp_path / "assets" / "campaign_dataset" / DAY / f"{segment}.csv").read_bytes()
    excluded = tmp_path / "cli-exclusions.csv"
    subprocess.run([CLI, "build", "--jobs", portal_export, "--exclusions", excluded], check=True, capture_output=True)
    assert excluded.read_bytes() == (tmp_path / "assets" / "exclusions" / f"{DAY}.csv").read_bytes()


def test_dagster_asset_materialize_command_builds_every_asset_of_the_day(portal_export, tmp_path):
    env = {**os.environ, "PORTAL_EXPORT": str(portal_export), "CAMPAIGN_OUTPUT_URI": str(tmp_path / "out"),
           "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    # The daily groups: campaign_sends is partitioned by campaign, so "*" cannot be one command.
    result = subprocess.run([DAGSTER, "asset", "materialize", "-m", "campaign_pipeline",
                             "--select", "group:datasets or group:checked_datasets",
                             "--partition", DAY], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "campaign_dataset" / DAY / "buyer.csv").exists()
    assert (tmp_path / "out" / "exclusions" / f"{DAY}.csv").exists()
    assert not re.search(r"\+358\d{7,}", result.stdout + result.stderr)
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assets_logged = {entry["asset"] for entry in logged if entry["event"] == "asset_materialized"}
    assert {"portal_snapshot", "enriched_subjects", "exclusions"} <= assets_logged
    assert all(entry["run_id"] for entry in logged)
    assert all("seconds" in entry for entry in logged if entry["event"] == "asset_materialized")
    # s1 (buyer) and s9 (non-buyer) have no access key: an export never creates one, and the log says so.
    assert [entry["count"] for entry in logged if entry["event"] == "rows_without_access_key"] == [1, 1]


def test_asset_graph():
    graph = defs.resolve_asset_graph()
    edges = sorted(
        f"{key.to_user_string()} <- {', '.join(sorted(p.to_user_string() for p in graph.get(key).parent_keys))}"
        for key in graph.get_all_asset_keys()
    )
    assert edges == [
        "activities <- portal_snapshot",
        "buyers <- enriched_subjects",
        "campaign_dataset/buyer <- buyers",
        "campaign_dataset/non_buyer <- non_buyers",
        "campaign_delivery <- campaign_sends",
        "campaign_sends <- ",  # partitioned by campaign; reads the campaign database
        "checked_dataset/buyer <- campaign_dataset/buyer",
        "checked_dataset/non_buyer <- campaign_dataset/non_buyer",
        "enriched_subjects <- activities",
        "exclusions <- enriched_subjects",
        "non_buyers <- enriched_subjects",
        "portal_snapshot <- ",
    ]
    # Every daily asset shares one partitioning; campaign_sends and campaign_delivery have the campaigns'.
    per_campaign = {AssetKey("campaign_sends"), AssetKey("campaign_delivery")}
    daily = graph.get(AssetKey("portal_snapshot")).partitions_def
    assert {graph.get(key).partitions_def for key in graph.get_all_asset_keys()
            if key not in per_campaign} == {daily}
    assert {graph.get(key).partitions_def.name for key in per_campaign} == {"campaigns"}
    assert {check.name for check in graph.asset_check_keys} == {
        "one_row_per_phone", "contract_order", "no_suppressed_phone", "no_sudden_change",
        "every_record_accounted_for", "no_double_handover", "no_handover_to_suppressed",
        "no_handover_outside_window"}


def test_dagster_definitions_validate_passes(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run([DAGSTER, "definitions", "validate", "-m", "campaign_pipeline"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "passed validation" in result.stdout + result.stderr


def test_an_unreadable_export_fails_the_run_with_one_clear_message(export, tmp_path):
    broken = export([job(), "{not json", b"\xff\xfe".decode("latin-1")])
    resources = resources_from_env({"PORTAL_EXPORT": str(broken), "CAMPAIGN_OUTPUT_URI": str(tmp_path / "out")})
    result = materialize(ASSETS[:2], partition_key=DAY, resources=resources, instance=DagsterInstance.ephemeral(),
                         raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert "portal export line 2: not JSON" in error.message
    assert not (tmp_path / "out" / "activities").exists()
