"""The build against a live portal: the project's simulator over real HTTP on
127.0.0.1, faults included. Nothing is mocked."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from campaign_pipeline.definitions import ASSET_CHECKS, ASSETS, resources_from_env
from campaign_pipeline.portal import Faults, PortalSimulator
from campaign_pipeline.portal.simulator import ROUTE_ACCESS_KEY
from campaign_pipeline_tests.builders import activity, job, subject

CLI = str(Path(sys.executable).parent / "campaign-cli")
TOKEN = "test-token"


def materialize_the_live_day(assets, **kwargs):
    """The live portal is only snapshotted for the day it is (UTC). A suite that
    runs across midnight must choose that day when the run starts, not at import,
    and run again if midnight fell between choosing it and the snapshot."""
    for _ in range(2):
        day = datetime.now(UTC).date().isoformat()
        result = materialize(assets, partition_key=day, raise_on_error=False, **kwargs)
        if result.success or datetime.now(UTC).date().isoformat() == day:
            return day, result
    return day, result


def portal_jobs():
    subjects = [subject(f"s{i:03}", phone=f"040 {i:03} 1234", access_key=("AK-OLD" if i % 3 == 0 else None))
                for i in range(40)]
    subjects.append(subject("s-nokey", phone="050 999 1234"))
    return [
        job("job-1", activities=[activity("act-1", subjects=subjects[:25]), activity("act-2", subjects=subjects[25:])]),
        job("job-2", status="closed", activities=[activity("act-9", "job-2", subjects=[subject("x")])]),
    ]


def cli(*args, url, token=TOKEN):
    env = {**os.environ, "PORTAL_TOKEN": token}
    env.pop("PORTAL_URL", None)
    return subprocess.run([CLI, "build", "--jobs-url", url, *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def simulator():
    with PortalSimulator(portal_jobs(), token=TOKEN) as portal:
        yield portal


def test_keys_are_generated_once_per_subject_missing_one(simulator, tmp_path):
    result = cli("--out", tmp_path / "d.csv", url=simulator.url)
    assert result.returncode == 0, result.stderr
    rows = (tmp_path / "d.csv").read_text().splitlines()[1:]
    keys = [row.split(",")[12] for row in rows]
    assert len(rows) == 41 and all(keys) and keys.count("AK-OLD") == 14
    assert simulator.stats["routes"][ROUTE_ACCESS_KEY] == 41 - 14


def test_a_dry_run_makes_no_post_and_leaves_keys_empty(simulator):
    result = cli("--dry-run", url=simulator.url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"rows": {"buyer": 0, "non_buyer": 41}, "exclusions": {}}
    assert simulator.stats["routes"].get(ROUTE_ACCESS_KEY, 0) == 0


def test_transient_faults_give_the_same_bytes_as_a_clean_run(simulator, tmp_path):
    assert cli("--out", tmp_path / "clean.csv", url=simulator.url).returncode == 0
    # Per-path faults, so the same requests fail on every run whatever the timing.
    faults = Faults(drop_first=1, rate_limit_first=1, error_first=1, retry_after=0, repeat_page_items=True)
    with PortalSimulator(portal_jobs(), token=TOKEN, faults=faults) as faulty:
        result = cli("--out", tmp_path / "faulty.csv", url=faulty.url)
        assert result.returncode == 0, result.stderr
        assert faulty.stats["faults"]
    assert (tmp_path / "faulty.csv").read_bytes() == (tmp_path / "clean.csv").read_bytes()


def test_a_wrong_token_fails_at_once_with_a_clear_line_and_writes_nothing(simulator, tmp_path):
    result = cli("--out", tmp_path / "d.csv", "--exclusions", tmp_path / "e.csv", url=simulator.url, token="wrong-secret")
    assert result.returncode == 1
    error = json.loads(result.stderr.splitlines()[-1])
    assert error["level"] == "error" and "401" in error["message"] and "/v1/jobs" in error["message"]
    assert "wrong-secret" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_persistent_failures_exit_1_with_nothing_written(tmp_path):
    with PortalSimulator(portal_jobs(), token=TOKEN, faults=Faults(error_every=1)) as broken:
        env = {**os.environ, "PORTAL_TOKEN": TOKEN}
        result = subprocess.run([CLI, "build", "--jobs-url", broken.url, "--out", str(tmp_path / "d.csv")],
                                capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and not (tmp_path / "d.csv").exists()


def test_permanent_access_key_failures_are_exclusions(tmp_path):
    faults = Faults(access_key_failures={"s001": 404, "s-nokey": 409})
    with PortalSimulator(portal_jobs(), token=TOKEN, faults=faults) as portal:
        result = cli("--exclusions", tmp_path / "e.csv", "--out", tmp_path / "d.csv", url=portal.url)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "e.csv").read_text().splitlines()[1:] == [
        "org-1,non_buyer,job-1,act-1,s001,access_key_failed,HTTP 404",
        "org-1,non_buyer,job-1,act-2,s-nokey,access_key_failed,HTTP 409",
    ]


def test_assets_and_cli_give_the_same_dataset_from_the_same_portal(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
    resources = resources_from_env({"PORTAL_URL": simulator.url, "CAMPAIGN_OUTPUT_URI": str(tmp_path / "assets")})
    day, result = materialize_the_live_day([*ASSETS, *ASSET_CHECKS], resources=resources,
                                           instance=DagsterInstance.ephemeral())
    assert result.success, [event.step_failure_data.error.message for event in result.get_step_failure_events()]
    assert cli("--non-buyers", "--out", tmp_path / "cli.csv", url=simulator.url).returncode == 0
    assert (tmp_path / "cli.csv").read_bytes() == (
        tmp_path / "assets" / "campaign_dataset" / day / "non_buyer.csv").read_bytes()


def test_snapshotting_a_past_day_from_the_live_portal_is_refused(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
    resources = resources_from_env({"PORTAL_URL": simulator.url, "CAMPAIGN_OUTPUT_URI": str(tmp_path)})
    result = materialize([ASSETS[0]], partition_key="2026-01-05", resources=resources,
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "refusing to snapshot the live portal for 2026-01-05" in failure
    assert simulator.stats["requests"] == 0


def test_a_missing_token_is_the_portals_401_exit_1(simulator, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PORTAL_TOKEN", "PORTAL_URL")}
    result = subprocess.run([CLI, "build", "--jobs-url", simulator.url, "--dry-run"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "401" in json.loads(result.stderr.splitlines()[-1])["message"]
