"""The production Dagster instance (`dagster.postgres.yaml`) against a real
PostgreSQL server: the `dagster asset materialize` command records its run,
materializations and check evaluations there, and nowhere else.

The server is the test session's (campaign_pipeline_tests/postgres.py): a
throwaway one on 127.0.0.1, with its own role and database for this module.
"""

import os
import secrets
import shutil
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, DagsterRunStatus

from campaign_pipeline_tests.postgres import without_libpq_settings

REPO = Path(__file__).resolve().parent.parent.parent
INSTANCE_YAML = REPO / "dagster.postgres.yaml"
DAGSTER = str(Path(sys.executable).parent / "dagster")
DAY = "2026-11-23"
PG_ENV = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB")
EXPECTED_CHECKS = {
    ("campaign_dataset/buyer", "one_row_per_phone"), ("campaign_dataset/buyer", "contract_order"),
    ("campaign_dataset/buyer", "no_suppressed_phone"), ("campaign_dataset/non_buyer", "one_row_per_phone"),
    ("campaign_dataset/non_buyer", "contract_order"), ("campaign_dataset/non_buyer", "no_suppressed_phone"),
    ("campaign_dataset/buyer", "no_sudden_change"), ("campaign_dataset/non_buyer", "no_sudden_change"),
    ("exclusions", "every_record_accounted_for"),
}


@pytest.fixture(scope="module")
def postgres(postgres_server):
    """The session's PostgreSQL server with a `dagster` role and database;
    yields the DAGSTER_PG_* settings to reach it."""
    settings = {"DAGSTER_PG_HOST": postgres_server.host, "DAGSTER_PG_PORT": str(postgres_server.port),
                "DAGSTER_PG_USER": "dagster", "DAGSTER_PG_PASSWORD": secrets.token_hex(16),
                "DAGSTER_PG_DB": f"dagster_{secrets.token_hex(4)}"}
    postgres_server.create_role_and_database("dagster", settings["DAGSTER_PG_PASSWORD"], settings["DAGSTER_PG_DB"])
    try:
        yield settings
    finally:
        postgres_server.drop_database(settings["DAGSTER_PG_DB"])


def connect(settings):
    import psycopg2

    return psycopg2.connect(host=settings["DAGSTER_PG_HOST"], port=int(settings["DAGSTER_PG_PORT"]),
                            user=settings["DAGSTER_PG_USER"], password=settings["DAGSTER_PG_PASSWORD"],
                            dbname=settings["DAGSTER_PG_DB"])


@pytest.fixture(scope="module")
def materialized(postgres, tmp_path_factory):
    """`dagster asset materialize` of every asset for DAY, with the production
    instance file as DAGSTER_HOME/dagster.yaml and the bundled sample export."""
    root = tmp_path_factory.mktemp("pg_instance")
    home, out = root / "home", root / "out"
    home.mkdir()
    shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    env = {k: v for k, v in without_libpq_settings(os.environ).items()
           if k not in {"PORTAL_EXPORT", "PORTAL_URL", "PORTAL_TOKEN", "CAMPAIGN_SUPPRESS",
                        "CAMPAIGN_DATASET_FORMAT", *PG_ENV}}
    env.update(postgres, DAGSTER_HOME=str(home), CAMPAIGN_OUTPUT_URI=str(out))
    result = subprocess.run([DAGSTER, "asset", "materialize", "-m", "campaign_pipeline",
                             "--select", "group:datasets or group:checked_datasets",
                             "--partition", DAY], cwd=root, env=env, capture_output=True, text=True, timeout=180)
    return home, out, result


@pytest.fixture(scope="module")
def instance(materialized, postgres):
    """The instance the command wrote to, opened in this process from the same home."""
    home, _, _ = materialized
    with pytest.MonkeyPatch.context() as patch:
        for name, value in postgres.items():
            patch.setenv(name, value)
        opened = DagsterInstance.from_config(str(home))
        try:
            yield opened
        finally:
            opened.dispose()


def test_the_instance_file_takes_every_connection_setting_from_the_environment():
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    db = config["storage"]["postgres"]["postgres_db"]
    assert {key: db[key] for key in ("hostname", "port", "username", "password", "db_name")} == {
        "hostname": {"env": "DAGSTER_PG_HOST"}, "port": {"env": "DAGSTER_PG_PORT"},
        "username": {"env": "DAGSTER_PG_USER"}, "password": {"env": "DAGSTER_PG_PASSWORD"},
        "db_name": {"env": "DAGSTER_PG_DB"}}
    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which is not installed.
    assert db["scheme"] == "postgresql+psycopg2"
    assert config["telemetry"] == {"enabled": False}


def test_dagster_asset_materialize_succeeds_on_the_postgres_instance(materialized):
    _, out, result = materialized
    assert result.returncode == 0, result.stderr[-4000:]
    assert (out / "campaign_dataset" / DAY / "buyer.csv").exists()
    assert (out / "exclusions" / f"{DAY}.csv").exists()


def test_every_storage_is_postgres_and_nothing_went_to_sqlite(materialized, instance):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    home, _, _ = materialized
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert list(home.rglob("*.db")) == []


def test_the_run_is_recorded_as_a_success(materialized, instance):
    assert materialized[2].returncode == 0, materialized[2].stderr[-4000:]
    runs = instance.get_runs()
    assert len(runs) == 1
    assert runs[0].status == DagsterRunStatus.SUCCESS
    assert runs[0].tags.get("dagster/partition") == DAY


@pytest.mark.parametrize("key", [["campaign_dataset", "buyer"], ["exclusions"]])
def test_the_materializations_of_the_day_are_in_the_event_log(materialized, instance, key):
    assert materialized[2].returncode == 0, materialized[2].stderr[-4000:]
    (run,) = instance.get_runs()
    records = instance.fetch_materializations(AssetRecordsFilter(AssetKey(key), asset_partitions=[DAY]), limit=10)
    assert [(r.run_id, r.partition_key) for r in records.records] == [(run.run_id, DAY)]
    latest = instance.get_latest_materialization_event(AssetKey(key))
    assert latest is not None and latest.dagster_event.partition == DAY


def test_the_asset_checks_passed(materialized, instance):
    assert materialized[2].returncode == 0, materialized[2].stderr[-4000:]
    (run,) = instance.get_runs()
    evaluations = [entry.dagster_event.event_specific_data
                   for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]
    assert {(e.asset_key.to_user_string(), e.check_name) for e in evaluations} == EXPECTED_CHECKS
    assert len(evaluations) == len(EXPECTED_CHECKS)
    assert all(e.passed for e in evaluations)


def test_the_database_itself_holds_the_run_and_the_storage_tables(materialized, postgres):
    assert materialized[2].returncode == 0, materialized[2].stderr[-4000:]
    with closing(connect(postgres)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT status FROM runs")
        assert cursor.fetchall() == [("SUCCESS",)]
        cursor.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
        assert cursor.fetchone()[0] >= 7
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        tables = {row[0] for row in cursor.fetchall()}
    # runs: run storage; event_logs: event log storage; jobs, job_ticks: schedule storage
    assert {"runs", "event_logs", "jobs", "job_ticks"} <= tables
