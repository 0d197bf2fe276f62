"""`make run`'s command: a quiet build of one day that names the files and their counts."""

import os
import subprocess
import sys

from campaign_pipeline_tests.orchestration.datasets.test_assets import DAY, portal_export  # noqa: F401 (a fixture)
from campaign_pipeline_tests.builders import job


def run_day(tmp_path, export_path, *flags):
    # No CAMPAIGN_DB_URL: the default campaign database, .state/campaign.db under tmp_path.
    env = {**os.environ, "PORTAL_EXPORT": str(export_path), "CAMPAIGN_OUTPUT_URI": str(tmp_path / "out"),
           "DAGSTER_HOME": str(tmp_path / "home")}
    env.pop("CAMPAIGN_DB_URL", None)
    (tmp_path / "home").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "campaign_pipeline.orchestration.datasets.run_day", "--day", DAY, *flags],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)


def test_a_quiet_run_prints_the_files_and_their_counts_and_nothing_on_stderr(portal_export, tmp_path):
    result = run_day(tmp_path, portal_export)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    out = result.stdout
    assert f"out/campaign_dataset/{DAY}/buyer.csv" in out and f"out/exclusions/{DAY}.csv" in out
    assert "9 of 9 asset checks passed" in out
    assert "Loaded into the campaign database .state/campaign.db: buyer 1 rows, non_buyer 2 rows" in out
    assert (tmp_path / ".state" / "campaign.db").is_file()
    assert len(out.splitlines()) <= 12
    log = (tmp_path / "home" / "storage" / "last-run.log").read_text()
    assert "RUN_SUCCESS" in log and '"event": "asset_materialized"' in log


def test_verbose_shows_dagsters_event_log(portal_export, tmp_path):
    result = run_day(tmp_path, portal_export, "--verbose")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stderr and '"event": "asset_materialized"' in result.stderr


def test_a_failed_run_says_why_in_a_few_lines(export, tmp_path):
    broken = export([job(), "{not json"])
    result = run_day(tmp_path, broken)
    assert result.returncode == 1
    assert "not JSON" in result.stderr and "last-run.log" in result.stderr
    assert len(result.stderr.splitlines()) <= 4
