"""Outputs on S3: moto's S3 server on 127.0.0.1, reached through the standard AWS
environment by the command line (a real process) and by the assets."""

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from dagster import DagsterInstance, materialize

from campaign_pipeline.definitions import ASSET_CHECKS, ASSETS, resources_from_env
from campaign_pipeline.sample import SAMPLE_EXPORT

CLI = str(Path(sys.executable).parent / "campaign-cli")
DAY = "2026-11-23"


@pytest.fixture(scope="module")
def s3_endpoint(moto_endpoint):
    return moto_endpoint


@pytest.fixture
def aws_env(s3_endpoint, monkeypatch):
    env = {"AWS_ENDPOINT_URL_S3": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def bucket(aws_env, request):
    name = "campaigns-" + request.node.name.lower().replace("_", "-")[:40]
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def objects(bucket):
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def body(bucket, key):
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def cli(*args):
    return subprocess.run([CLI, "build", "--jobs", str(SAMPLE_EXPORT), *map(str, args)],
                          capture_output=True, text=True, env=dict(os.environ), timeout=120)


def test_cli_writes_the_same_bytes_to_s3_as_to_a_local_file(bucket, tmp_path):
    assert cli("--out", tmp_path / "d.csv", "--exclusions", tmp_path / "e.csv").returncode == 0
    result = cli("--out", f"s3://{bucket}/runs/d.csv", "--exclusions", f"s3://{bucket}/runs/e.csv")
    assert result.returncode == 0, result.stderr
    assert body(bucket, "runs/d.csv") == (tmp_path / "d.csv").read_bytes()
    assert body(bucket, "runs/e.csv") == (tmp_path / "e.csv").read_bytes()
    assert cli("--json", "--out", f"s3://{bucket}/runs/d.json").returncode == 0
    assert body(bucket, "runs/d.json").startswith(b'[{"organization_id":')


def test_a_missing_bucket_is_one_clear_line_exit_1_and_nothing_left(bucket, tmp_path):
    result = cli("--exclusions", f"s3://{bucket}/e.csv", "--out", "s3://no-such-bucket/d.csv")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert "NoSuchBucket" in lines[-1] and "s3://no-such-bucket/d.csv" in lines[-1]
    assert objects(bucket) == []


def test_assets_write_the_contract_layout_to_s3_and_read_it_back(bucket):
    resources = resources_from_env({"CAMPAIGN_OUTPUT_URI": f"s3://{bucket}/campaigns"})
    result = materialize([*ASSETS, *ASSET_CHECKS], partition_key=DAY, resources=resources,
                         instance=DagsterInstance.ephemeral())
    assert result.success and all(check.passed for check in result.get_asset_check_evaluations())
    keys = objects(bucket)
    assert f"campaigns/campaign_dataset/{DAY}/buyer.csv" in keys
    assert f"campaigns/exclusions/{DAY}.csv" in keys
    assert f"campaigns/enriched_subjects/{DAY}.parquet" in keys
    assert not any(key.endswith(".pkl") or "pickle" in key for key in keys)
