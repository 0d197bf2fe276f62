"""`campaign-cli build` honours the campaign database's suppressions (the
record's organization's and every organization's) beside its --suppress files."""

import csv
import io
import os
import subprocess

import pytest

from campaign_pipeline.sending import suppressions
from campaign_pipeline_tests.builders import activity, job, subject
from campaign_pipeline_tests.cli.helpers import CLI, logs, run


@pytest.fixture
def two_organizations(export, tmp_path):
    # The same four numbers in org-1 and org-2.
    phones = ["040 111 1111", "040 222 2222", "040 333 3333", "040 444 4444"]
    return export([
        job(f"job-{org}", organization_id=org, activities=[activity(f"act-{org}", f"job-{org}", subjects=[
            subject(f"s{i}-{org}", f"act-{org}", phone=phone) for i, phone in enumerate(phones)])])
        for org in ("org-1", "org-2")
    ])


def dataset_pairs(stdout: str) -> list[tuple[str, str]]:
    return [(row["organization_id"], row["phone"]) for row in csv.DictReader(io.StringIO(stdout))]


def test_the_database_suppressions_of_the_organization_and_of_all_are_honoured_with_the_files(
        campaign_db_url, campaign_engine, two_organizations, tmp_path):
    suppressions.add(campaign_engine, "org-1", ["+358401111111"], "dnc", "test")
    suppressions.add(campaign_engine, "*", ["+358402222222"], "unsubscribe", "test")
    suppressions.add(campaign_engine, "org-9", ["+358403333333"], "dnc", "test")  # not in this export
    optouts = tmp_path / "optouts.txt"
    optouts.write_text("040 444 4444\n")
    result = run(campaign_db_url, "build", "--jobs", two_organizations, "--suppress", optouts)
    assert result.returncode == 0, result.stderr
    assert dataset_pairs(result.stdout) == [
        ("org-1", "+358403333333"), ("org-2", "+358401111111"), ("org-2", "+358403333333")]
    (loaded,) = [entry for entry in logs(result.stderr) if entry["event"] == "database_suppressions_loaded"]
    assert loaded["numbers"] == 2 and loaded["organizations"] == 2
    # A dry run reads them too: org-1 loses 3 records (its own, every organization's, the file's), org-2 two.
    dry = run(campaign_db_url, "build", "--jobs", two_organizations, "--suppress", optouts, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert '"suppressed": 5' in dry.stdout


def test_without_a_database_file_there_are_no_stored_suppressions_and_none_is_created(two_organizations, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CAMPAIGN_DB_URL"}
    result = subprocess.run([CLI, "build", "--jobs", two_organizations, "--dry-run"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    (loaded,) = [entry for entry in logs(result.stderr) if entry["event"] == "database_suppressions_loaded"]
    assert loaded["numbers"] == 0 and loaded["database"] == "none"
    assert not (tmp_path / ".state").exists()


def test_an_unreachable_database_fails_the_run(two_organizations):
    # A port nothing listens on: the run fails (exit 1) with one line naming the database, password masked.
    result = run("postgresql+psycopg2://user:secret@127.0.0.1:9/campaigns", "build", "--jobs", two_organizations,
                 "--dry-run")
    assert result.returncode == 1, result.stderr
    entries = logs(result.stderr)
    assert "unreachable" in entries[-1]["message"] and "secret" not in result.stderr
