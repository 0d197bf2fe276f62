"""The campaign database: which one is opened, its migrations, its settings."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, insert, select, text

from campaign_pipeline.common.errors import InputError, RunFailed
from campaign_pipeline.sending.db import models
from campaign_pipeline.sending.db.engine import current_revision, database_url, head_revision, open_database


def test_the_url_is_campaign_db_url_else_the_state_folder_never_dagster_pg(tmp_path, monkeypatch):
    assert database_url({"CAMPAIGN_DB_URL": "postgresql+psycopg2://u:p@h/db"}) == "postgresql+psycopg2://u:p@h/db"
    monkeypatch.chdir(tmp_path)
    dagster_pg = {"DAGSTER_PG_HOST": "h", "DAGSTER_PG_DB": "d", "DAGSTER_PG_USER": "u", "CAMPAIGN_DB_URL": ""}
    assert database_url(dagster_pg) == f"sqlite:///{tmp_path}/.state/campaign.db"


def test_the_default_database_is_created_in_the_state_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = open_database(database_url({}))
    try:
        assert (tmp_path / ".state" / "campaign.db").is_file()
    finally:
        engine.dispose()


def test_migrations_create_every_table_from_empty(campaign_db_url):
    engine = open_database(campaign_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(models.metadata.tables) <= tables
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        engine.dispose()


def test_the_migrations_build_exactly_the_models(campaign_db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = open_database(campaign_db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, models.metadata) == []
    finally:
        engine.dispose()


def test_opening_again_is_cheap_and_changes_nothing(campaign_db_url):
    open_database(campaign_db_url).dispose()
    engine = open_database(campaign_db_url)
    statements = []
    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        from campaign_pipeline.sending.db.engine import upgrade

        assert upgrade(engine) == head_revision()
        # one read of alembic's table (after SQLite's BEGIN)
        assert [s for s in statements if not s.startswith("BEGIN")] == ["SELECT version_num FROM alembic_version"]
        assert not any(s.lstrip().upper().startswith(("CREATE", "ALTER", "INSERT", "UPDATE")) for s in statements)
    finally:
        engine.dispose()


def test_times_come_back_aware_utc_on_both_dialects(campaign_db_url):
    engine = open_database(campaign_db_url)
    helsinki = timezone(timedelta(hours=2))
    at = datetime(2026, 12, 2, 10, 30, 15, 123456, tzinfo=helsinki)
    try:
        with engine.begin() as connection:
            connection.execute(insert(models.switches).values(name="probe", value="on", updated_at=at))
            stored = connection.execute(select(models.switches.c.updated_at)).scalar_one()
        assert stored == at and stored.tzinfo == UTC and stored.hour == 8
        with pytest.raises(Exception, match="naive"), engine.begin() as connection:
            connection.execute(insert(models.switches).values(name="naive", value="x", updated_at=datetime(2026, 1, 1)))
    finally:
        engine.dispose()


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(campaign_db_url):
    engine = open_database(campaign_db_url)
    try:
        with pytest.raises(Exception, match="(?i)foreign key"), engine.begin() as connection:
            connection.execute(insert(models.leases).values(
                campaign_id=999, organization_id="org-1", holder="x", expires_at=datetime.now(UTC)))
    finally:
        engine.dispose()


def test_campaign_messages_are_unique_per_phone_but_tests_may_repeat(campaign_db_url):
    engine = open_database(campaign_db_url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            campaign = connection.execute(insert(models.campaigns).values(
                organization_id="org-1", name="n", body="b", segment="buyer", status="draft")).inserted_primary_key[0]
            message = dict(campaign_id=campaign, organization_id="org-1", phone="+358401234567", body="b",
                           status="pending")
            connection.execute(insert(models.messages).values(kind="test", **message))
            connection.execute(insert(models.messages).values(kind="test", **message))
            connection.execute(insert(models.messages).values(kind="campaign", **message))
        with pytest.raises(Exception, match="(?i)unique|duplicate"), engine.begin() as connection:
            connection.execute(insert(models.messages).values(kind="campaign", **message))
        assert now
    finally:
        engine.dispose()


def test_an_unreachable_database_is_one_line_with_the_password_masked():
    with pytest.raises(RunFailed) as raised:
        open_database("postgresql+psycopg2://campaign:s3cret-pw@127.0.0.1:9/campaign")
    message = str(raised.value)
    assert "s3cret-pw" not in message and "***" in message and "\n" not in message
    assert "127.0.0.1:9/campaign" in message


def test_a_malformed_url_is_a_usage_error():
    with pytest.raises(InputError):
        open_database("not a url at all")


def test_two_processes_opening_a_fresh_database_migrate_it_once(campaign_db_url, tmp_path):
    probe = ("import sys\nfrom campaign_pipeline.sending.db.engine import open_database\n"
             "open_database(sys.argv[1]).dispose()\n")
    processes = [subprocess.Popen([sys.executable, "-c", probe, campaign_db_url], stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], errors
    engine = open_database(campaign_db_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_the_migrations_ship_as_package_data():
    from campaign_pipeline.sending.db import engine as engine_module

    versions = Path(engine_module.__file__).parent / "migrations" / "versions"
    assert sorted(p.name for p in versions.glob("0*.py"))[0] == "0001_initial.py"
    pyproject = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    assert "sending/db/migrations/versions/*.py" in pyproject
