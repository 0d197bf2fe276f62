"""Bad environment variables and settings: the definitions still load, and a
run fails with one clear line naming the variable. Warnings a manager must see
reach the run's log and the materialization metadata. Real runs, nothing mocked."""

import os
import subprocess
import sys

import pytest
from dagster import DagsterInstance, materialize

from campaign_pipeline.orchestration.datasets.resources import DatasetBuildSettings
from campaign_pipeline.definitions import ASSET_CHECKS, ASSETS, resources_from_env
from campaign_pipeline_tests.builders import activity, job, subject

# A fixed day: these builds read exports, which any day may snapshot (the live
# portal's "today only" is test_live_portal's, which chooses the day per run).
TODAY = "2026-11-23"
BAD_ENV = {
    "PORTAL_URL": "127.0.0.1:8080",
    "PORTAL_CONCURRENCY": "many",
    "PORTAL_RATE_LIMIT": "nan",
    "CAMPAIGN_DATASET_FORMAT": "xml",
}


def test_the_definitions_load_whatever_the_variables_say(tmp_path):
    env = {**os.environ, **BAD_ENV, "DAGSTER_HOME": str(tmp_path)}
    probe = "import campaign_pipeline.definitions as d; print(len(d.defs.resolve_all_asset_keys()))"
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def run_failure(env: dict, tmp_path, assets=ASSETS[:1], **resources) -> str:
    chosen = {**resources_from_env({"CAMPAIGN_OUTPUT_URI": str(tmp_path / "out"), **env}), **resources}
    result = materialize(assets, partition_key=TODAY, resources=chosen,
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error.cls_name == "Failure", error.message
    return error.message.strip().removeprefix("dagster._core.definitions.events.Failure: ")


@pytest.mark.parametrize("env, message", [
    ({"PORTAL_URL": "127.0.0.1:8080"}, "PORTAL_URL: expected an http:// or https:// URL with a host"),
    ({"PORTAL_URL": "http://127.0.0.1:9", "PORTAL_CONCURRENCY": "many"}, "PORTAL_CONCURRENCY: not a whole number: 'many'"),
    ({"PORTAL_URL": "http://127.0.0.1:9", "PORTAL_CONCURRENCY": "0"}, "PORTAL_CONCURRENCY: must be at least 1"),
    ({"PORTAL_URL": "http://127.0.0.1:9", "PORTAL_RATE_LIMIT": "nan"}, "PORTAL_RATE_LIMIT: must be a number greater than 0"),
    ({"CAMPAIGN_DATASET_FORMAT": "xml"}, "CAMPAIGN_DATASET_FORMAT: expected one of csv, json, parquet, got 'xml'"),
])
def test_a_bad_variable_fails_the_run_with_one_line_naming_it(env, message, tmp_path):
    failure = run_failure(env, tmp_path)
    assert failure.startswith(message) and "\n" not in failure


def test_a_bad_region_in_the_launchpad_fails_the_run_with_one_line(tmp_path):
    message = run_failure({}, tmp_path, dataset_build=DatasetBuildSettings(region="XX"))
    assert message.startswith("campaign settings: unknown phone region 'XX'") and "\n" not in message


def metadata_of(result) -> dict:
    return {
        event.asset_key.to_user_string(): {
            name: value.value for name, value in event.step_materialization_data.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


def test_an_empty_export_is_a_warning_in_the_log_and_the_metadata(tmp_path, capfd):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n")
    resources = resources_from_env({"PORTAL_EXPORT": str(empty), "CAMPAIGN_OUTPUT_URI": str(tmp_path / "out")})
    result = materialize(ASSETS[:1], partition_key=TODAY, resources=resources, instance=DagsterInstance.ephemeral())
    warning = metadata_of(result)["portal_snapshot"]["warning"]
    assert warning.startswith(f"portal export {empty}: no job line")
    assert '"event": "export_empty"' in capfd.readouterr().err


def test_missing_keys_and_bad_suppression_entries_are_counted(export, tmp_path):
    path = export([job(activities=[activity(subjects=[
        subject("s1", phone="040 123 4567", access_key="AK1"), subject("s2", phone="050 765 4321")])]),
        [job()]])
    optouts = tmp_path / "optouts.txt"
    optouts.write_text("not a number\n0401112222\n")
    resources = resources_from_env({"PORTAL_EXPORT": str(path), "CAMPAIGN_OUTPUT_URI": str(tmp_path / "out"),
                                    "CAMPAIGN_SUPPRESS": str(optouts)})
    result = materialize([*ASSETS, *ASSET_CHECKS], partition_key=TODAY, resources=resources,
                         instance=DagsterInstance.ephemeral())
    metadata = metadata_of(result)
    assert "warning" not in metadata["portal_snapshot"]  # the first line is a job; the array comes later
    assert metadata["enriched_subjects"]["suppression_invalid_entries"] == 1
    assert "1 suppression entries" in metadata["enriched_subjects"]["warning"]
    assert metadata["campaign_dataset/non_buyer"]["rows_without_access_key"] == 1
    assert "{access_key}" in metadata["campaign_dataset/non_buyer"]["warning"]
    assert metadata["campaign_dataset/buyer"]["rows_without_access_key"] == 0
    assert "warning" not in metadata["campaign_dataset/buyer"]
