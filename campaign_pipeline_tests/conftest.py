import gzip
import json
from pathlib import Path

import pytest


def job(job_id="job-1", organization_id="org-1", status="webshop_selling", activities=(), **extra):
    return {"id": job_id, "organization_id": organization_id, "name": f"Job {job_id}",
            "status": status, "activities": list(activities), **extra}


def activity(activity_id="act-1", job_id="job-1", subjects=(), group_name=None, **extra):
    return {"id": activity_id, "job_id": job_id, "name": f"Activity {activity_id}",
            "group_name": group_name, "subjects": list(subjects), **extra}


def subject(subject_id="subj-1", activity_id="act-1", phone="040 123 4567", consent=True,
            updated_at="2026-10-01T10:00:00+03:00", orders=(), deliveries=(), **extra):
    record = {"id": subject_id, "activity_id": activity_id, "first_name": "Anna",
              "last_name": "Äijälä", "updated_at": updated_at, "access_key": None,
              "user": {"phone": phone, "sms_consent": consent, "locale": "fi-FI"},
              "deliveries": None if deliveries is None else list(deliveries),
              "orders": None if orders is None else list(orders)}
    record.update(extra)
    return record


def write_export(path: Path, lines, compress: bool = False) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines)
    path.write_bytes(gzip.compress(text.encode(), mtime=0) if compress else text.encode())
    return path


@pytest.fixture
def export(tmp_path):
    """Writes export lines to a file and returns its path."""
    counter = iter(range(1000))

    def _write(lines, compress=False):
        suffix = ".jsonl.gz" if compress else ".jsonl"
        return write_export(tmp_path / f"export-{next(counter)}{suffix}", lines, compress)

    return _write


@pytest.fixture(scope="session")
def postgres_server():
    """The one PostgreSQL server of the test session (campaign_pipeline_tests/postgres.py)."""
    from campaign_pipeline_tests.postgres import serve

    yield from serve()


@pytest.fixture(scope="session")
def campaign_databases(postgres_server):
    from campaign_pipeline_tests.postgres import CampaignDatabases

    return CampaignDatabases(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def campaign_db_url(request, tmp_path):
    """An empty campaign database, on SQLite and on PostgreSQL (a fresh database
    on the shared server), so every database test runs on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'campaign.db'}"
        return
    databases = request.getfixturevalue("campaign_databases")
    name, url = databases.create()
    try:
        yield url
    finally:
        databases.server.drop_database(name)


@pytest.fixture
def campaign_engine(campaign_db_url):
    """An Engine on the migrated campaign database of campaign_db_url."""
    from campaign_pipeline.sending.db.engine import open_database

    engine = open_database(campaign_db_url)
    yield engine
    engine.dispose()
